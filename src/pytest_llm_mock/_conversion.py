"""Between the Chat Completions and Responses APIs: Responses input read as chat messages (so
one collection and one set of match strategies serve both), and chat answers written as
Responses objects and their stream of events (openai-contract.md, section 8).

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._openai import digest, dumps
from ._request import RequestError

RESPONSES_PATH = "/responses"
COMPLETIONS_PATH = "/completions"
MESSAGES_PATH = "/messages"
_SKIPPED_ITEMS = frozenset({"reasoning", "item_reference"})


def _untyped_kind(item: Mapping[str, Any]) -> str:
    """An input item without `type`: a message (`role`), else a reference to a stored item."""
    return "item_reference" if "id" in item and "role" not in item else "message"


def responses_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages equal to a Responses request's `instructions` and `input` items."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    raw = body.get("input")
    if raw is None:
        return messages  # optional: a stored prompt or previous response can stand for it
    if isinstance(raw, str):
        return [*messages, {"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise RequestError(
            "Invalid type for 'input': expected a string or an array of input items.",
            param="input",
            code="invalid_type",
        )
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise RequestError(
                f"Invalid type for 'input[{i}]': expected an object.", param=f"input[{i}]"
            )
        kind = item.get("type") or _untyped_kind(item)
        if kind == "message":
            messages.append({"role": item.get("role"), "content": _content(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else {}
            if last.get("role") == "assistant" and last.get("tool_calls") and not last["content"]:
                last["tool_calls"].append(call)  # parallel calls are one assistant turn
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            # A list of content parts is read as message content is: its texts joined.
            text = output if isinstance(output, (str, list)) else json.dumps(output)
            content = _content(text)
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": content}
            )
        elif kind not in _SKIPPED_ITEMS:
            messages.append({"role": "user", "content": [dict(item)]})  # matched by its JSON
    return messages


def _content(content: object) -> object:
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal", "")})
        else:
            parts.append(part)
    return parts


_CHAT_ID, _ANTHROPIC_ID = "call_", "toolu_"


def anthropic_tool_id(chat_id: object) -> object:
    """An answer's tool call id as Anthropic writes it (`call_x` -> `toolu_x`); read back by
    `chat_tool_id`, so the next request's history matches the chat example's."""
    if isinstance(chat_id, str) and chat_id.startswith(_CHAT_ID):
        return _ANTHROPIC_ID + chat_id.removeprefix(_CHAT_ID)
    return chat_id


def chat_tool_id(anthropic_id: object) -> object:
    """A Messages request's tool_use id as the chat id it was made from (`toolu_x` -> `call_x`)."""
    if isinstance(anthropic_id, str) and anthropic_id.startswith(_ANTHROPIC_ID):
        return _CHAT_ID + anthropic_id.removeprefix(_ANTHROPIC_ID)
    return anthropic_id


def anthropic_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages equal to a Messages request's `system` and `messages`."""
    out: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, list):
        system = " ".join(b.get("text", "") for b in system if isinstance(b, Mapping))
    if isinstance(system, str) and system:
        out.append({"role": "system", "content": system})
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: field required", param="messages")
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        if role not in ("user", "assistant"):
            raise RequestError(
                f"messages.{i}.role: Input should be 'user' or 'assistant'", param=f"messages.{i}"
            )
        out += _turn(role, message.get("content"))
    return out


def _turn(role: str, content: object) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return [{"role": role, "content": content}]
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {})
            calls.append(
                {
                    "id": chat_tool_id(block.get("id")),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
        elif kind == "tool_result":
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": chat_tool_id(block.get("tool_use_id")),
                    "content": _result_text(block.get("content")),
                }
            )
        else:
            texts.append(json.dumps(block, sort_keys=True))
    turn: list[dict[str, Any]] = list(results)
    if texts or calls or not results:
        message: dict[str, Any] = {"role": role, "content": " ".join(texts) if texts else None}
        if calls:
            message["tool_calls"] = calls
        turn.append(message)
    return turn


def _result_text(content: object) -> str:
    if isinstance(content, list):
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return "" if content is None else str(content)


def output_messages(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A response's output as chat messages, to continue a conversation from it."""
    items: list[dict[str, Any]] = []
    for item in response.get("output") or []:
        if item.get("type") == "message":
            items.append({"type": "message", "role": "assistant", "content": item.get("content")})
        elif item.get("type") == "function_call":
            items.append(item)
    return responses_messages({"input": items})


def chat_to_response(
    completion: Mapping[str, Any], body: Mapping[str, Any], *, response_id: str
) -> dict[str, Any]:
    """A completed `response` object holding a chat completion's first choice."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    if (
        message.get("content") is not None
        or message.get("refusal")
        or not message.get("tool_calls")
    ):
        part = (
            {"type": "refusal", "refusal": message["refusal"]}
            if message.get("refusal")
            else {
                "type": "output_text",
                "text": message.get("content") or "",
                "annotations": [],
                "logprobs": [],
            }
        )
        output.append(
            {
                "type": "message",
                "id": "msg_" + digest(response_id, "message")[:32],
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for position, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        output.append(
            {
                "type": "function_call",
                "id": "fc_" + digest(response_id, "call", str(position))[:32],
                "call_id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments", ""),
                "status": "completed",
            }
        )
    usage = completion.get("usage") or {}
    return complete_response(
        {
            "id": response_id,
            "created_at": completion.get("created"),
            "model": completion.get("model"),
            "output": output,
            "usage": {
                "input_tokens": usage.get("prompt_tokens", 0),
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": usage.get("completion_tokens", 0),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": usage.get("total_tokens", 0),
            },
        },
        body,
        response_id=response_id,
    )


def complete_response(
    obj: Mapping[str, Any], body: Mapping[str, Any], *, response_id: str
) -> dict[str, Any]:
    """Fill in what a partial `response` object leaves out; keep everything it states."""
    defaults: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": 1_700_000_000 + int(digest("created", response_id)[:8], 16) % 50_000_000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model"),
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_tool(t) for t in body.get("tools") or []],
        "top_p": 1.0,
        "truncation": "disabled",
        "metadata": {},
    }
    response = {**defaults, **{k: v for k, v in obj.items() if v is not None}}
    response["completed_at"] = response["created_at"]
    return response


def _tool(tool: Any) -> Any:
    """A request's tool as the API echoes it: function tools with `strict` and `parameters`
    filled in (the Responses API makes function tools strict unless told)."""
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        return tool
    return {"strict": True, "parameters": {}, "description": None, **tool}


def response_events(response: Mapping[str, Any], chunk_size: int) -> list[bytes]:
    """The SSE events that stream `response`, in the order the SDK's helper checks."""
    events: list[bytes] = []

    def emit(kind: str, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": len(events), **fields}
        events.append(f"event: {kind}\ndata: ".encode() + dumps(data) + b"\n\n")

    # The snapshots before completion have no output and no usage yet.
    started = {k: v for k, v in response.items() if k not in ("usage", "completed_at")}
    started.update(status="in_progress", output=[])
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    for index, item in enumerate(response.get("output") or []):
        if item.get("type") == "message":
            _message_events(emit, index, item, chunk_size)
        elif item.get("type") == "function_call":
            _call_events(emit, index, item, chunk_size)
        else:
            emit("response.output_item.added", output_index=index, item=item)
            emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=response)
    return events


def _message_events(emit: Any, index: int, item: Mapping[str, Any], size: int) -> None:
    item_id = item.get("id")
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    for c, part in enumerate(item.get("content") or []):
        at = {"item_id": item_id, "output_index": index, "content_index": c}
        if part.get("type") == "refusal":
            emit("response.content_part.added", **at, part={**part, "refusal": ""})
            for piece in _pieces(part.get("refusal", ""), size):
                emit("response.refusal.delta", **at, delta=piece)
            emit("response.refusal.done", **at, refusal=part.get("refusal", ""))
        else:
            text = part.get("text", "")
            emit("response.content_part.added", **at, part={**part, "text": ""})
            for piece in _pieces(text, size):
                emit("response.output_text.delta", **at, delta=piece, logprobs=[])
            emit("response.output_text.done", **at, text=text, logprobs=[])
        emit("response.content_part.done", **at, part=part)
    emit("response.output_item.done", output_index=index, item=item)


def _call_events(emit: Any, index: int, item: Mapping[str, Any], size: int) -> None:
    item_id = item.get("id")
    arguments = item.get("arguments", "")
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "arguments": "", "status": "in_progress"},
    )
    for piece in _pieces(arguments, size):
        emit(
            "response.function_call_arguments.delta",
            item_id=item_id,
            output_index=index,
            delta=piece,
        )
    emit(
        "response.function_call_arguments.done",
        item_id=item_id,
        output_index=index,
        name=item.get("name"),
        arguments=arguments,
    )
    emit("response.output_item.done", output_index=index, item=item)


def _pieces(text: str, size: int) -> Sequence[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
