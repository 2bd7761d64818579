"""Watch mode (`serve --watch`) when the file cannot be read for a while, or is not a file.
(A save that is served, and one that does not parse, are in test_cli.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import load_collection
from pytest_llm_mock._collection import Collection, TextAnswer
from pytest_llm_mock._watch import Watcher

from . import postman
from .served import Served, killed_at_end, serving

HELLO: Any = [{"role": "user", "content": "Hello"}]
NOT_RELOADED = "not reloaded, still serving the last good collection"
NO_FIFOS = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def save(path: Path, answer: str, *, mode: int = 0o644) -> None:
    """Save a collection answering 'Hello' with `answer` as editors do: a new file renamed
    over the old one, here with file mode `mode`."""
    body = postman.chat_body(("user", "Hello"), model=None)
    temporary = postman.write(
        path.with_name(".saving"), postman.collection(postman.chat_item("greet", body, answer))
    )
    temporary.chmod(mode)
    os.replace(temporary, path)


def ask(served: Served) -> str | None:
    with openai.OpenAI(base_url=served.base_url, api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
    return reply.choices[0].message.content


# For root: drop the capabilities to read and search any file, whatever its mode, from the
# bounding set, then exec the rest of the command line, which then never has them. Constants
# from <linux/prctl.h> (PR_CAPBSET_DROP) and <linux/capability.h> (CAP_DAC_*).
AS_A_USER = """
import ctypes, os, sys
prctl = ctypes.CDLL(None, use_errno=True).prctl
for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if prctl(24, capability, 0, 0, 0) != 0:
        sys.exit(f"prctl: {os.strerror(ctypes.get_errno())}")
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def respecting_file_modes(*args: str) -> list[str]:
    """`python ARGS`, run so that file modes stop its reads as they stop a user's: as root,
    without the capabilities that override them."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return [sys.executable, "-c", AS_A_USER, *args]
    return [sys.executable, *args]


@contextmanager
def serving_respecting_file_modes(path: Path) -> Iterator[Served]:
    """`serve PATH --watch`, as `served.serving` runs it, in a process that `chmod 000` stops
    from reading; skips the test where none can be (checked first, on a file of its own)."""
    probe = path.with_name("probe")
    probe.write_bytes(b"")
    probe.chmod(0)
    read = respecting_file_modes("-c", "import sys; open(sys.argv[1], 'rb')", str(probe))
    result = subprocess.run(read, check=False, capture_output=True, timeout=30)
    if b"PermissionError" not in result.stderr:
        pytest.skip(f"a file of mode 000 stays readable here: {result.stderr.decode()!r}")
    process = subprocess.Popen(
        respecting_file_modes(
            "-m", "pytest_llm_mock", "serve", str(path), "--watch", "--port", "0"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=path.parent,
    )
    with killed_at_end(process):
        yield Served(process)


def test_a_save_made_while_the_file_could_not_be_read_is_served_once_it_can_be(
    tmp_path: Path,
) -> None:
    path = tmp_path / "collection.json"
    save(path, "first answer")
    with serving_respecting_file_modes(path) as served:
        assert ask(served) == "first answer"
        seen = len(served.lines)
        save(path, "second answer", mode=0)
        unreadable = served.wait_for("Permission denied", after=seen)
        assert ask(served) == "first answer"
        path.chmod(0o644)  # its modification time and size stay those of the save
        served.wait_for(f": reloaded {path}", after=seen, timeout=10)
        assert ask(served) == "second answer"
    assert unreadable == (
        f"pytest-llm-mock: {NOT_RELOADED}: {path}: cannot be read (Permission denied); "
        "it will be read as soon as it can be"
    )
    assert [line for line in served.lines if "Permission denied" in line] == [unreadable]


@NO_FIFOS
def test_a_fifo_at_the_path_is_passed_over_and_the_next_save_is_served(tmp_path: Path) -> None:
    path = tmp_path / "collection.json"
    save(path, "first answer")
    with serving(str(path), "--watch", cwd=tmp_path) as served:
        assert ask(served) == "first answer"
        seen = len(served.lines)
        os.mkfifo(tmp_path / "fifo")
        os.replace(tmp_path / "fifo", path)
        fifo = served.wait_for(f"{path}: is a FIFO", after=seen, timeout=10)
        assert ask(served) == "first answer"
        save(path, "second answer")
        served.wait_for(f": reloaded {path}", after=seen, timeout=10)
        assert ask(served) == "second answer"
        seen = len(served.lines)
        save(path, "third answer")  # still watching
        served.wait_for(f": reloaded {path}", after=seen, timeout=10)
        assert ask(served) == "third answer"
    assert fifo == (
        f"pytest-llm-mock: {NOT_RELOADED}: {path}: is a FIFO, not a collection file; "
        "it will be read as soon as it can be"
    )


@NO_FIFOS
def test_what_cannot_be_read_is_said_once_not_at_every_check(tmp_path: Path) -> None:
    path = tmp_path / "collection.json"
    save(path, "first answer")
    said: list[str] = []
    used: list[Collection] = []
    watcher = Watcher(path, load_collection(path), used.append, said.append)  # polled by hand
    path.unlink()
    path.mkdir()
    for _ in range(3):
        watcher.poll()
    path.rmdir()
    os.mkfifo(path)
    for _ in range(3):
        watcher.poll()
    path.unlink()
    save(path, "second answer")
    watcher.poll()
    watcher.poll()
    assert said == [
        f"{NOT_RELOADED}: {path}: is a directory, not a collection file; "
        "it will be read as soon as it can be",
        f"{NOT_RELOADED}: {path}: is a FIFO, not a collection file; "
        "it will be read as soon as it can be",
        f"reloaded {path}: 0 added, 0 removed, 1 changed: ~'greet/greet'",
    ]
    assert [[e.answer for e in c.examples] for c in used] == [[TextAnswer("second answer")]]
