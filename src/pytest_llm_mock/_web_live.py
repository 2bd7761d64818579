"""The web page's live feed: new journal entries as server-sent events.

One listener per journal (`Journal.listen`) hands each new entry to the streams open now, on
their event loop. A stream sends a row per entry, then the row again once an answer that was
still in flight (a stream, a delay) has gone out, so its latency shows. A stream waits as a
deliberate pause: a server that stops cuts it at once, as it cuts an answer's delay.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import deque
from collections.abc import Coroutine
from typing import Any

from starlette.types import Receive, Send

from ._events import pausing
from ._journal import Journal, RecordedRequest
from ._openai import dumps
from ._web_json import entry_id, row

QUEUED = 1_000  # entries a stream holds for a page that reads slowly; past it, a reset
PING = 15.0  # seconds between comments that keep an idle stream open
IN_FLIGHT_CHECK = 0.25  # seconds between looks at answers still going out


class _Listener:
    """One open stream: the entries heard for it, handed over on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.entries: deque[RecordedRequest] = deque()
        self.overflowed = False
        self.heard = asyncio.Event()

    def offer(self, entry: RecordedRequest) -> None:  # on the stream's loop
        if len(self.entries) >= QUEUED:
            self.entries.clear()
            self.overflowed = True
        else:
            self.entries.append(entry)
        self.heard.set()


class Feed:
    """A journal's new entries, fanned out to the streams listening now."""

    def __init__(self, journal: Journal) -> None:
        self._lock = threading.Lock()
        self._listeners: set[_Listener] = set()
        journal.listen(self._heard)

    def _heard(self, entry: RecordedRequest) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            # The loop closes when its server stops: the stream is gone with it.
            with contextlib.suppress(RuntimeError):
                listener.loop.call_soon_threadsafe(listener.offer, entry)

    def open(self) -> _Listener:
        listener = _Listener(asyncio.get_running_loop())
        with self._lock:
            self._listeners.add(listener)
        return listener

    def close(self, listener: _Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)


_FEEDS: weakref.WeakKeyDictionary[Journal, Feed] = weakref.WeakKeyDictionary()
_FEEDS_LOCK = threading.Lock()


def feed_for(journal: Journal) -> Feed:
    """The journal's feed, made (and its listener added) when a page first listens."""
    with _FEEDS_LOCK:
        feed = _FEEDS.get(journal)
        if feed is None:
            feed = _FEEDS[journal] = Feed(journal)
        return feed


async def stream(journal: Journal, receive: Receive, send: Send) -> None:
    """Send the journal's new entries as `entry` events until the client leaves; `reset`
    when the page fell so far behind that it must read the journal again."""
    feed = feed_for(journal)
    listener = feed.open()
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_until_disconnected(receive, gone))
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await _send(send, b"retry: 1000\n: pytest-llm-mock live requests\n\n")
        in_flight: dict[str, RecordedRequest] = {}
        while not gone.is_set():
            wait = IN_FLIGHT_CHECK if in_flight else PING
            with pausing():
                await _first(listener.heard.wait(), gone.wait(), timeout=wait)
            listener.heard.clear()
            chunks: list[bytes] = []
            if listener.overflowed:
                listener.overflowed = False
                in_flight.clear()
                chunks.append(b"event: reset\ndata: {}\n\n")
            while listener.entries:
                entry = listener.entries.popleft()
                chunks.append(_event(entry))
                if entry.in_flight:
                    in_flight[entry_id(entry)] = entry
            for key, entry in list(in_flight.items()):
                if not entry.in_flight:
                    del in_flight[key]
                    chunks.append(_event(entry))
            if not gone.is_set():
                await _send(send, b"".join(chunks) or b": ping\n\n")
    except OSError:  # the client left while an event was on its way
        pass
    finally:
        feed.close(listener)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    with contextlib.suppress(OSError):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _event(entry: RecordedRequest) -> bytes:
    return b"event: entry\ndata: " + dumps(row(entry)) + b"\n\n"


async def _send(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _until_disconnected(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _first(*waits: Coroutine[Any, Any, object], timeout: float) -> None:
    """Wait until the first of the coroutines `waits` is done, or `timeout` seconds."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
