"""The server thread: ready when start() returns, gone when stop() returns."""

from __future__ import annotations

import socket
import threading

import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._app import create_app
from pytest_llm_mock._scopes import ServerState
from pytest_llm_mock._server import ServerThread

from . import http


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pytest-llm-mock ")]


def port_accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


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
