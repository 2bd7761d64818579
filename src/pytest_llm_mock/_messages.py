"""Anthropic's Messages format where more than one provider writes it: the events that stream
a Messages object, which Anthropic's API sends as SSE and Bedrock's `invoke` (with a Claude
model) as event-stream chunks.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._stream import pieces


def stream_events(message: Mapping[str, Any], size: int) -> list[dict[str, Any]]:
    """The events that stream a Messages object, in order, each with its `type`; text and
    tool input come in pieces of `size` characters."""
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, **fields})

    usage = message.get("usage") or {}
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    emit("message_start", message=start)
    for index, block in enumerate(message.get("content") or []):
        if block.get("type") == "tool_use":
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            for piece in pieces(json.dumps(block.get("input") or {}), size):
                emit(
                    "content_block_delta",
                    index=index,
                    delta={"type": "input_json_delta", "partial_json": piece},
                )
        else:
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
            for piece in pieces(str(block.get("text", "")), size):
                emit(
                    "content_block_delta", index=index, delta={"type": "text_delta", "text": piece}
                )
        emit("content_block_stop", index=index)
    emit(
        "message_delta",
        delta={"stop_reason": message.get("stop_reason"), "stop_sequence": None},
        usage={"output_tokens": usage.get("output_tokens", 0)},
    )
    emit("message_stop")
    return events
