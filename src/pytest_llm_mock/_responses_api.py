"""The Responses API: `POST /v1/responses`, answered from Responses examples or, converted,
from chat-completion examples, with the same match strategies; `previous_response_id`
continues a conversation stored per test.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from ._chat import Headers, respond
from ._collection import CHAT_PATH, Example, ObjectAnswer
from ._conversion import (
    RESPONSES_PATH,
    chat_to_response,
    complete_response,
    output_messages,
    response_events,
    responses_messages,
)
from ._faults import delivery_from_controls
from ._http import HttpRequest
from ._openai import digest, dumps, error_object
from ._request import ChatRequest, RequestError, parse_chat_request
from ._responses import AddedResponse
from ._state import Reply, Scope
from ._stream import completion

CONVERSATIONS_KEPT = 1_000  # stored responses per test, the most recently used


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        body, messages = _conversation(state, decoded)
        chat = {"model": body.get("model"), "messages": messages, "stream": body.get("stream")}
        request = parse_chat_request(chat)
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    write = partial(_reply, state, http=http, body=body, request=request, messages=messages)
    return respond(state, http, request, body, write, keys=(RESPONSES_PATH, CHAT_PATH))


def _conversation(state: Scope, decoded: object) -> tuple[Mapping[str, Any], list[dict[str, Any]]]:
    """The request body, and its whole conversation as chat messages: instructions, then
    the stored conversation of `previous_response_id`, then the new input."""
    if not isinstance(decoded, Mapping):
        raise RequestError("Invalid type for request body: expected an object.")
    if not isinstance(decoded.get("model"), str):
        raise RequestError(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    new = responses_messages(decoded)
    system = new[:1] if new and new[0].get("role") == "system" else []
    history: list[dict[str, Any]] = []
    previous = decoded.get("previous_response_id")
    if previous is not None:
        with state.lock:  # a test's reset() may clear them meanwhile
            stored = state.conversations.get(str(previous))
            if stored is not None:
                state.conversations.move_to_end(str(previous))
        if stored is None:
            forgotten = (
                f" pytest-llm-mock keeps the {CONVERSATIONS_KEPT} most recently used responses "
                "of a test and has forgotten older ones."
                if len(state.conversations) >= CONVERSATIONS_KEPT
                else ""
            )
            raise RequestError(
                f"Previous response with id '{previous}' not found.{forgotten}",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = stored
    if not system and not history and not new:
        raise RequestError(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    return decoded, [*system, *history, *new[len(system) :]]


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    http: HttpRequest,
    body: Mapping[str, Any],
    request: ChatRequest,
    messages: list[dict[str, Any]],
) -> Reply:
    response_id = "resp_" + digest(seed, http.body.decode("utf-8", "replace"))[:48]
    status = source.status
    if status >= 400:
        obj = completion(source.answer, status, seed=seed, request=request)
        stream = None
    else:
        obj = _response(source, body, request, seed, response_id)
        kept = [*(m for m in messages if m.get("role") != "system"), *output_messages(obj)]
        _store(state, str(obj["id"]), kept)
        size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
        stream = tuple(response_events(obj, size)) if body.get("stream") is True else None
    headers = (*headers, ("x-request-id", "req_" + digest(response_id)[:32]))
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    if stream is not None and state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    return Reply(status, dumps(obj), headers, stream, delivery)


def _store(state: Scope, response_id: str, conversation: list[dict[str, Any]]) -> None:
    """Keep a response's conversation for `previous_response_id`; past `CONVERSATIONS_KEPT`,
    the least recently used goes, so a long-running server's memory stays bounded."""
    conversations = state.conversations
    conversations[response_id] = conversation
    conversations.move_to_end(response_id)
    while len(conversations) > CONVERSATIONS_KEPT:
        conversations.popitem(last=False)


def _response(
    source: Example | AddedResponse,
    body: Mapping[str, Any],
    request: ChatRequest,
    seed: str,
    response_id: str,
) -> dict[str, Any]:
    """A `response` object: a Responses example's own, or a chat answer converted."""
    answer = source.answer
    own = isinstance(source, Example) and source.path == RESPONSES_PATH
    if own and isinstance(answer, ObjectAnswer) and "output" in answer.obj:
        return complete_response(answer.obj, body, response_id=response_id)
    chat = completion(answer, source.status, seed=seed, request=request)
    return chat_to_response(chat, body, response_id=response_id)
