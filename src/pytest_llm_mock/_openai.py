"""OpenAI wire formats out: chat completions, models and the error envelope.

Every body is built deterministically: ids, timestamps and fingerprints are derived from the
example that answered and the request, never from the clock or a random source, so the same
request gets the same bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._collection import ObjectAnswer, TextAnswer
from ._request import ChatRequest

OWNER = "pytest-llm-mock"
_EPOCH = 1_700_000_000  # built timestamps fall in late 2023 to 2025, like recorded ones

# The error `type` and `code` the real API uses for each status (openai-contract.md, 3.3).
_STATUS_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "The request was invalid."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_denied", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", None, "The requested resource was not found."),
    405: ("invalid_request_error", None, "Method not allowed."),
    408: ("timeout", None, "The request timed out."),
    409: ("conflict", None, "The request conflicts with another request."),
    413: ("invalid_request_error", None, "The request body is too large."),
    415: ("invalid_request_error", None, "Unsupported content type."),
    422: ("invalid_request_error", None, "The request could not be processed."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "The server timed out while processing your request."),
}


def dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON, the way the API sends it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def error_object(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def status_error(status: int, message: str | None = None) -> dict[str, Any]:
    """The envelope a given status carries, with the contract's `type` and `code`."""
    fallback = (
        ("server_error", None, "Error.")
        if status >= 500
        else ("invalid_request_error", None, "Error.")
    )
    type_, code, default = _STATUS_ERRORS.get(status, fallback)
    return error_object(message or default, type_, code=code)


def model_object(model_id: str) -> dict[str, Any]:
    created = _EPOCH + int(digest("model", model_id)[:8], 16) % 50_000_000
    return {"id": model_id, "object": "model", "created": created, "owned_by": OWNER}


def models_list(model_ids: Sequence[str]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(m) for m in model_ids]}


def estimate_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return (len(text) + 3) // 4


def estimate_usage(request: ChatRequest, completion_text: str) -> dict[str, Any]:
    prompt = 3 + sum(4 + estimate_tokens(m.text) for m in request.messages)
    completion = max(1, estimate_tokens(completion_text))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_call_id(seed: str, index: int) -> str:
    return "call_" + digest("tool_call", seed, str(index))[:24]


def answer_body(
    answer: TextAnswer | ObjectAnswer, status: int, *, seed: str, request: ChatRequest
) -> dict[str, Any]:
    """The JSON body for an answer: a completed `chat.completion`, or an error envelope."""
    if status >= 400:
        if isinstance(answer, ObjectAnswer):
            return dict(answer.obj)
        return status_error(status, answer.text.strip() or None)
    if isinstance(answer, TextAnswer):
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        return complete_chat({"choices": [{"message": message}]}, seed=seed, request=request)
    if "choices" in answer.obj:
        return complete_chat(answer.obj, seed=seed, request=request)
    return dict(answer.obj)


def complete_chat(obj: Mapping[str, Any], *, seed: str, request: ChatRequest) -> dict[str, Any]:
    """Fill in what a partial `chat.completion` leaves out; keep everything it states."""
    body = dict(obj)
    body.setdefault("id", "chatcmpl-" + digest("chatcmpl", seed, request.model)[:29])
    body.setdefault("object", "chat.completion")
    body.setdefault("created", _EPOCH + int(digest("created", seed)[:8], 16) % 50_000_000)
    body.setdefault("model", request.model)
    raw_choices = body.get("choices")
    choices = [
        _complete_choice(choice, i, seed)
        for i, choice in enumerate(raw_choices if isinstance(raw_choices, list) else [])
    ]
    body["choices"] = choices
    if "usage" not in body:
        text = "".join(_choice_text(c) for c in choices)
        body["usage"] = estimate_usage(request, text)
    body.setdefault("service_tier", "default")
    body.setdefault("system_fingerprint", "fp_" + digest("fingerprint", str(body["model"]))[:10])
    return body


def completion_problem(obj: Mapping[str, Any]) -> str | None:
    """What in a `chat.completion` object cannot be served, or `None` if it can be."""
    choices = obj.get("choices")
    if not isinstance(choices, list):
        return "choices: expected a list of choices"
    for i, choice in enumerate(choices):
        where = f"choices[{i}]"
        if not isinstance(choice, Mapping):
            return f"{where}: expected an object"
        message = choice.get("message", {})
        if not isinstance(message, Mapping):
            return f"{where}.message: expected an object"
        for key in ("content", "refusal"):
            if message.get(key) is not None and not isinstance(message[key], str):
                return f"{where}.message.{key}: expected a string or null"
        calls = message.get("tool_calls") or []
        if not isinstance(calls, list):
            return f"{where}.message.tool_calls: expected a list"
        for j, call in enumerate(calls):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                return (
                    f"{where}.message.tool_calls[{j}].function: expected an object with a "
                    "string 'name'"
                )
    return None


def _complete_choice(raw: object, position: int, seed: str) -> dict[str, Any]:
    choice = dict(raw) if isinstance(raw, Mapping) else {}
    index = choice.setdefault("index", position)
    raw_message = choice.get("message")
    message = dict(raw_message) if isinstance(raw_message, Mapping) else {}
    message.setdefault("role", "assistant")
    message.setdefault("content", None)
    message.setdefault("refusal", None)
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        message["tool_calls"] = [
            _complete_tool_call(call, i, f"{seed}/{index}") for i, call in enumerate(calls)
        ]
    message.setdefault("annotations", [])
    choice["message"] = message
    choice.setdefault("logprobs", None)
    if choice.get("finish_reason") is None:
        choice["finish_reason"] = "tool_calls" if message.get("tool_calls") else "stop"
    return choice


def _complete_tool_call(raw: object, position: int, seed: str) -> dict[str, Any]:
    call = dict(raw) if isinstance(raw, Mapping) else {}
    call.setdefault("id", tool_call_id(seed, position))
    call.setdefault("type", "function")
    function = dict(call.get("function") or {})
    arguments = function.get("arguments", "{}")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    function["arguments"] = arguments
    call["function"] = function
    return call


def _choice_text(choice: Mapping[str, Any]) -> str:
    message = choice.get("message")
    if not isinstance(message, Mapping):
        return ""
    text = message.get("content") or ""
    calls = message.get("tool_calls") or []
    args = "".join(
        str(c.get("function", {}).get("arguments", "")) for c in calls if isinstance(c, Mapping)
    )
    return (text if isinstance(text, str) else "") + args
