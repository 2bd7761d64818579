"""Faults on demand: how an answer is delivered (latency, pauses between chunks, a stream that
breaks), failures queued from Python, and the opt-in rate limit. Deterministic: nothing here is
random, and every wait is bounded.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

StreamBreak = Literal["disconnect", "error", "stall"]
BREAKS: tuple[StreamBreak, ...] = ("disconnect", "error", "stall")
DEFAULT_STALL = 30.0  # seconds a stall lasts unless told; longer than most client timeouts


@dataclass(frozen=True, slots=True)
class StreamFault:
    """A stream that breaks after `after` chunks: cut, ended by an error event, or silent."""

    after: int
    how: StreamBreak
    stall: float = DEFAULT_STALL


@dataclass(frozen=True, slots=True)
class Delivery:
    """How an answer is sent: waits in seconds, and a stream fault if any."""

    delay: float = 0.0
    chunk_delay: float = 0.0
    fault: StreamFault | None = None

    def merged(self, other: Delivery) -> Delivery:
        """`other`'s settings where it has them, these elsewhere."""
        if not (other.delay or other.chunk_delay or other.fault):
            return self
        return replace(
            self,
            delay=other.delay or self.delay,
            chunk_delay=other.chunk_delay or self.chunk_delay,
            fault=other.fault or self.fault,
        )


def delivery_from_controls(controls: Mapping[str, str]) -> Delivery:
    """The delivery an example's `x-llm-mock-*` headers ask for (already validated)."""
    fault = None
    for how in BREAKS:
        after = controls.get(f"{how}-after")
        if after is not None:
            stall = int(controls.get("stall-ms", DEFAULT_STALL * 1000)) / 1000
            fault = StreamFault(int(after), how, stall)
    return Delivery(
        delay=int(controls.get("delay-ms", 0)) / 1000,
        chunk_delay=int(controls.get("chunk-delay-ms", 0)) / 1000,
        fault=fault,
    )


@dataclass
class Failure:
    """A `fail_next(...)`: the next `times` matching requests get an error. `origin`, when
    given, names what queued it instead (serve's `--fail-model`)."""

    number: int
    status: int
    times: int
    retry_after: float | None
    message: str | None
    model: str | None
    used: int = 0
    origin: str = ""

    @property
    def name(self) -> str:
        return self.origin or f"fail_next #{self.number}"

    @property
    def pending(self) -> bool:
        return self.used < self.times

    def applies_to(self, model: str | None) -> bool:
        return self.pending and (self.model is None or self.model == model)

    def headers(self) -> tuple[tuple[str, str], ...]:
        return retry_headers(self.retry_after) if self.retry_after is not None else ()

    def describe(self) -> str:
        model = f", model={self.model!r}" if self.model else ""
        return f"{self.name}(status={self.status}, times={self.times}{model})"


def retry_headers(seconds: float) -> tuple[tuple[str, str], ...]:
    """`retry-after-ms` (which the SDKs prefer) and `retry-after` in whole seconds (the spec's)."""
    return (
        ("retry-after-ms", _number(seconds * 1000)),
        ("retry-after", str(max(1, math.ceil(seconds)))),
    )


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3f}".rstrip("0")


def duration(seconds: float) -> str:
    """A reset time the way the API writes it: `6ms`, `1s`, `1m30s`."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


@dataclass
class RateLimit:
    """At most `requests` per `window` seconds per API key (or client address), counted in
    fixed windows that start at a key's first request. A window that has ended is forgotten
    (the key's next request starts a new one anyway), so many keys cost no lasting memory."""

    requests: int
    window: float
    per: Literal["key", "address"] = "key"
    # (start, requests counted) by key, in the order the windows started.
    _windows: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)
    # Record mode answers in worker threads: requests may be counted at the same time.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, who: str, now: float) -> tuple[bool, tuple[tuple[str, str], ...]]:
        """Count a request by `who` at `now`: whether it may pass, and the headers to send."""
        with self._lock:
            start, used = self._count(who, now)
        reset = max(0.0, start + self.window - now)
        headers = (
            ("x-ratelimit-limit-requests", str(self.requests)),
            ("x-ratelimit-remaining-requests", str(max(0, self.requests - used))),
            ("x-ratelimit-reset-requests", duration(reset)),
        )
        if used <= self.requests:
            return True, headers
        return False, headers + retry_headers(reset)

    def _count(self, who: str, now: float) -> tuple[float, int]:
        """`who`'s window (its start, and requests in it with this one); ended windows go."""
        windows = self._windows
        start, used = windows.get(who, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        used += 1
        windows[who] = (start, used)
        if used == 1:  # a new window: last in order of start
            windows.move_to_end(who)
        while windows:  # the ended windows are the oldest: each is looked at once
            oldest = next(iter(windows))
            if now - windows[oldest][0] < self.window:
                break
            del windows[oldest]
        return start, used
