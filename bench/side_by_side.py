"""Ours beside every peer: SDK call and 100-chunk stream, start, stop and peak memory.

Every server is checked first (the answer's exact text, the stream's 100 chunks): one that
fails a check is reported with what went wrong and left out of that figure, never dropped
silently. Like is compared with like: a server in a thread of the test process (the form of
ours, pytest-httpserver, llmock and stubllm in their pytest integrations) with ours in a
thread, a server in a process of its own (every command line, aimock's and fakellm's pytest
integrations) with `pytest-llm-mock serve`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from contenders import (
    ANSWER,
    HELLO,
    MODEL,
    STREAM,
    Contender,
    peak_rss_mib,
    wait_until_answering,
)
from contenders.aimock import Aimock
from contenders.fakellm import Fakellm
from contenders.httpserver import HttpserverProcess, HttpserverThread
from contenders.llmock import LlmockProcess, LlmockThread
from contenders.mockllm import Mockllm
from contenders.ours import OursProcess, OursThread
from contenders.stubllm import StubllmProcess, StubllmThread
from run import Bench, ms, tail

CALLS: list[type[Contender]] = [
    OursThread,
    HttpserverThread,
    LlmockThread,
    StubllmThread,
    OursProcess,
    Aimock,
    Fakellm,
    Mockllm,
    LlmockProcess,
    StubllmProcess,
]
LIFECYCLE: list[type[Contender]] = [
    OursThread,
    HttpserverThread,
    LlmockThread,
    StubllmThread,
    OursProcess,
    HttpserverProcess,
    Aimock,
    Fakellm,
    Mockllm,
    LlmockProcess,
    StubllmProcess,
]
T = TypeVar("T")
S = TypeVar("S", list[float], list[list[float]])  # all samples, or the samples of each round
SLOW_STREAMS = {"fakellm"}  # over a second per stream, by design: fewer samples


def rotated(items: Sequence[T], number: int) -> list[T]:
    """The order of round `number`: each server in turn goes first, so that none always
    follows the same neighbour (a busy one leaves a warm CPU, an idle one a cold one)."""
    shift = number % len(items)
    return [*items[shift:], *items[:shift]]


def spin() -> None:
    """The same lead-in before each timed start: 2 ms of busy CPU (performance.md)."""
    deadline = time.perf_counter() + 0.002
    while time.perf_counter() < deadline:
        pass


def label(contender: Contender | type[Contender]) -> str:
    return f"{contender.name} ({'in a thread' if contender.form == 'thread' else 'a process'})"


def is_ours(contender: Contender | type[Contender]) -> bool:
    return contender.name.startswith("pytest-llm-mock")


def client(contender: Contender) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=contender.base_url, api_key="x", max_retries=0, timeout=30)


def stream_once(sdk: Any) -> tuple[float, float, str, int]:
    """Total and first-chunk seconds, the text and the number of content chunks."""
    started = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    for chunk in sdk.chat.completions.create(model=MODEL, messages=STREAM, stream=True):
        if not first:
            first = time.perf_counter() - started
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    return time.perf_counter() - started, first, "".join(pieces), len(pieces)


def check(contender: Contender, sdk: Any) -> tuple[str, str]:
    """Why its answer or its stream is not the benchmark's ('' when right)."""
    answer = stream = ""
    try:
        text = sdk.chat.completions.create(model=MODEL, messages=HELLO).choices[0].message.content
        if text != ANSWER:
            answer = f"answered {text!r:.60} instead of the 300-character answer"
    except Exception as error:
        answer = f"the chat call failed: {error!r:.200}"
    try:
        _, _, text, chunks = stream_once(sdk)
        if text != contender.stream_text or chunks != 100:
            stream = f"streamed {chunks} content chunks of {text!r:.40}, not the 100 expected"
    except Exception as error:
        stream = f"the stream failed: {error!r:.200}"
    return answer, stream


def checked(
    bench: Bench, contenders: list[Contender], sdks: dict[str, Any]
) -> tuple[list[Contender], list[Contender]]:
    """Those that answer right, and those that stream right; a row for each that does not."""
    can_call, can_stream = [], []
    for contender in contenders:
        answer, stream = check(contender, sdks[label(contender)])
        ours = is_ours(contender)
        if answer:
            bench.missing(f"peers: {label(contender)} cannot answer here", answer, fatal=ours)
        else:
            can_call.append(contender)
        if stream:
            bench.missing(f"peers: {label(contender)} cannot stream here", stream, fatal=ours)
        else:
            can_stream.append(contender)
    return can_call, can_stream


def started(kind: type[Contender], folder: Path) -> Contender:
    contender = kind(folder / f"{kind.__name__}")
    contender.start()
    wait_until_answering(contender.port)
    contender.configure()
    return contender


def compare(
    bench: Bench,
    what: str,
    samples: dict[str, S],
    contenders: Sequence[Contender | type[Contender]],
    *,
    figure: Callable[[S], float],
    gate: float | None = 1.5,
) -> None:
    """One row per server: the figure, and for a peer its ratio to ours in the same form."""
    ours = {c.form: figure(samples[label(c)]) for c in contenders if is_ours(c)}
    for contender in contenders:
        values = samples.get(label(contender))
        if not values:
            continue
        value = figure(values)
        if is_ours(contender):
            bench.row(f"{what}: {label(contender)}", ms(value), "ms", "ours")
            continue
        ratio = value / ours[contender.form]
        bench.ahead(f"{what}: {label(contender)}", ms(value), "ms", ratio, gate)


def calls_and_streams(bench: Bench, folder: Path) -> None:
    """SDK calls and 100-chunk streams, every server in turn in interleaved rounds."""
    contenders = [started(kind, folder) for kind in CALLS]
    try:
        sdks = {label(c): client(c) for c in contenders}
        can_call, can_stream = checked(bench, contenders, sdks)
        rounds = bench.count(8, 2, 1)
        per_round, streams = bench.count(200, 40, 3), bench.count(30, 6, 1)
        # Per round, so that a p99 is the median of the rounds' p99s (run.tail says why).
        calls: dict[str, list[list[float]]] = {label(c): [] for c in can_call}
        totals: dict[str, list[list[float]]] = {label(c): [] for c in can_stream}
        firsts: dict[str, list[list[float]]] = {label(c): [] for c in can_stream}
        for number in range(rounds):
            for contender in rotated(can_call, number):
                sdk = sdks[label(contender)]
                sdk.chat.completions.create(model=MODEL, messages=HELLO)  # a live connection
                times = calls[label(contender)]
                times.append([])
                for _ in range(per_round):
                    begun = time.perf_counter()
                    sdk.chat.completions.create(model=MODEL, messages=HELLO)
                    times[-1].append(time.perf_counter() - begun)
                contender.reset()
            for contender in rotated(can_stream, number):
                sdk = sdks[label(contender)]
                stream_once(sdk)
                count = max(1, streams // 15) if contender.name in SLOW_STREAMS else streams
                totals[label(contender)].append([])
                firsts[label(contender)].append([])
                for _ in range(count):
                    total, first, _, _ = stream_once(sdk)
                    totals[label(contender)][-1].append(total)
                    firsts[label(contender)][-1].append(first)
                contender.reset()
        for sdk in sdks.values():
            sdk.close()
    finally:
        for contender in contenders:
            contender.stop()
    p50 = lambda rounds: statistics.median(v for values in rounds for v in values)  # noqa: E731
    compare(bench, "peers, SDK call p50", calls, can_call, figure=p50)
    compare(bench, "peers, SDK call p99", calls, can_call, figure=tail, gate=bench.tail_gate(2.5))
    compare(bench, "peers, 100-chunk stream p50", totals, can_stream, figure=p50)
    p99_gate = bench.tail_gate(2.5)
    compare(bench, "peers, 100-chunk stream p99", totals, can_stream, figure=tail, gate=p99_gate)
    compare(bench, "peers, first chunk p50", firsts, can_stream, figure=p50)


def workload(contender: Contender, streams: int) -> None:
    """What the memory figure is taken after: chat calls, streams, embeddings."""
    sdk = client(contender)
    for _ in range(100):
        sdk.chat.completions.create(model=MODEL, messages=HELLO)
    for _ in range(streams):
        stream_once(sdk)
    if contender.embeddings:
        for _ in range(20):
            sdk.embeddings.create(model="text-embedding-3-small", input="Hello")
    sdk.close()


def lifecycle(bench: Bench, folder: Path) -> None:
    """Start until the first 200, stop, and (a process's) peak memory after some work."""
    for kind in LIFECYCLE:  # first-use imports of the thread forms, and disk caches
        started(kind, folder).stop()
    starts: dict[str, list[float]] = {label(kind): [] for kind in LIFECYCLE}
    stops: dict[str, list[float]] = {label(kind): [] for kind in LIFECYCLE}
    for number in range(bench.count(10, 3, 1)):
        for kind in rotated(LIFECYCLE, number):
            spin()
            begun = time.perf_counter()
            contender = started(kind, folder)  # made, started, answering
            starts[label(kind)].append(time.perf_counter() - begun)
            # Stopped as at the end of a session: a client's connection open and idle.
            sdk = client(contender)
            sdk.chat.completions.create(model=MODEL, messages=HELLO)
            begun = time.perf_counter()
            contender.stop()
            stops[label(kind)].append(time.perf_counter() - begun)
            sdk.close()
    # Not gated: ours is behind some peers here today (README, "Performance").
    what = "peers, start until the first 200"
    compare(bench, what, starts, LIFECYCLE, figure=statistics.median, gate=None)
    what = "peers, stop with a client's idle connection open"
    compare(bench, what, stops, LIFECYCLE, figure=statistics.median, gate=None)
    memory: dict[str, float] = {}
    for kind in LIFECYCLE:
        if kind.form != "process":
            continue
        contender = started(kind, folder)
        try:
            workload(contender, bench.count(10, 3, 1))
            memory[label(kind)] = peak_rss_mib(contender.pids())
        finally:
            contender.stop()
    ours = memory[label(OursProcess)]
    for name, mib in memory.items():
        goal = "ours" if name == label(OursProcess) else f"{mib / ours:.2f}x ours"
        bench.row(f"peers, peak memory: {name}", mib, "MiB", goal)


def side_by_side(bench: Bench, folder: Path) -> None:
    calls_and_streams(bench, folder)
    lifecycle(bench, folder)
