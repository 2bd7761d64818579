"""What a long journal costs other routes and other clients: nothing that grows with it."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from pytest_llm_mock import LLMMockServer

LONG = 10_000  # journal entries of the long journal
MODELS = [f"model-{n}" for n in range(10)]


def connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "tests only talk to loopback"
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def send(
    connection: http.client.HTTPConnection, method: str, path: str, body: object = None
) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"content-type": "application/json"}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    content = response.read()
    assert response.status == 200, content
    return content


def journaled(count: int) -> LLMMockServer:
    """A started server whose journal holds `count` answered chat requests, for MODELS."""
    server = LLMMockServer(strict=False, journal_limit=2 * LONG).start()  # none dropped
    server.add_response("ok")
    connection = connect(server.url)
    for number in range(count):
        model = MODELS[number % len(MODELS)]
        send(
            connection,
            "POST",
            "/v1/chat/completions",
            {"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )
    connection.close()
    return server


@pytest.fixture(scope="module")
def long_journal() -> Iterator[LLMMockServer]:
    server = journaled(LONG)
    try:
        yield server
    finally:
        server.stop()


def test_listing_models_costs_the_same_with_10_or_10000_journal_entries(
    long_journal: LLMMockServer,
) -> None:
    """/v1/models lists the models requested without reading the journal: with the same
    models requested, it answers the same bytes at the same cost (medians of interleaved
    rounds, compared with generous slack: the old cost grew 8x from 10 to 10,000)."""
    short_journal = journaled(10)
    try:
        servers = {"short": short_journal, "long": long_journal}
        connections = {name: connect(server.url) for name, server in servers.items()}
        bodies = {name: send(c, "GET", "/v1/models") for name, c in connections.items()}
        assert bodies["short"] == bodies["long"]
        listed = [m["id"] for m in json.loads(bodies["long"])["data"]]
        assert listed[-len(MODELS) :] == MODELS, "the models requested, in order of first request"
        took: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(40):  # rounds, interleaved so that both meet the same machine
            for name, connection in connections.items():
                for _ in range(5):
                    start = time.perf_counter()
                    send(connection, "GET", "/v1/models")
                    took[name].append(time.perf_counter() - start)
        for connection in connections.values():
            connection.close()
    finally:
        short_journal.stop()
    ratio = statistics.median(took["long"]) / statistics.median(took["short"])
    assert ratio < 3, f"/v1/models costs {ratio:.1f}x as much with {LONG} journal entries"


def test_reading_a_long_journal_does_not_stall_other_clients(
    long_journal: LLMMockServer,
) -> None:
    """GET /_llm_mock/requests builds and encodes 10,000 entries off the event loop: a
    client asking meanwhile waits a small part of that time, not all of it (the old code
    made it wait about 90% of the read). A busy machine can stretch one call: the best of at
    most three reads counts, since a stalled loop would stall every one of them."""
    shares = []
    for _ in range(3):
        shares.append(_longest_wait_during_a_read(long_journal))
        if shares[-1] < 0.5:
            break
    assert min(shares) < 0.5, f"a /health call waited {min(shares):.0%} of the journal's read"


def _longest_wait_during_a_read(long_journal: LLMMockServer) -> float:
    """The longest /health call made while the journal was read, as a share of the read."""
    stop = threading.Event()
    started = threading.Condition()
    calls: list[tuple[float, float]] = []  # (start, end) of each /health call

    def ask_health() -> None:
        connection = connect(long_journal.url)
        for _ in range(100_000):  # bounded: the test stops it long before
            if stop.is_set():
                break
            start = time.perf_counter()
            send(connection, "GET", "/health")
            with started:
                calls.append((start, time.perf_counter()))
                started.notify_all()
        connection.close()

    other = threading.Thread(target=ask_health)
    other.start()
    try:
        with started:
            assert started.wait_for(lambda: len(calls) >= 20, timeout=30)
        reader = connect(long_journal.url)
        begin = time.perf_counter()
        body = send(reader, "GET", "/_llm_mock/requests")
        end = time.perf_counter()
        reader.close()
    finally:
        stop.set()
        other.join(30)
    entries = json.loads(body)
    assert len(entries) >= LONG
    assert entries[0]["path"] == "/v1/chat/completions"
    overlapping = [e - s for s, e in calls if s < end and e > begin]
    assert overlapping, "the other client was asking while the journal was read"
    return max(overlapping) / (end - begin)
