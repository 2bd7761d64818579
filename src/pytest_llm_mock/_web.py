"""The web page, `GET /_llm_mock/`: its HTML, CSS and JavaScript (in `web/`, shipped in the
package) and the JSON it reads. Thin: the views are `_web_json`'s, the live feed
`_web_live`'s, saving an answer `_web_edits`'s.

Every URL the page uses is relative to the page, so it works under a test's prefix
(`/_t/N/_llm_mock/`) too. When the server requires an API key, the JSON does as well (the
page asks for the key once); the page itself holds no data.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._http import HttpRequest, api_key
from ._openai import dumps, error_object
from ._state import Scope as TestScope
from ._web_edits import Refused, check_token, refusal, save
from ._web_json import detail, parse_id, row, tree
from ._web_live import stream

WEB = Path(__file__).with_name("web")
PAGE_SIZE = 100  # rows a page of the requests table holds, unless it asks for another size
PAGE_SIZE_MAX = 1_000
_STATIC = {
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}
# The page runs only its own script and style, talks only to this server, and cannot be
# framed: content that slipped through as markup would still not run.
_PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def routes() -> list[Route]:
    return [
        Route("/_llm_mock/", _page, methods=["GET"]),
        *(Route(f"/_llm_mock/{name}", _static, methods=["GET"]) for name in _STATIC),
        Route("/_llm_mock/api/info", _info, methods=["GET"]),
        Route("/_llm_mock/api/requests", _requests, methods=["GET"]),
        Route("/_llm_mock/api/requests/{id}", _request, methods=["GET"]),
        Route("/_llm_mock/api/misses", _misses, methods=["GET"]),
        Route("/_llm_mock/api/events", _Events(), methods=["GET"]),
        Route("/_llm_mock/api/collection", _collection, methods=["GET"]),
        Route("/_llm_mock/api/answers", _answers, methods=["POST"]),
    ]


@cache
def _file(name: str) -> bytes:
    return (WEB / name).read_bytes()


async def _page(request: Request) -> Response:
    return Response(_file("index.html"), media_type="text/html", headers=_PAGE_HEADERS)


async def _static(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[1]
    headers = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
    return Response(_file(name), media_type=_STATIC[name], headers=headers)


def _state(request: Request) -> TestScope:
    state: TestScope = request.scope["llm_mock"]
    return state


def _json(body: object, status: int = 200) -> Response:
    return Response(
        dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store", "x-content-type-options": "nosniff"},
    )


def _error(status: int, message: str, code: str) -> Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return _json(error_object(message, kind, code=code), status)


def _locked(state: TestScope, scope: Scope) -> Response | None:
    """The 401 for a request without the key the server requires (as the API answers)."""
    if state.api_key is None:
        return None
    given = api_key(HttpRequest(scope["method"], scope["path"], scope["headers"], b""))
    if given == state.api_key:
        return None
    return _error(
        401,
        "This server requires an API key (require_api_key): send it as a bearer token, "
        "as the API's clients do.",
        "invalid_api_key",
    )


async def _info(request: Request) -> Response:
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked
    edits = state.server.edits
    client = request.client.host if request.client else ""
    refused = refusal(edits, client, request.headers)
    journal = state.journal
    return _json(
        {
            "name": "pytest-llm-mock",
            "version": version("pytest-llm-mock"),
            "test": state.name if state.number else None,
            "collection": state.collection.describe(),
            "examples": len(state.collection.examples),
            "match": state.strategy.name,
            "requests": len(journal) + journal.dropped,
            "misses": journal.miss_count,
            "edits": {
                "allowed": refused is None,
                "reason": refused,
                "token": edits.token if edits is not None and refused is None else None,
                "watching": edits.watching if edits is not None else False,
            },
        }
    )


async def _requests(request: Request) -> Response:
    """A page of the requests table, newest first: the `limit` received before `before`."""
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked
    query = request.query_params
    before = parse_id(query["before"]) if "before" in query else None
    limit = query.get("limit", "")
    size = min(int(limit), PAGE_SIZE_MAX) if limit.isdigit() and int(limit) else PAGE_SIZE
    journal = state.journal
    entries = await run_in_threadpool(journal.newest, size + 1, before)
    more = len(entries) > size
    rows = [row(e) for e in reversed(entries[-size:])]
    return _json(
        {
            "rows": rows,
            "more": more,
            "kept": len(journal),
            "dropped": journal.dropped,
            "misses": journal.miss_count,
        }
    )


async def _request(request: Request) -> Response:
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked
    at = parse_id(request.path_params["id"])
    entry = state.journal.at(at) if at is not None else None
    if entry is None:
        return _error(
            404, "No such request in the journal (it may have been dropped).", "not_found"
        )
    return _json(await run_in_threadpool(detail, entry, state))


async def _misses(request: Request) -> Response:
    """The requests nothing answered, newest first (kept apart from the journal's limit)."""
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked
    misses = await run_in_threadpool(state.journal.misses)
    return _json({"rows": [row(e) for e in reversed(misses)], "count": state.journal.miss_count})


async def _collection(request: Request) -> Response:
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked

    def build() -> dict[str, Any]:
        return tree(state, state.journal.snapshot(), state.journal.dropped)

    return _json(await run_in_threadpool(build))


class _Events:
    """The live feed: an ASGI endpoint, as it streams until the page goes away."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: TestScope = scope["llm_mock"]
        locked = _locked(state, scope)
        if locked is not None:
            await locked(scope, receive, send)
            return
        await stream(state.journal, receive, send)


async def _answers(request: Request) -> Response:
    """Save an answer to a miss into the collection file (403 unless allowed, see
    `_web_edits`)."""
    state = _state(request)
    locked = _locked(state, request.scope)
    if locked is not None:
        return locked
    edits = state.server.edits
    client = request.client.host if request.client else ""
    refused = refusal(edits, client, request.headers)
    try:
        if refused is not None:
            raise Refused(403, refused)
        assert edits is not None
        check_token(edits, request.headers)
        payload = await _payload(request)
        at = parse_id(str(payload.get("request", "")))
        entry = state.journal.at(at) if at is not None else None
        if entry is None:
            raise Refused(404, "No such request in the journal (it may have been dropped).")
        return _json(await run_in_threadpool(save, edits, entry, payload))
    except Refused as exc:
        code = {403: "forbidden", 404: "not_found"}.get(exc.status, "invalid_request")
        return _error(exc.status, exc.message, code)


async def _payload(request: Request) -> dict[str, Any]:
    if "application/json" not in request.headers.get("content-type", ""):
        raise Refused(400, "Send the answer as JSON (Content-Type: application/json).")
    try:
        payload = json.loads(await request.body())
    except ValueError:
        raise Refused(400, "The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise Refused(400, "The body must be a JSON object.")
    return payload
