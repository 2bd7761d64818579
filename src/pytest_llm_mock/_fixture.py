"""`LLMMockServer`: the object tests get, also usable without pytest as a context manager.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from ._assertions import RequestAssertions
from ._clients import API_KEY, Connections, async_openai_client, openai_client
from ._collection import Collection, empty_collection, status_problem
from ._faults import BREAKS, DEFAULT_STALL, Failure, RateLimit, StreamBreak, StreamFault
from ._journal import DEFAULT_LIMIT, DEFAULT_MAX_SIZE, RecordedRequest
from ._matching import Strategy, resolve_strategy
from ._postman import load_cached
from ._request import ChatRequest
from ._responses import ToolCallSpec, build_added_response
from ._scopes import ServerState
from ._state import DEFAULT_MAX_BODY_BYTES, Scope
from ._stream import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from typing_extensions import Self

    from ._server import ServerThread

MatchSpec = str | Strategy | Callable[[ChatRequest], Hashable]
CollectionSpec = str | os.PathLike[str] | Collection | None


class LLMMockServer(RequestAssertions):
    """A deterministic OpenAI-compatible server answering from a Postman collection.

    In pytest, use the `llm_mock_server` fixture. Elsewhere::

        with LLMMockServer("collection.json") as mock:
            client = mock.openai_client()
    """

    def __init__(
        self,
        collection: CollectionSpec = None,
        *,
        match: MatchSpec = "conversation",
        strict: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_size: int | None = None,
        chunk_size: int | None = None,
        journal_limit: int | None = None,
        journal_max_size: int | None = None,
    ) -> None:
        self.strict = strict
        limits = {
            "max_body_size": max_body_size,
            "chunk_size": chunk_size,
            "journal_limit": journal_limit,
            "journal_max_size": journal_max_size,
        }
        for name, value in limits.items():
            if value is not None and value < 1:
                raise ValueError(f"{name} must be 1 or more, got {value}")
        self._server = ServerState(
            max_body_bytes=max_body_size or DEFAULT_MAX_BODY_BYTES,
            journal_limit=journal_limit or DEFAULT_LIMIT,
            journal_max_size=journal_max_size or DEFAULT_MAX_SIZE,
            chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
        )
        self._state: Scope = self._server.base
        self._reported: str | None = None  # the verdict already shown in this test's report
        self._host = host
        self._port = port
        self._thread: ServerThread | None = None
        self._clients: list[Any] = []
        # Keep-alive connections: the server's own clients' (a session's), and the tests'
        # (shared by the views of this server, released as each test ends).
        self._connections = Connections()
        self._tests_connections = Connections()
        self.use(collection, match=match)

    def _open_scope(self, name: str) -> LLMMockServer:
        """The same server seen by one test: its own scope, journal and settings, and its
        own URL prefix. `_close_scope()` ends it."""
        # A plain server object, whichever face this one shows (`llm_mock_session`'s).
        view = object.__new__(LLMMockServer)
        view.__dict__.update(self.__dict__)
        view._state = self._server.open(name)
        view._reported = None
        view._clients = []
        view._connections = self._tests_connections
        return view

    def _close_scope(self) -> None:
        self._close_clients()
        self._connections.release()
        self._server.close(self._state)

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving on 127.0.0.1 (an ephemeral port unless one was given)."""
        if self._thread is None:
            from ._app import create_app
            from ._server import ServerThread

            self._thread = ServerThread(create_app(self._server), host=self._host, port=self._port)
        if not self._thread.running:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Close the clients this object made, then stop the server."""
        self._close_clients()
        self._connections.close()
        self._tests_connections.close()
        if self._thread is not None:
            self._thread.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self.strict:
                self.check()
        finally:
            self.stop()

    # -- where it is ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, the server's root; in a test, `http://127.0.0.1:PORT/_t/N`,
        the test's own prefix, under which every route is served."""
        # Known once started; still known while offline() or after stop(), so that clients
        # can try it and meet the refused connection.
        if self._thread is None or not self._thread.port:
            raise RuntimeError("the server is not running; call start() or use it in a with block")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._thread.port}{self._state.prefix}"

    @property
    def base_url(self) -> str:
        """`url` + `/v1`, for any OpenAI-compatible client."""
        return self.url + "/v1"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point OpenAI-compatible clients at this server: the SDK
        reads `OPENAI_BASE_URL`, LangChain and LiteLLM `OPENAI_API_BASE`; openai-agents'
        tracing (which would export to the internet whatever the base URL) is turned off."""
        return {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_BASE": self.base_url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_AGENTS_DISABLE_TRACING": "1",
        }

    # -- what it serves ---------------------------------------------------------------------

    @property
    def collection(self) -> Collection:
        return self._state.collection

    @property
    def strategy(self) -> Strategy:
        return self._state.strategy

    @property
    def require_api_key(self) -> str | None:
        """When set, requests without this key (bearer, `api-key` or `x-api-key`) get a 401.
        Reset for every test."""
        return self._state.api_key

    @require_api_key.setter
    def require_api_key(self, key: str | None) -> None:
        self._state.api_key = key

    @property
    def chunk_size(self) -> int:
        """Characters of content or tool arguments per stream chunk (reset for every test)."""
        return self._state.chunk_size

    @chunk_size.setter
    def chunk_size(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"chunk_size must be 1 or more, got {size}")
        self._state.chunk_size = size

    def use(self, collection: CollectionSpec = None, *, match: MatchSpec = "conversation") -> None:
        """Serve another collection (a path or a loaded `Collection`) with a match strategy."""
        if collection is None:
            loaded = empty_collection()
        elif isinstance(collection, Collection):
            loaded = collection
        else:
            loaded = load_cached(Path(collection))
        self._state.use(loaded, resolve_strategy(match))

    def add_response(
        self,
        content: str | None = None,
        *,
        tool_calls: Sequence[ToolCallSpec] | None = None,
        last_user_message: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        contains: str | None = None,
        model: str | None = None,
        status: int = 200,
        body: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer requests that meet every given criterion, before the collection is asked.

        Responses are tried in the order added; `times=None` answers without limit.
        """
        self._state.add(
            lambda number: build_added_response(
                number,
                content=content,
                tool_calls=tool_calls,
                last_user_message=last_user_message,
                messages=messages,
                contains=contains,
                model=model,
                status=status,
                body=body,
                headers=headers,
                times=times,
            )
        )

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
        model: str | None = None,
    ) -> None:
        """The next `times` chat requests (only for `model`, if given) get an error with this
        status, before any example or added response is asked. `retry_after` (seconds) is
        sent as `retry-after-ms` and `retry-after`."""
        problem = status_problem(status)
        if problem is not None or status < 400:
            raise ValueError(f"fail_next needs an error status (400-599), got {status!r}")
        if times < 1:
            raise ValueError(f"times must be 1 or more, got {times}")
        self._state.fail_next(
            lambda number: Failure(number, status, times, retry_after, message, model)
        )

    @property
    def latency(self) -> float:
        """Seconds every answer waits before its first byte (reset for every test)."""
        return self._state.delivery.delay

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._state.delivery = replace(self._state.delivery, delay=_seconds(seconds))

    @property
    def chunk_delay(self) -> float:
        """Seconds between the chunks of every stream (reset for every test)."""
        return self._state.delivery.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, seconds: float) -> None:
        self._state.delivery = replace(self._state.delivery, chunk_delay=_seconds(seconds))

    def break_next_stream(
        self,
        after: int = 0,
        *,
        how: StreamBreak = "disconnect",
        stall: float = DEFAULT_STALL,
        times: int = 1,
    ) -> None:
        """Break the next `times` streamed answers after `after` chunks: `"disconnect"` cuts
        the connection, `"error"` sends an error event and ends, `"stall"` goes silent for
        `stall` seconds (long enough for a client's read timeout)."""
        if how not in BREAKS:
            raise ValueError(f"how must be one of {', '.join(BREAKS)}, got {how!r}")
        if after < 0 or times < 1:
            raise ValueError("after must be 0 or more and times 1 or more")
        fault = StreamFault(after, how, _seconds(stall))
        self._state.stream_faults.extend([fault] * times)

    def rate_limit(
        self, requests: int | None, *, window: float = 60.0, per: Literal["key", "address"] = "key"
    ) -> None:
        """Allow `requests` chat requests per `window` seconds per API key (or client
        address); the next ones get a 429 with `retry-after` and `x-ratelimit-*` headers.
        `None` lifts the limit. Reset for every test."""
        if requests is None:
            self._state.rate_limit = None
            return
        if requests < 1 or window <= 0 or per not in ("key", "address"):
            raise ValueError("rate_limit needs requests >= 1, window > 0, per 'key' or 'address'")
        self._state.rate_limit = RateLimit(requests, window, per)

    @contextmanager
    def offline(self) -> Iterator[None]:
        """Inside the block the port accepts no connection, as if the server were gone;
        clients get a real connection error. Afterwards it serves again on the same port."""
        thread = self._thread
        if thread is None or not thread.running:
            raise RuntimeError("the server is not running")
        thread.requested_port = thread.port
        thread.stop()
        try:
            yield
        finally:
            thread.start()

    # -- what it received ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received since the last reset (in pytest: this test's), oldest first."""
        return self._state.journal.snapshot()

    @property
    def dropped_requests(self) -> int:
        """Requests left out of `requests` because the journal limit (`journal_limit`
        requests, `journal_max_size` bytes) was reached (a request nothing answered stays in
        `unmatched` all the same)."""
        return self._state.journal.dropped

    @property
    def last_request(self) -> RecordedRequest | None:
        requests = self.requests
        return requests[-1] if requests else None

    @property
    def unmatched(self) -> list[RecordedRequest]:
        """The requests that nothing answered, even those the journal limit dropped from
        `requests` (the first 1,000 of them)."""
        return self._state.journal.misses()

    # -- verdict ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise `AssertionError` for errors in the server, unmatched requests, and responses
        added with `times` that were not used up."""
        failure = self.failures()
        if failure is not None:
            raise AssertionError(failure)

    def failures(self) -> str | None:
        """The text `check()` would raise, or `None` when all is well."""
        sections = []
        unmatched = self.unmatched  # first: reading the journal may add to the errors
        for error in list(self._state.errors):
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            sections.append(f"pytest-llm-mock raised an error while answering:\n{trace}")
        missed = self._state.journal.miss_count
        if missed:
            lines = [f"{missed} request(s) were not answered by any example:"]
            for number, request in enumerate(unmatched, start=1):
                lines.append(f"{number}. {request.method} {request.path}")
                lines += ["   " + line for line in (request.miss or "").splitlines()]
            if missed > len(unmatched):
                lines.append(f"({missed - len(unmatched)} more not listed)")
            lines.append(
                "If the test means to send requests that nothing answers, make it lenient: "
                "@pytest.mark.llm_collection(strict=False), or --llm-lenient for the run."
            )
            sections.append("\n".join(lines))
        failures = [f for f in self._state.failures if f.pending]
        if failures:
            lines = ["fail_next(...) failures were not used up:"]
            lines += [f"  {f.describe()}: used {f.used} of {f.times}" for f in failures]
            sections.append("\n".join(lines))
        pending = [r for r in self._state.responses if r.times is not None and not r.exhausted]
        if pending:
            lines = ["responses added with times= were not used up:"]
            lines += [f"  {r.describe()}: used {r.used} of {r.times}" for r in pending]
            sections.append("\n".join(lines))
        return "\n\n".join(sections) if sections else None

    def reset(self) -> None:
        """Forget requests, sequence counters, added responses and errors."""
        self._state.reset()

    # -- clients ---------------------------------------------------------------------------

    def openai_client(self, **kwargs: Any) -> OpenAI:
        """An `openai.OpenAI` client pointed at this server, closed when the test ends
        (`llm_mock_server`), when the session ends (`llm_mock_session`) or when it stops."""
        client = openai_client(self.base_url, kwargs, self._connections)
        self._clients.append(client)
        return client

    def async_openai_client(self, **kwargs: Any) -> AsyncOpenAI:
        """An `openai.AsyncOpenAI` client pointed at this server.

        Unless given an `http_client`, it keeps no connection alive between requests: an async
        client's connections belong to the event loop that made them, and one left open when
        a test's `asyncio.run()` ends can no longer be used or closed cleanly. So one client
        serves tests that each run their own event loop (a module- or session-scoped client).
        """
        client = async_openai_client(self.base_url, kwargs)
        self._clients.append(client)
        return client

    def _close_clients(self) -> None:
        """Close the sync clients this object made; async ones hold no idle connection."""
        clients, self._clients = self._clients, []
        if not clients:
            return  # openai is optional: it is imported only once a client was made
        from openai import OpenAI

        for client in clients:
            if isinstance(client, OpenAI):
                client.close()


def _seconds(value: float) -> float:
    if value < 0:
        raise ValueError(f"a duration must be 0 or more seconds, got {value}")
    return float(value)
