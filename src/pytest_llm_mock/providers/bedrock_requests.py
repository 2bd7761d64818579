"""Bedrock requests in: Converse bodies and Claude's Anthropic Messages bodies (for
`invoke`) read as the shared chat conversation, and where examples saved on Bedrock paths
are indexed. Part of the `bedrock` provider.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .._conversion import anthropic_messages
from .._request import ChatRequest, RequestError, parse_chat_request
from .bedrock_answers import chat_tool_id

CONVERSE_KEY, INVOKE_KEY = "/model/{modelId}/converse", "/model/{modelId}/invoke"
_KEY = re.compile(
    r"/model/(?P<model>.+)/(?P<op>converse(?:-stream)?|invoke(?:-with-response-stream)?)"
)


def converse_messages(body: object) -> list[dict[str, Any]]:
    """Chat messages equal to a Converse request's `system` and `messages`."""
    if not isinstance(body, Mapping):
        raise RequestError("The request body must be a JSON object.")
    out: list[dict[str, Any]] = []
    system = body.get("system") or []
    if not isinstance(system, list):
        raise RequestError("system: expected a list of system content blocks.", param="system")
    texts = [b["text"] for b in system if isinstance(b, Mapping) and isinstance(b.get("text"), str)]
    if texts:
        out.append({"role": "system", "content": " ".join(texts)})
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: expected a non-empty list of messages.", param="messages")
    for i, message in enumerate(messages, 1):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        if role not in ("user", "assistant"):
            raise RequestError(
                f"Value {role!r} at 'messages.{i}.member.role' failed to satisfy constraint: "
                "Member must satisfy enum value set: [user, assistant]",
                param=f"messages.{i}.role",
            )
        if not isinstance(content, list):
            raise RequestError(
                f"messages.{i}.content: expected a list of content blocks.",
                param=f"messages.{i}.content",
            )
        out += _turn(role, content)
    return out


def _turn(role: str, content: list[Any]) -> list[dict[str, Any]]:
    """One Converse message as chat messages: the tool results first, then the text and
    tool calls."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, Mapping):
            texts.append(json.dumps(block))
        elif isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            function = {"name": use.get("name"), "arguments": json.dumps(use.get("input") or {})}
            calls.append(
                {"id": chat_tool_id(use.get("toolUseId")), "type": "function", "function": function}
            )
        elif isinstance(block.get("toolResult"), Mapping):
            result = block["toolResult"]
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": chat_tool_id(result.get("toolUseId")),
                    "content": _result_text(result.get("content")),
                }
            )
        elif not {"cachePoint", "reasoningContent"} & block.keys():  # markers, not content
            texts.append(json.dumps(block, sort_keys=True))  # images, documents: by their JSON
    turn: list[dict[str, Any]] = list(results)
    if texts or calls or not results:
        message: dict[str, Any] = {"role": role, "content": " ".join(texts) if texts else None}
        if calls:
            message["tool_calls"] = calls
        turn.append(message)
    return turn


def _result_text(content: object) -> str:
    """A toolResult's content blocks as text: texts as they are, JSON as JSON text."""
    if not isinstance(content, list):
        return "" if content is None else str(content)
    parts = []
    for block in content:
        if isinstance(block, Mapping) and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif isinstance(block, Mapping) and "json" in block:
            parts.append(json.dumps(block["json"], ensure_ascii=False))
        else:
            parts.append(json.dumps(block, sort_keys=True))
    return " ".join(parts)


def invoke_messages(body: object) -> list[dict[str, Any]]:
    """Chat messages equal to an `invoke` body, which for Claude is Anthropic's Messages body
    (without `model`: the modelId is in the path)."""
    if not isinstance(body, Mapping) or "messages" not in body:
        raise RequestError(
            "Malformed input request: pytest-llm-mock reads Anthropic Messages bodies "
            '({"anthropic_version": "bedrock-2023-05-31", "max_tokens", "messages"}) on '
            '/invoke, and Titan embedding bodies ({"inputText"}).',
            param="body",
        )
    for required in ("anthropic_version", "max_tokens"):
        if required not in body:
            raise RequestError(
                f"Malformed input request: #: required key [{required}] not found, please "
                "reformat your input and try again.",
                param=required,
            )
    return anthropic_messages(body)


def chat_request(op: str, model: str, decoded: object, *, stream: bool) -> ChatRequest:
    messages = converse_messages(decoded) if op == "converse" else invoke_messages(decoded)
    return parse_chat_request({"model": model, "messages": messages, "stream": stream})


def example_key(path: str) -> str | None:
    """Examples saved on a Converse path (streamed or not, any model) are indexed under
    `CONVERSE_KEY`, those on an invoke path under `INVOKE_KEY`."""
    found = _KEY.fullmatch(path)
    if found is None:
        return None
    return CONVERSE_KEY if found["op"].startswith("converse") else INVOKE_KEY


def example_model(path: str) -> str | None:
    """The modelId in the path an example is saved on, decoded."""
    found = _KEY.fullmatch(path)
    model = unquote(found["model"]) if found is not None else None
    return None if model in (None, "{modelId}") else model


def to_chat(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A saved Converse or Claude body, as the chat request it matches like (its model is
    the one in its path: `example_model`)."""
    if key == CONVERSE_KEY:
        return {"messages": converse_messages(body)}
    return {"messages": invoke_messages(body)}
