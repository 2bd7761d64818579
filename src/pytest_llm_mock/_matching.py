"""Match keys and the index that finds examples by key. Pure: no I/O, no server state.

A strategy turns a request into a hashable key; the index maps each key to the examples
whose request pattern has that key, so finding the answer is one dict lookup whatever the
collection's size.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from ._collection import CHAT_PATH, Example
from ._request import ChatRequest, Message, normalize_text

Key = Hashable
# What a miss explanation compares, item by item: (kind, label, text), such as
# ("user", "messages[1] (user)", "Hello"). Kinds and texts are compared; labels are shown.
View = tuple[tuple[str, str, str], ...]

_SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True)
class Strategy:
    """How requests are turned into match keys. `key` returns `None` when a request has none."""

    name: str
    key: Callable[[ChatRequest], Key | None]
    view: Callable[[ChatRequest], View]
    cache_key: Hashable = None  # what identifies the strategy for index caching
    no_key: str = ""  # why a request can have no key, for miss explanations

    def __post_init__(self) -> None:
        if self.cache_key is None:
            object.__setattr__(self, "cache_key", self.name)


def _message_label(index: int, message: Message) -> tuple[str, str, str]:
    text = message.text
    if message.tool_calls:
        calls = ", ".join(f"{name}({args})" for name, args in message.tool_calls)
        text = f"{text} [tool calls: {calls}]" if text else f"[tool calls: {calls}]"
    if message.tool_call_id:
        text = f"[tool_call_id {message.tool_call_id}] {text}"
    return (message.role, f"messages[{index}] ({message.role})", text)


def _conversation_view(request: ChatRequest) -> View:
    return tuple(_message_label(i, m) for i, m in enumerate(request.messages))


def _dialogue_view(request: ChatRequest) -> View:
    return tuple(
        _message_label(i, m) for i, m in enumerate(request.messages) if m.role not in _SYSTEM_ROLES
    )


def _conversation_key(request: ChatRequest) -> Key:
    return request.messages


def _dialogue_key(request: ChatRequest) -> Key:
    return tuple(m for m in request.messages if m.role not in _SYSTEM_ROLES)


def _last_user_key(request: ChatRequest) -> Key | None:
    return request.last_user_message


def _last_user_view(request: ChatRequest) -> View:
    text = request.last_user_message
    return () if text is None else (("user", "the last user message", text),)


_SEPARATOR = re.compile(r"^\s*-{3,}\s*$", re.MULTILINE)
_HISTORY_HEADING = re.compile(r"^[#\s]*conversation history\s*:?\s*$", re.IGNORECASE)


def rasa_history(prompt: str) -> str | None:
    """The `Conversation History` section of a Rasa command-generator prompt, normalised.

    Rasa sends one user message whose sections are separated by `---` lines; the section
    whose first line is the heading holds the USER:/AI: transcript.
    """
    for section in _SEPARATOR.split(prompt):
        heading, _, body = section.strip().partition("\n")
        if _HISTORY_HEADING.match(heading):
            return normalize_text(body)
    return None


def _rasa_key(request: ChatRequest) -> Key | None:
    prompt = request.last_user_raw
    return rasa_history(prompt) if prompt is not None else None


def _rasa_view(request: ChatRequest) -> View:
    history = _rasa_key(request)
    if not isinstance(history, str):
        return ()
    return (("history", "the Conversation History section", history),)


CONVERSATION = Strategy("conversation", _conversation_key, _conversation_view)
DIALOGUE = Strategy("dialogue", _dialogue_key, _dialogue_view)
LAST_USER_MESSAGE = Strategy(
    "last_user_message",
    _last_user_key,
    _last_user_view,
    no_key="the request has no user message",
)
RASA = Strategy(
    "rasa",
    _rasa_key,
    _rasa_view,
    no_key=(
        "the Rasa conversation section was not found: the last user message has no section "
        "headed 'Conversation History' between '---' lines"
    ),
)
_NAMED = {s.name: s for s in (CONVERSATION, DIALOGUE, LAST_USER_MESSAGE, RASA)}
STRATEGY_NAMES = (*_NAMED, "regex:PATTERN")


def regex_strategy(pattern: str) -> Strategy:
    compiled = re.compile(pattern)

    def key(request: ChatRequest) -> Key | None:
        text = request.last_user_raw  # as sent: patterns may rely on line breaks
        found = compiled.search(text) if text is not None else None
        if found is None:
            return None
        return normalize_text(found.group(1) if compiled.groups else found.group(0))

    def view(request: ChatRequest) -> View:
        value = key(request)
        label = f"the capture of regex {pattern!r}"
        return () if value is None else (("capture", label, str(value)),)

    return Strategy(
        f"regex:{pattern}",
        key,
        view,
        no_key=f"the last user message has no match for the regular expression {pattern!r}",
    )


def callable_strategy(function: Callable[[ChatRequest], Key | None]) -> Strategy:
    def view(request: ChatRequest) -> View:
        return (("key", "the key", repr(function(request))),)

    name = getattr(function, "__qualname__", repr(function))
    return Strategy(f"callable {name}", function, view, cache_key=function)


def resolve_strategy(spec: str | Strategy | Callable[[ChatRequest], Key | None]) -> Strategy:
    """A strategy from its name, `regex:PATTERN`, or a callable. Raises `ValueError` if unknown."""
    if isinstance(spec, Strategy):
        return spec
    if callable(spec):
        return callable_strategy(spec)
    if not isinstance(spec, str):
        raise ValueError(
            f"match must be a strategy name or a callable, got {spec!r}; valid strategies are: "
            + ", ".join(STRATEGY_NAMES)
        )
    if spec in _NAMED:
        return _NAMED[spec]
    if spec.startswith("regex:"):
        try:
            return regex_strategy(spec[len("regex:") :])
        except re.error as exc:
            raise ValueError(
                f"invalid match strategy {spec!r}: bad regular expression ({exc})"
            ) from None
    valid = ", ".join(STRATEGY_NAMES)
    raise ValueError(f"unknown match strategy {spec!r}; valid strategies are: {valid}")


@dataclass(frozen=True)
class Candidates:
    """The examples that answer a request, in collection order, and the sequence they form."""

    examples: tuple[Example, ...]
    sequence: Key


@dataclass
class Index:
    """Chat examples of one collection grouped by match key under one strategy."""

    strategy: Strategy
    by_key: dict[Key, list[Example]] = field(default_factory=dict)
    unkeyed: list[Example] = field(default_factory=list)
    by_name: dict[str, list[Example]] = field(default_factory=dict)

    @classmethod
    def build(cls, examples: Iterable[Example], strategy: Strategy, path: str = CHAT_PATH) -> Index:
        """The index of the examples on `path` (chat completions, or Responses)."""
        index = cls(strategy)
        for example in examples:
            if example.path != path:
                continue
            # Postman's x-mock-response-name and -id pick examples by name or id.
            names = {example.name, example.full_name, example.postman_id} - {None}
            for name in names:
                assert name is not None
                index.by_name.setdefault(name, []).append(example)
            if example.request is None:
                continue
            key = strategy.key(example.request)
            if key is None:
                index.unkeyed.append(example)
                continue
            try:
                index.by_key.setdefault(key, []).append(example)
            except TypeError:
                raise ValueError(
                    f"the {strategy.name} strategy returned {key!r} for example "
                    f"{example.full_name!r}: a match key must be hashable (a str or a tuple)"
                ) from None
        return index

    def lookup(self, key: Key, model: str) -> Candidates | None:
        """The candidates for a key, narrowed to those that name `model` if any do."""
        found = self.by_key.get(key)
        if not found:
            return None
        narrowed = tuple(e for e in found if e.model == model)
        if narrowed:
            return Candidates(narrowed, (key, model))
        return Candidates(tuple(found), (key, None))

    def keyed_examples(self) -> Sequence[Example]:
        return [e for group in self.by_key.values() for e in group]

    def named(self, name: str) -> tuple[Example, ...]:
        """The chat examples with this name, full `Folder/Item/Example` name or Postman id."""
        return tuple(self.by_name.get(name, ()))

    def sequences(self) -> dict[Key, list[Example]]:
        """Keys that several examples share: sequences, or ambiguity `check` reports."""
        return {key: group for key, group in self.by_key.items() if len(group) > 1}
