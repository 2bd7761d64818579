"""Gemini's wire, shared by the Developer API's and Vertex AI's doors: a `generateContent` body
read as chat messages, and a chat completion written as a `GenerateContentResponse` and as the
chunks of its `alt=sse` stream (providers.md, section 1).

Field names are read in both spellings the API accepts (`systemInstruction` and
`system_instruction`): the SDKs send the first, Google's curl examples the second.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .._chat import tool_calls
from .._request import RequestError
from .._stream import pieces

GENERATE_KEY = "/models/{model}:generateContent"  # the key Gemini examples are indexed under
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def field(obj: Mapping[str, Any], name: str) -> Any:
    """`obj[name]` in camelCase, else in snake_case, else None."""
    if name in obj:
        return obj[name]
    return obj.get(_CAMEL.sub("_", name).lower())


def chat_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages equal to a request's `systemInstruction` and `contents`.

    A `functionCall` is a tool call (name and args), a `functionResponse` a tool message. The
    Developer API gives calls no `id`: a result without one answers the oldest unanswered
    call of its name, and takes that call's id (the answers carry the chat example's id, and
    clients send it back with the call), so chat examples' tool messages match."""
    messages: list[dict[str, Any]] = []
    system = field(body, "systemInstruction")
    if isinstance(system, str):
        system = {"parts": [{"text": system}]}
    if isinstance(system, Mapping):
        text = "\n".join(_texts(system.get("parts"), "systemInstruction.parts"))
        if text:
            messages.append({"role": "system", "content": text})
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RequestError("contents is not specified", param="contents")
    pending: list[dict[str, Any]] = []  # calls not answered yet, oldest first
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        if not isinstance(content, Mapping):
            raise RequestError(f"Invalid value at '{where}': expected an object", param=where)
        role = content.get("role") or "user"
        if role == "model":
            _model_turn(messages, content.get("parts"), where, pending)
        elif role in ("user", "function"):
            messages += _user_turn(content.get("parts"), where, pending)
        else:
            raise RequestError(
                f"Please use a valid role: user, model (got {role!r} in {where}.role).",
                param=f"{where}.role",
            )
    return messages


def _parts(parts: object, where: str) -> list[Mapping[str, Any]]:
    if parts is None:
        return []
    if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
        raise RequestError(f"Invalid value at '{where}': expected a list of parts", param=where)
    return [p for p in parts if not p.get("thought")]  # a model's thoughts are not its answer


def _texts(parts: object, where: str) -> list[str]:
    return [str(p["text"]) for p in _parts(parts, where) if isinstance(p.get("text"), str)]


def _model_turn(
    messages: list[dict[str, Any]], parts: object, where: str, pending: list[dict[str, Any]]
) -> None:
    """A model turn as an assistant message. Consecutive model turns are one message: a chat
    session keeps each chunk of a streamed answer as a turn of its own."""
    last = messages[-1] if messages else {}
    if last.get("role") == "assistant":
        message = last
    else:
        message = {"role": "assistant", "content": None}
        messages.append(message)
    for part in _parts(parts, f"{where}.parts"):
        call = field(part, "functionCall")
        if isinstance(call, Mapping):
            chat_call = {
                "id": call.get("id"),
                "type": "function",
                "function": {
                    "name": call.get("name"),
                    "arguments": json.dumps(call.get("args") or {}),
                },
            }
            message.setdefault("tool_calls", []).append(chat_call)
            pending.append(chat_call)
        elif isinstance(part.get("text"), str):
            # Gemini's text is the concatenation of its text parts (`response.text`).
            message["content"] = (message["content"] or "") + part["text"]
        else:
            message["content"] = (message["content"] or "") + json.dumps(part, sort_keys=True)


def _user_turn(parts: object, where: str, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A user turn: its function responses as tool messages, then its text as a user message."""
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    for part in _parts(parts, f"{where}.parts"):
        response = field(part, "functionResponse")
        if isinstance(response, Mapping):
            call_id = response.get("id") or _answered(pending, response.get("name"))
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id or "",
                    "content": result_text(response.get("response")),
                }
            )
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            texts.append(json.dumps(part, sort_keys=True))  # images, files: matched by JSON
    if texts or not results:
        results.append({"role": "user", "content": " ".join(texts)})
    return results


def _answered(pending: list[dict[str, Any]], name: object) -> object:
    """The id of the oldest unanswered call named `name`, now answered."""
    for position, call in enumerate(pending):
        if call["function"]["name"] == name:
            del pending[position]
            return call.get("id")
    return None


def result_text(response: object) -> str:
    """A function response as the text of a tool message: the value of a one-key object
    (`{"result": ...}` from the SDK, `{"output": ...}` from LangChain), else the JSON."""
    if isinstance(response, Mapping) and len(response) == 1:
        (response,) = response.values()
    if isinstance(response, str):
        return response
    return json.dumps(response, ensure_ascii=False)


def content_text(content: object) -> str:
    """The text parts of a `Content` (embeddings, token counts), joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, Mapping):
        raise RequestError("content is not specified", param="content")
    return " ".join(_texts(content.get("parts"), "content.parts"))


def generate_response(chat: Mapping[str, Any], model: str, response_id: str) -> dict[str, Any]:
    """A chat completion's first choice as a `GenerateContentResponse`."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    parts: list[dict[str, Any]] = []
    text = message.get("content") or message.get("refusal")
    if text or not message.get("tool_calls"):
        parts.append({"text": text or ""})
    for call in tool_calls(message):
        # The chat example's id goes out and comes back with the call: its result then
        # matches the example's tool message.
        function_call = {"name": call.name, "args": call.arguments}
        if call.id:
            function_call["id"] = call.id
        parts.append({"functionCall": function_call})
    usage = chat.get("usage") or {}
    return complete(
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": parts},
                    "finishReason": _FINISH.get(choice.get("finish_reason") or "stop", "STOP"),
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": usage.get("prompt_tokens", 0),
                "candidatesTokenCount": usage.get("completion_tokens", 0),
                "totalTokenCount": usage.get("total_tokens", 0),
            },
        },
        model,
        response_id,
    )


def complete(response: Mapping[str, Any], model: str, response_id: str) -> dict[str, Any]:
    """A saved or built response with what clients read filled in (LiteLLM needs
    `usageMetadata`)."""
    usage = {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0}
    return {
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
        **response,
    }


def stream_chunks(response: Mapping[str, Any], size: int) -> list[dict[str, Any]]:
    """The chunks of an `alt=sse` stream that add up to `response`: its first candidate's
    text in pieces of `size` characters, each function call whole, and `finishReason` and
    `usageMetadata` on the last chunk."""
    candidates = response.get("candidates") or [{}]
    candidate = candidates[0]
    content = candidate.get("content") or {}
    shared = {k: response[k] for k in ("modelVersion", "responseId") if k in response}
    chunks: list[dict[str, Any]] = []
    for part in content.get("parts") or [{"text": ""}]:
        texts = pieces(part["text"], size) if isinstance(part.get("text"), str) else [None]
        for piece in texts:
            one = dict(part) if piece is None else {**part, "text": piece}
            chunk_candidate = {"content": {"role": "model", "parts": [one]}, "index": 0}
            chunks.append({"candidates": [chunk_candidate], **shared})
    last = chunks[-1]
    last["candidates"][0].update(
        {k: v for k, v in candidate.items() if k not in ("content", "index")}
    )
    last.update({k: v for k, v in response.items() if k != "candidates"})
    return chunks
