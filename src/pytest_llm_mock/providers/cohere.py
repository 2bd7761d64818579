"""Cohere v2 (providers.md, section 4): `POST /v2/chat` and `POST /v2/embed`.

A chat request's messages are read as the chat conversation (text parts joined, tool calls
by name and arguments, a tool result's text or documents as its content), matched with the
active strategy and answered from the same examples as chat completions, or from Cohere
responses saved on `/v2/chat`, as saved. The answer is Cohere's chat response, streamed as
Cohere's Server-Sent Events when the body says `"stream": true` (as JSON lines to a client
that accepts only JSON: LiteLLM's `cohere_chat/` reads them so). Errors are Cohere's
`{"id", "message"}`, the status picking the SDK's exception class. The bodies and events are
written by `cohere_answers`; `/v2/embed` is `cohere_embed`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from .._chat import Headers, error_answer, respond
from .._collection import CHAT_PATH, Example, ObjectAnswer, TextAnswer
from .._faults import delivery_from_controls
from .._http import HttpRequest
from .._openai import dumps
from .._request import ChatRequest, RequestError, parse_chat_request
from .._responses import AddedResponse
from .._state import Reply, Scope
from .._stream import completion
from . import Door, Provider, gated
from .cohere_answers import (
    CHAT_KEY,
    NDJSON,
    STREAM_ERROR,
    as_lines,
    chat_events,
    complete,
    errors,
    from_chat,
)
from .cohere_embed import EMBED_PATH, embed

_ROLES = ("system", "user", "assistant", "tool")


# -- requests as chat -------------------------------------------------------------------


def cohere_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages equal to a Cohere v2 chat request's. An assistant's `tool_plan` is the
    content of its tool-calling message, as the answer wrote it (`cohere_answers.from_chat`)."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise RequestError("messages: expected a non-empty array of messages", param="messages")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise RequestError(f"{where}: expected an object", param=where)
        role = message.get("role")
        if role not in _ROLES:
            raise RequestError(
                f"{where}.role: expected one of {', '.join(_ROLES)}, got {role!r}",
                param=f"{where}.role",
            )
        chat: dict[str, Any] = {"role": role, "content": _content(message.get("content"), where)}
        if role == "assistant" and message.get("tool_calls"):
            chat["tool_calls"] = message["tool_calls"]
            if chat["content"] is None:
                chat["content"] = message.get("tool_plan") or None
        if role == "tool":
            chat["tool_call_id"] = message.get("tool_call_id")
        out.append(chat)
    return out


def _content(content: object, where: str) -> object:
    """A message's content as chat content: text parts kept, a document as its data's
    text, thinking left out; other parts (images) match by their JSON."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(
            f"{where}.content: expected a string or an array of content parts",
            param=f"{where}.content",
        )
    parts: list[object] = []
    for part in content:
        if not isinstance(part, Mapping):
            raise RequestError(
                f"{where}.content: expected content parts (objects)", param=f"{where}.content"
            )
        kind = part.get("type")
        if kind == "thinking":
            continue
        if kind == "document":
            document = part.get("document")
            data = document.get("data") if isinstance(document, Mapping) else document
            text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
            parts.append({"type": "text", "text": text})
        else:
            parts.append(part)
    return parts


def to_chat(body: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A chat request body equal to a Cohere chat body saved in a collection."""
    return {"model": body.get("model"), "messages": cohere_messages(body)}


def example_key(path: str) -> str | None:
    return CHAT_KEY if path == CHAT_KEY else None


def _read(decoded: object) -> ChatRequest:
    if not isinstance(decoded, Mapping):
        raise RequestError("invalid request: the body must be a JSON object")
    model = decoded.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("invalid request: model must be a non-empty string", param="model")
    chat = {"model": model, "messages": cohere_messages(decoded), "stream": decoded.get("stream")}
    return parse_chat_request(chat)


# -- chat -------------------------------------------------------------------------------


def chat(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = _read(decoded)
    except RequestError as exc:
        return state.reject(http, decoded, 400, {"message": exc.message})
    assert isinstance(decoded, Mapping)  # `_read` took nothing else
    write = partial(_reply, state, request=request, lines=_reads_lines(http))
    return respond(state, http, request, decoded, write, keys=(CHAT_KEY, CHAT_PATH))


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    request: ChatRequest,
    lines: bool,
) -> Reply:
    if source.status >= 400:
        return error_answer(source, request, state, seed, headers)
    response = _response(source, request, seed)
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    stream = None
    if request.stream:
        size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
        stream = tuple(chat_events(response, size))
        if state.stream_faults:
            delivery = replace(delivery, fault=state.stream_faults.pop(0))
        if lines:
            headers = (*headers, ("content-type", NDJSON))
            stream_error = as_lines((STREAM_ERROR,))[0]
            return Reply(200, dumps(response), headers, as_lines(stream), delivery, stream_error)
    return Reply(200, dumps(response), headers, stream, delivery, stream_error=STREAM_ERROR)


def _reads_lines(http: HttpRequest) -> bool:
    """Whether the client asks for JSON and not for events (`accept: application/json`, as
    LiteLLM's `cohere_chat/` sends; the SDK sends `*/*`): its stream is then JSON lines."""
    accept = (http.header("accept") or "").lower()
    return "json" in accept and "event-stream" not in accept and "*/*" not in accept


def _response(source: Example | AddedResponse, request: ChatRequest, seed: str) -> dict[str, Any]:
    """Cohere's chat response for an answer: a Cohere response saved on `/v2/chat` as
    saved, any other answer converted from the chat completion it makes."""
    answer = source.answer
    own = isinstance(source, Example) and source.path == CHAT_KEY
    if own and isinstance(answer, ObjectAnswer):
        if isinstance(answer.obj.get("message"), Mapping):
            return complete(answer.obj, f"{seed}/{request.model}")
        if "choices" not in answer.obj:  # JSON that is no response: the text (structured output)
            answer = TextAnswer(json.dumps(answer.obj, ensure_ascii=False))
    chat_completion = completion(answer, 200, seed=seed, request=request)
    return from_chat(chat_completion, f"{seed}/{request.model}")


PROVIDER = Provider(
    "Cohere",
    doors=(Door("POST", CHAT_KEY, gated(chat)), Door("POST", EMBED_PATH, gated(embed))),
    errors=errors,
    prefixes=("/v2/",),
    example_key=example_key,
    to_chat=to_chat,
)
