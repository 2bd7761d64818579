"""Anthropic's Messages API: `POST /v1/messages` and `/v1/messages/count_tokens` (and
without `/v1`). Matched with the same strategies (the system prompt and messages read as chat
messages), answered from Anthropic-shaped examples or converted chat examples, with
Anthropic's stream events and error shape (openai-contract.md, section 10).

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from .._chat import FAIL_NEXT_TEXT, Headers, error_answer, respond, tool_calls
from .._collection import CHAT_PATH, Example, ObjectAnswer
from .._conversion import MESSAGES_PATH, anthropic_messages, anthropic_tool_id
from .._faults import delivery_from_controls
from .._http import HttpRequest
from .._messages import stream_events
from .._openai import digest, dumps, estimate_usage
from .._request import ChatRequest, RequestError, parse_chat_request
from .._responses import AddedResponse
from .._state import Reply, Scope
from .._stream import completion
from . import Provider, gated, with_and_without_v1

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _read(decoded: object, *, max_tokens: bool = True) -> ChatRequest:
    """A Messages request (or a count_tokens one, which has no `max_tokens`) as chat."""
    if not isinstance(decoded, Mapping):
        raise RequestError("Invalid type for request body: expected an object.")
    if max_tokens and not isinstance(decoded.get("max_tokens"), int):
        raise RequestError("max_tokens: Field required", param="max_tokens")
    chat = {
        "model": decoded.get("model"),
        "messages": anthropic_messages(decoded),
        "stream": decoded.get("stream"),
    }
    return parse_chat_request(chat)


def count_tokens(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    """`POST /v1/messages/count_tokens`: the input tokens a Messages answer would report."""
    try:
        request = _read(decoded, max_tokens=False)
    except RequestError as exc:
        return state.reject(http, decoded, 400, {"error": {"message": exc.message}})
    state.record(http, 200, decoded, request=request)
    return Reply(200, dumps({"input_tokens": estimate_usage(request, "")["prompt_tokens"]}))


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = _read(decoded)
    except RequestError as exc:
        return state.reject(http, decoded, 400, {"error": {"message": exc.message}})
    assert isinstance(decoded, Mapping)  # `_read` took nothing else
    return respond(
        state,
        http,
        request,
        decoded,
        partial(_reply, state, request=request),
        keys=(MESSAGES_PATH, CHAT_PATH),
        failure_text=FAIL_NEXT_TEXT,
        retry_hint=False,
    )


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    request: ChatRequest,
) -> Reply:
    if source.status >= 400:
        return error_answer(source, request, state, seed, headers)
    message = _message(source, request, seed)
    stream = None
    if request.stream:
        size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
        stream = tuple(message_events(message, size))
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    return Reply(200, dumps(message), headers, stream, delivery)


def _message(source: Example | AddedResponse, request: ChatRequest, seed: str) -> dict[str, Any]:
    answer = source.answer
    own = isinstance(source, Example) and source.path == MESSAGES_PATH
    if own and isinstance(answer, ObjectAnswer) and isinstance(answer.obj.get("content"), list):
        return _complete({**answer.obj}, request, seed)
    chat = completion(answer, source.status, seed=seed, request=request)
    reply = (chat.get("choices") or [{}])[0].get("message") or {}
    blocks: list[dict[str, Any]] = []
    if reply.get("content"):
        blocks.append({"type": "text", "text": reply["content"]})
    for call in tool_calls(reply):
        tool_id = anthropic_tool_id(call.id)
        blocks.append(
            {"type": "tool_use", "id": tool_id, "name": call.name, "input": call.arguments}
        )
    usage = chat.get("usage") or {}
    return _complete(
        {
            "content": blocks,
            "stop_reason": "tool_use" if reply.get("tool_calls") else "end_turn",
            "usage": {
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
            },
        },
        request,
        seed,
    )


def _complete(message: dict[str, Any], request: ChatRequest, seed: str) -> dict[str, Any]:
    usage = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        **(message.get("usage") or {}),
    }
    return {
        "id": "msg_" + digest("message", seed, request.model)[:24],
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        **message,
        "usage": usage,
    }


def message_events(message: Mapping[str, Any], size: int) -> list[bytes]:
    """Anthropic's stream (SSE): every event has an `event:` line, and there is no `[DONE]`."""
    return [
        f"event: {event['type']}\ndata: ".encode() + dumps(event) + b"\n\n"
        for event in stream_events(message, size)
    ]


def anthropic_errors(reply: Reply) -> Reply:
    """An error reply in Anthropic's shape, with its `request-id` header."""
    if reply.status < 400:
        return reply
    try:
        message = json.loads(reply.body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = reply.body.decode("utf-8", "replace")
    default = "api_error" if reply.status >= 500 else "invalid_request_error"
    request_id = "req_" + digest("anthropic", str(reply.status), str(message))[:24]
    error = {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(reply.status, default), "message": message},
        "request_id": request_id,
    }
    headers = (*reply.headers, ("request-id", request_id))
    return Reply(reply.status, dumps(error), headers, None, reply.delivery)


PROVIDER = Provider(
    "Anthropic",
    doors=(
        *with_and_without_v1("POST", MESSAGES_PATH, gated(answer)),
        *with_and_without_v1("POST", MESSAGES_PATH + "/count_tokens", gated(count_tokens)),
    ),
    errors=anthropic_errors,
)
