"""Capture mode: a request nothing answered becomes a draft item of the collection file; the
test still fails; the draft answers nothing until its placeholder is replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._capture import Capturer
from pytest_llm_mock._collection import DRAFT_PLACEHOLDER

from . import postman
from .conftest import DEFAULT_COLLECTION
from .served import run_cli, serving

ASKS = """
import openai, pytest

def ask(server, text):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    ).choices[0].message.content
"""

TWO_MISSES = (
    ASKS
    + """
def test_first(llm_mock_server):
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "What is the capital of Peru?")

def test_second(llm_mock_server):
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "What is the capital of Chile?")
"""
)


def drafts(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    folder = next(i for i in data["item"] if i["name"] == "Captured")
    return list(folder["item"])


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    hello = postman.chat_item("Hello", postman.chat_body(("user", "Hello world")), "Hi!")
    data = postman.collection(hello)
    data["x-unknown-field"] = {"kept": True}
    (pytester.path / "collection.json").write_text(json.dumps(data, indent="\t") + "\n")
    return pytester


def test_a_miss_is_captured_once_as_a_draft_and_the_test_still_fails(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        ASKS
        + """
def test_misses_twice(llm_mock_server):
    for _ in range(2):
        with pytest.raises(openai.NotFoundError):
            ask(llm_mock_server, "What is the capital of Peru?")
"""
    )
    result = project.runpytest("--llm-capture")
    result.assert_outcomes(failed=1)
    collection = project.path / "collection.json"
    result.stdout.fnmatch_lines(
        [
            "*The request was captured as draft 'Captured/Captured: What is the capital of "
            f"Peru?' in {collection}: fill in its answer*",
            "*The request was already captured as draft 'Captured/Captured: What is the "
            "capital of Peru?'*",
        ]
    )
    (draft,) = drafts(collection)
    assert json.loads(draft["request"]["body"]["raw"]) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the capital of Peru?"}],
    }
    assert draft["response"][0]["body"] == DRAFT_PLACEHOLDER
    text = collection.read_text(encoding="utf-8")
    assert text.startswith('{\n\t"info"'), "indented as it was"
    assert json.loads(text)["x-unknown-field"] == {"kept": True}
    # Run again: the draft does not answer, and it is not captured a second time.
    project.runpytest("--llm-capture").assert_outcomes(failed=1)
    assert len(drafts(collection)) == 1


def test_a_draft_answers_once_its_placeholder_is_replaced(project: pytest.Pytester) -> None:
    project.makepyfile(
        ASKS
        + """
def test_asks(llm_mock_server):
    assert ask(llm_mock_server, "What is the capital of Peru?") == "Lima"
"""
    )
    project.runpytest("--llm-capture").assert_outcomes(failed=1)
    collection = project.path / "collection.json"
    checked = run_cli("check", str(collection), cwd=project.path)
    assert checked.returncode == 1
    assert (
        "item 'Captured/Captured: What is the capital of Peru?': is a captured draft: replace "
        "the placeholder body of its example with the answer" in checked.stdout
    )
    filled = collection.read_text(encoding="utf-8").replace(json.dumps(DRAFT_PLACEHOLDER), '"Lima"')
    collection.write_text(filled, encoding="utf-8")
    project.runpytest().assert_outcomes(passed=1)
    assert run_cli("check", str(collection), cwd=project.path).returncode == 0


def test_the_ini_key_turns_capture_on(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nllm_capture = true\n")
    project.makepyfile(TWO_MISSES)
    project.runpytest().assert_outcomes(passed=0, failed=2)
    assert len(drafts(project.path / "collection.json")) == 2


def test_xdist_workers_lose_none_of_each_others_drafts(project: pytest.Pytester) -> None:
    body = ASKS + "".join(
        f"""
def test_{n}(llm_mock_server):
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "question {n}")
"""
        for n in range(8)
    )
    project.makepyfile(body)
    result = project.runpytest_subprocess("--llm-capture", "-p", "xdist", "-n", "2")
    result.assert_outcomes(failed=8)
    names = sorted(d["name"] for d in drafts(project.path / "collection.json"))
    assert names == [f"Captured: question {n}" for n in range(8)]


def test_with_the_embedded_default_drafts_go_to_a_new_collection_json(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TWO_MISSES)
    pytester.runpytest("--llm-capture").assert_outcomes(failed=2)
    written = pytester.path / "collection.json"
    data = json.loads(written.read_text(encoding="utf-8"))
    default = json.loads(DEFAULT_COLLECTION.read_text(encoding="utf-8"))
    assert data["item"][: len(default["item"])] == default["item"], "the default's items kept"
    assert len(drafts(written)) == 2


def test_serve_captures_misses_into_the_current_folder(tmp_path: Path) -> None:
    with serving("--capture", cwd=tmp_path) as served:
        client = openai.OpenAI(base_url=served.base_url, api_key="k", max_retries=0)
        with client, pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "Anything new?"}]
            )
    assert "captured as draft 'Captured/Captured: Anything new?'" in str(raised.value)
    (draft,) = drafts(tmp_path / "collection.json")
    assert draft["name"] == "Captured: Anything new?"


def test_responses_completions_and_anthropic_misses_are_captured_on_their_paths(
    tmp_path: Path,
) -> None:
    path = postman.write(tmp_path / "collection.json", postman.collection())
    with LLMMockServer(path, strict=False) as server:
        server._state.capturer = Capturer(path)
        client = server.openai_client(max_retries=0)
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="m", input="Via Responses")
        with pytest.raises(openai.NotFoundError):
            client.completions.create(model="m", prompt="Via completions")
        with (
            anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as claude,
            pytest.raises(anthropic.NotFoundError),
        ):
            claude.messages.create(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "Via messages"}]
            )
        captured = {d["name"]: d["request"]["url"]["raw"] for d in drafts(path)}
        assert captured == {
            "Captured: Via Responses": "{{baseUrl}}/v1/responses",
            "Captured: Via completions": "{{baseUrl}}/v1/completions",
            "Captured: Via messages": "{{baseUrl}}/v1/messages",
        }
        text = path.read_text(encoding="utf-8").replace(json.dumps(DRAFT_PLACEHOLDER), '"filled"')
        path.write_text(text, encoding="utf-8")
        server.use(path)
        assert client.responses.create(model="m", input="Via Responses").output_text == "filled"
        assert client.completions.create(model="m", prompt="Via completions").choices[0].text == (
            "filled"
        )
        with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as claude:
            message = claude.messages.create(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "Via messages"}]
            )
        assert message.content[0].text == "filled"  # type: ignore[union-attr]
