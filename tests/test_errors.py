"""Every error path: its status, the OpenAI envelope, and the SDK exception it raises."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import http, openapi, postman, sdk

ASK = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "status?"}]}


DOWN = {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}
ERROR_EXAMPLES: list[tuple[int, str | dict[str, Any], list[dict[str, Any]]]] = [
    (422, "", []),
    (429, "Rate limit reached for requests", [{"key": "Retry-After", "value": "1"}]),
    (500, "", []),
    (503, DOWN, []),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    """Examples that answer with error statuses, as a Postman user saves them."""
    items = [
        postman.item(
            str(status),
            postman.chat_body(("user", f"give me {status}")),
            postman.example(str(status), body, status=status, headers=headers),
        )
        for status, body, headers in ERROR_EXAMPLES
    ]
    path = postman.write(tmp_path / "errors.json", postman.collection(*items))
    with LLMMockServer(path, strict=False, max_body_size=4096) as mock:
        yield mock


def create(server: LLMMockServer, text: str, **options: Any) -> Any:
    client = server.openai_client(max_retries=0, **options)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )


def sdk_error(call: Callable[[], Any], kind: type[openai.APIStatusError]) -> openai.APIStatusError:
    with pytest.raises(kind) as excinfo:
        call()
    assert type(excinfo.value) is kind
    return excinfo.value


CASES: list[tuple[str, int, type[openai.APIStatusError], str, str | None]] = [
    ("give me 422", 422, openai.UnprocessableEntityError, "invalid_request_error", None),
    ("give me 429", 429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
    ("give me 500", 500, openai.InternalServerError, "server_error", None),
    ("give me 503", 503, openai.InternalServerError, "server_error", None),
    ("nothing matches", 404, openai.NotFoundError, "invalid_request_error", "llm_mock_no_match"),
]


@pytest.mark.parametrize(("text", "status", "kind", "type_", "code"), CASES)
def test_error_statuses_from_the_collection(  # noqa: PLR0917 (parametrized)
    server: LLMMockServer,
    validate: openapi.Validate,
    text: str,
    status: int,
    kind: type[openai.APIStatusError],
    type_: str,
    code: str | None,
) -> None:
    error = sdk_error(lambda: create(server, text), kind)
    assert (error.status_code, error.type, error.code) == (status, type_, code)
    validate("ErrorResponse", error.response.json())


def test_a_429_carries_its_retry_after_and_plain_text_becomes_the_message(
    server: LLMMockServer,
) -> None:
    error = sdk_error(lambda: create(server, "give me 429"), openai.RateLimitError)
    assert error.response.headers["retry-after"] == "1"
    assert sdk.message(error).endswith("Rate limit reached for requests")


def test_400_names_the_parameter(server: LLMMockServer) -> None:
    client = server.openai_client(max_retries=0)
    error = sdk_error(
        lambda: client.post(
            "/chat/completions", cast_to=object, body={"model": "m", "messages": "hi"}
        ),
        openai.BadRequestError,
    )
    assert (error.status_code, error.param, error.code) == (400, "messages", "invalid_type")


def test_tool_fields_are_checked_only_on_the_roles_that_define_them(server: LLMMockServer) -> None:
    """The API defines `tool_call_id` on tool messages and `tool_calls` on assistant ones; on
    other roles it lets any value through (found by schemathesis from the official spec)."""
    server.add_response("fine")
    stray = {"role": "user", "content": "hi", "tool_call_id": ["x"], "tool_calls": 5}
    response = http.request(
        server.url, "POST", "/v1/chat/completions", {"model": "m", "messages": [stray]}
    )
    assert response.status == 200
    tool = {"role": "tool", "content": "42", "tool_call_id": ["x"]}
    response = http.request(
        server.url, "POST", "/v1/chat/completions", {"model": "m", "messages": [tool]}
    )
    error = response.json()["error"]
    assert (response.status, error["param"]) == (400, "messages[0].tool_call_id")
    server.reset()


def test_401_only_when_a_key_is_required(server: LLMMockServer, validate: openapi.Validate) -> None:
    server.add_response("fine")
    assert create(server, "x").choices[0].message.content == "fine"
    server.require_api_key = "sk-right-key"
    error = sdk_error(
        lambda: create(server, "x", api_key="sk-wrong-1234"), openai.AuthenticationError
    )
    assert (error.status_code, error.code) == (401, "invalid_api_key")
    assert "sk-…1234" in sdk.message(error)
    validate("ErrorResponse", error.response.json())
    models = server.openai_client(max_retries=0, api_key="nope")
    sdk_error(models.models.list, openai.AuthenticationError)
    assert create(server, "x", api_key="sk-right-key").choices[0].message.content == "fine"
    azure_style = http.request(
        server.url, "POST", "/v1/chat/completions", ASK, {"api-key": "sk-right-key"}
    )
    assert azure_style.status == 200
    server.reset()
    assert server.require_api_key is None


def test_404_for_an_unknown_model_and_route(server: LLMMockServer) -> None:
    client = server.openai_client(max_retries=0)
    error = sdk_error(lambda: client.models.retrieve("gpt-9"), openai.NotFoundError)
    assert error.code == "model_not_found"
    error = sdk_error(lambda: client.get("/assistants", cast_to=object), openai.NotFoundError)
    assert error.code == "unknown_url"


def test_any_model_id_can_be_retrieved(server: LLMMockServer) -> None:
    """Model ids are any text: slashes and line breaks reach the model route, not a 404."""
    odd = "org/model\nv2"
    http.request(server.url, "POST", "/v1/chat/completions", {**ASK, "model": odd})
    found = http.request(server.url, "GET", "/v1/models/" + quote(odd, safe=""))
    assert (found.status, found.json()["id"]) == (200, odd)
    server.reset()


def test_405_for_a_wrong_method(server: LLMMockServer) -> None:
    client = server.openai_client(max_retries=0)
    error = sdk_error(
        lambda: client.get("/chat/completions", cast_to=object), openai.APIStatusError
    )
    assert (error.status_code, error.code) == (405, "method_not_allowed")


def test_413_for_a_body_over_the_limit(server: LLMMockServer, validate: openapi.Validate) -> None:
    error = sdk_error(lambda: create(server, "x" * 5000), openai.APIStatusError)
    assert (error.status_code, error.code) == (413, "request_too_large")
    assert "limit of 4096 bytes" in sdk.message(error)
    validate("ErrorResponse", error.response.json())
    chunked = http.request(server.url, "POST", "/v1/chat/completions", b"y" * 5000, chunked=True)
    assert chunked.status == 413


def test_415_for_a_body_that_is_not_json(server: LLMMockServer, validate: openapi.Validate) -> None:
    response = http.request(
        server.url,
        "POST",
        "/v1/chat/completions",
        ASK,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 415
    body = response.json()
    validate("ErrorResponse", body)
    assert body["error"]["code"] == "unsupported_content_type"
    assert "-H 'Content-Type: application/json'" in body["error"]["message"]
    client = server.openai_client(max_retries=0)
    error = sdk_error(
        lambda: client.chat.completions.create(**ASK, extra_headers={"Content-Type": "text/plain"}),  # type: ignore[call-overload]
        openai.APIStatusError,
    )
    assert error.status_code == 415
    assert (
        http.request(
            server.url,
            "POST",
            "/v1/chat/completions",
            b"{}",
            {"Content-Type": "application/vnd.api+json"},
        ).status
        == 400
    )
