"""`serve`'s output writer on a real pipe: a write never waits for the reader, and what could
not wait is counted and said."""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TextIO

from pytest_llm_mock._log import LineWriter

LINE = re.compile(r"(\d+)-(\d+) x+")
NOTICE = re.compile(
    r"pytest-llm-mock: (\d+) log lines? dropped: the output was not read fast enough"
)


@contextmanager
def pipe() -> Iterator[tuple[TextIO, int]]:
    """A text stream writing into a pipe, and the pipe's reading end."""
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "w", encoding="utf-8") as stream:
            yield stream, read_end
    finally:
        os.close(read_end)


def read_all(fd: int) -> list[str]:
    """Every line until the writing end closes."""
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    return data.decode().splitlines()


def fill(fd: int) -> int:
    """Fill the pipe nobody reads yet with whole lines, long then empty, until one more byte
    would block; how many lines it took. (Writes under PIPE_BUF bytes are all or nothing.)"""
    os.set_blocking(fd, False)
    count = 0
    try:
        for line in (f"9-0 {'x' * 1000}\n".encode(), b"\n"):
            with contextlib.suppress(BlockingIOError):
                for _ in range(1 << 20):  # a pipe holds 1 MiB at most
                    os.write(fd, line)
                    count += 1
    finally:
        os.set_blocking(fd, True)
    return count


@contextmanager
def reading(fd: int) -> Iterator[Future[list[str]]]:
    """The lines of `fd`, read in a thread from now on."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(read_all, fd)


def read_lines(fd: int, count: int, *, timeout: float = 10.0) -> list[str]:
    """The next `count` lines of `fd` (and any that follow them), read with a deadline."""
    deadline = time.monotonic() + timeout
    data = b""
    while data.count(b"\n") < count:
        readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert readable, f"{len(data.splitlines())} lines of {count} came"
        data += os.read(fd, 65536)
    return data.decode().splitlines()


def counted(lines: list[str]) -> tuple[list[str], int]:
    """The lines written, and how many dropped lines the notices among them count."""
    notices = [int(m[1]) for line in lines if (m := NOTICE.fullmatch(line))]
    written = [line for line in lines if LINE.fullmatch(line)]
    assert len(notices) + len(written) == len(lines), "every line arrives whole"
    return written, sum(notices)


def test_a_full_pipe_never_blocks_a_write_and_the_next_line_counts_those_dropped() -> None:
    with pipe() as (stream, read_end):
        filled = fill(stream.fileno())
        writer = LineWriter(stream, capacity=8)
        started = time.monotonic()
        for n in range(500):
            writer.write(f"0-{n} " + "x" * 1000)
        assert time.monotonic() - started < 1.0
        dropped = writer.dropped
        assert dropped >= 500 - 8 - 1  # the queue holds 8, and the writer took one, maybe
        # Once the lines that got through are read, the writer waits for more.
        head = read_lines(read_end, filled + 500 - dropped)[filled:]
        writer.write("0-500 x")
        assert writer.close(10)
        stream.close()
        tail = read_all(read_end)
    assert counted(head) == ([f"0-{n} " + "x" * 1000 for n in range(500 - dropped)], 0)
    assert tail == [
        f"pytest-llm-mock: {dropped} log lines dropped: the output was not read fast enough",
        "0-500 x",
    ]


def test_closing_says_how_many_lines_were_dropped_since_the_last_one() -> None:
    with pipe() as (stream, read_end):
        filled = fill(stream.fileno())
        writer = LineWriter(stream, capacity=8)
        for n in range(100):
            writer.write(f"0-{n} x")
        assert writer.dropped > 0
        with reading(read_end) as reader:
            assert writer.close(10)
            stream.close()
            lines = reader.result(timeout=10)[filled:]
    written, dropped = counted(lines)
    assert dropped == writer.dropped
    assert len(written) + dropped == 100
    assert NOTICE.fullmatch(lines[-1])


def test_close_gives_up_on_a_pipe_nobody_reads_within_its_timeout() -> None:
    with pipe() as (stream, read_end):
        fill(stream.fileno())
        writer = LineWriter(stream, capacity=8)
        for n in range(3):
            writer.write(f"0-{n} x")
        started = time.monotonic()
        assert not writer.close(0.2)
        assert time.monotonic() - started < 1.0
        with reading(read_end) as reader:  # let the writer finish, not to leak its thread
            assert writer.close(10)
            stream.close()
            reader.result(timeout=10)


def test_lines_written_from_many_threads_never_mix() -> None:
    with pipe() as (stream, read_end), reading(read_end) as reader:
        writer = LineWriter(stream)

        def write(thread: int) -> None:
            for n in range(1000):
                writer.write(f"{thread}-{n} " + "x" * (n % 300 + 1))

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert writer.close(10)
        stream.close()
        lines = reader.result(timeout=10)
    assert writer.dropped == 0
    assert all(LINE.fullmatch(line) for line in lines)
    for writer_number in range(4):
        numbers = [
            int(m[2])
            for line in lines
            if (m := LINE.fullmatch(line)) and int(m[1]) == writer_number
        ]
        assert numbers == list(range(1000)), "each thread's lines, whole and in order"
