"""Structured output: examples answering `response_format: json_schema` requests parse with
the SDK's `.parse()`, streamed or not, and refusals surface as the SDK's refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pytest_llm_mock import LLMMockServer

from . import postman


class Weather(BaseModel):
    city: str
    celsius: float


QUESTION: Any = [{"role": "user", "content": "Weather in Paris as JSON"}]
FORBIDDEN: Any = [{"role": "user", "content": "Something forbidden"}]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    weather = json.dumps({"city": "Paris", "celsius": 21.5})
    refusal = {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]}
    items = [
        postman.chat_item(
            "weather", postman.chat_body(("user", "Weather in Paris as JSON")), weather
        ),
        postman.chat_item("forbidden", postman.chat_body(("user", "Something forbidden")), refusal),
    ]
    path = postman.write(tmp_path / "structured.json", postman.collection(*items))
    with LLMMockServer(path) as mock:
        yield mock


def test_parse_gives_the_users_model(server: LLMMockServer) -> None:
    client = server.openai_client()
    completion = client.chat.completions.parse(
        model="gpt-4o",
        messages=QUESTION,
        response_format=Weather,
    )
    assert completion.choices[0].message.parsed == Weather(city="Paris", celsius=21.5)
    sent = server.last_request
    assert sent is not None
    assert sent.json["response_format"]["type"] == "json_schema"


def test_the_stream_helper_parses_too(server: LLMMockServer) -> None:
    client = server.openai_client()
    with client.chat.completions.stream(
        model="gpt-4o",
        messages=QUESTION,
        response_format=Weather,
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == Weather(city="Paris", celsius=21.5)


def test_a_refusal_surfaces_as_the_sdks_refusal(server: LLMMockServer) -> None:
    client = server.openai_client()
    completion = client.chat.completions.parse(
        model="gpt-4o",
        messages=FORBIDDEN,
        response_format=Weather,
    )
    message = completion.choices[0].message
    assert (message.parsed, message.refusal) == (None, "I can't help with that.")
