"""The `rasa` strategy: Rasa's command generators send one user message of `---`-separated
sections; only the Conversation History section is the key. This collection is written for
the project in the same shape (it is not Rasa's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._matching import rasa_history

from . import postman, sdk


def prompt(
    *history: str,
    flows: str = '{"flows": [{"name": "add_contact"}]}',
    state: str = '{"active_flow": null}',
    task: str = "Write one action per line.",
) -> str:
    return "\n\n---\n\n".join(
        [
            "## Task Description\nTurn the conversation into actions.",
            f"## Available Flows and Slots\n```json\n{flows}\n```",
            f"## Current State\n```json\n{state}\n```",
            "## Conversation History\n" + "\n".join(history),
            f"## Task\n{task}\nThe last message: {history[-1].removeprefix('USER: ')!r}",
        ]
    )


TURNS = {
    "start": (["USER: I want to add someone"], "start flow add_contact"),
    "handle": (
        ["USER: I want to add someone", "AI: What's their handle?", "USER: @zoë"],
        "set slot add_contact_handle @zoë",
    ),
    "quoted": (
        ['USER: Name them "Bart \\ Simpson"', "AI: Done?", "USER: yes"],
        "set slot confirmation True",
    ),
    "unicode": (
        ["USER: 東京に行きたい", "AI: いつですか", "USER: 明日"],
        "set slot date tomorrow",
    ),
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    items = [
        postman.chat_item(
            name, postman.chat_body(("user", prompt(*history)), model="gpt-4"), answer
        )
        for name, (history, answer) in TURNS.items()
    ]
    path = postman.write(tmp_path / "rasa.json", postman.collection(*items))
    with LLMMockServer(path, match="rasa") as mock:
        yield mock


def ask(server: LLMMockServer, text: str) -> str | None:
    client = server.openai_client(max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content


@pytest.mark.parametrize("name", TURNS)
def test_each_history_gets_its_own_answer(server: LLMMockServer, name: str) -> None:
    history, answer = TURNS[name]
    assert ask(server, prompt(*history)) == answer


@pytest.mark.parametrize(
    "edit",
    [
        {"flows": '{"flows": [{"name": "add_contact"}, {"name": "remove_contact"}]}'},
        {"state": '{"active_flow": "add_contact", "slots": {"handle": "@zoë"}}'},
        {"task": "Create an action list, one action per line, and nothing else."},
    ],
    ids=["flows", "state", "task"],
)
def test_edits_outside_the_history_keep_the_answer(
    server: LLMMockServer, edit: dict[str, str]
) -> None:
    history, answer = TURNS["handle"]
    assert ask(server, prompt(*history, **edit)) == answer


def test_whitespace_in_the_history_does_not_matter(server: LLMMockServer) -> None:
    history, answer = TURNS["quoted"]
    spaced = [line.replace(" ", "  ") + "  " for line in history]
    assert ask(server, prompt(*spaced).replace("\n", "\r\n")) == answer


def test_a_changed_history_is_a_miss_that_shows_the_difference(server: LLMMockServer) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        ask(server, prompt("USER: I want to add someone", "AI: What's their handle?", "USER: @zoe"))
    message = sdk.message(excinfo.value)
    assert "strategy: rasa" in message
    assert "first difference in the Conversation History section:" in message
    assert "expected: …What's their handle? USER: @zoë" in message
    assert "received: …What's their handle? USER: @zoe" in message
    server.reset()


def test_a_prompt_without_the_section_says_so(server: LLMMockServer) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        ask(server, "## Task\nno history here\n---\n## Other\nnothing")
    assert (
        "The request has no key under the 'rasa' strategy: the Rasa conversation section was not "
        "found: the last user message has no section headed 'Conversation History' between "
        "'---' lines." in sdk.message(excinfo.value)
    )
    server.reset()


@pytest.mark.parametrize(
    ("text", "history"),
    [
        ("## Conversation History\nUSER: hi\n---\n## Task\nx", "USER: hi"),
        ("intro\n-----\nConversation history:\nUSER: a\nAI: b\n-----\nend", "USER: a AI: b"),
        ("## Conversation History\n", ""),
        ("## Task\nonly", None),
    ],
)
def test_the_history_section_is_found_by_its_heading(text: str, history: str | None) -> None:
    assert rasa_history(text) == history
