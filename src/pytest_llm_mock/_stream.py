"""Chat-completion streams out: SSE `chat.completion.chunk` events synthesized from a
completed `chat.completion`, in the order and shape real clients expect
(openai-contract.md, 2.3).

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ._collection import Answer, StreamAnswer
from ._openai import answer_body, complete_chat, dumps
from ._request import ChatRequest

DEFAULT_CHUNK_SIZE = 8  # characters of content or arguments per chunk
DONE = b"data: [DONE]\n\n"
_SHARED = ("id", "object", "created", "model", "service_tier", "system_fingerprint")


def event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


def pieces(text: str, size: int) -> list[str]:
    """`text` cut into pieces of at most `size` characters (one piece if it is empty)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def chat_chunks(
    completion: Mapping[str, Any], *, include_usage: bool, chunk_size: int
) -> list[bytes]:
    """The SSE events of a stream that rebuilds `completion` exactly, `[DONE]` last."""
    head: dict[str, Any] = {k: completion[k] for k in _SHARED if k in completion}
    head["object"] = "chat.completion.chunk"
    if include_usage:
        head["usage"] = None
    per_choice = [
        list(_choice_deltas(choice, chunk_size)) for choice in completion.get("choices", [])
    ]
    events: list[bytes] = []
    # Choices interleave, as with n > 1 against the real API; each has its own role and
    # finish chunks.
    for step in range(max((len(d) for d in per_choice), default=0)):
        for deltas in per_choice:
            if step < len(deltas):
                events.append(event({**head, "choices": [deltas[step]]}))
    if include_usage:
        events.append(event({**head, "choices": [], "usage": completion.get("usage")}))
    events.append(DONE)
    return events


def assemble(chunks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One `chat.completion` from the chunks of a stream, as the SDK's stream helper builds it."""
    first = chunks[0]
    completion: dict[str, Any] = {k: first[k] for k in _SHARED if k in first}
    completion["object"] = "chat.completion"
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if chunk.get("usage"):
            completion["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            into = choices.setdefault(
                index,
                {
                    "index": index,
                    "message": {"role": "assistant"},
                    "logprobs": None,
                    "finish_reason": None,
                },
            )
            _merge_delta(into["message"], choice.get("delta") or {})
            if choice.get("finish_reason"):
                into["finish_reason"] = choice["finish_reason"]
    for choice in choices.values():
        message = choice["message"]
        calls = message.pop("_calls", None)
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]
    completion["choices"] = [choices[i] for i in sorted(choices)]
    return completion


def _merge_delta(message: dict[str, Any], delta: Mapping[str, Any]) -> None:
    for key in ("content", "refusal"):
        if isinstance(delta.get(key), str):
            message[key] = message.get(key, "") + delta[key]
    calls: dict[int, dict[str, Any]] = message.setdefault("_calls", {})
    for fragment in delta.get("tool_calls") or []:
        call = calls.setdefault(
            fragment.get("index", 0),
            {"type": "function", "function": {"name": "", "arguments": ""}},
        )
        if fragment.get("id"):
            call["id"] = fragment["id"]
        function = fragment.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""


def _choice_deltas(choice: Mapping[str, Any], size: int) -> Iterator[dict[str, Any]]:
    index = choice.get("index", 0)
    message = choice.get("message") or {}
    content = message.get("content")
    refusal = message.get("refusal")
    calls = message.get("tool_calls") or []

    def delta(body: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": body, "logprobs": None, "finish_reason": finish}

    yield delta(
        {"role": "assistant", "content": "" if content is not None else None, "refusal": None}
    )
    if content:
        for piece in pieces(content, size):
            yield delta({"content": piece})
    if refusal:
        for piece in pieces(refusal, size):
            yield delta({"refusal": piece})
    # Calls stream one after another; id, type and name only in each call's first delta
    # (AutoGen and LangChain concatenate repeated fields).
    for position, call in enumerate(calls):
        function = call.get("function") or {}
        start = {
            "index": position,
            "id": call.get("id"),
            "type": call.get("type", "function"),
            "function": {"name": function.get("name"), "arguments": ""},
        }
        yield delta({"tool_calls": [start]})
        arguments = function.get("arguments") or ""
        if arguments:
            for piece in pieces(arguments, size):
                fragment = {"index": position, "function": {"arguments": piece}}
                yield delta({"tool_calls": [fragment]})
    yield delta({}, choice.get("finish_reason") or "stop")


def render(
    answer: Answer, status: int, *, seed: str, request: ChatRequest, chunk_size: int
) -> tuple[bytes, tuple[bytes, ...] | None]:
    """The JSON body of an answer and, for a streaming request, the events to send instead."""
    obj = completion(answer, status, seed=seed, request=request)
    if isinstance(answer, StreamAnswer):
        # A recording is replayed byte for byte, event by event.
        return dumps(obj), tuple(split_events(answer.raw.encode())) if request.stream else None
    if not (request.stream and status < 400 and "choices" in obj):
        return dumps(obj), None
    events = chat_chunks(obj, include_usage=request.include_usage, chunk_size=chunk_size)
    return dumps(obj), tuple(events)


def completion(answer: Answer, status: int, *, seed: str, request: ChatRequest) -> dict[str, Any]:
    """An answer as a complete `chat.completion` (or, for an error status, its error body)."""
    if isinstance(answer, StreamAnswer):
        return complete_chat(assemble(answer.chunks), seed=seed, request=request)
    return answer_body(answer, status, seed=seed, request=request)


def split_events(raw: bytes) -> list[bytes]:
    """SSE bytes cut after each blank line; joined again they are `raw` exactly."""
    parts = raw.split(b"\n\n")
    events = [part + b"\n\n" for part in parts[:-1]]
    if parts[-1]:
        events.append(parts[-1])
    return events or [raw]
