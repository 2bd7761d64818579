"""Legacy completions (`POST /v1/completions`): completions examples, or chat examples with the
same prompt text, streamed or not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import http, openapi, postman

FIBONACCI = "Write a Python function to calculate fibonacci numbers"


def test_a_chat_example_answers_the_same_prompt(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    chat = client.chat.completions.create(
        model="mock-llm-v1", messages=[{"role": "user", "content": FIBONACCI}]
    )
    legacy = client.completions.create(model="mock-llm-v1", prompt=FIBONACCI)
    assert legacy.choices[0].text == chat.choices[0].message.content
    assert legacy.object == "text_completion"
    standalone.assert_called(path="/v1/completions", last_user_message=FIBONACCI)


def test_streaming_joins_to_the_same_text(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    stream = client.completions.create(
        model="mock-llm-v1", prompt="Hello", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert (
        "".join(c.choices[0].text for c in chunks if c.choices)
        == "Hello! How can I help you today?"
    )
    assert chunks[-1].usage is not None
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_several_prompts_get_one_choice_each(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    result = client.completions.create(model="mock-llm-v1", prompt=["Hello", FIBONACCI])
    assert result.choices[0].text == "Hello! How can I help you today?"
    assert "def fibonacci" in result.choices[1].text
    assert [c.index for c in result.choices] == [0, 1]


def test_token_arrays_and_a_null_prompt(tmp_path: Path) -> None:
    """Every prompt form the spec allows: token arrays are one prompt each (read as the text
    `tokens:1,2`), a null prompt is the document separator `<|endoftext|>`."""
    items = [
        postman.chat_item(prompt, postman.chat_body(("user", prompt), model=None), answer)
        for prompt, answer in [("tokens:1,2", "one"), ("tokens:3", "two"), ("<|endoftext|>", "doc")]
    ]
    with LLMMockServer(postman.write(tmp_path / "c.json", postman.collection(*items))) as mock:
        arrays = {"model": "m", "prompt": [[1, 2], [3]]}
        response = http.request(mock.url, "POST", "/v1/completions", arrays)
        assert [c["text"] for c in response.json()["choices"]] == ["one", "two"]
        null = http.request(mock.url, "POST", "/v1/completions", {"model": "m", "prompt": None})
        assert null.json()["choices"][0]["text"] == "doc"
        missing = http.request(mock.url, "POST", "/v1/completions", {"model": "m"})
        assert (missing.status, missing.json()["error"]["param"]) == (400, "prompt")


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[LLMMockServer]:
    saved = {"choices": [{"text": " saved completion", "index": 0, "finish_reason": "length"}]}
    item = postman.item(
        "legacy",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this"},
        postman.example("legacy", saved),
        path="v1/completions",
    )
    with LLMMockServer(postman.write(tmp_path / "c.json", postman.collection(item))) as mock:
        yield mock


def test_a_completions_example_answers(legacy: LLMMockServer) -> None:
    client = legacy.openai_client(max_retries=0)
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this")
    assert (result.choices[0].text, result.choices[0].finish_reason) == (
        " saved completion",
        "length",
    )
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say that")
    legacy.reset()


def test_bad_prompts_and_faults(standalone: LLMMockServer) -> None:
    response = http.request(
        standalone.url, "POST", "/v1/completions", {"model": "m", "prompt": {"x": 1}}
    )
    assert (response.status, response.json()["error"]["param"]) == (400, "prompt")
    standalone.fail_next(500)
    with pytest.raises(openai.InternalServerError):
        standalone.openai_client(max_retries=0).completions.create(
            model="mock-llm-v1", prompt="Hello"
        )


def test_bodies_and_chunks_are_valid(standalone: LLMMockServer, validate: openapi.Validate) -> None:
    body = {"model": "mock-llm-v1", "prompt": "Hello"}
    validate(
        "CreateCompletionResponse",
        http.request(standalone.url, "POST", "/v1/completions", body).json(),
    )
    streamed = http.request(standalone.url, "POST", "/v1/completions", {**body, "stream": True})
    lines = streamed.body.decode().split("\n\n")
    assert lines[-2:] == ["data: [DONE]", ""]
    for line in lines[:-2]:
        chunk = json.loads(line.removeprefix("data: "))
        # The spec types finish_reason as a string, but real streams send null until the last
        # chunk of a choice (the chat chunk schema marks it nullable); check the rest as is.
        for choice in chunk["choices"]:
            if choice["finish_reason"] is None:
                choice["finish_reason"] = "stop"
        validate("CreateCompletionResponse", chunk)
