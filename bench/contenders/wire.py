"""The bytes of OpenAI answers, for the servers that send canned bytes and for the floor."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from . import ANSWER, MODEL, TOOL_ANSWER, TOOL_ARGUMENTS, TOOL_CALL_ID

USAGE = {"prompt_tokens": 8, "completion_tokens": 60, "total_tokens": 68}


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


def completion_bytes(text: str = ANSWER) -> bytes:
    return json.dumps(completion({"role": "assistant", "content": text})).encode()


def tool_call_bytes() -> bytes:
    call = {
        "id": TOOL_CALL_ID,
        "type": "function",
        "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return json.dumps(completion(message, "tool_calls")).encode()


def tool_answer_bytes() -> bytes:
    return completion_bytes(TOOL_ANSWER)


def sse_bytes(text: str, size: int) -> bytes:
    """A role chunk, `text` in pieces of `size` characters, a finish chunk, then [DONE]."""

    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": piece}) for piece in pieces]
    events += [event({}, "stop"), b"data: [DONE]\n\n"]
    return b"".join(events)


def embedding_bytes(dimensions: int = 1536) -> bytes:
    """One embedding, base64 float32 as the SDK asks for by default."""
    vector = struct.pack(f"<{dimensions}f", *([1 / dimensions**0.5] * dimensions))
    data = [{"object": "embedding", "index": 0, "embedding": base64.b64encode(vector).decode()}]
    answer = {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    return json.dumps(answer).encode()
