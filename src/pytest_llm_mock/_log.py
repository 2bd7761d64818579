"""The output of `serve`: lines written by a thread of their own, never by the server.

A process that starts `serve` and stops reading its output fills the pipe (64 KiB), and a
write then blocks until someone reads. Were the server to write, it would stop answering and
no longer stop on a signal. Here a line is queued and never waits: past `capacity` queued lines
it is dropped and counted, and the next line that gets through says how many were (or, if
none does, the writer's last words when it is closed). With one writer per stream, lines from
different threads never mix.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import threading
import time
from typing import TextIO

CAPACITY = 10_000  # lines queued before lines are dropped


def dropped_notice(count: int) -> str:
    lines = f"{count} log line{'s' if count != 1 else ''}"
    return f"pytest-llm-mock: {lines} dropped: the output was not read fast enough"


class LineWriter:
    """Writes lines to `stream` from a daemon thread; `write` never blocks."""

    def __init__(self, stream: TextIO, *, capacity: int = CAPACITY) -> None:
        stream.flush()  # what was printed before comes first
        self._stream = stream
        # The file descriptor, written to with os.write: a thread blocked on a full pipe
        # then holds no lock of sys.stdout's, which the interpreter takes at exit.
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, io.UnsupportedOperation):
            self._fd = stream.fileno()
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue(capacity)
        self._lock = threading.Lock()
        self._broken = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="pytest-llm-mock log", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        """Queue `line` (without its newline), or drop it if too many are waiting."""
        with self._lock:
            try:
                self._queue.put_nowait((line, self.dropped))
            except queue.Full:
                self.dropped += 1

    def close(self, timeout: float) -> bool:
        """Write the lines queued, and how many were dropped since the last one, waiting
        `timeout` seconds at most: a reader that went away must not keep the process from
        exiting. True if all was written."""
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return False
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def _run(self) -> None:
        reported = 0  # the lines dropped that a notice has counted
        while (item := self._queue.get()) is not None:
            line, dropped = item
            if dropped > reported:  # lines were dropped just before this one
                line = dropped_notice(dropped - reported) + "\n" + line
                reported = dropped
            self._emit(line + "\n")
        with self._lock:  # closed: the lines dropped since the last one, if any
            dropped = self.dropped
        if dropped > reported:
            self._emit(dropped_notice(dropped - reported) + "\n")

    def _emit(self, text: str) -> None:
        if self._broken:
            return
        try:
            if self._fd is None:
                self._stream.write(text)
                self._stream.flush()
                return
            data = text.encode(self._encoding, "backslashreplace")
            while data:
                data = data[os.write(self._fd, data) :]
        except (OSError, ValueError):  # a broken pipe, a closed stream: nowhere to write to
            self._broken = True


class LineHandler(logging.Handler):
    """Log records (uvicorn's warnings and errors) as lines through a `LineWriter`."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__(logging.WARNING)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write(self.format(record))
        except Exception:  # a record that cannot be formatted: logging's own report
            self.handleError(record)
