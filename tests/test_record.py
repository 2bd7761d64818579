"""Record mode: unanswered requests go to an upstream (here a second local server), and the
answers are saved in the collection, so the next run passes without the upstream."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llm_mock import LLMMockServer, load_collection
from pytest_llm_mock._collection import StreamAnswer
from pytest_llm_mock.cli import main

from .conftest import DEFAULT_COLLECTION
from .served import run_cli

SUITE = """
def ask(server, text, **options):
    client = server.openai_client(api_key="sk-inner-secret", max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )

def test_plain(llm_mock_server):
    assert ask(llm_mock_server, "What is 2 + 2?").choices[0].message.content == "4, says upstream"

def test_streamed(llm_mock_server):
    stream = ask(llm_mock_server, "Count to three", stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "one two three"
"""


def test_record_then_replay_without_the_upstream(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_MOCK_UPSTREAM_API_KEY", "sk-upstream-secret")
    pytester.makepyfile(SUITE)
    with LLMMockServer() as upstream:
        upstream.require_api_key = "sk-upstream-secret"
        upstream.add_response("4, says upstream", last_user_message="What is 2 + 2?")
        upstream.add_response("one two three", last_user_message="Count to three")
        result = pytester.runpytest(f"--llm-record={upstream.base_url}")
        result.assert_outcomes(passed=2)
        assert len(upstream.requests) == 2
        assert all(r.status == 200 for r in upstream.requests)

    path = pytester.path / "collection.json"
    text = path.read_text(encoding="utf-8")
    assert "sk-inner-secret" not in text
    assert "sk-upstream-secret" not in text
    recorded = load_collection(path)
    names = [e.full_name for e in recorded.examples]
    assert names == [
        "Recorded/Recorded: What is 2 + 2?/recorded",
        "Recorded/Recorded: Count to three/recorded",
    ]
    assert isinstance(recorded.examples[1].answer, StreamAnswer)
    assert main(["check", str(path)]) == 0

    # The upstream is gone: the recording answers, in strict mode.
    pytester.runpytest().assert_outcomes(passed=2)


def test_an_unreachable_upstream_is_a_502_that_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    with LLMMockServer() as gone:
        url = gone.base_url
    result = pytester.runpytest(f"--llm-record={url}", "-k", "plain")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*record mode: the upstream * could not be reached*"])
    assert not (pytester.path / "collection.json").exists()


def test_a_bad_upstream_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--llm-record=ftp://nowhere")
    result.stdout.fnmatch_lines(
        ["*--llm-record: the upstream must be an http(s) base URL, got 'ftp://nowhere'*"]
    )


def test_serve_does_not_record_into_the_embedded_default(tmp_path: Path) -> None:
    from pytest_llm_mock._collection import default_collection_path

    record = ("--record", "http://127.0.0.1:9/v1", "--port", "0")
    result = run_cli("serve", str(default_collection_path()), *record, cwd=tmp_path)
    assert result.returncode == 2
    assert "--record needs a collection file of yours to write into" in result.stderr
    assert DEFAULT_COLLECTION.exists()


def test_record_mode_covers_the_other_apis(tmp_path: Path) -> None:
    import anthropic

    path = tmp_path / "recorded.json"

    def ask_all(server: LLMMockServer) -> list[str]:
        client = server.openai_client(max_retries=0)
        answers = [
            client.responses.create(model="gpt-4o", input="Responses?").output_text,
            client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Completions?")
            .choices[0]
            .text,
        ]
        with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as claude:
            message = claude.messages.create(
                model="claude-mock-1",
                max_tokens=20,
                messages=[{"role": "user", "content": "Messages?"}],
            )
        answers.append(message.content[0].text)  # type: ignore[union-attr]
        streamed = client.responses.create(model="gpt-4o", input="Streamed?", stream=True)
        answers.append("".join(e.delta for e in streamed if e.type == "response.output_text.delta"))
        return answers

    expected = ["from responses", "from completions", "from messages", "streamed from upstream"]
    with LLMMockServer() as upstream, LLMMockServer() as recorder:
        for text, question in zip(
            expected, ["Responses?", "Completions?", "Messages?", "Streamed?"], strict=True
        ):
            upstream.add_response(text, last_user_message=question)
        from pytest_llm_mock._record import Recorder

        recorder._state.recorder = Recorder(upstream.base_url, path)
        assert ask_all(recorder) == expected
        assert [r.path for r in upstream.requests] == [
            "/v1/responses",
            "/v1/completions",
            "/v1/messages",
            "/v1/responses",
        ]

    recorded = load_collection(path)
    assert [e.path for e in recorded.examples] == [
        "/responses",
        "/completions",
        "/messages",
        "/responses",
    ]
    assert main(["check", str(path)]) == 0
    with LLMMockServer(path) as replay:
        assert ask_all(replay) == expected
