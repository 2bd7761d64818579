"""Rendered answers, kept for the next request that asks the same: a suite sends the same
few requests test after test, and a streamed answer costs far more to render than to send.

Kept per server, across tests, by the answer's source (an example, or a response added
from Python), the seed its ids derive from, the request's path and body, and the chunk size:
what the reply is made of.
An entry holds its source, so the source's `id()` in the key cannot be taken by another
object while the entry lives. Bounded in bytes, the oldest entry going first.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ._state import Reply

_MAX_BYTES = 8 * 1024 * 1024  # all entries: request bodies, reply bodies and stream events

Key = tuple[int, str, str, bytes, int]


class Rendered:
    def __init__(self, max_bytes: int = _MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, tuple[object, Reply, int]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes

    def get(self, source: object, key: Key) -> Reply | None:
        """`key`: `Rendered.key(...)` of `source`."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] is source else None

    def put(self, source: object, key: Key, reply: Reply) -> None:
        size = len(key[3]) + len(reply.body) + sum(len(event) for event in reply.stream or ())
        if size > self._max_bytes // 64:  # a large one is rendered each time
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[key] = (source, reply, size)
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    @staticmethod
    def key(source: object, seed: str, path: str, body: bytes, chunk_size: int) -> Key:
        return (id(source), seed, path, body, chunk_size)

    def __len__(self) -> int:
        return len(self._entries)
