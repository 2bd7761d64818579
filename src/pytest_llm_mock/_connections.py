"""How many connections the server keeps, and for how long.

A connection that sends nothing is closed after the keep-alive timeout, as an idle keep-alive
one is (uvicorn times a connection out only once it has answered a request on it). Past the
limit, the connections idle the longest are closed to make room, as nginx reuses keep-alive
connections when it runs short, so that idle clients cannot starve a new one (a health probe)
of a socket; busy ones are never closed, and when all are busy uvicorn answers 503. The limit
follows the open-file limit, which `serve` raises as far as the system lets it.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection
from typing import Any, Protocol

_MIN_CAP = 16
_MAX_CAP = 100_000


def connection_cap() -> int:
    """The open connections this process can afford: its open-file limit, less room for the
    files it has open or will open (the collection, logs, the upstream when recording)."""
    try:
        import resource
    except ImportError:  # Windows: sockets count against no such limit
        return _MAX_CAP
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_CAP
    return max(_MIN_CAP, min(_MAX_CAP, soft - max(64, soft // 8)))


class _Connection(Protocol):
    """What making room needs of a uvicorn HTTP connection."""

    transport: asyncio.Transport
    timeout_keep_alive_task: asyncio.TimerHandle | None  # running exactly while idle
    number: int  # in the order the connections were made

    def timeout_keep_alive_handler(self) -> None: ...


def http_protocol(limit: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools, else h11), with OpenAI-shaped 400s, an idle
    timeout from the first byte, and room made for new connections some way below `limit`
    open ones: the ones being closed still count for uvicorn until the loop's next turn."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from ._protocol import OpenAIErrors

    keep = limit - max(1, limit // 16)
    base: Any = AutoHTTPProtocol
    numbers = itertools.count()

    # uvicorn's class, chosen at its import; its own error replies in OpenAI's shape.
    class HTTPProtocol(OpenAIErrors, base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self.number = next(numbers)
            # uvicorn times out a connection only once it has answered a request on it: one
            # that never sends a request would stay open for ever.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
            if len(self.connections) > keep:
                _make_room(self.connections, keep, self)

    return HTTPProtocol


def _make_room(connections: Collection[_Connection], keep: int, new: _Connection) -> None:
    """Close the connections idle the longest, so that `keep` stay open, as nginx reuses
    keep-alive connections when it runs short. Busy ones are never closed, nor the new one:
    if all are busy, uvicorn answers its request 503."""
    open_ = [c for c in connections if not c.transport.is_closing()]
    excess = len(open_) - keep
    if excess <= 0:
        return
    idle: list[tuple[float, int, _Connection]] = []
    for c in open_:
        if c.timeout_keep_alive_task is not None and c is not new:
            idle.append((c.timeout_keep_alive_task.when(), c.number, c))
    # Idle since the earliest first; the loop's clock tells no two apart made in one turn.
    idle.sort(key=lambda entry: entry[:2])
    for *_, connection in idle[:excess]:
        connection.timeout_keep_alive_handler()


def raise_open_file_limit() -> None:
    """Raise this process's open-file soft limit as far as its hard limit allows (any process
    may), so that `serve` holds as many connections as the system lets it. For `serve`
    only: the limits of a test process are its owner's."""
    try:
        import resource
    except ImportError:  # Windows has no such limit on sockets
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    unlimited = resource.RLIM_INFINITY
    if soft == unlimited:
        return
    # Enough for any test run; macOS refuses more than kern.maxfilesperproc, 10,240 or more.
    for wanted in (65_536, 10_240):
        target = wanted if hard == unlimited else min(wanted, hard)
        if soft >= target:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        return
