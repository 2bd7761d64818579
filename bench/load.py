"""Load: 64 and 256 concurrent keep-alive clients against each standalone server.

The client is raw asyncio HTTP/1.1 on uvloop in the harness process, the server a process of
its own: each connection sends one request at a time, in a cycle of six chat calls, two
100-chunk streams and two embeddings (chat calls in their place for a server without
embeddings), for a bounded time, to 127.0.0.1 only. Counted: answers completed with a 200
(a stream to its `[DONE]`), their latencies, and errors (another status, a reset, a time-out).
The client's own CPU time is printed, to show it is not what limits the figures.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from contenders import HELLO, MODEL, STREAM, Contender
from contenders.aimock import Aimock
from contenders.fakellm import Fakellm
from contenders.llmock import LlmockProcess
from contenders.mockllm import Mockllm
from contenders.ours import OursProcess
from contenders.stubllm import StubllmProcess
from run import Bench, ms, percentile
from side_by_side import label, started

SERVERS: list[type[Contender]] = [
    OursProcess,
    Aimock,
    Fakellm,
    Mockllm,
    LlmockProcess,
    StubllmProcess,
]
CYCLE = (
    "chat",
    "stream",
    "chat",
    "embeddings",
    "chat",
    "chat",
    "stream",
    "chat",
    "embeddings",
    "chat",
)
TIMEOUT = 30.0  # seconds one answer may take before it counts as an error


def request(port: int, path: str, body: object) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer x\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def requests(port: int, embeddings: bool) -> dict[str, bytes]:
    chat = "/v1/chat/completions"
    made = {
        "chat": request(port, chat, {"model": MODEL, "messages": HELLO}),
        "stream": request(port, chat, {"model": MODEL, "messages": STREAM, "stream": True}),
    }
    input_ = {"model": "text-embedding-3-small", "input": "Hello", "encoding_format": "base64"}
    made["embeddings"] = request(port, "/v1/embeddings", input_) if embeddings else made["chat"]
    return made


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, the body's last bytes, and whether the server keeps the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    tail = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            tail = (tail + data[:-2])[-64:]
    elif "content-length" in headers:
        tail = (await reader.readexactly(int(headers["content-length"])))[-64:]
    else:
        tail = (await reader.read())[-64:]
        return status, tail, False
    return status, tail, headers.get("connection") != "close"


async def client(
    port: int,
    made: dict[str, bytes],
    offset: int,
    *,
    warm_until: float,
    stop_at: float,
    tally: Tally,
) -> None:
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    sent = offset
    loop = asyncio.get_running_loop()
    while time.perf_counter() < stop_at and sent < offset + 1_000_000:
        kind = CYCLE[sent % len(CYCLE)]
        sent += 1
        begun = time.perf_counter()
        try:
            if connection is None:
                opening = asyncio.open_connection("127.0.0.1", port)
                connection = await asyncio.wait_for(opening, TIMEOUT)
            reader, writer = connection
            # An answer slower than TIMEOUT: the connection is cut, and the read fails.
            timer = loop.call_later(TIMEOUT, writer.transport.abort)
            try:
                writer.write(made[kind])
                status, tail, keep = await answer(reader)
            finally:
                timer.cancel()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
            if begun >= warm_until:
                late = time.perf_counter() - begun >= TIMEOUT
                tally.error("time-out" if late else type(e).__name__)
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        if not keep:
            writer.close()
            connection = None
        if begun < warm_until:
            continue
        if status != 200:
            tally.error(f"status {status}")
        elif kind == "stream" and b"[DONE]" not in tail:
            tally.error("stream without [DONE]")
        else:
            tally.latencies.append(time.perf_counter() - begun)
    if connection is not None:
        connection[1].close()


async def drive(port: int, clients: int, seconds: float, embeddings: bool) -> tuple[Tally, float]:
    """`clients` connections for `seconds` after a warm-up; the tally and the client's CPU."""
    made = requests(port, embeddings)
    tally = Tally()
    warm_until = time.perf_counter() + min(1.0, seconds / 4)
    stop_at = warm_until + seconds
    cpu = time.process_time()
    runs = [
        client(port, made, n, warm_until=warm_until, stop_at=stop_at, tally=tally)
        for n in range(clients)
    ]
    await asyncio.gather(*runs)
    return tally, (time.process_time() - cpu) / (time.perf_counter() - warm_until)


def run_load(port: int, clients: int, seconds: float, embeddings: bool) -> tuple[Tally, float]:
    """The load on uvloop's event loop where installed (as uvicorn's own), else asyncio's."""
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(drive(port, clients, seconds, embeddings))
    finally:
        loop.close()


def load(bench: Bench, folder: Path) -> None:
    seconds = bench.count(50, 15, 3) / 10
    for clients in (64, 256):
        rates: dict[str, float] = {}
        for kind in SERVERS:
            contender = started(kind, folder)
            try:
                tally, cpu = run_load(contender.port, clients, seconds, kind.embeddings)
            finally:
                contender.stop()
            name = f"load, {clients} clients: {label(kind)}"
            rate = len(tally.latencies) / seconds
            rates[label(kind)] = rate
            errors = sum(tally.errors.values())
            mix = "" if kind.embeddings else ", no embeddings: chat in their place"
            if kind is OursProcess:
                bench.row(f"{name}, throughput", rate, "req/s", "ours")
            else:
                ours = rates[label(OursProcess)]
                bench.ahead(f"{name}, throughput", rate, "req/s", ours / rate if rate else 99, 1.5)
            if tally.latencies:
                p50, p99 = statistics.median(tally.latencies), percentile(tally.latencies, 0.99)
                detail = f"p99 {ms(p99):.1f} ms; client CPU {cpu:.0%}{mix}"
                bench.row(f"{name}, p50 / p99", ms(p50), "ms", detail)
            detail = ", ".join(f"{n} {what}" for what, n in sorted(tally.errors.items()))
            if errors and kind is OursProcess:
                bench.missing(f"{name}, errors: {errors}", detail, fatal=True)
            bench.row(f"{name}, errors", errors, "", detail or "none", errors == 0)
