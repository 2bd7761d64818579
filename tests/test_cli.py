"""`pytest-llm-mock serve` as users run it: a subprocess on a port it picks."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

from . import postman
from .conftest import DEFAULT_COLLECTION

COMMAND = [sys.executable, "-m", "pytest_llm_mock"]


def read_base_url(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The base_url line the server prints, waited for with a deadline."""
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip().startswith("base_url:"):
                found.append(line.split("base_url:", 1)[1].strip())
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout) or not found:
        process.kill()
        raise AssertionError(f"serve printed no base_url within {timeout} s")
    return found[0]


@contextmanager
def serving(*args: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`pytest-llm-mock serve ARGS --port 0` in a subprocess, and the base_url it printed."""
    with subprocess.Popen(
        [*COMMAND, "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    ) as process:
        try:
            yield process, read_base_url(process)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as running:
        yield running


def test_serve_answers_until_sigterm_then_exits_0(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, base_url = served
    assert base_url.startswith("http://127.0.0.1:")
    with openai.OpenAI(base_url=base_url, api_key="x") as client:
        completion = client.chat.completions.create(
            model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
        )
    assert completion.choices[0].message.content == "Hello! How can I help you today?"
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["serve", "missing.json", "--port", "0"],
            "pytest-llm-mock: error: missing.json: no such file",
        ),
        (
            ["serve", "--match", "nope", "--port", "0"],
            "pytest-llm-mock: error: unknown match strategy 'nope'",
        ),
        (["launch"], "invalid choice: 'launch'"),
        (["serve", "--port", "eighty"], "argument --port: invalid int value: 'eighty'"),
        (
            ["serve", "--rate-limit", "ten", "--port", "0"],
            "--rate-limit takes N or N/SECONDS, got 'ten'",
        ),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(  # noqa: PLW1510 (the exit code is what is tested)
        [*COMMAND, *args], capture_output=True, text=True, cwd=tmp_path, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_a_collection_prefers_the_local_file(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "local?"))
    postman.write(
        tmp_path / "collection.json", postman.collection(postman.chat_item("local", body, "yes"))
    )
    with serving(cwd=tmp_path) as (process, base_url):
        with openai.OpenAI(base_url=base_url, api_key="x") as client:
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "local?"}]
            )
        assert completion.choices[0].message.content == "yes"
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0


def test_serve_applies_a_rate_limit(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--rate-limit", "2/60s", cwd=tmp_path) as (
        process,
        base_url,
    ):
        with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0) as client:
            ask = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}
            client.chat.completions.create(**ask)  # type: ignore[call-overload]
            client.chat.completions.create(**ask)  # type: ignore[call-overload]
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(**ask)  # type: ignore[call-overload]
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
