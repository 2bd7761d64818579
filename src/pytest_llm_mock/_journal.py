"""The journal: every request the server received, in arrival order, thread-safe.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._collection import Example

# Header values that are credentials never reach the journal, reports or recordings: these
# headers (AWS signatures are in `authorization`), and any whose name says it holds a key, a
# token or a secret (`x-goog-api-key`, `ocp-apim-subscription-key`, `x-auth-token`, ...).
REDACTED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
    }
)
_CREDENTIAL_NAME = re.compile(r".*[-_](?:key|token)|.*secret.*")
REDACTED = "<redacted>"
SELECTION_HEADERS = ("x-mock-response-name", "x-mock-response-id")  # Postman's, by name or id
IN_FLIGHT = "(in flight: answer not finished)"


class Sending:
    """The answer to one request on its way out: `finished` once its last byte was handed
    to the HTTP server. Until then (the answer waits out `latency` or a stall, or the
    client left before it was sent in full) the request is in flight. Set on the server
    thread, read by reports on the test's; `finished_at` is when (time.monotonic()), for the
    latency the web page shows."""

    __slots__ = ("finished_at",)

    def __init__(self) -> None:
        self.finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @finished.setter
    def finished(self, value: bool) -> None:
        self.finished_at = time.monotonic() if value else None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, as the test made it.

    `example` names the example that answered (`Folder/Item/Example`), or is `None` when
    nothing did; `miss` then says why. `status` is the answer's, chosen when the request
    arrived: `in_flight` says whether that answer had not been sent in full yet.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    model: str | None
    messages: Sequence[Mapping[str, Any]]
    stream: bool
    last_user_message: str | None
    example: str | None
    status: int
    miss: str | None = None
    answered_by: Example | None = field(default=None, repr=False, compare=False)
    received_at: float = 0.0  # time.monotonic() at arrival
    retry_count: int | None = None  # the client's x-stainless-retry-count, when it sends one
    retry_after: float | None = None  # seconds the answer asked the client to wait
    sending: Sending | None = field(default=None, repr=False, compare=False)  # None: sent

    @property
    def in_flight(self) -> bool:
        """Whether the answer was not sent in full yet (or never will be: the client left)."""
        return self.sending is not None and not self.sending.finished

    def to_json(self) -> dict[str, Any]:
        """The request as JSON for the inspection endpoint (credentials already redacted)."""
        return {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "json": self.json,
            "model": self.model,
            "stream": self.stream,
            "last_user_message": self.last_user_message,
            "example": self.example,
            "status": self.status,
            "miss": self.miss,
            "retry_count": self.retry_count,
            "retry_after": self.retry_after,
            "in_flight": self.in_flight,
        }

    def outcome(self) -> str:
        """The example that answered (and the selection header that chose it, if one
        did), or the short reason nothing did."""
        if self.example is not None:
            chosen = next((h for h in SELECTION_HEADERS if h in self.headers), None)
            if chosen is not None and self.answered_by is not None:
                return f"{self.example} (chosen by {chosen}, not by the messages)"
            return self.example
        if self.miss is None:
            return ""
        lines = self.miss.splitlines()
        closest = next((line for line in lines if line.startswith("Closest example 1: ")), None)
        if closest is None:
            return f"not answered: {lines[0]}"
        return f"not answered; closest: {closest.removeprefix('Closest example 1: ')}"

    def text(self) -> str:
        """The texts of all messages, whitespace-normalised, one per line."""
        lines = []
        for message in self.messages:
            content = message.get("content") if isinstance(message, Mapping) else None
            if isinstance(content, list):
                content = " ".join(
                    str(p.get("text", "")) for p in content if isinstance(p, Mapping)
                )
            if isinstance(content, str):
                lines.append(" ".join(content.split()))
        return "\n".join(lines)

    def describe(self) -> str:
        """One line for reports: `POST /v1/chat/completions model=x user='...' -> example`."""
        parts = [self.method, self.path]
        if self.model is not None:
            parts.append(f"model={self.model}")
        if self.stream:
            parts.append("stream")
        if self.last_user_message is not None:
            parts.append(f"user={shorten(self.last_user_message, 60)!r}")
        parts.append(f"-> {self.status}")
        if self.example is not None:
            parts.append(self.example)
        elif self.miss is not None:
            parts.append("(not answered)")
        if self.in_flight:
            parts.append(IN_FLIGHT)
        return " ".join(parts)


@functools.lru_cache(maxsize=1024)  # a client sends the same few names again and again
def is_credential(name: str) -> bool:
    """Whether the header `name` (in any case) carries a credential."""
    lowered = name.lower()
    return lowered in REDACTED_HEADERS or _CREDENTIAL_NAME.fullmatch(lowered) is not None


def redact(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Headers (names in lowercase, as `HttpRequest` keeps them) as a dict, repeated ones
    joined, credentials replaced."""
    out: dict[str, str] = {}
    for name, value in headers:
        shown = REDACTED if is_credential(name) else value
        out[name] = f"{out[name]}, {shown}" if name in out else shown
    return out


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


DEFAULT_LIMIT = 10_000
DEFAULT_MAX_SIZE = 64 * 1024 * 1024  # bytes of requests kept, bodies and headers as received
MISS_LIMIT = 1_000  # misses whose explanation is kept, whatever the journal limit


class _Deferred:
    """A request journaled on the server thread, built into a `RecordedRequest` when the
    test first reads the journal: building it is not on the path of every answer. `size`
    is the request's size as received, which the journal's byte limit counts."""

    __slots__ = ("_build", "_entry", "received_at", "size")

    def __init__(
        self,
        received_at: float,
        build: Callable[[], RecordedRequest] | None,
        size: int = 0,
        entry: RecordedRequest | None = None,
    ) -> None:
        self.received_at = received_at
        self.size = size
        self._build: Callable[[], RecordedRequest] | None = build
        self._entry: RecordedRequest | None = entry

    def entry(self) -> RecordedRequest:
        """The entry, built once; two readers at the same time may both build it."""
        entry = self._entry
        if entry is None:
            build = self._build
            if build is None:  # another reader has just built it
                assert self._entry is not None
                return self._entry
            entry = self._entry = build()
            self._build = None  # what it was built from is not kept twice
        return entry


class Journal:
    """Recorded requests, appended from the server thread, read from the test.

    At most `limit` requests, and `max_size` bytes of them as received, are kept (the
    newest; the newest one whatever its size); `dropped` counts the others, so a long
    session cannot exhaust memory and still says that it lost some. Requests that nothing
    answered are also kept apart, where the limit does not reach them: a miss is never
    forgotten (`miss_count` counts them all; the first `MISS_LIMIT` keep their explanation).
    An entry that cannot be built is left out and its error goes to `errors`, which the
    test's verdict reports."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        errors: list[BaseException] | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Deferred] = []
        self._misses: list[_Deferred] = []
        self.listeners: list[Callable[[RecordedRequest], None]] = []
        self.limit = limit
        self.max_size = max_size
        self.size = 0  # bytes of the requests kept
        self.dropped = 0
        self.miss_count = 0
        self.errors: list[BaseException] = [] if errors is None else errors

    def append(self, entry: RecordedRequest, *, size: int = 0) -> None:
        """Add a request of `size` bytes in arrival order: one whose body took longer to
        read may be answered after a later one, but is listed before it."""
        self._insert(_Deferred(entry.received_at, None, size, entry), miss=entry.miss is not None)
        for listener in self.listeners:
            listener(entry)

    def defer(
        self,
        received_at: float,
        build: Callable[[], RecordedRequest],
        *,
        miss: bool = False,
        size: int = 0,
    ) -> None:
        """Add a request of `size` bytes whose entry `build` makes when the journal is read
        (at once when someone listens). `miss`: nothing answered it."""
        with self._lock:  # a listener added meanwhile (`listen`) sees it, or the journal has it
            if not self.listeners:
                self._insert_locked(_Deferred(received_at, build, size), miss=miss)
                return
        self.append(build(), size=size)

    def listen(self, listener: Callable[[RecordedRequest], None]) -> None:
        """Call `listener` with every request added from now on."""
        with self._lock:
            self.listeners.append(listener)

    def _insert(self, entry: _Deferred, *, miss: bool) -> None:
        with self._lock:
            self._insert_locked(entry, miss=miss)

    def _insert_locked(self, entry: _Deferred, *, miss: bool) -> None:
        _insort(self._entries, entry)
        self.size += entry.size
        # The oldest go, past the count or the byte limit; the newest always stays.
        drop = max(0, len(self._entries) - self.limit)
        size = self.size - sum(old.size for old in self._entries[:drop])
        while size > self.max_size and drop < len(self._entries) - 1:
            size -= self._entries[drop].size
            drop += 1
        if drop:
            del self._entries[:drop]
            self.size = size
            self.dropped += drop
        if miss:
            self.miss_count += 1
            if len(self._misses) < MISS_LIMIT:
                _insort(self._misses, entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._misses.clear()
            self.dropped = self.miss_count = self.size = 0

    def snapshot(self) -> list[RecordedRequest]:
        """The entries, oldest first. They are built outside the lock, so that the server
        can go on journaling while a long journal is first read."""
        with self._lock:
            entries = list(self._entries)
        return self._built(entries)

    def misses(self) -> list[RecordedRequest]:
        """The requests nothing answered, oldest first, whether or not the limit dropped
        them from `snapshot()` (at most `MISS_LIMIT`; `miss_count` counts them all)."""
        with self._lock:
            entries = list(self._misses)
        return self._built(entries)

    def newest(self, limit: int, before: float | None = None) -> list[RecordedRequest]:
        """The newest `limit` entries received before `before` (time.monotonic(); all when
        None), oldest first: only those are built, so a page of a long journal costs what
        the page holds."""
        with self._lock:
            end = len(self._entries)
            if before is not None:
                end = bisect.bisect_left(self._entries, before, key=lambda e: e.received_at)
            entries = self._entries[max(0, end - limit) : end]
        return self._built(entries)

    def at(self, received_at: float) -> RecordedRequest | None:
        """The entry received at `received_at`, among the kept entries and the misses."""
        found: list[_Deferred] = []
        with self._lock:
            for entries in (self._entries, self._misses):
                i = bisect.bisect_left(entries, received_at, key=lambda e: e.received_at)
                if i < len(entries) and entries[i].received_at == received_at:
                    found.append(entries[i])
                    break
        built = self._built(found)
        return built[0] if built else None

    def _built(self, entries: list[_Deferred]) -> list[RecordedRequest]:
        built: list[RecordedRequest] = []
        for item in entries:
            try:
                built.append(item.entry())
            except Exception as exc:  # a bug of ours: reported, the rest stays readable
                self._drop(item, exc)
        return built

    def _drop(self, item: _Deferred, error: Exception) -> None:
        with self._lock:
            found = False
            for entries in (self._entries, self._misses):
                for i, entry in enumerate(entries):
                    if entry is item:
                        del entries[i]
                        found = True
                        break
            if found:
                self.errors.append(error)

    def __len__(self) -> int:
        return len(self._entries)


def _insort(entries: list[_Deferred], entry: _Deferred) -> None:
    """Append, or insert in arrival order when the request arrived before the last one."""
    if entries and entry.received_at < entries[-1].received_at:
        bisect.insort(entries, entry, key=lambda e: e.received_at)
    else:
        entries.append(entry)


def retry_delay(headers: Sequence[tuple[str, str]]) -> float | None:
    """Seconds an answer's `retry-after-ms` or `retry-after` header asks a client to wait."""
    if not headers:
        return None
    values = {k.lower(): v for k, v in headers}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(values[name]) * scale
        except (KeyError, ValueError):
            continue
    return None
