"""Every body the server sends validates against the official OpenAI OpenAPI spec and parses
with the SDK's own types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from pytest_llm_mock import LLMMockServer, load_collection

from . import http, openapi, postman
from .conftest import DEFAULT_COLLECTION

TOOL_CALLS: list[dict[str, Any]] = [
    {"name": "get_weather", "arguments": {"city": "Paris"}},
    {"name": "get_time", "arguments": '{"zone": "CET"}'},
]


def test_the_spec_fixes_nullable_leftovers() -> None:
    fixed = openapi._fix_nullable({"type": "string", "enum": ["stop"], "nullable": True})
    assert fixed == {"type": ["string", "null"], "enum": ["stop", None]}
    assert openapi._fix_nullable({"$ref": "#/x", "nullable": True}) == {
        "anyOf": [{"$ref": "#/x"}, {"type": "null"}]
    }


def test_the_validator_rejects_a_wrong_body(validate: openapi.Validate) -> None:
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        validate("CreateChatCompletionResponse", {"id": "x", "object": "chat.completion"})


def _partial_collection(tmp_path: Path) -> Path:
    """Examples that state only part of a completion: the server must fill in the rest."""
    ask = postman.chat_body
    items = [
        postman.chat_item("text", ask(("user", "text")), "plain text"),
        postman.chat_item("empty", ask(("user", "empty")), ""),
        postman.chat_item(
            "choices only", ask(("user", "choices")), {"choices": [{"message": {"content": "hi"}}]}
        ),
        postman.chat_item(
            "tools",
            ask(("user", "tools")),
            {
                "choices": [
                    {
                        "message": {
                            "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]
                        }
                    }
                ]
            },
        ),
        postman.chat_item(
            "two choices",
            ask(("user", "two"), n=2),
            {"choices": [{"message": {"content": "a"}}, {"message": {"content": "b"}}]},
        ),
        postman.chat_item(
            "refusal",
            ask(("user", "refuse")),
            {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]},
        ),
    ]
    return postman.write(tmp_path / "partial.json", postman.collection(*items))


def _chat_bodies(server: LLMMockServer, path: Path) -> list[tuple[str, Any]]:
    bodies = []
    for example in load_collection(path).examples:
        if example.request is None or example.status != 200:
            continue
        response = http.request(
            server.url, "POST", "/v1/chat/completions", dict(example.request.body)
        )
        assert response.status == 200, response.body
        bodies.append((example.full_name, response.json()))
    return bodies


@pytest.mark.parametrize("which", ["default", "partial"])
def test_every_streamed_chunk_is_valid(
    validate: openapi.Validate, tmp_path: Path, which: str
) -> None:
    path = DEFAULT_COLLECTION if which == "default" else _partial_collection(tmp_path)
    checked = 0
    with LLMMockServer(path) as server:
        for example in load_collection(path).examples:
            if example.request is None or example.status != 200:
                continue
            for usage in (False, True):
                body = {**example.request.body, "stream": True}
                if usage:
                    body["stream_options"] = {"include_usage": True}
                response = http.request(server.url, "POST", "/v1/chat/completions", body)
                lines = response.body.decode().split("\n\n")
                assert lines[-2:] == ["data: [DONE]", ""]
                for line in lines[:-2]:
                    chunk = json.loads(line.removeprefix("data: "))
                    validate("CreateChatCompletionStreamResponse", chunk)
                    ChatCompletionChunk.model_validate(chunk)
                    checked += 1
    assert checked > 20


@pytest.mark.parametrize("which", ["default", "partial"])
def test_every_chat_answer_is_a_valid_completion(
    validate: openapi.Validate, tmp_path: Path, which: str
) -> None:
    path = DEFAULT_COLLECTION if which == "default" else _partial_collection(tmp_path)
    with LLMMockServer(path) as server:
        bodies = _chat_bodies(server, path)
    assert bodies
    for name, body in bodies:
        validate("CreateChatCompletionResponse", body)
        completion = ChatCompletion.model_validate(body)
        assert completion.choices, name
        assert completion.usage is not None
        assert (
            completion.usage.total_tokens
            == completion.usage.prompt_tokens + completion.usage.completion_tokens
        )


def test_added_responses_are_valid_completions(validate: openapi.Validate) -> None:
    with LLMMockServer() as server:
        server.add_response("text", last_user_message="text")
        server.add_response(tool_calls=TOOL_CALLS, last_user_message="tools")
        client = server.openai_client()
        text = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "text"}]
        )
        tools = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "tools"}]
        )
        for raw in (text, tools):
            validate("CreateChatCompletionResponse", raw.http_response.json())
        calls = tools.parse().choices[0].message.tool_calls
        assert calls is not None
        assert [(c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
            ("get_weather", '{"city": "Paris"}'),
            ("get_time", '{"zone": "CET"}'),
        ]
        assert tools.parse().choices[0].finish_reason == "tool_calls"


def test_models_are_valid(validate: openapi.Validate, standalone: LLMMockServer) -> None:
    listing = http.request(standalone.url, "GET", "/v1/models").json()
    validate("ListModelsResponse", listing)
    for entry in listing["data"]:
        Model.model_validate(entry)
        one = http.request(standalone.url, "GET", f"/v1/models/{entry['id']}").json()
        validate("Model", one)
        assert one == entry


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/chat/completions", b"{"),
        ("POST", "/v1/chat/completions", b'{"model": "m"}'),
        (
            "POST",
            "/v1/chat/completions",
            b'{"model": "m", "messages": [{"role": "user", "content": "?"}]}',
        ),
        ("GET", "/v1/chat/completions", None),
        ("GET", "/v1/models/nope", None),
        ("POST", "/v1/unknown", b"{}"),
    ],
)
def test_error_bodies_are_valid(
    validate: openapi.Validate,
    standalone: LLMMockServer,
    method: str,
    path: str,
    body: bytes | None,
) -> None:
    response = http.request(standalone.url, method, path, body)
    assert response.status >= 400
    validate("ErrorResponse", response.json())


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 503, 418])
def test_status_errors_added_from_python_are_valid(validate: openapi.Validate, status: int) -> None:
    with LLMMockServer() as server:
        server.add_response(status=status)
        response = http.request(
            server.url, "POST", "/v1/chat/completions", postman.chat_body(("user", "x"))
        )
    assert response.status == status
    validate("ErrorResponse", response.json())
