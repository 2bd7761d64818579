"""Responses added from Python: criteria to meet and the answer to give.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._collection import Answer, ObjectAnswer, TextAnswer, sort_headers, status_problem
from ._openai import completion_problem
from ._request import ChatRequest, Message, normalize_text, parse_chat_request

ToolCallSpec = Mapping[str, Any]


@dataclass
class AddedResponse:
    """One `add_response(...)`: it answers requests that meet every criterion given."""

    number: int
    answer: Answer
    status: int
    headers: tuple[tuple[str, str], ...]
    controls: Mapping[str, str]
    last_user_message: str | None
    messages: tuple[Message, ...] | None
    contains: str | None
    model: str | None
    times: int | None
    used: int = 0

    @property
    def name(self) -> str:
        return f"add_response #{self.number}"

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, request: ChatRequest) -> bool:
        return self.mismatch(request) is None

    def mismatch(self, request: ChatRequest) -> str | None:
        """The first criterion `request` fails, said for a person; `None` when it meets all."""
        if self.exhausted:
            return f"it was used up ({self.used} of times={self.times})"
        if self.model is not None and request.model != self.model:
            return f"model: expected {self.model!r}, received {request.model!r}"
        if self.last_user_message is not None and (
            request.last_user_message != self.last_user_message
        ):
            return (
                f"last_user_message: expected {self.last_user_message!r}, "
                f"received {request.last_user_message!r}"
            )
        if self.messages is not None and request.messages != self.messages:
            return (
                f"messages: expected {len(self.messages)} messages equal to those given, "
                f"received {len(request.messages)} that differ"
            )
        if self.contains is not None and self.contains not in request.text():
            return f"contains: {self.contains!r} is not in the request's messages"
        return None

    def describe(self) -> str:
        criteria = [
            f"{name}={value!r}"
            for name, value in (
                ("last_user_message", self.last_user_message),
                ("contains", self.contains),
                ("model", self.model),
            )
            if value is not None
        ]
        if self.messages is not None:
            criteria.append(f"messages=<{len(self.messages)} messages>")
        return f"{self.name}({', '.join(criteria) or 'any request'})"


def build_added_response(
    number: int,
    *,
    content: str | None,
    tool_calls: Sequence[ToolCallSpec] | None,
    last_user_message: str | None,
    messages: Sequence[Mapping[str, Any]] | None,
    contains: str | None,
    model: str | None,
    status: int,
    body: Mapping[str, Any] | str | None,
    headers: Mapping[str, str] | None,
    times: int | None,
) -> AddedResponse:
    """Check the arguments of `add_response` and build the response. Raises `ValueError`."""
    if times is not None and times < 1:
        raise ValueError(f"times must be a positive number or None (unlimited), got {times}")
    problem = status_problem(status)
    if problem is not None:
        raise ValueError(f"status: {problem}")
    sorted_headers = sort_headers((headers or {}).items())
    parsed_messages = None
    if messages is not None:
        parsed_messages = parse_chat_request({"model": "", "messages": list(messages)}).messages
    return AddedResponse(
        number=number,
        answer=_answer(content, tool_calls, body, status),
        status=status,
        headers=sorted_headers.kept,
        controls=sorted_headers.controls,
        last_user_message=(
            normalize_text(last_user_message) if last_user_message is not None else None
        ),
        messages=parsed_messages,
        contains=normalize_text(contains) if contains is not None else None,
        model=model,
        times=times,
    )


def _answer(
    content: str | None,
    tool_calls: Sequence[ToolCallSpec] | None,
    body: Mapping[str, Any] | str | None,
    status: int,
) -> Answer:
    if body is not None:
        if content is not None or tool_calls is not None:
            raise ValueError("give either body or content/tool_calls, not both")
        if isinstance(body, str):
            return TextAnswer(body)
        problem = completion_problem(body) if "choices" in body else None
        if problem is not None:
            raise ValueError(f"body is not a valid chat.completion: {problem}")
        return ObjectAnswer(dict(body))
    if tool_calls is None:
        if content is None and status < 400:
            raise ValueError("add_response needs content, tool_calls or body")
        return TextAnswer(content or "")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "tool_calls": [_tool_call(call) for call in tool_calls],
    }
    return ObjectAnswer({"choices": [{"message": message, "finish_reason": "tool_calls"}]})


def _tool_call(spec: ToolCallSpec) -> dict[str, Any]:
    """A tool call from `{"name", "arguments"}` (dict or JSON string) or the OpenAI shape."""
    function = spec.get("function", spec)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a tool call needs a 'name', got {dict(spec)!r}")
    arguments = function.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if isinstance(spec.get("id"), str):
        call["id"] = spec["id"]
    return call
