"""Any bytes, headers, methods and paths: the server never answers 500, always uses the
error envelope of the API it serves, and keeps serving."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llm_mock import LLMMockServer, providers

from . import http
from .conftest import DEFAULT_COLLECTION

ROUTES = [
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/messages",
]
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


PATH_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789/_-.%"


@pytest.fixture(scope="module")
def server() -> Iterator[LLMMockServer]:
    with LLMMockServer(DEFAULT_COLLECTION, strict=False, max_body_size=1 << 20) as mock:
        yield mock


def _message(body: Any, provider: str | None) -> object:
    """The error message of `body`, in the shape of the provider whose paths it came from."""
    if provider == "Ollama":
        return body["error"]
    if provider in ("Cohere", "AWS Bedrock"):
        return body["message"]
    if provider == "Google Gemini and Vertex AI":
        assert set(body["error"]) == {"code", "message", "status"}
        return body["error"]["message"]
    assert set(body["error"]) == {"message", "type", "param", "code"}  # OpenAI's, Azure's
    return body["error"]["message"]


def check(server: LLMMockServer, response: http.HttpResponse, path: str) -> None:
    assert response.status != 500, response.body[:300]
    assert server._state.errors == []
    if response.status >= 400 and response.body:
        body = json.loads(response.body)
        if path.endswith("/messages"):
            assert body["type"] == "error"
            assert isinstance(body["error"]["message"], str)
        else:
            # Under a provider's own paths, its error shape (its client reads no other).
            route = re.sub(r"^_t/[0-9]+/", "", path.lstrip("/"))  # a test's prefix
            provider = providers.for_unknown("/" + route)
            assert isinstance(_message(body, provider.name if provider else None), str)


@FUZZ
@given(path=st.sampled_from(ROUTES), body=st.binary(max_size=300))
def test_any_bytes(server: LLMMockServer, path: str, body: bytes) -> None:
    check(server, http.request(server.url, "POST", path, body), path)


@FUZZ
@given(path=st.sampled_from(ROUTES), value=json_values)
def test_any_json(server: LLMMockServer, path: str, value: Any) -> None:
    response = http.request(
        server.url, "POST", path, json.dumps(value), {"content-type": "application/json"}
    )
    check(server, response, path)


@FUZZ
@given(
    path=st.sampled_from(ROUTES),
    content_type=st.sampled_from(
        [
            "text/plain",
            "application/json; charset=latin-1",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
            "*/*",
            "",
        ]
    ),
    key=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
)
def test_any_content_type_and_key(
    server: LLMMockServer, path: str, content_type: str, key: str
) -> None:
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    if content_type:
        headers["content-type"] = content_type
    response = http.request(server.url, "POST", path, b'{"model": "m"}', headers)
    check(server, response, path)


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "POST", "HEAD"]),
    path=st.one_of(
        st.text(alphabet=PATH_CHARACTERS, min_size=1, max_size=40),
        # Under each provider's paths, whose errors have shapes of their own.
        st.tuples(
            st.sampled_from(["api/", "v2/", "model/", "v1beta/", "openai/", "v1/", "_t/1/api/"]),
            st.text(alphabet=PATH_CHARACTERS, max_size=30),
        ).map("".join),
    ),
)
def test_any_method_and_path(server: LLMMockServer, method: str, path: str) -> None:
    if method == "DELETE" and path.strip("/") == "_llm_mock/requests":
        return  # a real reset route
    check(server, http.request(server.url, method, "/" + path.lstrip("/")), path)


message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool", "developer"])},
    optional={
        "content": st.none()
        | st.text(max_size=30)
        | st.lists(
            st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
            max_size=3,
        ),
        "tool_call_id": st.text(max_size=8),
        "tool_calls": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.text(max_size=5),
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries(
                        {"name": st.text(min_size=1, max_size=8), "arguments": st.text(max_size=20)}
                    ),
                }
            ),
            max_size=2,
        ),
    },
)


@FUZZ
@given(
    messages=st.lists(message, min_size=1, max_size=5),
    stream=st.booleans(),
    model=st.text(min_size=1, max_size=12),
)
def test_valid_shaped_chat_requests(
    server: LLMMockServer, messages: list[Any], stream: bool, model: str
) -> None:
    body = {"model": model, "messages": messages, "stream": stream}
    response = http.request(server.url, "POST", "/v1/chat/completions", body)
    assert response.status in (200, 404), response.body[:300]
    check(server, response, "/v1/chat/completions")


def test_the_server_still_answers_after_the_fuzzing(server: LLMMockServer) -> None:
    client = server.openai_client()
    reply = client.chat.completions.create(
        model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
    )
    assert reply.choices[0].message.content == "Hello! How can I help you today?"
