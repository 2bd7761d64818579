"""The server's lasting state, and the scopes requests are charged to.

A server lives for a whole session; each test gets a `Scope` of its own, opened when it starts
and closed when it ends, with its own URL prefix (`/_t/N`). A request is charged to the scope
whose prefix it used; one without a prefix to the newest open scope, or to the server's own
`base` scope (what `serve`, the inspection endpoints and a plain `LLMMockServer` use). A request
that arrives for a scope already closed is answered from that test's collection and written to
the `late` log, never to another test's journal.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from ._collection import CHAT_PATH, Collection
from ._faults import RateLimit
from ._journal import DEFAULT_LIMIT, RecordedRequest
from ._matching import Index, Strategy
from ._state import DEFAULT_MAX_BODY_BYTES, Scope
from ._stream import DEFAULT_CHUNK_SIZE

PREFIX = "/_t/"
_CLOSED_KEPT = 1024  # closed scopes whose collection still answers their late requests
_LATE_KEPT = 100  # late requests described; all are counted


@dataclass(frozen=True)
class Late:
    """A request that arrived after its test ended."""

    test: str
    request: RecordedRequest


class LateLog:
    """Late requests, appended from the server thread, drained by the test runner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[Late] = []
        self.count = 0

    def add(self, test: str, request: RecordedRequest) -> None:
        with self._lock:
            self.count += 1
            if len(self._kept) < _LATE_KEPT:
                self._kept.append(Late(test, request))

    def drain(self) -> tuple[int, list[Late]]:
        """How many arrived since the last drain, and those described."""
        with self._lock:
            count, kept = self.count, self._kept
            self.count, self._kept = 0, []
        return count, kept


class ServerState:
    """What lives as long as the server: limits, defaults, built indexes, the scopes."""

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        journal_limit: int = DEFAULT_LIMIT,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.lock = threading.Lock()  # held while an answer is chosen and counted
        self.max_body_bytes = max_body_bytes
        self.journal_limit = journal_limit
        self.default_chunk_size = chunk_size
        self.default_api_key: str | None = None
        self.default_rate_limit: RateLimit | None = None
        self._indexes: dict[tuple[Collection, Hashable, str], Index] = {}
        self._numbers = 0
        self._open: dict[int, Scope] = {}
        # Closed scopes: their test and what answered it (not their journals).
        self._closed: OrderedDict[int, tuple[str, Collection, Strategy]] = OrderedDict()
        self.late = LateLog()
        self.base = Scope(self, 0, "the server")
        self.current = self.base

    def index_for(self, collection: Collection, strategy: Strategy, path: str = CHAT_PATH) -> Index:
        """The index of `collection` under `strategy` for `path`, built once per triple."""
        cache_key = (collection, strategy.cache_key, path)
        index = self._indexes.get(cache_key)
        if index is None:
            index = self._indexes[cache_key] = Index.build(collection.examples, strategy, path)
        return index

    def open(self, name: str) -> Scope:
        """A new scope for the test `name`, which unprefixed requests are charged to."""
        with self.lock:
            self._numbers += 1
            number, current = self._numbers, self.current
        scope = Scope(self, number, name)
        scope.use(current.collection, current.strategy)
        scope.fallback = current.fallback
        with self.lock:
            self._open[number] = scope
            self.current = scope
        return scope

    def close(self, scope: Scope) -> None:
        """End `scope`: what arrives for it from now on is late."""
        with self.lock:
            self._open.pop(scope.number, None)
            scope.journal.listeners.append(lambda entry: self.late.add(scope.name, entry))
            self._closed[scope.number] = (scope.name, scope.collection, scope.strategy)
            while len(self._closed) > _CLOSED_KEPT:
                self._closed.popitem(last=False)
            if self.current is scope:
                self.current = next(reversed(self._open.values()), self.base)

    def scope_for(self, number: int) -> Scope:
        """The scope of prefix `/_t/<number>`; a closed or unknown one answers as late."""
        scope = self._open.get(number)
        if scope is not None:
            return scope
        closed = self._closed.get(number)
        if closed is None:
            current = self.current
            closed = (f"an unknown test ({PREFIX}{number})", current.collection, current.strategy)
        name, collection, strategy = closed
        late = Scope(self, number, name)
        late.use(collection, strategy)
        late.journal.listeners.append(lambda entry: self.late.add(name, entry))
        return late
