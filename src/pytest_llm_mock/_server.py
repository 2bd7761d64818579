"""uvicorn in a background thread: a fast start that waits on readiness, a fast stop.

Stock uvicorn polls for shutdown every 100 ms and sleeps another 100 ms while closing, which
a test suite pays on every stop. Here the main loop waits on an event set from the caller's
thread, and shutdown waits only as long as open connections need: answers at work get a grace
period, answers in a deliberate pause (latency, chunk delays, stalls) are cut at once.

Connections are bounded, as `_connections` says.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

_CLOSE_POLL = 0.001  # seconds between checks for connections still finishing a response
_TURNS = 4  # turns of the loop looked at before polling: a closed connection goes in one or two
_GRACE = 5.0  # seconds an answer at work may take to finish when the server stops
_SETTLE = 1.0  # seconds an answer whose connection was cut has to return before it is cancelled
# Seconds a connection may wait for its next request. Longer than the idle expiry of client
# pools (httpx 5 s, aiohttp 15 s): the client closes first, and never sends a request on a
# connection the server is closing.
KEEP_ALIVE = 20


class ServerThread:
    """An ASGI app served by uvicorn on a socket bound here, in a daemon thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        loop: str = "auto",
        keep_alive: int = KEEP_ALIVE,
        max_connections: int | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port = 0
        self.loop = loop  # uvicorn's choice: uvloop when installed ("auto"), or "asyncio"
        self.keep_alive = keep_alive  # seconds a connection may wait for its next request
        # Open connections (default: what the open-file limit allows); requests past it get
        # a 503 when no idle connection can be closed to make room.
        self.max_connections = max_connections
        self.server: uvicorn.Server | None = None  # while running
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving, and return once the server accepts connections."""
        import uvicorn

        from ._connections import connection_cap, http_protocol
        from ._events import quiet_deliberate_cuts

        quiet_deliberate_cuts()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off only on the
            # connections of sockets that say they are TCP. Without it, every response written
            # in two parts waits for the client's delayed ACK, 40 ms, without uvloop (Windows).
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except Exception as exc:
            if _blocked_by_pytest_socket(exc):
                raise RuntimeError(
                    f"pytest-llm-mock serves on {self.host}: add --allow-hosts={self.host} "
                    "(pytest-socket blocked the mock server's socket)"
                ) from exc
            raise
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
            sock.listen(2048)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        cap = self.max_connections or connection_cap()
        config = uvicorn.Config(
            self.app,
            http=http_protocol(cap),
            timeout_keep_alive=self.keep_alive,
            limit_concurrency=cap + 1,  # uvicorn counts the connection asking: 503 past cap
            ws="none",
            lifespan="off",
            loop=self.loop,
            # No logging.config.dictConfig on every start: it costs a quarter of a start and
            # would reset the logging set up by the test suite; uvicorn's warnings propagate.
            log_config=None,
            log_level="warning",
            access_log=False,
            # Clients are local: no X-Forwarded-* rewriting layer in front of every request.
            proxy_headers=False,
            server_header=False,
            date_header=False,
        )
        server = self.server = uvicorn.Server(config)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._run,
            args=(server, sock),
            name=f"pytest-llm-mock {self.host}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"pytest-llm-mock: the server did not start within {timeout} s")
        error = self._startup_error()
        if error is not None:
            self._thread.join()
            self._thread = self.server = None
            raise RuntimeError("pytest-llm-mock: the server failed to start") from error

    def _startup_error(self) -> BaseException | None:
        """What the server thread reported, read after it signalled readiness."""
        return self._error

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let answers at work finish, cut those in a pause, and join the
        thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None:
            return
        # The loop may close between the check and the call: then it has stopped anyway.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"pytest-llm-mock: the server did not stop within {timeout} s")
        self._thread = self._loop = self._stop = self.server = None

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            factory = server.config.get_loop_factory()
            loop = factory() if factory is not None else asyncio.new_event_loop()
        except BaseException as exc:  # reported to the thread that called start()
            sock.close()
            self._error = exc
            self._ready.set()
            return
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(server, sock))
        finally:
            sock.close()
            loop.close()

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server.config.load()
            server.lifespan = server.config.lifespan_class(server.config)
            await server.startup(sockets=[sock])
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await _shutdown(server)


def _blocked_by_pytest_socket(exc: Exception) -> bool:
    """Whether pytest-socket's `--disable-socket` refused a socket: its `SocketBlockedError`,
    or the warning that error issues first, raised where warnings are errors. Known by module
    name: pytest-socket is an optional plugin, never imported here."""
    replaced = getattr(socket.socket, "__module__", None)  # its guard replaces socket.socket
    return "pytest_socket" in (type(exc).__module__, replaced)


async def _shutdown(server: uvicorn.Server) -> None:
    from ._events import paused

    await _stop_accepting(server)
    state = server.server_state
    # Idle keep-alive connections close at once; busy ones close after their response.
    for connection in list(state.connections):
        connection.shutdown()
    # Answers at work get the grace period; answers in a pause would only wait it out.
    await _until(lambda: len(state.connections) <= paused(), _GRACE)
    # A cut connection is a disconnect to the app: pauses end, streams stop, answers return
    # without an error, and the client gets a closed connection.
    for connection in list(state.connections):
        connection.transport.abort()
    await _until(lambda: not state.tasks, _SETTLE)
    tasks = list(state.tasks)
    for task in tasks:  # an answer that ignored its disconnect
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=_SETTLE)
    for listener in server.servers:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(listener.wait_closed(), _SETTLE)


async def _until(done: Callable[[], bool], timeout: float) -> None:
    """Wait until `done()`, `timeout` seconds at most. A connection closed now is gone a turn
    or two of the loop later: those turns are looked at first, then every `_CLOSE_POLL`."""
    for _ in range(_TURNS):
        if done():
            return
        await asyncio.sleep(0)
    deadline = asyncio.get_running_loop().time() + timeout
    while not done() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(_CLOSE_POLL)


async def _stop_accepting(server: uvicorn.Server) -> None:
    """Close the listeners once the connections they accepted have reached the server.

    asyncio without uvloop accepts a connection in one turn of the loop and gives it to its
    protocol two turns later; a listener closed in between leaks the socket (a ResourceWarning
    and an fd). So: stop accepting, let two turns pass, then close."""
    loop = asyncio.get_running_loop()
    if isinstance(loop, asyncio.SelectorEventLoop):
        for listener in server.servers:
            for sock in listener.sockets:
                loop.remove_reader(sock.fileno())
    for _ in range(2):
        await asyncio.sleep(0)
    for listener in server.servers:
        listener.close()
