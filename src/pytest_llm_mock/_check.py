"""`pytest-llm-mock check`: what in a collection will not work as its author expects.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from . import providers
from ._collection import (
    CHAT_PATH,
    Collection,
    Example,
    ObjectAnswer,
    SavedSelection,
    canonical_path,
)
from ._matching import Index, Strategy

# The routes examples can answer, by canonical path and method.
SERVED = {
    CHAT_PATH: "POST",
    "/models": "GET",
    "/embeddings": "POST",
    "/responses": "POST",
    "/completions": "POST",
    "/messages": "POST",
}
_SIMILAR = {"/chat/completion": CHAT_PATH, "/chat": CHAT_PATH, "/completions/chat": CHAT_PATH}
# A path's words and separators (`/model/m/converse`: `/`, `model`, `/`, ...), and a door's
# path parameters: `{deployment}` stands for one segment, `{model_id:path}` for any text.
_WORDS = re.compile(r"[/:]|[^/:]+")
_PARAMETER = re.compile(r"\{\w+(:\w+)?\}")
_SEGMENT, _ANY = "{segment}", "{any}"
_LIKE = 0.8  # how alike a mistyped word and a door's word are, at least (difflib's ratio)


@dataclass(frozen=True)
class Finding:
    """One problem, located by item path (`Folder/Item`) and example name."""

    where: str
    message: str


def findings(collection: Collection, strategy: Strategy) -> list[Finding]:
    index = Index.build(collection.examples, strategy)
    found = [
        Finding(
            f"item {item!r}", "has no saved example, so it answers nothing; save one in Postman"
        )
        for item in collection.items_without_examples
    ]
    found += [
        Finding(
            f"item {item!r}",
            "is a captured draft: replace the placeholder body of its example with the answer",
        )
        for item in collection.drafts
    ]
    for example in collection.examples:
        found += [Finding(_where(example), m) for m in _example_problems(example, index)]
    for group in index.sequences().values():
        problem = _sequence_problem(group)
        if problem is not None:
            found.append(Finding(_where(group[0]), problem))
    for selection in collection.selections:
        problem = _selection_problem(selection, index)
        if problem is not None:
            own = ", ".join(repr(name) for name in selection.own) or "none"
            found.append(Finding(f"item {selection.item!r} (examples: {own})", problem))
    return found


def _selection_problem(selection: SavedSelection, index: Index) -> str | None:
    """A saved selection header that chooses an answer other than the item's own."""
    chosen = index.named(selection.value)
    if any(e.name in selection.own for e in chosen):
        return None
    if chosen:
        names = "; ".join(sorted({f"example {e.name!r} of item {e.item_path!r}" for e in chosen}))
        target = f"{names}, not one of this item's own"
    else:
        target = "no example in the collection"
    return (
        f"its saved request sends {selection.header}: {selection.value!r}, which names "
        f"{target}. Postman's runner sends saved headers, and the mock (as Postman's mock "
        "servers do) answers with the example they name, not by the request's messages: "
        "remove the header or make it name this item's example"
    )


def _where(example: Example) -> str:
    return f"item {example.item_path!r}, example {example.name!r}"


def _served(path: str) -> str | None:
    """The method an example's path is served for: OpenAI's and Anthropic's routes that
    examples answer (`SERVED`), then another provider's (the keys its examples are saved
    under, answered by POST, and its doors' own paths)."""
    if path in SERVED:
        return SERVED[path]
    if providers.provider_of_key(path) is not None:
        return "POST"
    # The providers without paths of their own are OpenAI's and Anthropic's: in `SERVED`.
    others = (provider for provider in providers.all_providers() if provider.prefixes)
    doors = (door for provider in others for door in provider.doors)
    return next((door.method for door in doors if door.path == path), None)


def _shown(path: str) -> str:
    """An example's path as clients send it: a provider's under its own prefix (`/api/chat`,
    `/model/m/converse`), OpenAI's and Anthropic's under `/v1` (the collection reader drops
    it, so `/v1/chat/completions` and `/chat/completions` are the same example's)."""
    return path if providers.for_unknown(path) is not None else "/v1" + path


def _meant(shown: str) -> str | None:
    """The served path a mistyped one most likely meant (`/model/m/converse` for
    `/model/m/conversee`): a door of the provider whose prefix it is under (of OpenAI's
    and Anthropic's routes if none) with its words alike and its parameters as given,
    where a saved example answers."""
    provider = providers.for_unknown(shown)
    doors = (
        [door.path for door in provider.doors]
        if provider is not None
        else ["/v1" + path for path in SERVED]
    )
    words = _WORDS.findall(shown)
    fits = [fit for door in doors if (fit := _fit(_door_words(door), words)) is not None]
    answered = [
        (cost, path)
        for cost, path in fits
        if cost > 0
        and (canonical_path(path) in SERVED or providers.example_key(canonical_path(path)))
    ]
    return min(answered)[1] if answered else None


def _door_words(door: str) -> list[str]:
    words: list[str] = []
    end = 0
    for parameter in _PARAMETER.finditer(door):
        words += _WORDS.findall(door[end : parameter.start()])
        words.append(_SEGMENT if parameter[1] is None else _ANY)
        end = parameter.end()
    return words + _WORDS.findall(door[end:])


def _fit(door: Sequence[str], words: Sequence[str], at: int = 0) -> tuple[float, str] | None:
    """How far `words[at:]` are from the door's (the sum of the misspellings, 0 for none) and
    the path the door gives with them, or None if they do not fit it."""
    if not door:
        return None if at < len(words) else (0.0, "")
    head, rest = door[0], door[1:]
    if head in (_SEGMENT, _ANY):  # one word or more, within a segment for `{deployment}`
        fits: list[tuple[float, str]] = []
        for end in range(at + 1, len(words) + 1):
            if head == _SEGMENT and words[end - 1] == "/":
                break
            fit = _fit(rest, words, end)
            if fit is not None:
                fits.append((fit[0], "".join(words[at:end]) + fit[1]))
        return min(fits) if fits else None
    cost = _misspelled(head, words[at]) if at < len(words) else None
    fit = _fit(rest, words, at + 1) if cost is not None else None
    return None if cost is None or fit is None else (cost + fit[0], head + fit[1])


def _misspelled(meant: str, written: str) -> float | None:
    """0 for the same word, more the less alike they are; None for another word."""
    if meant == written:
        return 0.0
    if "/" in (meant, written) or ":" in (meant, written):
        return None
    alike = SequenceMatcher(None, meant, written).ratio()
    return 1 - alike if alike >= _LIKE else None


def _example_problems(example: Example, index: Index) -> list[str]:
    served = _served(example.path)
    shown = _shown(example.path)
    if served is None:
        hint = _SIMILAR.get(example.path)
        meant = "/v1" + hint if hint else _meant(shown)
        guess = f" (did you mean {meant}?)" if meant else ""
        return [f"path {shown} is not served{guess}: it can never be reached"]
    if example.method != served:
        return [f"method {example.method} on {shown}: only {served} is served"]
    problems = []
    if example.path == CHAT_PATH and example.request is None:
        problems.append(
            "has no request body, so no request matches it (only x-mock-response-name reaches it)"
        )
    elif example.path == CHAT_PATH and example in index.unkeyed:
        problems.append(
            f"its request has no key under the {index.strategy.name!r} strategy "
            f"({index.strategy.no_key or 'no key'}), so no request can match it"
        )
    # A provider's own path holds errors in its own shape (Ollama's `{"error": "..."}`).
    if example.status >= 400 and example.path in SERVED and not _is_envelope(example):
        problems.append(
            f"status {example.status} with a body that is not an OpenAI error envelope "
            '{"error": {"message", "type", "param", "code"}}; SDKs will show it raw'
        )
    return problems


def _is_envelope(example: Example) -> bool:
    answer = example.answer
    if not isinstance(answer, ObjectAnswer):
        return True  # empty or plain text: the server wraps it in the envelope
    error = answer.obj.get("error")
    return isinstance(error, Mapping) and isinstance(error.get("message"), str)


def _sequence_problem(group: list[Example]) -> str | None:
    """Examples that share a key answer in order (a sequence); flag what looks unintended."""
    named = {e.model for e in group if e.model is not None}
    if named and any(e.model is None for e in group):
        return (
            f"{len(group)} examples share this request; some name a model and some do not, so "
            "requests for a named model see only theirs while others see all in sequence"
        )
    by_model: dict[str | None, list[Example]] = {}
    for example in group:
        by_model.setdefault(example.model, []).append(example)
    for model, examples in by_model.items():
        if len(examples) < 2:
            continue
        statuses = [e.status for e in examples]
        names = ", ".join(repr(e.name) for e in examples)
        for_model = f" for model {model!r}" if model else ""
        if all(s < 400 for s in statuses):
            return (
                f"{len(examples)} examples answer the same request{for_model} ({names}): they "
                "form a sequence (1st call, 2nd call, ...); if that is not meant, make the "
                "requests differ"
            )
        first_success = (
            next(i for i, s in enumerate(statuses) if s < 400)
            if any(s < 400 for s in statuses)
            else len(statuses)
        )
        if any(s >= 400 for s in statuses[first_success:]):
            return (
                f"the sequence{for_model} ({names}) answers {statuses}: an error after a "
                "success is reached only by a later call; put errors first for a retry"
            )
    return None
