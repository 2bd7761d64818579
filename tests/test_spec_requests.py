"""Requests generated from the official OpenAI spec's request schemas (by schemathesis) get
the answer the spec documents.

For every operation the server shares with the spec, any request the spec's schema allows is
answered 200 with a body (or, streamed, every event) valid against the spec's response schema,
and recorded as sent. The few requests the schema allows but the real API refuses (a Responses
request with no model or no input, an empty prompt list, more embedding dimensions than any
model has) get a 400 naming that parameter. A catch-all collection answers every chat-shaped
request, so what is tested is reading and answering, not matching.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings

from pytest_llm_mock import LLMMockServer

from . import http, openapi, postman

# (method, path in the spec, response schema, schema of each streamed event or None)
CHAT_CHUNK = "CreateChatCompletionStreamResponse"
OPERATIONS = [
    ("POST", "/chat/completions", "CreateChatCompletionResponse", CHAT_CHUNK),
    ("POST", "/completions", "CreateCompletionResponse", "CreateCompletionResponse"),
    ("POST", "/responses", "Response", "ResponseStreamEvent"),
    ("POST", "/embeddings", "CreateEmbeddingResponse", None),
    ("GET", "/models", "ListModelsResponse", None),
    ("GET", "/models/{model}", "Model", None),
]
EXAMPLES = int(os.environ.get("LLM_MOCK_SPEC_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def schema(spec_document: dict[str, Any]) -> Any:
    """The spec for schemathesis, with a Responses request's `model` and `input` required:
    the schema leaves them optional, and without them most generated requests would only
    test the one rejection (tested below all the same, when `input` is empty)."""
    import schemathesis

    schemas = dict(spec_document["components"]["schemas"])
    schemas["CreateResponse"] = {**schemas["CreateResponse"], "required": ["model", "input"]}
    document = {**spec_document, "components": {**spec_document["components"], "schemas": schemas}}
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMMockServer]:
    answer = postman.chat_item("anything", postman.chat_body(("user", "hi")), "A catch-all answer.")
    path = postman.write(tmp_path_factory.mktemp("spec") / "c.json", postman.collection(answer))
    with LLMMockServer(path, match=lambda request: "any", strict=False) as mock:
        yield mock


def refused(path: str, body: Mapping[str, Any]) -> str | None:
    """The parameter the real API refuses though the spec's schema allows it, if any."""
    if path == "/completions" and body.get("prompt") == []:
        return "prompt"
    dimensions = body.get("dimensions")
    if path == "/embeddings" and isinstance(dimensions, (int, float)) and dimensions > 65536:
        return "dimensions"
    if path == "/responses" and body.get("previous_response_id") is not None:
        return "previous_response_id"  # generated ids name no stored response
    if path == "/responses" and not body.get("instructions") and not said(body.get("input")):
        return "input"
    return None


def said(items: object) -> bool:
    """Whether a Responses `input` says anything: text, or an item other than a reasoning
    item or a reference to a stored one (neither is part of the conversation)."""
    if isinstance(items, str) or not isinstance(items, list):
        return items is not None
    kinds = [i.get("type") or ("message" if "role" in i else "item_reference") for i in items]
    return any(kind not in ("reasoning", "item_reference") for kind in kinds)


def decoded_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """A base64 embeddings answer as the spec's schema has it (lists of floats): the API
    sends base64 of little-endian float32s when asked, which the schema leaves out."""
    data = []
    for item in body["data"]:
        raw = base64.b64decode(item["embedding"])
        data.append({**item, "embedding": list(struct.unpack(f"<{len(raw) // 4}f", raw))})
    return {**body, "data": data}


def events(body: bytes) -> list[Any]:
    """The JSON data of each server-sent event; the chat and completions end marker checked."""
    out = []
    blocks = body.decode().split("\n\n")
    assert blocks[-1] == ""
    for block in blocks[:-1]:
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        assert len(data) == 1, block
        if data[0] != "[DONE]":
            out.append(json.loads(data[0]))
    return out


def streamed_completion(chunk: dict[str, Any]) -> dict[str, Any]:
    """A streamed completions chunk as the spec's schema has it: real streams send
    `finish_reason: null` until the last chunk, which the schema's enum leaves out."""
    choices = [{**c, "finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]]
    return {**chunk, "choices": choices}


@pytest.mark.parametrize(
    ("method", "path", "answer", "event"), OPERATIONS, ids=[f"{m} {p}" for m, p, *_ in OPERATIONS]
)
def test_requests_the_spec_allows_get_the_answers_it_documents(  # noqa: PLR0917 (parametrized)
    schema: Any,
    server: LLMMockServer,
    validate: openapi.Validate,
    method: str,
    path: str,
    answer: str,
    event: str | None,
) -> None:
    operation = schema[path][method]
    listed = {model["id"] for model in http.request(server.url, "GET", "/v1/models").json()["data"]}
    seen = {"answered": 0, "refused": 0, "streamed": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        body = case.body if method == "POST" else None
        sent = len(server.requests)
        response = http.request(
            server.url,
            method,
            "/v1" + path.replace("{model}", quote(str(case.path_parameters.get("model")), safe="")),
            None if body is None else json.dumps(body),
            {"content-type": "application/json"},
        )
        assert response.status != 500, response.body[:500]
        if path == "/models/{model}" and case.path_parameters["model"] not in listed:
            assert response.status == 404, response.body[:500]
            assert response.json()["error"]["code"] == "model_not_found"
            seen["refused"] += 1
            return
        reason = refused(path, body) if isinstance(body, Mapping) else None
        if reason is not None:
            assert response.status == 400, response.body[:500]
            assert response.json()["error"]["param"] == reason
            seen["refused"] += 1
            return
        assert response.status == 200, (body, response.body[:500])
        if isinstance(body, Mapping) and body.get("stream") is True and event is not None:
            assert response.headers["content-type"].startswith("text/event-stream")
            for data in events(response.body):
                validate(event, streamed_completion(data) if path == "/completions" else data)
            seen["streamed"] += 1
        elif isinstance(body, Mapping) and body.get("encoding_format") == "base64":
            validate(answer, decoded_embeddings(response.json()))
        else:
            validate(answer, response.json())
        seen["answered"] += 1
        if method == "POST":
            assert len(server.requests) == sent + 1
            assert server.requests[-1].json == body

    check()
    assert server._state.errors == []
    if path == "/models/{model}":  # generated names are unknown models: ask for known ones
        assert listed
        for model in sorted(listed):
            model_path = "/v1/models/" + quote(model, safe="")
            found = http.request(server.url, "GET", model_path)
            assert found.status == 200, (model, found.body[:300])
            validate(answer, found.json())
    else:
        assert seen["answered"] > EXAMPLES // 2, seen
