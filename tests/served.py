"""`pytest-llm-mock serve` in a subprocess, with its output read as it comes, or not read."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

COMMAND = [sys.executable, "-m", "pytest_llm_mock"]
# The command run with an open-file limit of its own: `SOFT HARD ARGS...`.
LIMITED = [
    sys.executable,
    "-c",
    "import resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); "
    "from pytest_llm_mock.cli import main; sys.exit(main(sys.argv[3:]))",
]


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
def serving(*args: str, cwd: Path, open_files: tuple[int, int] | None = None) -> Iterator[Served]:
    """`pytest-llm-mock serve ARGS --port 0` in a subprocess, stopped at the end;
    `open_files`: its open-file limit, soft and hard."""
    command = COMMAND if open_files is None else [*LIMITED, *map(str, open_files)]
    process = subprocess.Popen(
        [*command, "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    with killed_at_end(process):
        yield Served(process)


@contextmanager
def killed_at_end(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """`process`, killed at the end of the block if it has not stopped by then."""
    with process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


class Unread:
    """A running `serve` whose output is read up to its base_url, and never again: once
    64 KiB of it are waiting in the pipe, every write to it blocks."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdout is not None
        self.head = _read_until(process.stdout, b"base_url:", timeout=20.0)
        line = next(x for x in self.head.decode().splitlines() if "base_url:" in x)
        self.base_url = line.split("base_url:", 1)[1].strip()


def _read_until(pipe: IO[bytes], text: bytes, *, timeout: float) -> bytes:
    """The bytes of `pipe` up to the end of the line that holds `text`, and maybe a little more."""
    deadline = time.monotonic() + timeout
    data = b""
    while text not in data or b"\n" not in data.split(text, 1)[1]:
        left = deadline - time.monotonic()
        readable, _, _ = select.select([pipe], [], [], max(0.0, left))
        chunk = os.read(pipe.fileno(), 4096) if readable else b""
        if not chunk:
            raise AssertionError(f"serve printed no line with {text!r}; it printed {data!r}")
        data += chunk
    return data


@contextmanager
def serving_unread(*args: str, cwd: Path, stderr: IO[bytes]) -> Iterator[Unread]:
    """`pytest-llm-mock serve ARGS --port 0` whose output nobody reads, killed at the end if
    it did not stop."""
    process = subprocess.Popen(
        [*COMMAND, "serve", *args, "--port", "0"], stdout=subprocess.PIPE, stderr=stderr, cwd=cwd
    )
    with killed_at_end(process):
        yield Unread(process)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`pytest-llm-mock ARGS` to completion; the exit code is the caller's to check."""
    return subprocess.run(
        [*COMMAND, *args], check=False, capture_output=True, text=True, cwd=cwd, timeout=30
    )
