"""What the web page shows, as JSON: journal entries (a row, or all of one request), a miss
beside the examples closest to it, and the collection's tree with each example's hits.

Built only from what the inspection endpoints serve (the journal, with credentials already
redacted, and the collection); the page escapes all of it as text.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from starlette.routing import compile_path

from . import providers
from ._collection import (
    CHAT_PATH,
    Collection,
    Example,
    ObjectAnswer,
    StreamAnswer,
    TextAnswer,
    canonical_path,
)
from ._conversion import anthropic_messages
from ._explain import closest
from ._journal import RecordedRequest, shorten
from ._matching import Strategy
from ._request import ChatRequest, RequestError, parse_chat_request
from ._state import Scope

ROW_TEXT = 200  # characters of the last user message a row shows
# The OpenAI and Anthropic doors by canonical path; the providers' doors by their routes.
_DOORS = {
    "/chat/completions": "OpenAI chat",
    "/responses": "OpenAI Responses",
    "/completions": "OpenAI completions",
    "/embeddings": "OpenAI embeddings",
    "/messages": "Anthropic",
    "/messages/count_tokens": "Anthropic",
    "/models": "models",
    "/health": "server",
    "/": "server",
}
# Doors answers can be saved for from the page: the ones capture mode writes drafts for.
ANSWERABLE = ("/chat/completions", "/responses", "/completions", "/messages")


def entry_id(entry: RecordedRequest) -> str:
    """The id of an entry in the page's URLs: its arrival time, which `float` reads back."""
    return repr(entry.received_at)


def parse_id(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def door(method: str, path: str) -> str:
    """The API a request was sent to: `OpenAI chat`, `Anthropic`, `AWS Bedrock`, ..."""
    for pattern, name in _provider_doors():
        if pattern.fullmatch(path):
            return name
    canonical = canonical_path(path)
    if canonical.startswith("/models/"):
        canonical = "/models"
    return _DOORS.get(canonical, "other")


@cache
def _provider_doors() -> tuple[tuple[re.Pattern[str], str], ...]:
    doors = []
    for provider in providers.all_providers():
        for provider_door in provider.doors:
            regex, _, _ = compile_path(provider_door.path)
            doors.append((re.compile(regex.pattern.rstrip("$")), provider.name))
    return tuple(doors)


def example_door(example: Example) -> str:
    """The API an example answers on: its path is a door's canonical path or a provider's
    example key."""
    provider = providers.provider_of_key(example.path)
    return provider.name if provider is not None else _DOORS.get(example.path, "other")


def latency_ms(entry: RecordedRequest) -> float | None:
    """Milliseconds from arrival to the answer's last byte, once it is sent."""
    sending = entry.sending
    if sending is None or sending.finished_at is None or not entry.received_at:
        return None
    return round((sending.finished_at - entry.received_at) * 1000, 1)


def wall_time(received_at: float) -> float:
    """A `time.monotonic()` instant as milliseconds since the epoch, for the page's clock."""
    return round((time.time() - time.monotonic() + received_at) * 1000, 1)


def row(entry: RecordedRequest) -> dict[str, Any]:
    """One line of the requests table."""
    user = entry.last_user_message
    return {
        "id": entry_id(entry),
        "time": wall_time(entry.received_at),
        "method": entry.method,
        "path": entry.path,
        "door": door(entry.method, entry.path),
        "model": entry.model,
        "user": shorten(user, ROW_TEXT) if user is not None else None,
        "status": entry.status,
        "latency_ms": latency_ms(entry),
        "in_flight": entry.in_flight,
        "stream": entry.stream,
        "example": entry.example,
        "from_collection": entry.answered_by is not None,
        "miss": entry.miss is not None,
        # For a miss, its short reason: the closest example, as serve's log line says it.
        "outcome": entry.outcome().removeprefix("not answered; ") if entry.miss else None,
    }


def detail(entry: RecordedRequest, state: Scope) -> dict[str, Any]:
    """All of one request: its conversation, the answer sent, headers, body, and for a miss
    the explanation beside the closest examples."""
    messages = chat_messages(entry)
    out = {
        **row(entry),
        "headers": dict(entry.headers),
        "body": entry.json,
        "conversation": [bubble(m) for m in messages],
        "answer": answer_view(entry),
        "explanation": entry.miss,
        "answerable": entry.miss is not None
        and canonical_path(entry.path) in ANSWERABLE
        and isinstance(entry.json, dict),
        "tool_calls_allowed": canonical_path(entry.path) == CHAT_PATH,
        "comparisons": [],
    }
    if entry.miss is not None:
        out["comparisons"] = comparisons(entry, messages, state)
    return out


def chat_messages(entry: RecordedRequest) -> Sequence[Mapping[str, Any]]:
    """The request's conversation as chat messages, whatever its door."""
    if canonical_path(entry.path) == "/messages" and isinstance(entry.json, Mapping):
        try:
            return anthropic_messages(entry.json)
        except RequestError:
            return []
    return [m for m in entry.messages if isinstance(m, Mapping)]


def bubble(message: Mapping[str, Any]) -> dict[str, Any]:
    """A chat message as the page draws it: role, text, tool calls (arguments indented)."""
    calls = []
    raw_calls = message.get("tool_calls")
    for call in raw_calls if isinstance(raw_calls, list) else ():
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            calls.append(
                {
                    "id": _text(call.get("id")),
                    "name": _text(function.get("name")),
                    "arguments": _indented(function.get("arguments")),
                }
            )
    tool_call_id = message.get("tool_call_id")
    return {
        "role": _text(message.get("role")) or "message",
        "text": _content(message.get("content")),
        "tool_calls": calls,
        "tool_call_id": tool_call_id if isinstance(tool_call_id, str) else None,
    }


def answer_view(entry: RecordedRequest) -> dict[str, Any]:
    """The answer sent, as far as the journal knows it: the example's body (the server
    builds a complete object from a text answer), or the miss, or the status alone."""
    example = entry.answered_by
    if example is None:
        if entry.miss is not None:
            return {"kind": "miss", "status": entry.status, "text": entry.miss}
        return {"kind": "status", "status": entry.status, "source": entry.example}
    out: dict[str, Any] = {"status": example.status, "example": example.full_name}
    answer = example.answer
    if isinstance(answer, TextAnswer):
        return {
            **out,
            "kind": "text",
            "bubble": bubble({"role": "assistant", "content": answer.text}),
        }
    if isinstance(answer, StreamAnswer):
        return {**out, "kind": "stream", "raw": answer.raw}
    assert isinstance(answer, ObjectAnswer)
    choices = answer.obj.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, Mapping) else None
    view = {**out, "kind": "object", "json": answer.obj}
    if isinstance(message, Mapping):
        view["bubble"] = bubble({**message, "role": message.get("role") or "assistant"})
    return view


def comparisons(
    entry: RecordedRequest, messages: Sequence[Mapping[str, Any]], state: Scope
) -> list[dict[str, Any]]:
    """The request beside each of the closest examples on its door, item by item as the
    strategy compares them, with the first difference marked."""
    try:
        request = parse_chat_request(
            {"model": entry.model or "", "messages": list(messages)}, require_model=False
        )
    except RequestError:
        return []
    collection, strategy = state.collection, state.strategy
    key = _example_key(entry.path)
    examples = [e for e in collection.examples if e.path == key and e.request is not None]
    return [
        _compare(request, example, strategy) for example in closest(request, strategy, examples)
    ]


def _example_key(path: str) -> str:
    canonical = canonical_path(path)
    found = providers.example_key(canonical)
    return found[0] if found is not None else canonical


def _compare(request: ChatRequest, example: Example, strategy: Strategy) -> dict[str, Any]:
    assert example.request is not None
    expected, received = strategy.view(example.request), strategy.view(request)
    rows: list[dict[str, Any]] = []
    first: int | None = None
    for i in range(max(len(expected), len(received))):
        want = expected[i] if i < len(expected) else None
        got = received[i] if i < len(received) else None
        same = want is not None and got is not None and want[0] == got[0] and want[2] == got[2]
        at = None
        if not same and first is None:
            first = i
            at = _common_prefix(want[2], got[2]) if want is not None and got is not None else 0
        rows.append(
            {
                "expected_label": want[1] if want else None,
                "expected": want[2] if want else None,
                "received_label": got[1] if got else None,
                "received": got[2] if got else None,
                "differs": not same,
                "at": at,
            }
        )
    return {
        "example": example.full_name,
        "item": example.item_path,
        "strategy": strategy.name,
        "rows": rows,
        "first": first,
    }


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def tree(state: Scope, entries: Sequence[RecordedRequest], dropped: int) -> dict[str, Any]:
    """The collection as folders, items and examples, each example with its hits among
    `entries` and its place in a sequence (examples that share a match key answer in turn)."""
    collection, strategy = state.collection, state.strategy
    hits = Counter(e.answered_by.full_name for e in entries if e.answered_by is not None)
    places = _sequences(state, collection)
    root: dict[str, Any] = {"kind": "folder", "name": collection.name, "children": []}
    for example in collection.examples:
        item = _item(root, example.folders, example.item)
        name = example.full_name
        sequence = places.get(id(example))
        item["examples"].append(
            {
                "name": example.name,
                "full_name": name,
                "door": example_door(example),
                "status": example.status,
                "model": example.model,
                "hits": hits.get(name, 0),
                "sequence": sequence,
            }
        )
    for draft in collection.drafts:
        _item_at(root, draft)["note"] = "draft: its answer is still the placeholder"
    for empty in collection.items_without_examples:
        _item_at(root, empty)["note"] = "no example: it answers nothing"
    return {
        "name": collection.name,
        "path": str(collection.path) if collection.path else None,
        "match": strategy.name,
        "examples": len(collection.examples),
        "reached": sum(1 for e in collection.examples if hits.get(e.full_name)),
        "counted": len(entries),
        "dropped": dropped,
        "tree": root["children"],
        "sequences": [
            [e.full_name for e in group] for group in _groups(state, collection) if len(group) > 1
        ],
    }


def _sequences(state: Scope, collection: Collection) -> dict[int, dict[str, int]]:
    places: dict[int, dict[str, int]] = {}
    for group in _groups(state, collection):
        if len(group) > 1:
            for position, example in enumerate(group, start=1):
                places[id(example)] = {"position": position, "length": len(group)}
    return places


def _groups(state: Scope, collection: Collection) -> list[list[Example]]:
    """Examples by match key on each door, in collection order."""
    groups: list[list[Example]] = []
    for path in dict.fromkeys(e.path for e in collection.examples):
        groups += state.index_for(collection, state.strategy, path).by_key.values()
    return groups


def _item(root: dict[str, Any], folders: Sequence[str], name: str) -> dict[str, Any]:
    node = root
    for folder in folders:
        node = _child(node, "folder", folder)
    return _child(node, "item", name)


def _item_at(root: dict[str, Any], path: str) -> dict[str, Any]:
    *folders, name = path.split("/")
    return _item(root, folders, name)


def _child(node: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for child in node["children"]:
        if child["kind"] == kind and child["name"] == name:
            return child  # type: ignore[no-any-return]
    child = {"kind": kind, "name": name, "children": [], "examples": []}
    node["children"].append(child)
    return child


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def _content(content: object) -> str:
    """A message's content as text: text parts joined, other parts named."""
    if isinstance(content, str) or content is None:
        return content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, Mapping):
                parts.append(f"[{part.get('type', 'part')}]")
        return "\n".join(parts)
    return json.dumps(content)


def _indented(arguments: object) -> str:
    """Tool-call arguments as indented JSON when they parse, else as sent."""
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)
