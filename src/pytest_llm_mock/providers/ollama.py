"""Ollama's native API (`/api/...`, providers.md section 2). `POST /api/chat` and
`/api/generate` are read as chat conversations, matched with the active strategy and answered
from the same examples as chat completions (or from examples saved on Ollama's own paths, as
saved), in Ollama's bodies; they stream NDJSON unless the body says `"stream": false`, as Ollama
does. Errors are Ollama's `{"error": "..."}`. Embeddings and the model routes are in
`ollama_routes`, the bodies and streams in `ollama_answers`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from .._chat import Headers, error_answer, respond
from .._collection import CHAT_PATH, Example
from .._faults import delivery_from_controls
from .._http import HttpRequest
from .._matching import Key, Strategy
from .._openai import dumps
from .._request import ChatRequest, Message, RequestError, parse_chat_request
from .._responses import AddedResponse
from .._state import Reply, Scope
from . import Door, Provider
from .ollama_answers import (
    CHAT_KEY,
    GENERATE_KEY,
    NDJSON,
    chat_body,
    generate_body,
    loaded,
    ndjson_lines,
)
from .ollama_routes import embed, embeddings, running, show, tags, version

_ROLES = ("system", "user", "assistant", "tool")


# -- requests as chat -------------------------------------------------------------------


def chat_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages equal to an `/api/chat` request's. Ollama's history has no tool call
    ids: a tool result (with or without `tool_name`) answers the call before it, in order,
    so its `tool_call_id` is left empty and `_by_order` matches it without one."""
    raw = body.get("messages")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RequestError("messages: expected an array of messages", param="messages")
    messages = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise RequestError(f"{where}: expected an object", param=where)
        role = message.get("role")
        if role not in _ROLES:
            raise RequestError(
                f"{where}.role: expected one of {', '.join(_ROLES)}, got {json.dumps(role)}",
                param=f"{where}.role",
            )
        chat: dict[str, Any] = {"role": role, "content": _content(message, where)}
        calls = message.get("tool_calls")
        if role == "assistant" and calls:
            chat["tool_calls"] = _tool_calls(calls, f"{where}.tool_calls")
        messages.append(chat)
    return messages


def generate_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An `/api/generate` request as chat messages: its `system`, then its `prompt` (and
    images) as the user's message. No prompt: no messages (Ollama only loads the model)."""
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        raise RequestError("system: expected a string", param="system")
    prompt = _content(body, "")
    if not prompt:
        return []
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": prompt}]


def _content(message: Mapping[str, Any], where: str) -> str | list[dict[str, Any]]:
    """A message's `content` (a generate request's `prompt`), with its `images` as parts
    that take part in matching by their JSON, as chat parts do."""
    field = f"{where}.content" if where else "prompt"
    text = message.get("content" if where else "prompt")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise RequestError(f"{field}: expected a string", param=field)
    images = message.get("images") or []
    if not isinstance(images, list):
        raise RequestError(f"{field}: images must be an array", param=field)
    if not images:
        return text
    return [{"type": "text", "text": text}, *({"type": "image", "image": i} for i in images)]


def _tool_calls(raw: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise RequestError(f"{where}: expected an array", param=where)
    calls = []
    for i, call in enumerate(raw):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise RequestError(
                f"{where}[{i}].function: expected an object with a string name",
                param=f"{where}[{i}]",
            )
        arguments = function.get("arguments") or {}
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        calls.append(
            {"type": "function", "function": {"name": function["name"], "arguments": text}}
        )
    return calls


def to_chat(body: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A request saved on an Ollama path as a chat request body."""
    messages = generate_messages(body) if path == GENERATE_KEY else chat_messages(body)
    return {"model": body.get("model"), "messages": messages}


def _example_key(path: str) -> str | None:
    return path if path in (CHAT_KEY, GENERATE_KEY) else None


def _read(decoded: object, path: str) -> ChatRequest | None:
    """A chat or generate request as chat; None for one with nothing to answer (no
    messages, no prompt). Ollama streams unless told not to: no `stream` means true."""
    if not isinstance(decoded, Mapping):
        raise RequestError("invalid request body: expected a JSON object")
    model = decoded.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("model is required", param="model")
    stream = decoded.get("stream")
    if not isinstance(stream, bool) and stream is not None:
        raise RequestError("stream: expected true or false", param="stream")
    chat = to_chat(decoded, path)
    if not chat["messages"]:
        return None
    return parse_chat_request({**chat, "stream": stream is not False})


def _by_order(strategy: Strategy) -> Strategy:
    """`strategy` with tool results' `tool_call_id` left out of example keys: Ollama sends
    no ids, so a chat example saved with ids (as OpenAI's clients send them) matches the
    same conversation from Ollama, its tool results in the order of their calls."""

    def key(request: ChatRequest) -> Key | None:
        found = strategy.key(request)
        if isinstance(found, tuple) and all(isinstance(m, Message) for m in found):
            return tuple(replace(m, tool_call_id="") if m.tool_call_id else m for m in found)
        return found

    cache_key = ("tool results in order", strategy.cache_key)
    return Strategy(strategy.name, key, strategy.view, cache_key, strategy.no_key)


# -- answers --------------------------------------------------------------------------


def _chat(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    return state.api(http, partial(_answer, state, CHAT_KEY))


def _generate(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    return state.api(http, partial(_answer, state, GENERATE_KEY))


def _answer(state: Scope, path: str, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = _read(decoded, path)
    except RequestError as exc:
        return state.reject(http, decoded, 400, {"error": exc.message})
    assert isinstance(decoded, Mapping)  # `_read` took nothing else
    if request is None:
        state.record(http, 200, decoded)
        return Reply(200, dumps(loaded(path, str(decoded["model"]))))
    # A generate request is also answered by examples saved for /api/chat, then chat's.
    keys = (path, CHAT_PATH) if path == CHAT_KEY else (path, CHAT_KEY, CHAT_PATH)
    return respond(
        state,
        http,
        request,
        decoded,
        partial(_reply, state, request=request, path=path),
        keys=keys,
        strategy=_by_order(state.strategy),
        # Asked with its stream flag spelled out: the upstream is asked for JSON.
        sent={**decoded, "stream": request.stream},
    )


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    request: ChatRequest,
    path: str,
) -> Reply:
    if source.status >= 400:  # `ollama_errors` writes it in Ollama's shape
        return error_answer(source, request, state, seed, headers)
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    final = chat_body(source, request, seed)
    if path == GENERATE_KEY:
        final = generate_body(final)
    if not request.stream:
        return Reply(200, dumps(final), headers, None, delivery)
    size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
    if state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    lines = tuple(ndjson_lines(final, size))
    return Reply(200, dumps(final), (*headers, ("content-type", NDJSON)), lines, delivery)


# -- errors ---------------------------------------------------------------------------


def ollama_errors(reply: Reply) -> Reply:
    """An error reply in Ollama's shape, `{"error": "message"}`: the `ollama` client raises
    `ResponseError` with the message as `.error` and the status as `.status_code`."""
    if reply.status < 400 or not reply.body:
        return reply
    try:
        error = json.loads(reply.body).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, str):
        return reply
    message = reply.body.decode("utf-8", "replace")
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        message = error["message"]
        if error.get("code") in ("unknown_url", "method_not_allowed"):
            # The route table lists OpenAI's routes: an Ollama client wants Ollama's.
            said = message.split(" pytest-llm-mock serves:")[0]
            message = f"{said} Ollama's routes served here: {'; '.join(ROUTES)}."
    return Reply(reply.status, dumps({"error": message}), reply.headers, None, reply.delivery)


DOORS = (
    Door("POST", CHAT_KEY, _chat),
    Door("POST", GENERATE_KEY, _generate),
    Door("POST", "/api/embed", embed),
    Door("POST", "/api/embeddings", embeddings),
    Door("POST", "/api/show", show),
    Door("GET", "/api/tags", tags),
    Door("GET", "/api/ps", running),
    Door("GET", "/api/version", version),
)
ROUTES = tuple(f"{door.method} {door.path}" for door in DOORS)

PROVIDER = Provider(
    "Ollama",
    doors=DOORS,
    errors=ollama_errors,
    prefixes=("/api/",),
    example_key=_example_key,
    to_chat=to_chat,
)
