"""Sending SSE answers over ASGI, with the delivery faults tests ask for: pauses between
chunks, an error event, a stall, or a cut connection.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._journal import Sending
from ._openai import dumps, error_object
from ._state import Reply

STREAM_ERROR = error_object(
    "The server had an error while processing your request (pytest-llm-mock stream fault).",
    "server_error",
)


class StreamCut(Exception):
    """Raised to cut a stream on purpose: uvicorn then closes the connection mid-body."""


class _QuietCuts(logging.Filter):
    """Keeps deliberate cuts out of uvicorn's error log; every other error stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _is_cut(record.exc_info[1] if record.exc_info else None)


def _is_cut(error: BaseException | None) -> bool:
    if isinstance(error, StreamCut):
        return True
    inner = getattr(error, "exceptions", ())  # an exception group from a task group
    return bool(inner) and all(_is_cut(e) for e in inner)


_QUIET = _QuietCuts()


def quiet_deliberate_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


# Answers in a deliberate pause, per event loop (one loop per server thread). A server that
# stops cuts these at once: waiting for them would only wait out the pause.
_PAUSED: dict[asyncio.AbstractEventLoop, int] = {}


def paused() -> int:
    """How many answers served on the running loop are in a pause now."""
    return _PAUSED.get(asyncio.get_running_loop(), 0)


@contextlib.contextmanager
def pausing() -> Iterator[None]:
    """Count the block as a deliberate pause: a server that stops cuts its connection at
    once (an answer waiting out a delay, the web page's live stream waiting for news)."""
    loop = asyncio.get_running_loop()
    _PAUSED[loop] = _PAUSED.get(loop, 0) + 1
    try:
        yield
    finally:
        left = _PAUSED.pop(loop) - 1
        if left:
            _PAUSED[loop] = left


async def pause(seconds: float, receive: Receive) -> bool:
    """Wait `seconds`, or less if the client disconnects. True if it disconnected.

    A server that stops closes the connection, which ends the pause as a disconnect does:
    the answer then ends quietly, with no task left behind."""
    with pausing():
        try:
            # wait_for cancels and awaits its inner task on timeout and when cancelled itself.
            await asyncio.wait_for(_disconnected(receive), seconds)
        except asyncio.TimeoutError:
            return False
    return True


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream(Response):
    """An SSE answer: its events, paced and broken as the reply's delivery says.

    `sending` is marked finished as the last bytes go out (before, not after: a client
    that has them may read the journal at once), also when the stream breaks as asked;
    never when the client left during a pause."""

    media_type = "text/event-stream"

    def __init__(self, reply: Reply, sending: Sending) -> None:
        assert reply.stream is not None
        self.events = reply.stream
        self.delivery = reply.delivery
        self.status_code = reply.status
        self.background = None
        self.sending = sending
        self.init_headers({**dict(reply.headers), "cache-control": "no-cache"})
        # A stream has no length: drop the one init_headers computes for an empty body.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        # The "error" fault in the stream's own framing: the reply's `stream_error`, else an
        # SSE event, or for an NDJSON stream (Ollama's) an `{"error": ...}` line, which its
        # clients raise.
        ndjson = any(k == b"content-type" and b"ndjson" in v for k, v in self.raw_headers)
        self.error_event = reply.stream_error or (
            dumps({"error": STREAM_ERROR["error"]["message"]}) + b"\n"
            if ndjson
            else b"data: " + dumps(STREAM_ERROR) + b"\n\n"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        fault = self.delivery.fault
        if fault is None and not self.delivery.chunk_delay:
            # Nothing to pace or break: one write. Clients parse the same events either way,
            # and a write per event would cost a server round trip each (and GIL time).
            self.sending.finished = True
            await _send(send, b"".join(self.events), more=False)
            return
        last = len(self.events) - 1
        for number, event in enumerate(self.events):
            if fault is not None and number == fault.after:
                if fault.how == "disconnect":
                    self.sending.finished = True  # broken as asked: nothing more will come
                    raise StreamCut(f"stream cut after {number} chunks, as asked")
                if fault.how == "error":
                    self.sending.finished = True
                    await _send(send, self.error_event, more=False)
                    return
                if await pause(fault.stall, receive):
                    return
            elif (
                number
                and self.delivery.chunk_delay
                and await pause(self.delivery.chunk_delay, receive)
            ):
                return
            if number == last:  # a client that has `[DONE]` may read the journal at once
                self.sending.finished = True
            await _send(send, event, more=True)
        self.sending.finished = True
        await _send(send, b"", more=False)


async def _send(send: Send, body: bytes, *, more: bool) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})
