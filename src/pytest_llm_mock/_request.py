"""Chat-completion requests, parsed once where they enter and normalised for matching.

The same parser reads the bodies that clients send and the request patterns saved in a
collection, so both sides of a match are normalised by one piece of code.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._depth import loads

_ROLES = ("developer", "system", "user", "assistant", "tool", "function")


class RequestError(ValueError):
    """A request body that is not a valid chat-completion request.

    `param` names the offending field the way the OpenAI API does (`messages[1].role`).
    """

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class Message:
    """One message, normalised: whitespace runs collapsed, text parts joined.

    `tool_calls` holds `(name, arguments)` pairs with the arguments re-serialised
    canonically, so `{"a": 1}` and `{"a":1}` compare equal.
    """

    role: str
    text: str
    tool_calls: tuple[tuple[str, str], ...] = ()
    tool_call_id: str = ""
    raw: str = field(default="", compare=False, repr=False)  # the text before normalising


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A parsed chat-completion request: what matching and answering need from the body."""

    body: Mapping[str, object]
    model: str
    messages: tuple[Message, ...]
    stream: bool

    @property
    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk (`stream_options.include_usage`)."""
        options = self.body.get("stream_options")
        return isinstance(options, Mapping) and options.get("include_usage") is True

    @property
    def last_user_message(self) -> str | None:
        last = self._last_user()
        return last.text if last is not None else None

    @property
    def last_user_raw(self) -> str | None:
        """The last user message's text as sent: line breaks and spacing kept."""
        last = self._last_user()
        return last.raw if last is not None else None

    def _last_user(self) -> Message | None:
        for message in reversed(self.messages):
            if message.role == "user":
                return message
        return None

    def text(self) -> str:
        """All message texts joined, for `contains` criteria."""
        return "\n".join(message.text for message in self.messages)


def normalize_text(text: str) -> str:
    """Collapse whitespace runs (line endings included) to one space and strip the ends."""
    return " ".join(text.split())


def parse_chat_request(body: object, *, require_model: bool = True) -> ChatRequest:
    """Validate a decoded JSON body as a chat-completion request.

    Raises `RequestError` naming the parameter, as the OpenAI API would with a 400. A saved
    request pattern may leave out `model` (`require_model=False`): it then fits any model.
    """
    if type(body) is not dict and not isinstance(body, Mapping):  # dict: the common case, fast
        raise RequestError(
            f"Invalid type for request body: expected an object, but got {_type_name(body)} "
            "instead.",
            code="invalid_type",
        )
    model = body.get("model")
    if model is None and not require_model:
        model = ""
    if model is None:
        raise RequestError(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    if not isinstance(model, str):
        raise _invalid_type("model", "a string", model)
    raw_messages = body.get("messages")
    if raw_messages is None:
        raise RequestError(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(raw_messages, list):
        raise _invalid_type("messages", "an array", raw_messages)
    if not raw_messages:
        raise RequestError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
            "empty array instead.",
            param="messages",
            code="empty_array",
        )
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise _invalid_type("stream", "a boolean", stream)
    messages = tuple(_parse_message(raw, f"messages[{i}]") for i, raw in enumerate(raw_messages))
    return ChatRequest(body=body, model=model, messages=messages, stream=stream)


def _parse_message(raw: object, where: str) -> Message:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise _invalid_type(where, "an object", raw)
    role = raw.get("role")
    if role is None:
        raise RequestError(
            f"Missing required parameter: '{where}.role'.",
            param=f"{where}.role",
            code="missing_required_parameter",
        )
    if role not in _ROLES:
        raise RequestError(
            f"Invalid value: {json.dumps(role)}. Supported values are: "
            + ", ".join(f"'{r}'" for r in _ROLES)
            + ".",
            param=f"{where}.role",
            code="invalid_value",
        )
    assert isinstance(role, str)
    content = raw.get("content")
    text = _content_text(content, f"{where}.content")
    if isinstance(content, list):
        content = "\n".join(
            p["text"] for p in content if isinstance(p, Mapping) and p.get("type") == "text"
        )
    # The API defines `tool_calls` on assistant messages and `tool_call_id` on tool messages
    # only; on other roles it lets any value through, and so must we.
    tool_calls: tuple[tuple[str, str], ...] = ()
    if role == "assistant":
        tool_calls = _tool_calls(raw.get("tool_calls"), f"{where}.tool_calls")
    tool_call_id = raw.get("tool_call_id") or ""
    if not isinstance(tool_call_id, str):
        if role == "tool":
            raise _invalid_type(f"{where}.tool_call_id", "a string", tool_call_id)
        tool_call_id = ""
    return Message(
        role=role,
        text=text,
        tool_calls=tool_calls,
        tool_call_id=tool_call_id,
        raw=content if isinstance(content, str) else "",
    )


def _content_text(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return normalize_text(content)
    if not isinstance(content, list):
        raise _invalid_type(where, "a string or an array of content parts", content)
    pieces: list[str] = []
    for i, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise _invalid_type(f"{where}[{i}]", "an object", part)
        if part.get("type") == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise _invalid_type(f"{where}[{i}].text", "a string", text)
            pieces.append(text)
        else:
            # Images, audio and files take part in matching by their exact JSON.
            pieces.append(json.dumps(part, sort_keys=True, ensure_ascii=False))
    return normalize_text(" ".join(pieces))


def _tool_calls(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _invalid_type(where, "an array", raw)
    calls: list[tuple[str, str]] = []
    for i, call in enumerate(raw):
        # A custom tool's call carries free text under `custom.input`, a function's
        # call JSON arguments under `function.arguments`.
        custom = isinstance(call, Mapping) and call.get("type") == "custom"
        field = "custom" if custom else "function"
        detail = call.get(field) if isinstance(call, Mapping) else None
        if not isinstance(detail, Mapping):
            raise _invalid_type(f"{where}[{i}].{field}", "an object", detail)
        name = detail.get("name")
        if not isinstance(name, str):
            raise _invalid_type(f"{where}[{i}].{field}.name", "a string", name)
        if custom:
            calls.append((name, normalize_text(str(detail.get("input") or ""))))
        else:
            calls.append((name, canonical_arguments(detail.get("arguments"))))
    return tuple(calls)


def canonical_arguments(arguments: object) -> str:
    """Tool-call arguments as canonical JSON text, whether given as a string or an object."""
    value = arguments
    if isinstance(arguments, str):
        try:
            value = loads(arguments)  # bounded depth: too deep is compared as text
        except ValueError:
            return normalize_text(arguments)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _invalid_type(param: str, expected: str, got: object) -> RequestError:
    return RequestError(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(got)} instead.",
        param=param,
        code="invalid_type",
    )


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Sequence):
        return "an array"
    return "an object"
