"""Bedrock's answers, written from a chat completion (or a saved Bedrock-shaped example): the
Converse response and its event stream, and the Anthropic Messages object that `invoke`
returns and `invoke-with-response-stream` sends as base64 `chunk` events (providers.md,
section 3). Part of the `bedrock` provider.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .._chat import ToolCall, tool_calls
from .._conversion import anthropic_tool_id
from .._eventstream import event
from .._messages import stream_events
from .._openai import digest, dumps
from .._stream import pieces

# Chat finish reasons as Converse stop reasons.
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_CHAT_ID, _BEDROCK_ID = "call_", "tooluse_"


def bedrock_tool_id(chat_id: object) -> str:
    """A chat tool call id as Bedrock writes one (`call_x` -> `tooluse_x`)."""
    text = chat_id if isinstance(chat_id, str) else ""
    return _BEDROCK_ID + text.removeprefix(_CHAT_ID) if text.startswith(_CHAT_ID) else text


def chat_tool_id(bedrock_id: object) -> object:
    """A `toolUseId` as the chat id it was made from, so the next request's history matches
    the chat example's (`tooluse_x` -> `call_x`)."""
    if isinstance(bedrock_id, str) and bedrock_id.startswith(_BEDROCK_ID):
        return _CHAT_ID + bedrock_id.removeprefix(_BEDROCK_ID)
    return bedrock_id


def _reply_of(chat: Mapping[str, Any]) -> tuple[str, list[ToolCall], str]:
    """A completion's text, its tool calls, and its finish reason."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = tool_calls(message)
    text = str(message.get("content") or message.get("refusal") or "")
    finish = "tool_calls" if calls else str(choice.get("finish_reason") or "stop")
    return text, calls, finish


# -- Converse ---------------------------------------------------------------------------


def converse_from_chat(chat: Mapping[str, Any]) -> dict[str, Any]:
    """A chat completion as a Converse response."""
    text, calls, finish = _reply_of(chat)
    blocks: list[dict[str, Any]] = [{"text": text}] if text or not calls else []
    for chat_id, name, arguments in calls:
        tool_use = {"toolUseId": bedrock_tool_id(chat_id), "name": name, "input": arguments}
        blocks.append({"toolUse": tool_use})
    usage = chat.get("usage") or {}
    return complete_converse(
        {
            "output": {"message": {"role": "assistant", "content": blocks}},
            "stopReason": _STOP_REASONS.get(finish, "end_turn"),
            "usage": {
                "inputTokens": usage.get("prompt_tokens", 0),
                "outputTokens": usage.get("completion_tokens", 0),
            },
        }
    )


def complete_converse(saved: Mapping[str, Any]) -> dict[str, Any]:
    """A Converse response with what a saved one leaves out: `usage` (LangChain and LiteLLM
    read it) and `metrics`."""
    usage = {"inputTokens": 0, "outputTokens": 0, **(saved.get("usage") or {})}
    usage.setdefault("totalTokens", usage["inputTokens"] + usage["outputTokens"])
    return {"stopReason": "end_turn", "metrics": {"latencyMs": 0}, **saved, "usage": usage}


def converse_events(response: Mapping[str, Any], size: int) -> list[bytes]:
    """The event stream of a Converse response, in the order Bedrock sends it. Only a toolUse
    block has a `contentBlockStart`: botocore rejects one whose `start` is empty."""
    frames: list[bytes] = []

    def emit(kind: str, **payload: Any) -> None:
        frames.append(event(kind, dumps(payload)))

    message = (response.get("output") or {}).get("message") or {}
    emit("messageStart", role=message.get("role", "assistant"))
    for index, block in enumerate(message.get("content") or []):
        tool_use = block.get("toolUse")
        if isinstance(tool_use, Mapping):
            start = {"toolUseId": tool_use.get("toolUseId"), "name": tool_use.get("name")}
            emit("contentBlockStart", contentBlockIndex=index, start={"toolUse": start})
            for piece in pieces(json.dumps(tool_use.get("input") or {}), size):
                emit(
                    "contentBlockDelta",
                    contentBlockIndex=index,
                    delta={"toolUse": {"input": piece}},
                )
        else:
            for piece in pieces(str(block.get("text", "")), size):
                emit("contentBlockDelta", contentBlockIndex=index, delta={"text": piece})
        emit("contentBlockStop", contentBlockIndex=index)
    emit("messageStop", stopReason=response.get("stopReason", "end_turn"))
    emit("metadata", usage=response.get("usage"), metrics=response.get("metrics"))
    return frames


# -- Anthropic Messages through invoke ---------------------------------------------------


def anthropic_from_chat(chat: Mapping[str, Any], model: str, seed: str) -> dict[str, Any]:
    """A chat completion as the Anthropic Messages object Claude on Bedrock returns."""
    text, calls, finish = _reply_of(chat)
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not calls else []
    for chat_id, name, arguments in calls:
        tool_id = anthropic_tool_id(chat_id)
        blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": arguments})
    usage = chat.get("usage") or {}
    stop = {"tool_calls": "tool_use", "length": "max_tokens"}.get(finish, "end_turn")
    message = {
        "content": blocks,
        "stop_reason": stop,
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
        },
    }
    return complete_anthropic(message, model, seed)


def complete_anthropic(saved: Mapping[str, Any], model: str, seed: str) -> dict[str, Any]:
    """A Messages object with what a saved one leaves out."""
    usage = {"input_tokens": 0, "output_tokens": 0, **(saved.get("usage") or {})}
    return {
        "id": "msg_bdrk_" + digest("bedrock message", seed, model)[:24],
        "type": "message",
        "role": "assistant",
        "model": model,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        **saved,
        "usage": usage,
    }


def anthropic_chunks(message: Mapping[str, Any], size: int) -> list[bytes]:
    """`invoke-with-response-stream`: Anthropic's stream events, each the base64 `bytes` of
    a `chunk` event; the last one carries Bedrock's invocation metrics."""
    usage = message.get("usage") or {}
    metrics = {
        "inputTokenCount": usage.get("input_tokens", 0),
        "outputTokenCount": usage.get("output_tokens", 0),
        "invocationLatency": 0,
        "firstByteLatency": 0,
    }
    *events, stop = stream_events(message, size)
    events.append({**stop, "amazon-bedrock-invocationMetrics": metrics})
    return [event("chunk", dumps({"bytes": base64.b64encode(dumps(e)).decode()})) for e in events]
