"""Watch mode: a collection saved while serving is answered from the next request on.

A background thread compares the file's modification time and size a few times a second, so
the request path never touches the file system. A save that does not parse keeps the last
good collection and says why.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ._collection import Collection, CollectionError, Example
from ._postman import load_collection

POLL = 0.2  # seconds between checks of the file


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
        self._stamp = self._read_stamp()
        self._thread = threading.Thread(target=self._run, name="pytest-llm-mock watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            stamp = self._read_stamp()
            if stamp is None or stamp == self._stamp:
                continue
            self._stamp = stamp
            self.check()

    def check(self) -> None:
        """Load the file now; use it if it parses, else keep the last good collection."""
        try:
            loaded = load_collection(self.path)
        except CollectionError as exc:
            self.log(f"not reloaded, still serving the last good collection: {exc}")
            return
        self.log(f"reloaded {self.path}: {changes(self.current, loaded)}")
        self.current = loaded
        self.use(loaded)
