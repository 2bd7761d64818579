"""The collection model: immutable `Example`s and their answers, as `_postman` reads them.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ._request import ChatRequest

CHAT_PATH = "/chat/completions"
# The body of a captured draft's example: a draft never answers until it is replaced.
DRAFT_PLACEHOLDER = (
    "pytest-llm-mock draft: replace this text with the answer (plain text, or a full "
    "chat.completion object), in Postman or any editor"
)

CONTROL_PREFIX = "x-llm-mock-"
# Control headers an example may carry, and what each takes.
CONTROLS = {
    "chunk-size": "a whole number of characters per stream chunk (1 or more)",
    "delay-ms": "milliseconds to wait before the first byte of the answer",
    "chunk-delay-ms": "milliseconds to wait between stream chunks",
    "disconnect-after": "a number of stream chunks after which the connection is cut",
    "error-after": "a number of stream chunks after which an error event ends the stream",
    "stall-after": "a number of stream chunks after which the stream stops sending",
    "stall-ms": "milliseconds a stalled stream stays silent before it goes on",
}
_STREAM_FAULTS = ("disconnect-after", "error-after", "stall-after")
# Headers a recorded response carries that would corrupt a reply we send ourselves.
DROPPED_HEADERS = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def status_problem(status: object) -> str | None:
    """Why `status` cannot answer a request, or `None` if it can."""
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        return f"expected an HTTP status code (200-599), got {status!r}"
    if status in (204, 304):
        return f"status {status} cannot carry a body; use 200 with an empty body instead"
    return None


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent as given, or `None` if it can."""
    if not _TOKEN.fullmatch(name):
        return f"{name!r} is not a valid HTTP header name"
    if any(c in value for c in "\r\n\0"):
        return f"the value of {name!r} has a line break"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return f"the value of {name!r} is not Latin-1 text, which HTTP headers must be: {value!r}"
    return None


def control_problem(name: str, value: str) -> str | None:
    """Why an `x-llm-mock-*` control cannot be used, or `None` if it can."""
    if name not in CONTROLS:
        known = ", ".join(CONTROL_PREFIX + c for c in CONTROLS)
        return f"unknown control header {CONTROL_PREFIX + name!r}; known: {known}"
    minimum = 1 if name == "chunk-size" else 0
    if not value.strip().isdigit() or int(value) < minimum:
        return f"{CONTROL_PREFIX + name} takes {CONTROLS[name]}, got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class ResponseHeaders:
    """Response headers sorted out: the ones to send, the controls, the declared type."""

    kept: tuple[tuple[str, str], ...] = ()
    controls: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""


def sort_headers(pairs: Iterable[tuple[str, str]]) -> ResponseHeaders:
    """Split headers into sent, controls and content type. Raises `ValueError` naming the
    first header that cannot be used."""
    kept: list[tuple[str, str]] = []
    controls: dict[str, str] = {}
    content_type = ""
    for name, value in pairs:
        lower = name.lower()
        if lower.startswith(CONTROL_PREFIX):
            control = lower[len(CONTROL_PREFIX) :]
            problem = control_problem(control, value)
            if problem is not None:
                raise ValueError(problem)
            controls[control] = value.strip()
            faults = [f for f in _STREAM_FAULTS if f in controls]
            if len(faults) > 1:
                names = " and ".join(CONTROL_PREFIX + f for f in faults)
                raise ValueError(f"{names} cannot be combined: a stream breaks one way")
            continue
        problem = header_problem(name, value)
        if problem is not None:
            raise ValueError(problem)
        if lower == "content-type":
            content_type = value
        elif lower not in DROPPED_HEADERS:
            kept.append((name, value))
    return ResponseHeaders(tuple(kept), controls, content_type)


class CollectionError(ValueError):
    """A collection file that cannot be served, naming the file, the item and the field."""

    def __init__(
        self, file: str, reason: str, *, item: str | None = None, field: str | None = None
    ) -> None:
        self.file = file
        self.item = item
        self.field = field
        self.reason = reason
        where = [file]
        if item is not None:
            where.append(f"item {item!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(", ".join(where) + ": " + reason)


@dataclass(frozen=True, slots=True)
class TextAnswer:
    """A plain-text example body: shorthand for an assistant message with that content."""

    text: str


@dataclass(frozen=True, slots=True)
class ObjectAnswer:
    """A JSON-object example body: a full OpenAI object or an error object."""

    obj: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StreamAnswer:
    """A recorded SSE stream: replayed verbatim to streaming requests, and `chunks` (the
    decoded `data:` events before `[DONE]`) assembled for the others."""

    raw: str
    chunks: tuple[Mapping[str, Any], ...]


Answer = TextAnswer | ObjectAnswer | StreamAnswer


@dataclass(frozen=True, slots=True)
class Example:
    """One saved example of a collection: a request pattern and the answer to it."""

    name: str
    item: str
    folders: tuple[str, ...]
    method: str
    path: str
    request: ChatRequest | None
    status: int
    headers: tuple[tuple[str, str], ...]
    controls: Mapping[str, str]
    answer: Answer
    position: int
    uid: str
    postman_id: str | None = None  # the example's `id` in the export, if it has one
    body: Mapping[str, Any] | None = None  # the request pattern as JSON, on any route

    @property
    def full_name(self) -> str:
        """`Folder/Item/Example`, the name reports use and the `example` criterion accepts."""
        return "/".join((*self.folders, self.item, self.name))

    @property
    def item_path(self) -> str:
        return "/".join((*self.folders, self.item))

    @property
    def model(self) -> str | None:
        """The model the request pattern names, if it names one."""
        return (self.request.model or None) if self.request is not None else None

    def is_named(self, name: str) -> bool:
        return name in (self.name, self.item, self.full_name)


@dataclass(frozen=True)
class SavedSelection:
    """A request item whose saved request carries a Postman selection header: Postman's
    runner sends it, and the mock answers with the example it names."""

    item: str  # the item's path
    own: tuple[str, ...]  # the names of the item's own examples
    header: str  # x-mock-response-name or x-mock-response-id
    value: str


@dataclass(frozen=True, eq=False)
class Collection:
    """A loaded collection. Compared by identity: a file parsed twice is two collections."""

    name: str
    examples: tuple[Example, ...]
    path: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    items_without_examples: tuple[str, ...] = ()  # request items that answer nothing
    selections: tuple[SavedSelection, ...] = ()  # saved requests that choose their answer
    drafts: tuple[str, ...] = ()  # captured items whose answer is still the placeholder

    @property
    def models(self) -> tuple[str, ...]:
        """The models the collection's requests name, in order of first appearance."""
        seen = dict.fromkeys(e.model for e in self.examples if e.model is not None)
        return tuple(m for m in seen if m is not None)

    def describe(self) -> str:
        return str(self.path) if self.path is not None else self.name


def empty_collection() -> Collection:
    return Collection(name="(empty collection)", examples=())


@cache
def default_collection_path() -> Path:
    """The embedded default collection: packaged in the wheel, or the checkout's root file
    when the package runs from a source tree (an editable install). Looked for once."""
    packaged = Path(__file__).with_name("collection.json")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "collection.json"


def canonical_path(path: str) -> str:
    """The path without host, query and the optional `/v1` prefix: `/chat/completions`."""
    path = "/" + path.split("?", 1)[0].strip("/")
    if path == "/v1":
        return "/"
    return path[3:] if path.startswith("/v1/") else path
