"""The Starlette app: a route table over `MockState`. Thin on purpose: it moves bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import providers
from ._anthropic import answer as answer_messages
from ._anthropic import anthropic_errors, count_tokens
from ._chat import answer as answer_chat
from ._completions import answer as answer_completions
from ._embeddings import answer as answer_embeddings
from ._events import EventStream, pause
from ._http import HttpRequest, RawHeaders
from ._journal import Journal, Sending
from ._openai import dumps, error_object
from ._responses_api import answer as answer_responses
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

SERVED = (
    "POST /v1/chat/completions",
    "POST /v1/embeddings",
    "POST /v1/responses",
    "POST /v1/completions",
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "GET /v1/models",
    "GET /v1/models/{model}",
    "GET /health",
    "GET /",
    "GET|DELETE /_llm_mock/requests",
    "GET /_llm_mock/collection",
    "GET /_llm_mock/ (the web page)",
)


class MockApp:
    """The ASGI app of one server. The API's POST paths, the hot path of every test, are
    answered here directly; the other routes, and unknown paths, by Starlette.

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
            if endpoint is not None:
                scope["app"] = self.router  # as Starlette sets it
                if scope["method"] == "POST":
                    await endpoint.serve(mock, scope, receive, send)
                else:
                    reply = _route_error(mock, scope, 405, (("allow", "POST"),))
                    await _send_reply(send, reply)
                return
            if path.endswith("/") and path[:-1] in _POSTS:
                # What Starlette does for its own routes: 307, the client repeats its POST.
                url = URL(scope=scope).replace(path=scope["path"][:-1])
                await RedirectResponse(url)(scope, receive, send)
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


Handler = Callable[[TestScope, HttpRequest, Scope], Reply]


class _Disconnected(Exception):
    """The client left before sending its whole body."""


class Guarded:
    """An ASGI endpoint that reads the body within the limit, never lets an exception out,
    and gives every error reply the route's error shape (`errors`)."""

    def __init__(
        self, handler: Handler, errors: Callable[[Reply], Reply] = lambda reply: reply
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
        try:
            if body is None:
                reply = errors(state.too_large(http))
            elif state.recorder is not None:
                # Record mode may wait seconds for an upstream: never on the event loop.
                reply = errors(await asyncio.to_thread(self.handler, state, http, scope))
            else:
                reply = errors(self.handler(state, http, scope))
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


def _api(answer: Callable[[TestScope, HttpRequest, object], Reply]) -> Handler:
    def handler(state: TestScope, http: HttpRequest, _: Scope) -> Reply:
        return state.api(http, partial(answer, state))

    return handler


def _models(state: TestScope, http: HttpRequest, _: Scope) -> Reply:
    return state.models(http)


def _model(state: TestScope, http: HttpRequest, scope: Scope) -> Reply:
    return state.model(http, str(scope["path_params"]["model"]))


def _health(state: TestScope, http: HttpRequest, _: Scope) -> Reply:
    state.record(http, 200)
    return Reply(200, dumps({"status": "ok"}))


def _root(state: TestScope, http: HttpRequest, _: Scope) -> Reply:
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
    """Starlette's routes, and the POST endpoints `MockApp` serves itself (in `_POSTS`)."""
    if _ROUTES:
        return _ROUTES
    posts = {
        "/chat/completions": Guarded(_api(answer_chat)),
        "/embeddings": Guarded(_api(answer_embeddings)),
        "/responses": Guarded(_api(answer_responses)),
        "/completions": Guarded(_api(answer_completions)),
        "/messages": Guarded(_api(answer_messages), anthropic_errors),
        "/messages/count_tokens": Guarded(_api(count_tokens), anthropic_errors),
    }
    models, model = Guarded(_models), Guarded(_model)
    routes = []
    for prefix in ("/v1", ""):
        _POSTS.update({prefix + path: endpoint for path, endpoint in posts.items()})
        routes += [
            Route(f"{prefix}/models", models, methods=["GET"]),
            Route(f"{prefix}/models/{{model:llm_mock_model_id}}", model, methods=["GET"]),
        ]
    routes += [
        Route("/health", Guarded(_health), methods=["GET"]),
        Route("/", Guarded(_root), methods=["GET"]),
        # Inspection, for suites in other languages; never recorded themselves.
        Route("/_llm_mock/requests", _journal, methods=["GET", "DELETE"]),
        Route("/_llm_mock/collection", _collection, methods=["GET"]),
        *web_routes(),
    ]
    _ROUTES[:] = _with_providers(routes)
    return _ROUTES


def _with_providers(routes: list[Route]) -> list[Route]:
    """`routes` and every provider's doors. A door on a method and path that a route already
    has answers the requests its provider claims (by their headers); the route the rest."""
    table: dict[tuple[str, str], Route] = {}
    for route in routes:
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                table[(method, route.path)] = route
    doors: list[Route] = []
    for provider in providers.all_providers():
        for door in provider.doors:
            endpoint: Any = Guarded(partial(_through_door, door.handler), provider.errors)
            taken = table.get((door.method, door.path))
            if taken is not None and provider.claims is not None:
                endpoint = _Claimed(provider.claims, endpoint, taken.endpoint)
            doors.append(Route(door.path, endpoint, methods=[door.method]))
    return doors + routes  # first: a door's full match comes before another method's 405


def _through_door(
    handler: providers.Handler, state: TestScope, http: HttpRequest, scope: Scope
) -> Reply:
    return handler(state, http, scope.get("path_params", {}))


class _Claimed:
    """A path two providers share: `claimed` answers the requests `claims` picks."""

    def __init__(self, claims: Callable[[RawHeaders], bool], claimed: Any, other: Any) -> None:
        self.claims, self.claimed, self.other = claims, claimed, other

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.claimed if self.claims(scope["headers"]) else self.other
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
