"""Misses that explain agent prompts: the example with the same turns ranks first when only the
system prompt differs, with the `dialogue` hint; added responses say which criterion failed; a
test that fails on a miss is told how to make it lenient."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import postman
from .test_plugin import expects_a_404

AGENT_PROMPT = "You are a helpful AI assistant. Solve tasks using your coding and language skills."
TASK = "Write a Python script to analyze a simple dataset"


def miss_text(server: LLMMockServer, messages: list[dict[str, str]]) -> str:
    with server.openai_client(max_retries=0) as client, pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
    (miss,) = server.unmatched
    assert miss.miss is not None
    return miss.miss


def test_only_a_different_system_prompt_ranks_the_same_turns_first_and_hints_dialogue(
    tmp_path: Path,
) -> None:
    same_turns = postman.chat_item(
        "Same task", postman.chat_body(("system", "Be brief."), ("user", TASK)), "script"
    )
    same_prompt = postman.chat_item(
        "Same prompt",
        postman.chat_body(("system", AGENT_PROMPT), ("user", "Something else entirely")),
        "other",
    )
    path = postman.write(tmp_path / "c.json", postman.collection(same_prompt, same_turns))
    with LLMMockServer(path, strict=False) as server:
        text = miss_text(
            server, [{"role": "system", "content": AGENT_PROMPT}, {"role": "user", "content": TASK}]
        )
    lines = text.splitlines()
    assert "Closest example 1: 'Same task' of item 'Same task'" in lines
    assert lines.index("Closest example 1: 'Same task' of item 'Same task'") < lines.index(
        "Closest example 2: 'Same prompt' of item 'Same prompt'"
    )
    assert (
        "Only the system prompt differs from example 'Same task': the user and assistant turns "
        "are equal (agent frameworks add a system prompt of their own). To match on those turns "
        'only, use match="dialogue" (@pytest.mark.llm_collection(match="dialogue")), '
        "--llm-match dialogue, or serve --match dialogue." in lines
    )


def test_no_dialogue_hint_when_the_turns_differ(tmp_path: Path) -> None:
    item = postman.chat_item("Task", postman.chat_body(("user", TASK)), "script")
    path = postman.write(tmp_path / "c.json", postman.collection(item))
    with LLMMockServer(path, strict=False) as server:
        text = miss_text(server, [{"role": "user", "content": "another task"}])
    assert "Only the system prompt differs" not in text
    assert "--llm-match dialogue" not in text


def test_a_miss_says_which_criterion_each_added_response_failed() -> None:
    with LLMMockServer(strict=False) as server:
        server.add_response("paris", last_user_message="Weather in Paris?")
        server.add_response("model", model="gpt-4o", contains="Paris")
        text = miss_text(server, [{"role": "user", "content": "Weather in Rome?"}])
    assert text.splitlines()[-4:] == [
        "No response added with add_response(...) answered it:",
        "  add_response #1(last_user_message='Weather in Paris?'): last_user_message: expected "
        "'Weather in Paris?', received 'Weather in Rome?'",
        "  add_response #2(contains='Paris', model='gpt-4o'): model: expected 'gpt-4o', "
        "received 'm'",
        "The request came through the OpenAI chat door: POST /v1/chat/completions.",
    ]


def test_a_test_failing_on_a_miss_is_told_how_to_be_lenient(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(expects_a_404("nothing answers this"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "If the test means to send requests that nothing answers, make it lenient: "
            "@pytest.mark.llm_collection(strict=False), or --llm-lenient for the run."
        ]
    )
