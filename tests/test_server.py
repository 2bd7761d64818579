"""The server thread: ready when start() returns, gone when stop() returns; its connections
bounded; answers in flight at a stop cut at once and quietly if paused, else let finish."""

from __future__ import annotations

import gc
import json
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._app import create_app
from pytest_llm_mock._faults import Delivery
from pytest_llm_mock._journal import RecordedRequest
from pytest_llm_mock._scopes import ServerState
from pytest_llm_mock._server import ServerThread

from . import http, sdk

HI: Any = [{"role": "user", "content": "Hi"}]


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pytest-llm-mock ")]


def port_accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end closed the connection (what it closed is readable at once)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False


def test_start_returns_once_the_port_accepts_and_stop_closes_it() -> None:
    before = server_threads()
    server = LLMMockServer().start()
    port = int(server.url.rsplit(":", 1)[1])
    assert port_accepts(port)
    assert len(server_threads()) == len(before) + 1
    server.stop()
    assert not port_accepts(port)
    assert server_threads() == before


def test_stop_closes_idle_keep_alive_connections() -> None:
    before = server_threads()
    with LLMMockServer() as server:
        server.add_response("hi")
        client = server.openai_client()
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        port = int(server.url.rsplit(":", 1)[1])
    assert not port_accepts(port)
    assert server_threads() == before


def test_two_servers_get_their_own_ephemeral_ports() -> None:
    with LLMMockServer() as first, LLMMockServer() as second:
        assert first.url != second.url
        assert http.request(first.url, "GET", "/health").status == 200
        assert http.request(second.url, "GET", "/health").status == 200


def test_a_stopped_server_starts_again() -> None:
    server = LLMMockServer()
    for _ in range(2):
        server.start()
        assert http.request(server.url, "GET", "/health").status == 200
        server.stop()
    server.stop()  # stopping twice is harmless


def test_a_port_in_use_is_an_os_error() -> None:
    before = server_threads()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(OSError, match="Address already in use"):
            LLMMockServer(port=taken).start()
    assert server_threads() == before


@pytest.mark.parametrize("loop", ["auto", "asyncio"])
def test_connections_have_nagles_algorithm_off_whatever_the_event_loop(loop: str) -> None:
    """A response goes out in two writes, head then body: with Nagle's algorithm on, the body
    waits for the client's delayed ACK (40 ms on Linux). asyncio, used where uvloop is not
    installed (Windows), turns it off only on sockets made as TCP."""
    thread = ServerThread(create_app(ServerState()), loop=loop)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", thread.port)) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200 OK")
            assert thread.server is not None
            connections = list(thread.server.server_state.connections)
            assert len(connections) == 1
            served = connections[0].transport.get_extra_info("socket")
            assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        thread.stop()
    assert thread.server is None


def test_a_failing_app_start_is_reported() -> None:
    thread = ServerThread(app="no.such:module")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="the server failed to start") as excinfo:
        thread.start()
    assert excinfo.value.__cause__ is not None
    assert not thread.running


def test_no_server_thread_outlives_a_pytest_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_it(llm_mock_server):
            llm_mock_server.add_response("x")

        def test_fails(llm_mock_server):
            assert False
        """
    )
    before = server_threads()
    pytester.runpytest().assert_outcomes(passed=1, failed=1)
    assert server_threads() == before


@pytest.mark.parametrize("loop", ["auto", "asyncio"])
def test_a_stop_racing_new_connections_leaks_no_socket(loop: str) -> None:
    """Without uvloop, asyncio hands an accepted connection to the server two turns of the
    loop later: a listener closed in between left the socket open."""
    app = create_app(ServerState())
    gc.collect()  # what earlier tests in this process left is not this test's
    ports: set[int] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(200):
            thread = ServerThread(app, loop=loop)
            thread.start()
            ports.add(thread.port)
            with socket.create_connection(("127.0.0.1", thread.port)):
                thread.stop()
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    # Only this test's servers: another thread's garbage may be collected meanwhile.
    assert [leak for leak in leaks if any(f"', {port})" in leak for port in ports)] == []


def test_a_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout() -> None:
    thread = ServerThread(create_app(ServerState()), keep_alive=1)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", thread.port), timeout=10) as client:
            started = time.monotonic()
            assert client.recv(1) == b""
            took = time.monotonic() - started
    finally:
        thread.stop()
    assert 0.5 < took < 5


def test_past_max_connections_the_connections_idle_the_longest_make_room() -> None:
    thread = ServerThread(create_app(ServerState()), max_connections=32)  # 30 kept open
    thread.start()
    idle = [socket.create_connection(("127.0.0.1", thread.port), timeout=10) for _ in range(40)]
    try:
        assert http.request(f"http://127.0.0.1:{thread.port}", "GET", "/health").status == 200
        closed = [n for n, sock in enumerate(idle) if closed_by_peer(sock)]
    finally:
        for sock in idle:
            sock.close()
        thread.stop()
    assert closed == list(range(11)), "40 idle and 1 new: the 11 idle the longest make room"


def test_busy_connections_are_never_closed_and_past_max_connections_a_request_gets_503() -> None:
    state = ServerState()
    state.base.delivery = Delivery(delay=30)  # answers wait: their connections stay busy
    arrived = arrivals(state)
    thread = ServerThread(create_app(state), max_connections=8)
    thread.start()
    body = json.dumps({"model": "m", "messages": HI}).encode()
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: test\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    busy: list[socket.socket] = []
    try:
        for _ in range(8):
            busy.append(socket.create_connection(("127.0.0.1", thread.port), timeout=10))
            busy[-1].sendall(request)
            assert arrived.acquire(timeout=10), "the request did not arrive"
        assert http.request(f"http://127.0.0.1:{thread.port}", "GET", "/health").status == 503
        assert not any(closed_by_peer(sock) for sock in busy)
    finally:
        thread.stop()
        for sock in busy:
            sock.close()


def arrivals(state: ServerState) -> threading.Semaphore:
    """Released once per request the server has received."""
    arrived = threading.Semaphore(0)

    def listener(_: RecordedRequest) -> None:
        arrived.release()

    state.base.journal.listen(listener)
    return arrived


def delay_by_latency(server: LLMMockServer) -> None:
    server.latency = 30


def delay_between_chunks(server: LLMMockServer) -> None:
    server.chunk_delay = 30


def stall(server: LLMMockServer) -> None:
    server.break_next_stream(after=2, how="stall", stall=30, times=32)


def ask_stream(base_url: str) -> BaseException | None:
    """What a client streaming an answer met: None if it got the whole answer."""
    try:
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=20) as client:
            for _ in client.chat.completions.create(model="m", messages=HI, stream=True):
                pass
    except Exception as exc:
        return exc
    return None


@pytest.mark.parametrize("delay", [delay_by_latency, delay_between_chunks, stall])
def test_stop_cuts_32_delayed_answers_at_once_and_quietly(
    delay: Callable[[LLMMockServer], None],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = LLMMockServer(strict=False).start()
    server.add_response("Hello there, how are you today?")
    delay(server)
    arrived = arrivals(server._server)
    with ThreadPoolExecutor(32) as pool:
        outcomes = [pool.submit(ask_stream, server.base_url) for _ in range(32)]
        for _ in range(32):
            assert arrived.acquire(timeout=20), "the requests did not all arrive"
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
        errors = [outcome.result(timeout=20) for outcome in outcomes]
    gc.collect()  # a task left pending says so when it is collected
    assert took < 1.0
    assert all(isinstance(error, sdk.CUT) for error in errors), errors
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "Task was destroyed" not in err


def test_stop_lets_a_request_still_arriving_finish_and_answers_it() -> None:
    server = LLMMockServer(strict=False).start()
    server.add_response("Hello")
    port = int(server.url.rsplit(":", 1)[1])
    body = json.dumps({"model": "m", "messages": HI}).encode()
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: test\r\ncontent-type: application/json"
        b"\r\nexpect: 100-continue\r\ncontent-length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head)
        # The server says "go on" once the answer reads the body: it is at work.
        assert client.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        deadline = time.monotonic() + 5
        while port_accepts(port):  # the stop has begun once the port is closed
            assert time.monotonic() < deadline, "the server did not stop listening"
        client.sendall(body)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        stopping.join(10)
    assert not stopping.is_alive()
    assert answer.startswith(b"HTTP/1.1 200 OK")  # then the server closed the connection
    assert b'"content":"Hello"' in answer
