"""Cohere v2's bodies and stream events (providers.md, section 4): a chat answer written as
Cohere's chat response, its Server-Sent Events, and Cohere's error shape.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._openai import digest, dumps
from .._state import Reply
from .._stream import pieces

CHAT_KEY = "/v2/chat"

# The finish reason of a chat answer, as Cohere names it.
_FINISH = {"stop": "COMPLETE", "tool_calls": "TOOL_CALL", "length": "MAX_TOKENS"}


def cohere_id(*parts: str) -> str:
    """A deterministic id shaped as Cohere's (a UUID)."""
    hexa = digest("cohere", *parts)
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:32]}"


def from_chat(chat: Mapping[str, Any], seed: str) -> dict[str, Any]:
    """A `chat.completion` as Cohere's chat response: the text as content, or with tool
    calls the text as the `tool_plan` (as Cohere writes a tool-calling answer)."""
    choice = (chat.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    text = reply.get("content")
    calls = [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {
                "name": (call.get("function") or {}).get("name"),
                "arguments": (call.get("function") or {}).get("arguments") or "{}",
            },
        }
        for call in reply.get("tool_calls") or []
    ]
    message: dict[str, Any] = {"role": "assistant"}
    if calls:
        if text:
            message["tool_plan"] = text
        message["tool_calls"] = calls
    else:
        message["content"] = [{"type": "text", "text": text or ""}]
    usage = chat.get("usage") or {}
    tokens = {
        "input_tokens": usage.get("prompt_tokens", 0),
        "output_tokens": usage.get("completion_tokens", 0),
    }
    finish = "TOOL_CALL" if calls else _FINISH.get(str(choice.get("finish_reason")), "COMPLETE")
    return {
        "id": cohere_id("chat", seed),
        "finish_reason": finish,
        "message": message,
        "usage": {"billed_units": tokens, "tokens": tokens},
    }


def complete(response: Mapping[str, Any], seed: str) -> dict[str, Any]:
    """A Cohere chat response saved in a collection, with what it leaves out filled in."""
    message = {"role": "assistant", **(response.get("message") or {})}
    calls = message.get("tool_calls")
    return {
        "id": cohere_id("chat", seed),
        "finish_reason": "TOOL_CALL" if calls else "COMPLETE",
        "usage": {
            "billed_units": {"input_tokens": 0, "output_tokens": 0},
            "tokens": {"input_tokens": 0, "output_tokens": 0},
        },
        **response,
        "message": message,
    }


def _event(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: ".encode() + dumps({"type": kind, **fields}) + b"\n\n"


def chat_events(response: Mapping[str, Any], size: int) -> list[bytes]:
    """Cohere's stream of a chat response. The SDK picks each event's class by the `type`
    in its data; the `event:` line is Cohere's too. A tool call's `tool_calls` is one
    object in these events, not a list."""
    message = response.get("message") or {}
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events = [_event("message-start", id=response.get("id"), delta={"message": start})]
    calls = message.get("tool_calls") or []
    if message.get("tool_plan"):
        for piece in pieces(str(message["tool_plan"]), size):
            events.append(_event("tool-plan-delta", delta={"message": {"tool_plan": piece}}))
    for index, call in enumerate(calls):
        function = call.get("function") or {}
        opened = {**call, "function": {"name": function.get("name"), "arguments": ""}}
        events.append(
            _event("tool-call-start", index=index, delta={"message": {"tool_calls": opened}})
        )
        for piece in pieces(str(function.get("arguments") or ""), size):
            delta = {"message": {"tool_calls": {"function": {"arguments": piece}}}}
            events.append(_event("tool-call-delta", index=index, delta=delta))
        events.append(_event("tool-call-end", index=index))
    for index, part in enumerate(message.get("content") or []):
        empty = {"message": {"content": {"type": "text", "text": ""}}}
        events.append(_event("content-start", index=index, delta=empty))
        for piece in pieces(str(part.get("text") or ""), size):
            text = {"message": {"content": {"text": piece}}}
            events.append(_event("content-delta", index=index, delta=text))
        events.append(_event("content-end", index=index))
    end = {"finish_reason": response.get("finish_reason"), "usage": response.get("usage")}
    events.append(_event("message-end", delta=end))
    return events


# The "error" stream fault: Cohere ends a failed generation with a message-end saying so.
STREAM_ERROR = _event(
    "message-end",
    delta={
        "finish_reason": "ERROR",
        "error": "The server had an error while processing your request "
        "(pytest-llm-mock stream fault).",
    },
)


NDJSON = "application/x-ndjson"


def as_lines(events: Sequence[bytes]) -> tuple[bytes, ...]:
    """The same events as JSON lines, for a client that reads a stream line by line with
    `json.loads` (LiteLLM's `cohere_chat/`, which sends `accept: application/json`)."""
    return tuple(event.split(b"data: ", 1)[1].rstrip(b"\n") + b"\n" for event in events)


def errors(reply: Reply) -> Reply:
    """An error reply in Cohere's shape, `{"id", "message"}`; the status picks the SDK's
    exception class (429 TooManyRequestsError, 503 ServiceUnavailableError, ...)."""
    if reply.status < 400:
        return reply
    try:
        decoded = json.loads(reply.body)
    except ValueError:
        decoded = None
    message: object = reply.body.decode("utf-8", "replace")
    if isinstance(decoded, Mapping):
        inner = decoded.get("error")
        if isinstance(inner, Mapping) and "message" in inner:
            message = inner["message"]
        elif isinstance(inner, str):
            message = inner
        elif "message" in decoded:
            message = decoded["message"]
    body = {"id": cohere_id("error", str(reply.status), str(message)), "message": message}
    return Reply(reply.status, dumps(body), reply.headers, None, reply.delivery)
