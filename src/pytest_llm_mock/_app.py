"""The Starlette app: a route table over `MockState`. Thin on purpose: it moves bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ._anthropic import answer as answer_messages
from ._anthropic import anthropic_errors
from ._chat import answer as answer_chat
from ._completions import answer as answer_completions
from ._embeddings import answer as answer_embeddings
from ._events import EventStream, pause
from ._http import HttpRequest
from ._openai import dumps, error_object
from ._responses_api import answer as answer_responses
from ._state import MockState, Reply

Endpoint = Callable[[Request], Awaitable[Response]]


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
    "GET /v1/models",
    "GET /v1/models/{model}",
    "GET /health",
    "GET /",
    "GET|DELETE /_llm_mock/requests",
    "GET /_llm_mock/collection",
)


def create_app(state: MockState) -> Starlette:
    """One app per server; every route answers through `state`. The route table is built
    once per process and shared: endpoints find their server's state on the app."""
    app = Starlette(routes=_routes(), exception_handlers={HTTPException: _http_error})
    app.state.mock = state
    return app


Handler = Callable[[MockState, HttpRequest, Request], Reply]


def _guarded(handler: Handler, errors: Callable[[Reply], Reply] = lambda reply: reply) -> Endpoint:
    """An endpoint that reads the body within the limit, never lets an exception out, and
    gives every error reply the route's error shape (`errors`)."""

    async def endpoint(request: Request) -> Response:
        received_at = time.monotonic()
        state: MockState = request.app.state.mock
        client = request.client.host if request.client is not None else ""
        try:
            body = await _read_body(request, state.max_body_bytes)
        except ClientDisconnect:
            # Nobody is left to read an answer; the journal still shows the attempt.
            http = HttpRequest(request.method, request.scope["path"], request.headers.items(), b"")
            state.record(http, 400, miss="the client disconnected before sending its body")
            return Response(status_code=400)
        http = HttpRequest(
            request.method,
            request.scope["path"],
            request.headers.items(),
            body or b"",
            received_at,
            client,
        )
        try:
            reply = errors(state.too_large(http) if body is None else handler(state, http, request))
            response = _response(reply)
        except Exception as exc:
            # Never swallowed: the test that caused it fails with this traceback.
            state.errors.append(exc)
            state.record(http, 500, miss=f"the mock server raised {exc!r}")
            error = error_object(
                f"pytest-llm-mock raised {type(exc).__name__}: {exc}", "server_error"
            )
            # A bug answers the same every time: retrying only slows the test down.
            return _response(errors(Reply(500, dumps(error), (("x-should-retry", "false"),))))
        if reply.delivery.delay and await pause(reply.delivery.delay, request.receive):
            return Response(status_code=499)  # the client left while we waited
        return response

    return endpoint


def _api(answer: Callable[[MockState, HttpRequest, object], Reply]) -> Handler:
    def handler(state: MockState, http: HttpRequest, _: Request) -> Reply:
        return state.api(http, partial(answer, state))

    return handler


def _models(state: MockState, http: HttpRequest, _: Request) -> Reply:
    return state.models(http)


def _model(state: MockState, http: HttpRequest, request: Request) -> Reply:
    return state.model(http, str(request.path_params["model"]))


def _health(state: MockState, http: HttpRequest, _: Request) -> Reply:
    state.record(http, 200)
    return Reply(200, dumps({"status": "ok"}))


def _root(state: MockState, http: HttpRequest, _: Request) -> Reply:
    state.record(http, 200)
    return Reply(200, dumps(_summary(state)))


async def _journal(request: Request) -> Response:
    state: MockState = request.app.state.mock
    if request.method == "DELETE":
        state.reset()
        return Response(status_code=204)
    body = [r.to_json() for r in state.journal.snapshot()]
    return Response(dumps(body), media_type="application/json")


async def _collection(request: Request) -> Response:
    state: MockState = request.app.state.mock
    return Response(dumps(state.describe()), media_type="application/json")


_ROUTES: list[Route] = []


def _routes() -> list[Route]:
    if _ROUTES:
        return _ROUTES
    chat, embeddings = _guarded(_api(answer_chat)), _guarded(_api(answer_embeddings))
    responses, completions = _guarded(_api(answer_responses)), _guarded(_api(answer_completions))
    messages = _guarded(_api(answer_messages), anthropic_errors)
    models, model = _guarded(_models), _guarded(_model)
    routes = []
    for prefix in ("/v1", ""):
        routes += [
            Route(f"{prefix}/chat/completions", chat, methods=["POST"]),
            Route(f"{prefix}/embeddings", embeddings, methods=["POST"]),
            Route(f"{prefix}/responses", responses, methods=["POST"]),
            Route(f"{prefix}/completions", completions, methods=["POST"]),
            Route(f"{prefix}/messages", messages, methods=["POST"]),
            Route(f"{prefix}/models", models, methods=["GET"]),
            Route(f"{prefix}/models/{{model:llm_mock_model_id}}", model, methods=["GET"]),
        ]
    routes += [
        Route("/health", _guarded(_health), methods=["GET"]),
        Route("/", _guarded(_root), methods=["GET"]),
        # Inspection, for suites in other languages; never recorded themselves.
        Route("/_llm_mock/requests", _journal, methods=["GET", "DELETE"]),
        Route("/_llm_mock/collection", _collection, methods=["GET"]),
    ]
    _ROUTES[:] = routes
    return _ROUTES


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    state: MockState = request.app.state.mock
    http = HttpRequest(request.method, request.scope["path"], request.headers.items(), b"")
    served = "; ".join(SERVED)
    if exc.status_code == 405:
        message = (
            f"{request.method} is not allowed on {request.scope['path']}. "
            f"pytest-llm-mock serves: {served}."
        )
        error = error_object(message, "invalid_request_error", code="method_not_allowed")
    else:
        message = (
            f"Unknown route: {request.method} {request.scope['path']}. "
            f"pytest-llm-mock serves: {served}."
        )
        error = error_object(message, "invalid_request_error", code="unknown_url")
    state.record(http, exc.status_code, miss=message)
    return _response(Reply(exc.status_code, dumps(error), tuple((exc.headers or {}).items())))


def _response(reply: Reply) -> Response:
    if reply.stream is not None:
        return EventStream(reply)
    return Response(
        reply.body,
        status_code=reply.status,
        headers=dict(reply.headers),
        media_type="application/json",
    )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or `None` as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _summary(state: MockState) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "name": "pytest-llm-mock",
        "version": version("pytest-llm-mock"),
        "collection": state.collection.describe(),
        "examples": len(state.collection.examples),
        "match": state.strategy.name,
        "requests": len(state.journal),
        "routes": list(SERVED),
    }
