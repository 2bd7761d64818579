"""Misses that explain themselves: the closest examples and where each first differs.

Only runs when nothing matched, so it may look at every example; the similarity is cheap
(equal leading items, then the common prefix of the first differing text).

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import providers
from ._collection import Collection, Example
from ._http import RawHeaders
from ._journal import shorten
from ._matching import DIALOGUE, Index, Strategy, View
from ._request import ChatRequest
from ._responses import AddedResponse

CLOSEST = 3
_CONTEXT_BEFORE = 30
_CONTEXT_AFTER = 40


def explain_miss(
    request: ChatRequest,
    strategy: Strategy,
    collection: Collection,
    examples: Sequence[Example],
    *,
    fallback: str | None = None,
) -> str:
    """The full text of a miss: what arrived, the closest examples and their first difference.
    `fallback` says where `collection.json` was looked for when the embedded default answers."""
    received = strategy.view(request)
    count = len(request.messages)
    last = request.last_user_message
    # The default's file is inside the installed package: not a place to send anyone.
    where = "the embedded default collection" if fallback else collection.describe()
    lines = [
        f"No example in {where} matches this request "
        f"(strategy: {strategy.name}, model: {request.model}).",
        f"The request: {count} message{'s' if count != 1 else ''}"
        + (f", last user message {shorten(last, 70)!r}." if last is not None else "."),
    ]
    if not received:
        reason = strategy.no_key or "the strategy gave no key"
        lines.append(f"The request has no key under the {strategy.name!r} strategy: {reason}.")
    ranked, same_turns = _ranked(request, strategy, examples)
    if not ranked:
        lines.append("The collection has no chat-completion examples to compare with.")
    for rank, example in enumerate(ranked, start=1):
        assert example.request is not None
        lines.append(f"Closest example {rank}: {example.name!r} of item {example.item_path!r}")
        expected = strategy.view(example.request)
        lines.extend("    " + line for line in first_difference(expected, received))
    if ranked and id(ranked[0]) in same_turns:
        lines.append(
            f"Only the system prompt differs from example {ranked[0].name!r}: the user and "
            "assistant turns are equal (agent frameworks add a system prompt of their own). To "
            'match on those turns only, use match="dialogue" '
            '(@pytest.mark.llm_collection(match="dialogue")), --llm-match dialogue, or '
            "serve --match dialogue."
        )
    if fallback is not None:
        lines.append(
            f"The embedded default collection answered: no collection.json was found in "
            f"{fallback}. To answer your own requests, run `pytest-llm-mock init` there: it "
            "writes a starter collection.json to edit in Postman or any editor (or choose one "
            "with --llm-collection or @pytest.mark.llm_collection(path)); or answer it from the "
            "test with llm_mock_server.add_response(...)."
        )
    elif ranked:
        lines.append(
            f"To fix it: edit item {ranked[0].item_path!r} in {where} if the request is right, "
            "or save a new example for it; or answer it from the test with "
            "llm_mock_server.add_response(...)."
        )
    else:
        lines.append(
            f"To fix it: save an example for this request in {where}, or answer it from the "
            "test with llm_mock_server.add_response(...)."
        )
    return "\n".join(lines)


def explain_door(method: str, path: str, headers: RawHeaders | None = None) -> str | None:
    """The line that ends a miss's explanation: the provider whose door the request came
    through (`headers` tell Gemini's `GET /v1/models` from OpenAI's), and its route."""
    provider = providers.door_of(method, path, headers)
    if provider is None:
        return None
    return f"The request came through the {provider.name} door: {method} {path}."


def closest(request: ChatRequest, strategy: Strategy, examples: Sequence[Example]) -> list[Example]:
    """The examples most like `request` (at most `CLOSEST`), closest first."""
    return _ranked(request, strategy, examples)[0]


def _ranked(
    request: ChatRequest, strategy: Strategy, examples: Sequence[Example]
) -> tuple[list[Example], set[int]]:
    """The closest examples, and the ids of those whose user and assistant turns equal the
    request's: an agent framework adds its own system prompt, so such an example ranks
    first, however long the prompt that differs."""
    received = strategy.view(request)
    dialogue = DIALOGUE.key(request) if strategy.name == "conversation" else None
    patterns = [(e, e.request) for e in examples if e.request is not None]
    same_turns = {
        id(e) for e, pattern in patterns if dialogue and DIALOGUE.key(pattern) == dialogue
    }
    ranked = [
        e
        for e, _ in sorted(
            patterns,
            key=lambda p: (id(p[0]) in same_turns, _score(received, strategy.view(p[1]))),
            reverse=True,
        )[:CLOSEST]
    ]
    return ranked, same_turns


def explain_added(responses: Sequence[AddedResponse], request: ChatRequest) -> str:
    """Why none of the responses added from Python answered `request`."""
    lines = ["No response added with add_response(...) answered it:"]
    for response in responses[:CLOSEST]:
        lines.append(f"  {response.describe()}: {response.mismatch(request)}")
    if len(responses) > CLOSEST:
        lines.append(f"  (and {len(responses) - CLOSEST} more)")
    return "\n".join(lines)


def _score(received: View, expected: View) -> tuple[int, int, int]:
    equal = 0
    for (_, _, want), (_, _, got) in zip(expected, received, strict=False):
        if want != got:
            return (equal, _common_prefix(want, got), -abs(len(expected) - len(received)))
        equal += 1
    return (equal, 0, -abs(len(expected) - len(received)))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def first_difference(expected: View, received: View) -> list[str]:
    """Lines that show where `received` first departs from `expected`."""
    for (kind, label, want), (got_kind, got_label, got) in zip(expected, received, strict=False):
        if kind != got_kind:
            return [f"expected {label}, received {got_label}", *_texts(want, got)]
        if want != got:
            where = label if label == got_label else f"{label} (received as {got_label})"
            return [f"first difference in {where}:", *_texts(want, got)]
    if len(expected) > len(received):
        _, label, want = expected[len(received)]
        return [f"the request ends before {label}: {shorten(want, 70)!r}"]
    if len(received) > len(expected):
        _, label, got = received[len(expected)]
        return [f"the request has an extra {label}: {shorten(got, 70)!r}"]
    return ["the keys are equal; the example is not reachable with this strategy"]


def _texts(want: str, got: str) -> list[str]:
    at = _common_prefix(want, got)
    start = max(0, at - _CONTEXT_BEFORE)
    lead = "…" if start else ""

    def window(text: str) -> str:
        end = at + _CONTEXT_AFTER
        tail = "…" if len(text) > end else ""
        return f"{lead}{text[start:end]}{tail}"

    shown_want, shown_got = window(want), window(got)
    caret = " " * (len(lead) + at - start)
    return [
        f"  expected: {shown_want}",
        f"  received: {shown_got}",
        f"            {caret}^ (character {at})",
    ]


def explain_selection(
    name: str | None, status: int | None, collection: Collection, index: Index
) -> str:
    """Why Postman's x-mock-response-name/-id/-code headers selected nothing."""
    asked = []
    if name is not None:
        asked.append(f"x-mock-response-name/id {name!r}")
    if status is not None:
        asked.append(f"x-mock-response-code {status}")
    lines = [f"No example in {collection.describe()} fits {' and '.join(asked)}."]
    if name is not None and index.named(name):
        statuses = sorted({e.status for e in index.named(name)})
        lines.append(f"Examples named {name!r} answer with status {statuses}, not {status}.")
    elif name is not None:
        known = sorted({e.name for group in index.by_name.values() for e in group})
        shown = ", ".join(repr(n) for n in known[:10]) + (", ..." if len(known) > 10 else "")
        lines.append(f"Chat examples are named: {shown or '(none)'}.")
    else:
        lines.append(f"The examples that match this request have other statuses than {status}.")
    return "\n".join(lines)
