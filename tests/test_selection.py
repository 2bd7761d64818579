"""Postman's example selection headers, as its own mock servers honour them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import postman, sdk

HI = postman.chat_body(("user", "hi"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    limited = {"error": {"message": "slow", "type": "requests", "param": None, "code": None}}
    item = postman.item(
        "greet",
        HI,
        postman.example("friendly", "Hello!"),
        postman.example("formal", "Good day."),
        postman.example("limited", limited, status=429),
    )
    item["response"][1]["id"] = "3f1c-formal"
    other = postman.chat_item("other", postman.chat_body(("user", "other")), "Other.")
    path = postman.write(tmp_path / "c.json", postman.collection(item, other))
    with LLMMockServer(path, strict=False) as mock:
        yield mock


def ask(server: LLMMockServer, headers: dict[str, str], text: str = "hi") -> Any:
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], extra_headers=headers
    )


@pytest.mark.parametrize(
    ("headers", "answer"),
    [
        ({"x-mock-response-name": "formal"}, "Good day."),
        ({"x-mock-response-name": "greet/formal"}, "Good day."),
        ({"x-mock-response-id": "3f1c-formal"}, "Good day."),
        ({"x-mock-response-name": "Other"}, None),
        ({"x-mock-response-code": "200"}, "Hello!"),
        ({"x-mock-response-name": "friendly", "x-mock-response-code": "200"}, "Hello!"),
    ],
)
def test_headers_pick_the_example(
    server: LLMMockServer, headers: dict[str, str], answer: str | None
) -> None:
    if answer is None:
        with pytest.raises(openai.NotFoundError) as excinfo:
            ask(server, headers)
        assert "fits x-mock-response-name/id 'Other'" in sdk.message(excinfo.value)
        assert "Chat examples are named: 'formal', 'friendly', 'limited', 'other'." in sdk.message(
            excinfo.value
        )
    else:
        assert ask(server, headers).choices[0].message.content == answer


def test_the_name_wins_over_the_messages(server: LLMMockServer) -> None:
    reply = ask(server, {"x-mock-response-name": "other"}, text="hi")
    assert reply.choices[0].message.content == "Other."


def test_the_code_keeps_only_examples_with_that_status(server: LLMMockServer) -> None:
    with pytest.raises(openai.RateLimitError):
        ask(server, {"x-mock-response-code": "429"})
    with pytest.raises(openai.NotFoundError) as excinfo:
        ask(server, {"x-mock-response-code": "500"})
    assert "The examples that match this request have other statuses than 500." in sdk.message(
        excinfo.value
    )
    with pytest.raises(openai.NotFoundError) as excinfo:
        ask(server, {"x-mock-response-name": "formal", "x-mock-response-code": "500"})
    assert "Examples named 'formal' answer with status [200], not 500." in sdk.message(
        excinfo.value
    )


def test_a_code_for_a_request_that_matches_nothing_explains_the_closest(
    server: LLMMockServer,
) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        ask(server, {"x-mock-response-code": "200"}, text="unknown")
    assert "Closest example 1:" in sdk.message(excinfo.value)


def test_without_headers_the_examples_form_a_sequence(server: LLMMockServer) -> None:
    first = ask(server, {}).choices[0].message.content
    second = ask(server, {}).choices[0].message.content
    assert (first, second) == ("Hello!", "Good day.")
    with pytest.raises(openai.RateLimitError):
        ask(server, {})
