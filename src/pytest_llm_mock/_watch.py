"""Watch mode: a collection saved while serving is answered from the next request on.

A background thread compares the file's modification time and size a few times a second, so
the request path never touches the file system. A save that does not parse keeps the last
good collection and says why. A save that cannot be read yet (no permission for a moment, or
something other than a regular file at the path: a directory, a FIFO) is said once, and tried
again at every check until it can be read: it is not taken as seen before it was.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from ._collection import Collection, CollectionError, Example
from ._postman import decode_collection

POLL = 0.2  # seconds between checks of the file
Stamp = tuple[int, int]  # modification time (ns) and size


def changes(old: Collection, new: Collection) -> str:
    """`2 added, 1 removed, 1 changed: 'A/b/c', ...` between two loads of a collection."""

    def content(example: Example) -> object:
        body = example.request.body if example.request is not None else None
        return (body, example.status, example.headers, dict(example.controls), example.answer)

    before = {e.full_name: content(e) for e in old.examples}
    after = {e.full_name: content(e) for e in new.examples}
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and after[n] != before[n]]
    parts = [f"{len(added)} added", f"{len(removed)} removed", f"{len(changed)} changed"]
    names = [f"+{n!r}" for n in added] + [f"-{n!r}" for n in removed] + [f"~{n!r}" for n in changed]
    return ", ".join(parts) + (": " + ", ".join(names) if names else "")


class Watcher:
    """Reloads `path` into `use` when it changes; reports with `log`."""

    def __init__(
        self,
        path: Path,
        current: Collection,
        use: Callable[[Collection], None],
        log: Callable[[str], None],
    ) -> None:
        self.path = path
        self.current = current
        self.use = use
        self.log = log
        self._stop = threading.Event()
        self._stamp = _stamp(path)  # of the save last read
        self._unreadable: str | None = None  # why the path cannot be read, as last said
        self._thread = threading.Thread(target=self._run, name="pytest-llm-mock watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            self.poll()

    def poll(self) -> None:
        """One check: read the file if it changed since it was last read, and use it if it
        parses, else keep the last good collection."""
        stamp = _stamp(self.path)
        if stamp is None:  # not there for a moment, as while some editors save
            return
        if stamp == self._stamp:
            self._unreadable = None  # the save last read is back
            return
        try:
            stamp, raw = _read(self.path)
        except _Unreadable as exc:
            if exc.reason != self._unreadable:
                self._unreadable = exc.reason
                self.log(
                    f"not reloaded, still serving the last good collection: {self.path}: "
                    f"{exc.reason}; it will be read as soon as it can be"
                )
            return
        self._unreadable = None
        self._stamp = stamp
        try:
            loaded = decode_collection(raw, self.path)
        except CollectionError as exc:
            self.log(f"not reloaded, still serving the last good collection: {exc}")
            return
        self.log(f"reloaded {self.path}: {changes(self.current, loaded)}")
        self.current = loaded
        self.use(loaded)


class _Unreadable(Exception):
    """Why the path cannot be read now: said once, tried again at the next check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _stamp(path: Path) -> Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _read(path: Path) -> tuple[Stamp, bytes]:
    """The stamp and bytes of the regular file at `path`, or `_Unreadable` saying why not.
    Never blocks: opening a FIFO the usual way would wait for a writer, for ever."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _Unreadable(f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable(f"is {_kind(info.st_mode)}, not a collection file")
        with open(fd, "rb", closefd=False) as file:
            return (info.st_mtime_ns, info.st_size), file.read()
    except OSError as exc:
        raise _Unreadable(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"
