"""Ollama's answer bodies: a chat or generate reply built from an example (a chat example
converted, or one saved on Ollama's own path served as saved), and its NDJSON stream
(providers.md, section 2). Everything is derived from the example and the request, never the
clock, so the same request gets the same bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .._collection import Example, ObjectAnswer
from .._openai import digest, dumps, estimate_usage
from .._request import ChatRequest
from .._responses import AddedResponse
from .._stream import completion, pieces

CHAT_KEY = "/api/chat"
GENERATE_KEY = "/api/generate"
NDJSON = "application/x-ndjson"
_EPOCH = 1_700_000_000  # built timestamps fall in late 2023 to 2025, like recorded ones


def timestamp(*seed: str) -> str:
    """An RFC 3339 UTC time with microseconds, as Ollama writes `created_at`, from `seed`."""
    value = int(digest("created", *seed)[:13], 16)
    moment = datetime.fromtimestamp(_EPOCH + value % 50_000_000, timezone.utc)
    return moment.replace(microsecond=value % 1_000_000).isoformat().replace("+00:00", "Z")


def chat_body(source: Example | AddedResponse, request: ChatRequest, seed: str) -> dict[str, Any]:
    """The complete `/api/chat` reply (`message`, `done`, counts and durations) to `request`:
    an example saved on an Ollama path as saved, else the chat answer converted."""
    answer = source.answer
    own = isinstance(source, Example) and source.path in (CHAT_KEY, GENERATE_KEY)
    if own and isinstance(answer, ObjectAnswer) and "choices" not in answer.obj:
        return _complete(_as_chat(answer.obj), request, seed)
    chat = completion(answer, source.status, seed=seed, request=request)
    reply = (chat.get("choices") or [{}])[0].get("message") or {}
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content") or ""}
    calls = [_tool_call(call) for call in reply.get("tool_calls") or []]
    if calls:
        message["tool_calls"] = calls
    return _complete({"message": message}, request, seed, chat.get("usage"))


def generate_body(chat: Mapping[str, Any]) -> dict[str, Any]:
    """A complete `/api/chat` reply as `/api/generate` writes it: the text in `response`."""
    message = chat.get("message") or {}
    body = {k: v for k, v in chat.items() if k != "message"}
    body["response"] = message.get("content") or ""
    if message.get("thinking"):
        body["thinking"] = message["thinking"]
    return body


def _as_chat(saved: Mapping[str, Any]) -> dict[str, Any]:
    """A body saved on an Ollama path as a chat reply: a chat reply as it is, a generate
    reply's `response` as the message, and any other JSON as the message's text (structured
    output saved as the object itself)."""
    if isinstance(saved.get("message"), Mapping):
        return dict(saved)
    if isinstance(saved.get("response"), str):
        message = {"role": "assistant", "content": saved["response"]}
        if saved.get("thinking"):
            message["thinking"] = saved["thinking"]
        rest = {k: v for k, v in saved.items() if k not in ("response", "thinking", "context")}
        return {**rest, "message": message}
    return {"message": {"role": "assistant", "content": json.dumps(saved, ensure_ascii=False)}}


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A chat tool call in Ollama's shape: no id, and the arguments as an object."""
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {}
    return {
        "function": {
            "name": function.get("name"),
            "arguments": arguments if isinstance(arguments, Mapping) else {},
        }
    }


def _complete(
    body: Mapping[str, Any], request: ChatRequest, seed: str, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Fill in what a reply leaves out, as Ollama sends it; keep everything it states.
    `usage`: the chat answer's (stated in its example, or estimated)."""
    if not isinstance(usage, Mapping):
        message = body.get("message") or {}
        text = (message.get("content") or "") + json.dumps(message.get("tool_calls") or "")
        usage = estimate_usage(request, text)
    prompt, output = (_count(usage.get(k)) for k in ("prompt_tokens", "completion_tokens"))
    reply = {
        "model": request.model,
        "created_at": timestamp(seed, request.model),
        **body,
        "done": True,
        "done_reason": body.get("done_reason") or "stop",
    }
    # Counts and durations (nanoseconds: a fast local model) unless the body gives them.
    timings = {
        "total_duration": 1_000_000 + 500_000 * prompt + 10_000_000 * output,
        "load_duration": 1_000_000,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 500_000 * prompt,
        "eval_count": output,
        "eval_duration": 10_000_000 * output,
    }
    for key, value in timings.items():
        reply.setdefault(key, value)
    return reply


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def ndjson_lines(final: Mapping[str, Any], size: int) -> list[bytes]:
    """The NDJSON stream of a complete chat or generate reply, as Ollama streams: every line
    a reply with `done: false` and a piece of the text (thinking first, tool calls whole in
    one line), then `final` with its text emptied, `done: true` and the counts."""
    head = {"model": final.get("model"), "created_at": final.get("created_at")}
    lines: list[dict[str, Any]] = []
    if "message" not in final:  # /api/generate
        for field in ("thinking", "response"):
            text = final.get(field)
            if text:
                lines += [
                    {**head, field: piece, "done": False} for piece in pieces(str(text), size)
                ]
        last = {k: v for k, v in final.items() if k != "thinking"}
        lines.append({**last, "response": ""})
    else:
        message = final["message"]
        said = {"role": message.get("role", "assistant"), "content": ""}
        for field in ("thinking", "content"):
            text = message.get(field)
            if text:
                lines += [
                    {**head, "message": {**said, field: piece}, "done": False}
                    for piece in pieces(str(text), size)
                ]
        if message.get("tool_calls"):
            calls = {**said, "tool_calls": message["tool_calls"]}
            lines.append({**head, "message": calls, "done": False})
        lines.append({**final, "message": said})
    return [dumps(line) + b"\n" for line in lines]


def loaded(path: str, model: str) -> dict[str, Any]:
    """The reply to a request with no messages or prompt: Ollama only loads the model."""
    body: dict[str, Any] = {"model": model, "created_at": timestamp("load", model)}
    if path == CHAT_KEY:
        body["message"] = {"role": "assistant", "content": ""}
    else:
        body["response"] = ""
    return {**body, "done": True, "done_reason": "load"}
