"""The servers benchmarked side by side: ours and each peer, behind one small interface.

Every contender serves the same work, configured the way its own docs say:

- a 300-character answer to the chat request whose user message is `Hello`;
- a 100-chunk stream to the one whose user message is `Stream`: 100 words of four characters
  (`STREAM_TEXT`), which every server here cuts into 100 content chunks (ours and aimock with
  a chunk size of 4, fakellm, stubllm and llmock by words), except mockllm, which streams one
  character per chunk and so gets the first 100 characters;
- a tool round trip: `Weather?` offering `get_weather` gets a call to it, and the same
  conversation with the tool's result gets `TOOL_ANSWER`;
- embeddings, where the server has them.

A contender runs in one of two forms: `thread`, a server in a thread of the calling process (as
its pytest integration runs it), or `process`, a child process started from its command line.
A child is started in a session of its own and stopped by its own handle: terminate, wait,
kill on time-out, then its process group, for the workers a peer may have started itself.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
NODE_MODULES = BENCH / "peers" / "node_modules"

MODEL = "mock-llm"  # mockllm's docs' name; tiktoken knows no encoding for it (see mockllm.py)
ANSWER = (
    "This deterministic answer is three hundred characters long, the same for every server "
    "in the benchmark, so that each one parses the same request and sends the same content "
    "back to the same client. It says nothing useful on purpose: only its exact text matters, "
    "and the bench checks it on each server."
)
STREAM_TEXT = " ".join(f"w{i:02d}" for i in range(99)) + " w99."
TOOL_ANSWER = "It is 21C in Paris."
TOOL_RESULT = "21C"
TOOL_CALL_ID = "call_weather_1"
TOOL_ARGUMENTS = '{"city": "Paris"}'
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
HELLO: list[dict[str, Any]] = [{"role": "user", "content": "Hello"}]
STREAM: list[dict[str, Any]] = [{"role": "user", "content": "Stream"}]
WEATHER: list[dict[str, Any]] = [{"role": "user", "content": "Weather?"}]
WEATHER_RESULT: list[dict[str, Any]] = [
    *WEATHER,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": TOOL_CALL_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
            }
        ],
    },
    {"role": "tool", "tool_call_id": TOOL_CALL_ID, "content": TOOL_RESULT},
]
HELLO_BODY = json.dumps({"model": MODEL, "messages": HELLO}).encode()

assert len(ANSWER) == 300, len(ANSWER)
assert len(STREAM_TEXT) == 400
assert len(STREAM_TEXT.split(" ")) == 100


class Contender(ABC):
    """One server of the comparison, started and stopped the way its users do."""

    name: ClassVar[str]
    form: ClassVar[str]  # "thread" or "process"
    embeddings: ClassVar[bool] = True
    stream_text: ClassVar[str] = STREAM_TEXT
    how: ClassVar[str]  # how it is configured, for the report

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        """The URL an OpenAI client is given (ending in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @abstractmethod
    def start(self) -> None:
        """Start as its docs show: a thread form returns when its library says it serves; a
        process form returns once the child is spawned (`wait_until_answering` follows)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop, as its pytest integration or its users do; returns once it has stopped."""

    def configure(self) -> None:  # noqa: B027 (only llmock's command line needs it)
        """Once it answers: what its users then set over HTTP."""

    def reset(self) -> None:  # noqa: B027 (most have nothing to forget between rounds)
        """Forget the requests of a round, as its pytest fixture does between tests."""

    def pids(self) -> list[int]:
        """The processes serving (for peak memory); none for a thread form."""
        return []


def free_port() -> int:
    """An unused port on 127.0.0.1, for a command line that wants one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chat_status(port: int, prefix: str = "/v1", timeout: float = 5.0) -> int:
    """The status of one `Hello` chat request, or 0 if the connection failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST",
            f"{prefix}/chat/completions",
            HELLO_BODY,
            {"content-type": "application/json", "authorization": "Bearer x"},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def wait_until_answering(port: int, prefix: str = "/v1", deadline_s: float = 60.0) -> None:
    """Poll every 2 ms until a chat request gets a 200 (bounded by `deadline_s`)."""
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        status = chat_status(port, prefix)
        if status == 200:
            return
        if status:
            raise RuntimeError(f"127.0.0.1:{port} answered {status} to the first chat request")
        time.sleep(0.002)
    raise TimeoutError(f"127.0.0.1:{port} did not answer within {deadline_s:g} s")


class Child:
    """A child process started in its own session, stopped by its own handle."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        # Beside the working folder, not in it: mockllm reloads on changes there.
        self.log = (cwd.parent / f"{cwd.name}.log").open("ab")
        self.process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait; SIGKILL on time-out; then whatever its group still holds."""
        process = self.process
        if process.poll() is None:
            process.terminate()
            if not exited(process, timeout):
                process.kill()
            process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # workers it started (the group is its own)
        self.log.close()

    def pids(self) -> list[int]:
        return [self.process.pid, *descendants(self.process.pid)]


class ProcessContender(Contender):
    """A process form: its command line (`argv`) run as a `Child` on a free port, in its folder."""

    form = "process"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.child: Child | None = None

    @abstractmethod
    def argv(self) -> list[str]:
        """Its command line, serving on `self.port`."""

    def env(self) -> dict[str, str]:
        """Variables set over the bench's own environment for the child (none by default)."""
        return {}

    def start(self) -> None:
        self.port = free_port()
        self.child = Child(self.argv(), self.folder, env=self.env())

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def pids(self) -> list[int]:
        return self.child.pids() if self.child else []


def installed(command: str) -> str:
    """The path of `command` as installed beside the running interpreter (its venv's bin)."""
    return str(Path(sys.executable).parent / command)


def exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether `process` ends within `timeout`, seen as it ends: through a pidfd where the
    system has them. `Popen.wait(timeout=...)` polls with sleeps that double up to 50 ms, so
    a stop timed with it is rounded up to the next of 1.5, 3.5, 7.5, ..., 31.5, 63.5 ms."""
    try:
        handle = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux 5.3+
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([handle], [], [], timeout)
    finally:
        os.close(handle)
    return bool(ready)


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def peak_rss_mib(pids: Sequence[int]) -> float:
    """The sum of the peak resident set sizes (VmHWM) of `pids`, in MiB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024
