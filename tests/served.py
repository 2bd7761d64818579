"""`pytest-llm-mock serve` in a subprocess, with its output read as it comes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMAND = [sys.executable, "-m", "pytest_llm_mock"]


class Served:
    """A running `serve`: its process, the base_url it printed, and every line so far."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.base_url = self.wait_for("base_url:").split("base_url:", 1)[1].strip()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 20.0) -> str:
        """The first line from index `after` on that contains `text`, waited for with a deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.lines[after:] if text in line), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._changed.wait(0.1)):
                    raise AssertionError(
                        f"serve printed no line with {text!r}; it printed {self.lines}"
                    )
                self._changed.wait(left)


@contextmanager
def serving(*args: str, cwd: Path) -> Iterator[Served]:
    """`pytest-llm-mock serve ARGS --port 0` in a subprocess, stopped at the end."""
    with subprocess.Popen(
        [*COMMAND, "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    ) as process:
        try:
            yield Served(process)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`pytest-llm-mock ARGS` to completion; the exit code is the caller's to check."""
    return subprocess.run(
        [*COMMAND, *args], check=False, capture_output=True, text=True, cwd=cwd, timeout=30
    )
