"""`pytest-llm-mock serve` as users run it: a subprocess on a port it picks."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from . import http, postman
from .conftest import DEFAULT_COLLECTION
from .served import Served, run_cli, serving, serving_unread
from .test_server import closed_by_peer

HELLO: Any = [{"role": "user", "content": "Hello"}]


def ask(served: Served, messages: Any, model: str = "mock-llm-v1", **options: Any) -> str | None:
    options.setdefault("api_key", "sk-secret-key")
    with openai.OpenAI(base_url=served.base_url, max_retries=0, **options) as client:
        return (
            client.chat.completions.create(model=model, messages=messages)
            .choices[0]
            .message.content
        )


def stop(served: Served) -> int:
    served.process.send_signal(signal.SIGTERM)
    return served.process.wait(10)


def test_serve_logs_each_request_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as served:
        assert served.base_url.startswith("http://127.0.0.1:")
        assert "(15 examples, match: conversation)" in served.lines[0]
        assert ask(served, HELLO) == "Hello! How can I help you today?"
        line = served.wait_for("POST /v1/chat/completions")
        assert line.startswith("POST /v1/chat/completions 200 Small talk/Hello/Greeting ")
        assert line.endswith("ms (mock-llm-v1)"), "the model asked for ends the line"
        assert stop(served) == 0
        served.wait_for("pytest-llm-mock stopped: 1 requests, 0 not answered")


def test_unanswered_requests_make_serve_exit_1_unless_lenient(tmp_path: Path) -> None:
    for args, code in (((), 1), (("--lenient",), 0)):
        with serving(str(DEFAULT_COLLECTION), *args, cwd=tmp_path) as served:
            with pytest.raises(openai.NotFoundError):
                ask(served, [{"role": "user", "content": "Hello?"}])
            line = served.wait_for("POST /v1/chat/completions 404")
            assert "not answered; closest: 'Greeting' of item 'Small talk/Hello'" in line
            assert stop(served) == code


def test_a_miss_counts_at_shutdown_after_the_journal_limit_dropped_it(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--journal-limit", "3", cwd=tmp_path) as served:
        with pytest.raises(openai.NotFoundError):
            ask(served, [{"role": "user", "content": "Hello?"}])
        for _ in range(10):
            assert ask(served, HELLO) == "Hello! How can I help you today?"
        assert stop(served) == 1
        served.wait_for("pytest-llm-mock stopped: 11 requests, 1 not answered")


def test_watch_serves_a_saved_edit_and_keeps_the_last_good_collection(tmp_path: Path) -> None:
    path = tmp_path / "collection.json"
    body = postman.chat_body(("user", "Hello"), model=None)
    postman.write(path, postman.collection(postman.chat_item("greet", body, "first answer")))
    with serving(str(path), "--watch", cwd=tmp_path) as served:
        assert "watching" in served.lines[0]
        assert ask(served, HELLO) == "first answer"
        seen = len(served.lines)
        postman.write(
            path,
            postman.collection(
                postman.chat_item("greet", body, "second answer"),
                postman.chat_item("new", postman.chat_body(("user", "Bye")), "bye"),
            ),
        )
        line = served.wait_for("reloaded", after=seen)
        assert line.endswith("1 added, 0 removed, 1 changed: +'new/new', ~'greet/greet'")
        assert ask(served, HELLO) == "second answer"
        seen = len(served.lines)
        path.write_text('{"item": [ {"name": "broken"', encoding="utf-8")
        line = served.wait_for("not reloaded", after=seen)
        assert "still serving the last good collection" in line
        assert f"{path}: is not valid JSON" in line
        assert ask(served, HELLO) == "second answer"
        assert stop(served) == 0


def test_inspection_endpoints(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as served:
        ask(served, HELLO)
        url = served.base_url.removesuffix("/v1")
        journal = http.request(url, "GET", "/_llm_mock/requests").json()
        assert [(r["path"], r["status"], r["example"]) for r in journal] == [
            ("/v1/chat/completions", 200, "Small talk/Hello/Greeting")
        ]
        assert journal[0]["headers"]["authorization"] == "<redacted>"
        assert "sk-secret-key" not in json.dumps(journal)
        collection = http.request(url, "GET", "/_llm_mock/collection").json()
        hello = next(e for e in collection["examples"] if e["name"] == "Small talk/Hello/Greeting")
        assert hello["key"] == [{"label": "messages[0] (user)", "text": "Hello"}]
        assert collection["match"] == "conversation"
        assert http.request(url, "DELETE", "/_llm_mock/requests").status == 204
        assert http.request(url, "GET", "/_llm_mock/requests").json() == []
        assert stop(served) == 0


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"pytest-llm-mock: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


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
        (["serve", "--max-body-size", "0", "--port", "0"], "--max-body-size must be 1 or more"),
        (["serve", "--journal-limit", "0", "--port", "0"], "--journal-limit must be 1 or more"),
        (
            ["serve", "--fail-model", "gpt-4o=200", "--port", "0"],
            "--fail-model takes MODEL or MODEL=STATUS (400-599), got 'gpt-4o=200'",
        ),
        (
            ["serve", "--fail-model", "=503", "--port", "0"],
            "--fail-model takes MODEL or MODEL=STATUS (400-599), got '=503'",
        ),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_a_collection_prefers_the_local_file(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "local?"))
    postman.write(
        tmp_path / "collection.json", postman.collection(postman.chat_item("local", body, "yes"))
    )
    with serving(cwd=tmp_path) as served:
        assert ask(served, [{"role": "user", "content": "local?"}], model="gpt-4o-mini") == "yes"
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(10) == 0


def test_fail_model_makes_a_model_down_and_clients_fail_over(tmp_path: Path) -> None:
    args = ("--fail-model", "mock-claude-sonnet-4", "--fail-model", "mock-llm-v2=429")
    with serving(str(DEFAULT_COLLECTION), *args, cwd=tmp_path) as served:
        with pytest.raises(openai.InternalServerError) as down:
            ask(served, HELLO, model="mock-claude-sonnet-4")
        assert down.value.status_code == 503
        assert "'mock-claude-sonnet-4' is unavailable" in down.value.message
        with pytest.raises(openai.RateLimitError):
            ask(served, HELLO, model="mock-llm-v2")
        assert ask(served, HELLO, model="mock-gpt-4") == "Hello! How can I help you today?"
        with (
            anthropic.Anthropic(
                base_url=served.base_url.removesuffix("/v1"), api_key="k", max_retries=0
            ) as claude,
            pytest.raises(anthropic.InternalServerError),
        ):
            claude.messages.create(
                model="mock-claude-sonnet-4",
                max_tokens=64,
                messages=[{"role": "user", "content": "Hello"}],
            )
        lines = [served.wait_for("POST /v1/chat/completions 503")]
        lines.append(served.wait_for("POST /v1/chat/completions 429"))
        lines.append(served.wait_for("POST /v1/chat/completions 200"))
        lines.append(served.wait_for("POST /v1/messages 503"))
        assert lines[0].startswith(
            "POST /v1/chat/completions 503 --fail-model mock-claude-sonnet-4 "
        )
        assert lines[0].endswith("ms (mock-claude-sonnet-4)")
        assert lines[1].startswith("POST /v1/chat/completions 429 --fail-model mock-llm-v2 ")
        assert lines[2].endswith("ms (mock-gpt-4)")
        assert stop(served) == 0, "a failed model is an answer, not a miss"


def test_serve_applies_a_rate_limit(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--rate-limit", "2/60s", cwd=tmp_path) as served:
        ask(served, HELLO)
        ask(served, HELLO)
        with pytest.raises(openai.RateLimitError):
            ask(served, HELLO)
        assert stop(served) == 0


def test_serve_can_require_an_api_key(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--require-api-key", "sk-serve", cwd=tmp_path) as served:
        with pytest.raises(openai.AuthenticationError):
            ask(served, HELLO)
        assert ask(served, HELLO, api_key="sk-serve") == "Hello! How can I help you today?"
        assert stop(served) == 0


def test_serve_applies_a_body_limit(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--max-body-size", "1000", cwd=tmp_path) as served:
        with pytest.raises(openai.APIStatusError) as excinfo:
            ask(served, [{"role": "user", "content": "x" * 2000}])
        assert (excinfo.value.status_code, excinfo.value.code) == (413, "request_too_large")
        assert stop(served) == 0


def test_serve_warns_when_bound_to_all_interfaces(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--host", "0.0.0.0", cwd=tmp_path) as served:
        line = served.wait_for("warning:")
        assert "listening on all interfaces (0.0.0.0)" in line
        assert stop(served) == 0


def test_serve_answers_and_stops_on_sigterm_while_nobody_reads_its_output(tmp_path: Path) -> None:
    """3,000 log lines overflow the 64 KiB pipe: the server never waits for the reader."""
    with (
        (tmp_path / "stderr").open("wb") as stderr,
        serving_unread(str(DEFAULT_COLLECTION), cwd=tmp_path, stderr=stderr) as served,
    ):
        port = int(served.base_url.split(":")[2].split("/")[0])
        client = HTTPConnection("127.0.0.1", port, timeout=5)  # keep-alive
        deadline = time.monotonic() + 60
        for _ in range(3_000):
            client.request("GET", "/health")
            response = client.getresponse()
            response.read()
            assert response.status == 200
            assert time.monotonic() < deadline
        client.close()
        signalled = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(5) == 0
        took = time.monotonic() - signalled
        assert served.process.stdout is not None
        lines = (served.head + served.process.stdout.read()).decode().splitlines()
    assert took < 5
    assert lines[2].startswith("  web page: ")
    assert lines[3].startswith("GET /health 200 ")
    assert all(line.startswith("GET /health 200 ") and line.endswith("ms") for line in lines[3:])
    assert "Traceback" not in (tmp_path / "stderr").read_text()


@pytest.fixture
def many_sockets() -> Iterator[None]:
    """Room in this process for 1,100 client sockets and more."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if wanted < 2048:
        pytest.skip(f"the open-file hard limit ({hard}) is too low for 1,100 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# asyncio (without uvloop) accepts a burst of connections in one go: past the open-file limit
# it pauses accepting for a second, while the idle connections make room.
PROMPTLY = 1.0 if find_spec("uvloop") else 2.0


@pytest.mark.usefixtures("many_sockets")
@pytest.mark.parametrize(
    ("open_files", "all_kept"),
    [((1024, 1024), False), ((1024, 4096), True)],
    ids=["hard-limit-1024", "soft-limit-1024"],
)
def test_serve_answers_a_health_probe_past_its_open_file_limit_in_idle_connections(
    tmp_path: Path, open_files: tuple[int, int], all_kept: bool
) -> None:
    """1,100 idle connections against the usual limit of 1,024 open files. Under a hard
    limit, the connections idle the longest make room for new ones; under a soft limit
    alone, serve raises it and keeps them all."""
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path, open_files=open_files) as served:
        url = served.base_url.removesuffix("/v1")
        port = int(url.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(1_100)]
        try:
            started = time.monotonic()
            assert http.request(url, "GET", "/health").status == 200
            assert time.monotonic() - started < PROMPTLY
            closed = [n for n, sock in enumerate(idle) if closed_by_peer(sock)]
        finally:
            for sock in idle:
                sock.close()
        assert stop(served) == 0
    if all_kept:
        assert closed == []
    else:
        assert closed, "no idle connection was closed to make room"
        assert closed == list(range(len(closed))), "the oldest idle connections go first"
