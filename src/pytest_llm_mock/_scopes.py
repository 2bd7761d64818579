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
import weakref
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._collection import CHAT_PATH, Collection
from ._faults import RateLimit
from ._journal import DEFAULT_LIMIT, DEFAULT_MAX_SIZE, RecordedRequest
from ._matching import Index, Strategy
from ._rendered import Rendered
from ._state import DEFAULT_MAX_BODY_BYTES, Scope
from ._stream import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from ._web_edits import Edits

PREFIX = "/_t/"
_CLOSED_KEPT = 1024  # closed scopes whose late requests are still charged to their test
# Collections of the newest closed scopes, held for their late requests; an older closed
# scope's collection answers only while something else still holds it (the file's cache,
# another test), so reloads in record mode do not pile up.
_CLOSED_COLLECTIONS_KEPT = 8
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
        self.misses = 0  # late requests nothing answered: they fail the run

    def add(self, test: str, request: RecordedRequest) -> None:
        with self._lock:
            self.count += 1
            self.misses += request.miss is not None
            if len(self._kept) < _LATE_KEPT:
                self._kept.append(Late(test, request))

    def drain(self) -> tuple[int, int, list[Late]]:
        """How many arrived since the last drain, how many of them nothing answered, and
        those described."""
        with self._lock:
            count, misses, kept = self.count, self.misses, self._kept
            self.count, self.misses, self._kept = 0, 0, []
        return count, misses, kept


class ServerState:
    """What lives as long as the server: limits, defaults, built indexes, the scopes."""

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        journal_limit: int = DEFAULT_LIMIT,
        journal_max_size: int = DEFAULT_MAX_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.lock = threading.Lock()  # held while an answer is chosen and counted
        self.rendered = Rendered()  # answers rendered for a request, kept across tests
        self.max_body_bytes = max_body_bytes
        self.journal_limit = journal_limit
        self.journal_max_size = journal_max_size
        self.default_chunk_size = chunk_size
        self.default_api_key: str | None = None
        self.default_rate_limit: RateLimit | None = None
        self.edits: Edits | None = None  # serve --allow-edits: the web page may save answers
        # Indexes live as long as their collection: a reloaded collection (watch or record
        # mode, a saved file) takes the old one's indexes with it.
        self._indexes: weakref.WeakKeyDictionary[Collection, dict[tuple[Hashable, str], Index]]
        self._indexes = weakref.WeakKeyDictionary()
        self._numbers = 0
        self._open: dict[int, Scope] = {}
        # Closed scopes: their test and what answered it (not their journals).
        self._closed: OrderedDict[int, tuple[str, weakref.ref[Collection], Strategy]]
        self._closed = OrderedDict()
        self._closed_collections: deque[Collection] = deque(maxlen=_CLOSED_COLLECTIONS_KEPT)
        self.late = LateLog()
        self.base = Scope(self, 0, "the server")
        self.current = self.base

    def outside_tests(self, name: str) -> None:
        """In a test run, the base scope gets what is sent while no test runs (a session
        fixture warming up, a thread after the last test): it is logged with the late requests,
        whose misses fail the run."""
        self.base.journal.listen(lambda entry: self.late.add(name, entry))

    def index_for(self, collection: Collection, strategy: Strategy, path: str = CHAT_PATH) -> Index:
        """The index of `collection` under `strategy` for `path`, built once per triple."""
        indexes = self._indexes.get(collection)
        if indexes is None:
            indexes = self._indexes.setdefault(collection, {})
        cache_key = (strategy.cache_key, path)
        index = indexes.get(cache_key)
        if index is None:
            index = indexes[cache_key] = Index.build(collection.examples, strategy, path)
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
            scope.journal.listen(lambda entry: self.late.add(scope.name, entry))
            collection = scope.collection
            self._closed[scope.number] = (scope.name, weakref.ref(collection), scope.strategy)
            if collection not in self._closed_collections:
                self._closed_collections.append(collection)
            while len(self._closed) > _CLOSED_KEPT:
                self._closed.popitem(last=False)
            if self.current is scope:
                self.current = next(reversed(self._open.values()), self.base)

    def scope_for(self, number: int) -> Scope:
        """The scope of prefix `/_t/<number>`; a closed or unknown one answers as late. A
        server that never opened a test's scope (`serve`) has only its own."""
        scope = self._open.get(number)
        if scope is not None:
            return scope
        if not self._numbers:
            return self.base
        current = self.current
        name, collection, strategy = (
            f"an unknown test ({PREFIX}{number})",
            current.collection,
            current.strategy,
        )
        closed = self._closed.get(number)
        if closed is not None:
            name, held, strategy = closed
            # A collection no longer loaded anywhere: the current one answers.
            collection = held() or collection
        late = Scope(self, number, name)
        late.use(collection, strategy)
        late.journal.listen(lambda entry: self.late.add(name, entry))
        return late
