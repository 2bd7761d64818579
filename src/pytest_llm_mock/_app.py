"""The Starlette app: a route table over `MockState`. Thin on purpose: it moves bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import providers
from ._events import EventStream, pause
from ._http import HttpRequest, RawHeaders
from ._journal import Journal, Sending
from ._openai import dumps, error_object
from ._scopes import PREFIX, ServerState
from ._state import Reply
from ._state import Scope as TestScope
from ._web import routes as web_routes


class _ModelId(Convertor[str]):
    """A model id as the API allows it: any text, slashes and line breaks included
    (Starlette's own `path` convertor stops at a line break)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("llm_mock_model_id", _ModelId())

# What `GET /` and unknown-route errors list: the doors of the providers served at the root
# (OpenAI's APIs, Anthropic's), then the server's own routes. The other providers are named
# with the paths their doors are under (`providers.summary()`), or listed in full by `GET /`.
SERVED = (
    *providers.root_routes(),
    "GET /health",
    "GET /",
    "GET|DELETE /_llm_mock/requests",
    "GET /_llm_mock/collection",
    "GET /_llm_mock/ (the web page)",
)


class MockApp:
    """The ASGI app of one server. The doors on POST paths without parameters (the API's
    chat, responses, messages, ...: the hot path of every test) are answered here directly;
    the other routes, and unknown paths, by Starlette.

    Every route is served at its path and under a test's prefix (`/_t/N/v1/...`): the prefix
    picks the scope the request is charged to (it becomes the ASGI `root_path`); without one,
    the test running now is charged."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.router = Starlette(routes=_routes(), exception_handlers={HTTPException: _http_error})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            mock = self.state.current
            if path.startswith(PREFIX):
                number = path[len(PREFIX) :].partition("/")[0]
                if number.isascii() and number.isdigit() and len(number) <= 18:
                    mock = self.state.scope_for(int(number))
                    scope["root_path"] = scope.get("root_path", "") + PREFIX + number
                    path = _route_path(scope)
            scope["llm_mock"] = mock
            endpoint = _POSTS.get(path)
            if endpoint is not None and scope["method"] == "POST":
                scope["app"] = self.router  # as Starlette sets it
                await endpoint.serve(mock, scope, receive, send)
                return
        await self.router(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path without a test's prefix (the ASGI `root_path`)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return (path[len(root) :] or "/") if root and path.startswith(root) else path


def create_app(state: ServerState) -> MockApp:
    """One app per server; every route answers through `state`. The route table is built
    once per process and shared: endpoints find their server's state on the app."""
    return MockApp(state)


_NO_PARAMS: Mapping[str, str] = {}  # the path parameters of a path that has none


async def _off_the_loop(call: Callable[[], Reply]) -> Reply:
    """`call()` in a thread of its own, awaited. Record mode asks its upstream so: the thread
    is not a daemon (the server's thread is, and its executor's threads would be too), so
    Python waits for it as it exits, and an answer still coming when the server stops, past
    its grace period, is saved all the same."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Reply] = loop.create_future()

    def settle(outcome: Callable[[Any], None], value: object) -> None:
        if not done.done():  # else the request was cut as the server stopped
            outcome(value)

    def run() -> None:
        try:
            reply = call()
        except BaseException as exc:  # raised in the task that awaits it
            handed: tuple[Callable[[Any], None], object] = (done.set_exception, exc)
        else:
            handed = (done.set_result, reply)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, *handed)

    threading.Thread(target=run, name="pytest-llm-mock record", daemon=False).start()
    return await done


class _Disconnected(Exception):
    """The client left before sending its whole body."""


class Guarded:
    """An ASGI endpoint that reads the body within the limit, never lets an exception out,
    and gives every error reply the route's error shape (`errors`)."""

    def __init__(
        self, handler: providers.Handler, errors: Callable[[Reply], Reply] = lambda reply: reply
    ) -> None:
        self.handler = handler
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope["llm_mock"], scope, receive, send)

    async def serve(self, state: TestScope, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = time.monotonic()
        method, path = scope["method"], _route_path(scope)
        headers = scope["headers"]
        client = scope.get("client")
        try:
            body = await _read_body(receive, headers, state.max_body_bytes)
        except _Disconnected:
            # Nobody is left to read an answer; the journal still shows the attempt.
            http = HttpRequest(method, path, headers, b"", received_at=received_at)
            state.record(http, 400, miss="the client disconnected before sending its body")
            await _send_reply(send, Reply(400, b""))
            return
        address = client[0] if client else ""
        # Its journal entry is in flight until the answer is sent in full.
        sending = Sending()
        http = HttpRequest(
            method,
            path,
            headers,
            body or b"",
            received_at=received_at,
            client=address,
            sending=sending,
        )
        errors = self.errors
        params = scope.get("path_params", _NO_PARAMS)
        try:
            if body is None:
                reply = errors(state.too_large(http))
            elif state.recorder is not None:
                # Record mode may wait seconds for an upstream: never on the event loop.
                call = partial(self.handler, state, http, params)
                try:
                    reply = errors(await _off_the_loop(call))
                except asyncio.CancelledError:
                    # The server stopped before the upstream answered: the client's connection
                    # is cut, and the answer is saved when it comes.
                    return
            else:
                reply = errors(self.handler(state, http, params))
        except Exception as exc:
            # Never swallowed: the test that caused it fails with this traceback.
            state.errors.append(exc)
            state.record(http, 500, miss=f"the mock server raised {exc!r}")
            error = error_object(
                f"pytest-llm-mock raised {type(exc).__name__}: {exc}", "server_error"
            )
            # A bug answers the same every time: retrying only slows the test down.
            reply = errors(Reply(500, dumps(error), (("x-should-retry", "false"),)))
        else:
            if reply.delivery.delay and await pause(reply.delivery.delay, receive):
                await _send_reply(send, Reply(499, b""))  # the client left while we waited
                return
        if reply.stream is None:
            # Marked as the bytes go out, not after: a client that has them may read the
            # journal at once.
            sending.finished = True
            await _send_reply(send, reply)
        else:
            await EventStream(reply, sending)(scope, receive, send)


def _health(state: TestScope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    state.record(http, 200)
    return Reply(200, dumps({"status": "ok"}))


def _root(state: TestScope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    state.record(http, 200)
    return Reply(200, dumps(_summary(state)))


async def _journal(request: Request) -> Response:
    state: TestScope = request.scope["llm_mock"]
    if request.method == "DELETE":
        state.clear()
        return Response(status_code=204)
    # A sync iterator: Starlette runs it in a worker thread, so building and encoding a long
    # journal does not stall the event loop, and the JSON is sent a batch at a time.
    return StreamingResponse(_journal_json(state.journal), media_type="application/json")


_JOURNAL_BATCH = 256  # entries encoded per chunk sent


def _journal_json(journal: Journal) -> Iterator[bytes]:
    """The journal as one JSON array, in chunks."""
    entries = journal.snapshot()
    yield b"["
    for start in range(0, len(entries), _JOURNAL_BATCH):
        batch = entries[start : start + _JOURNAL_BATCH]
        yield (b"," if start else b"") + b",".join(dumps(r.to_json()) for r in batch)
    yield b"]"


async def _collection(request: Request) -> Response:
    state: TestScope = request.scope["llm_mock"]
    return Response(dumps(state.describe()), media_type="application/json")


_ROUTES: list[Route] = []
_POSTS: dict[str, Guarded] = {}


def _routes() -> list[Route]:
    """Starlette's routes: every provider's doors, in the providers' order, then the server's
    own. A door on a POST path that has no parameters and no other method is also in
    `_POSTS`, where `MockApp` answers its POSTs without Starlette."""
    if _ROUTES:
        return _ROUTES
    doors: dict[tuple[str, str], list[tuple[providers.Provider, providers.Door]]] = {}
    for provider in providers.all_providers():
        for door in provider.doors:
            doors.setdefault((door.method, door.path), []).append((provider, door))
    methods = Counter(path for _, path in doors)
    routes = []
    for (method, path), shared in doors.items():
        endpoint = _endpoint(shared)
        exact = method == "POST" and methods[path] == 1 and "{" not in path
        if exact and isinstance(endpoint, Guarded):
            _POSTS[path] = endpoint
        routes.append(Route(path, endpoint, methods=[method]))
    routes += [
        Route("/health", Guarded(_health), methods=["GET"]),
        Route("/", Guarded(_root), methods=["GET"]),
        # Inspection, for suites in other languages; never recorded themselves.
        Route("/_llm_mock/requests", _journal, methods=["GET", "DELETE"]),
        Route("/_llm_mock/collection", _collection, methods=["GET"]),
        *web_routes(),
    ]
    _ROUTES[:] = routes
    return _ROUTES


def _endpoint(shared: list[tuple[providers.Provider, providers.Door]]) -> Guarded | _Claimed:
    """The endpoint of the doors on one method and path: a door's own; for several (Gemini's
    and OpenAI's `GET /v1/models`), the first whose provider claims a request answers it,
    the one whose provider claims nothing the rest."""
    guarded = [(p.claims, Guarded(door.handler, p.errors)) for p, door in shared]
    if len(guarded) == 1:
        return guarded[0][1]
    claiming = tuple((claims, endpoint) for claims, endpoint in guarded if claims is not None)
    others = [endpoint for claims, endpoint in guarded if claims is None]
    door = shared[0][1]
    if len(others) != 1:
        raise ValueError(
            f"{door.method} {door.path}: of the doors of {', '.join(p.name for p, _ in shared)}, "
            "all but one must have `claims`"
        )
    return _Claimed(claiming, others[0])


class _Claimed:
    """A method and path several providers share: the first endpoint whose `claims` picks a
    request answers it, else `other`."""

    def __init__(
        self, claiming: tuple[tuple[Callable[[RawHeaders], bool], Guarded], ...], other: Guarded
    ) -> None:
        self.claiming, self.other = claiming, other

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        chosen = next((e for claims, e in self.claiming if claims(headers)), self.other)
        await chosen(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405, as OpenAI-shaped errors that list what is served."""
    assert isinstance(exc, HTTPException)
    state: TestScope = request.scope["llm_mock"]
    reply = _route_error(state, request.scope, exc.status_code, (exc.headers or {}).items())
    provider = providers.for_unknown(_route_path(request.scope))
    if provider is not None:  # under a provider's paths: its own 404 and 405
        reply = provider.errors(reply)
    return Response(
        reply.body,
        status_code=reply.status,
        headers=dict(reply.headers),
        media_type="application/json",
    )


def _route_error(
    state: TestScope, scope: Scope, status: int, headers: Iterable[tuple[str, str]]
) -> Reply:
    method, path = scope["method"], _route_path(scope)
    http = HttpRequest(method, path, scope["headers"], b"", received_at=time.monotonic())
    served = "; ".join(SERVED) + f"; and the doors of {providers.summary()}"
    if status == 405:
        message = f"{method} is not allowed on {path}. pytest-llm-mock serves: {served}."
        error = error_object(message, "invalid_request_error", code="method_not_allowed")
    else:
        message = f"Unknown route: {method} {path}. pytest-llm-mock serves: {served}."
        error = error_object(message, "invalid_request_error", code="unknown_url")
    state.record(http, status, miss=message)
    return Reply(status, dumps(error), tuple(headers))


async def _send_reply(send: Send, reply: Reply) -> None:
    """A JSON reply (or an empty one) as one response."""
    headers = _encoded_headers(reply.headers, len(reply.body))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


_ENCODED: dict[tuple[tuple[tuple[str, str], ...], int], list[tuple[bytes, bytes]]] = {}


def _encoded_headers(
    headers: tuple[tuple[str, str], ...], length: int
) -> list[tuple[bytes, bytes]]:
    """A reply's headers as ASGI sends them, then the length and the JSON content type
    unless the reply set its own. Kept: a test repeats the same few replies."""
    key = (headers, length)
    encoded = _ENCODED.get(key)
    if encoded is None:
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        names = {name for name, _ in encoded}
        if b"content-length" not in names:
            encoded.append((b"content-length", b"%d" % length))
        if length and b"content-type" not in names:
            encoded.append((b"content-type", b"application/json"))
        if len(_ENCODED) >= 256:
            _ENCODED.clear()
        _ENCODED[key] = encoded
    return list(encoded)  # the server may keep the list it is given


async def _read_body(receive: Receive, headers: RawHeaders, limit: int) -> bytes | None:
    """The body, or `None` as soon as it is known (from its declared length, or as it
    comes) to exceed `limit` bytes."""
    declared = next((v for k, v in headers if k == b"content-length"), b"")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)


def _summary(state: TestScope) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "name": "pytest-llm-mock",
        "version": version("pytest-llm-mock"),
        "collection": state.collection.describe(),
        "examples": len(state.collection.examples),
        "match": state.strategy.name,
        "requests": len(state.journal),
        "routes": [*SERVED, *providers.routes()],
    }
