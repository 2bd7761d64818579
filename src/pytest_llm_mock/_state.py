"""A test's scope: the collection it is served, responses added from Python, faults,
sequence counters and the journal. It decides every answer; the app only carries bytes in
and out.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from . import providers
from ._capture import Capturer
from ._collection import (
    CHAT_PATH,
    Collection,
    Example,
    empty_collection,
)
from ._depth import TooDeep, loads
from ._faults import Delivery, Failure, RateLimit, StreamFault
from ._http import (
    HttpRequest,
    api_key,
    content_type_error,
    dedupe,
    json_error,
)
from ._journal import Journal, RecordedRequest, redact, retry_delay
from ._matching import CONVERSATION, Index, Strategy
from ._openai import (
    dumps,
    error_object,
    model_object,
    models_list,
)
from ._record import Recorder
from ._request import ChatRequest
from ._responses import AddedResponse

if TYPE_CHECKING:
    from ._scopes import ServerState

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
MODELS_KEPT = 1_000  # models requested that /v1/models lists (the first 1,000 since a reset)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: a JSON body, or with `stream` the SSE events to send instead.
    `stream_error`, when given, is what ends a stream broken with an error (a provider's
    own framing: an AWS event-stream exception message); else the stream's default."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    stream: tuple[bytes, ...] | None = None
    delivery: Delivery = field(default_factory=Delivery)
    stream_error: bytes | None = None


class Scope:
    """What one test owns (`ServerState` holds what lasts): the collection it is served,
    its journal, responses added from Python, faults, counters and settings. Requests arrive
    on the server thread; the test thread sets it up and reads the journal.

    Number 0 is the server's own scope (`serve`, a plain `LLMMockServer`); a test's scope
    has a number of its own, and clients reach it under the URL prefix `/_t/<number>`."""

    def __init__(self, server: ServerState, number: int, name: str) -> None:
        self.server = server
        self.number = number
        self.name = name  # the test, for reports of requests that came after it ended
        self.errors: list[BaseException] = []
        self.journal = Journal(
            limit=server.journal_limit, errors=self.errors, max_size=server.journal_max_size
        )
        # Models requested, in order of first request, noted as they come: /v1/models lists
        # them without reading the journal.
        self.requested_models: dict[str, None] = {}
        self.responses: list[AddedResponse] = []
        self.counters: dict[Hashable, int] = {}
        # Responses conversations by response id, least recently used first (bounded).
        self.conversations: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._added = 0
        self.api_key = server.default_api_key
        self.chunk_size = server.default_chunk_size
        self.delivery = Delivery()  # latency and chunk delay for every answer of a test
        self.failures: list[Failure] = []
        self.stream_faults: list[StreamFault] = []
        self.rate_limit = _fresh(server.default_rate_limit)
        self.recorder: Recorder | None = None  # record mode: misses go upstream
        self.capturer: Capturer | None = None  # capture mode: misses become draft items
        self.collection = empty_collection()
        # Where collection.json was looked for, when the embedded default answers instead.
        self.fallback: str | None = None
        self.strategy = CONVERSATION
        self.index = self.index_for(self.collection, self.strategy)

    @property
    def prefix(self) -> str:
        """The path prefix that reaches this scope (none for the server's own)."""
        return f"/_t/{self.number}" if self.number else ""

    @property
    def lock(self) -> threading.Lock:
        return self.server.lock

    @property
    def max_body_bytes(self) -> int:
        return self.server.max_body_bytes

    def use(self, collection: Collection, strategy: Strategy) -> None:
        """Serve `collection` matched by `strategy`; the index is built once per pair."""
        index = self.index_for(collection, strategy)
        with self.lock:
            self.collection, self.strategy, self.index = collection, strategy, index

    def index_for(self, collection: Collection, strategy: Strategy, path: str = CHAT_PATH) -> Index:
        return self.server.index_for(collection, strategy, path)

    def reset(self) -> None:
        """Forget requests, counters, added responses, faults and settings."""
        with self.lock:
            self.journal.clear()
            self.requested_models.clear()
            self.responses.clear()
            self.counters.clear()
            self.errors.clear()
            self._added = 0
            self.chunk_size = self.server.default_chunk_size
            self.api_key = self.server.default_api_key
            self.delivery = Delivery()
            self.failures.clear()
            self.stream_faults.clear()
            self.rate_limit = _fresh(self.server.default_rate_limit)
            self.conversations.clear()

    def clear(self) -> None:
        """What a client may reset over HTTP: the journal and the sequence counters. Settings
        made from Python (key, added responses, faults) stay until the test ends."""
        with self.lock:
            self.journal.clear()
            self.requested_models.clear()
            self.counters.clear()

    def add(self, build: Callable[[int], AddedResponse]) -> AddedResponse:
        """Add a response built by `build(number)`; numbers count from 1 in each test."""
        with self.lock:
            self._added += 1
            response = build(self._added)
            self.responses.append(response)
        return response

    # -- chat completions ---------------------------------------------------------------

    def fail_next(self, build: Callable[[int], Failure]) -> None:
        with self.lock:
            self.failures.append(build(len(self.failures) + 1))

    def api(
        self,
        http: HttpRequest,
        answer: Callable[[HttpRequest, object], Reply],
        *,
        model: str | None = None,
    ) -> Reply:
        """An API route: key and rate limit first, then the JSON body, then `answer`.
        `model`: the model the path names (Gemini, Bedrock), journaled with a refusal."""
        refused = self._refuse(http)
        if refused is not None:
            self.record(http, refused.status, model=model)
            return refused
        limit_headers: tuple[tuple[str, str], ...] = ()
        if self.rate_limit is not None:
            who = api_key(http) or "" if self.rate_limit.per == "key" else http.client
            allowed, limit_headers = self.rate_limit.take(who, http.received_at)
            if not allowed:
                return self._rate_limited(http, limit_headers, model)
        decoded = self._decode(http, model)
        reply = decoded if isinstance(decoded, Reply) else answer(http, decoded)
        if limit_headers:
            reply = replace(reply, headers=dedupe((*reply.headers, *limit_headers)))
        if self.delivery.delay and not reply.delivery.delay:  # the test's latency, by default
            reply = replace(reply, delivery=replace(reply.delivery, delay=self.delivery.delay))
        return reply

    def _rate_limited(
        self, http: HttpRequest, headers: tuple[tuple[str, str], ...], model: str | None
    ) -> Reply:
        limit = self.rate_limit
        assert limit is not None
        wait = dict(headers)["retry-after-ms"]
        error = error_object(
            f"Rate limit reached for requests: limit {limit.requests} per {limit.window:g}s "
            f"(pytest-llm-mock rate_limit). Please try again in {wait}ms.",
            "requests",
            code="rate_limit_exceeded",
        )
        self.record(http, 429, reply_headers=headers, model=model)
        return Reply(429, dumps(error), headers)

    def _decode(self, http: HttpRequest, model: str | None) -> object:
        """The decoded JSON body, or the error reply for a body that is not JSON."""
        wrong_type = content_type_error(http)
        if wrong_type is not None:
            return self.reject(http, None, 415, wrong_type, model=model)
        if not http.body.strip():
            return self.reject(http, None, 400, json_error("the request has no body"), model=model)
        try:
            decoded = loads(http.body)
        except TooDeep as exc:
            return self.reject(http, None, 400, json_error(f"the JSON is {exc}"), model=model)
        except ValueError as exc:
            return self.reject(http, None, 400, json_error(str(exc)), model=model)
        return decoded

    def scripted_failure(self, model: str | None) -> Failure | None:
        """The pending `fail_next` for this model, counted as used."""
        for failure in self.failures:
            if failure.applies_to(model):
                failure.used += 1
                return failure
        return None

    def reject(
        self,
        http: HttpRequest,
        decoded: object,
        status: int,
        error: object,
        *,
        model: str | None = None,
    ) -> Reply:
        self.record(http, status, decoded, model=model)
        return Reply(status, dumps(error))

    def describe(self) -> dict[str, Any]:
        """What is loaded, and each example's match key under the active strategy and the
        door (the provider's API) its path belongs to."""
        examples = []
        for example in self.collection.examples:
            view = self.strategy.view(example.request) if example.request is not None else ()
            door = providers.door_of(example.method, example.path)
            examples.append(
                {
                    "name": example.full_name,
                    "method": example.method,
                    "path": example.path,
                    "door": door.name if door is not None else None,
                    "status": example.status,
                    "model": example.model,
                    "key": [{"label": label, "text": text} for _, label, text in view],
                }
            )
        return {
            "name": self.collection.name,
            "path": str(self.collection.path) if self.collection.path else None,
            "match": self.strategy.name,
            "examples": examples,
        }

    # -- the other routes ---------------------------------------------------------------

    def model_ids(self) -> list[str]:
        """The collection's models, then added responses' models, then models requested."""
        ids = dict.fromkeys(self.collection.models)
        ids.update(dict.fromkeys(r.model for r in self.responses if r.model is not None))
        ids.update(self.requested_models.copy())  # copied at once: the server adds to it
        return [m for m in ids if m is not None]

    def too_large(self, http: HttpRequest) -> Reply:
        limit = self.max_body_bytes
        error = error_object(
            f"The request body is larger than the server's limit of {limit} bytes.",
            "invalid_request_error",
            code="request_too_large",
        )
        self.record(http, 413)
        return Reply(413, dumps(error))

    def _refuse(self, http: HttpRequest) -> Reply | None:
        """A 401 when a key is required and the request does not carry it."""
        if self.api_key is None:
            return None
        given = api_key(http)
        if given == self.api_key:
            return None
        shown = "no API key" if given is None else f"the API key {given[:3]}…{given[-4:]}"
        error = error_object(
            f"Incorrect API key provided: the request sent {shown}. pytest-llm-mock was told "
            "to require a key (require_api_key).",
            "invalid_request_error",
            code="invalid_api_key",
        )
        return Reply(401, dumps(error))

    def models(self, http: HttpRequest) -> Reply:
        refused = self._refuse(http)
        if refused is not None:
            self.record(http, 401)
            return refused
        self.record(http, 200)
        return Reply(200, dumps(models_list(self.model_ids())))

    def model(self, http: HttpRequest, model_id: str) -> Reply:
        if model_id in self.model_ids():
            self.record(http, 200)
            return Reply(200, dumps(model_object(model_id)))
        error = error_object(
            f"The model `{model_id}` does not exist or you do not have access to it.",
            "invalid_request_error",
            code="model_not_found",
        )
        self.record(http, 404)
        return Reply(404, dumps(error))

    def record(
        self,
        http: HttpRequest,
        status: int,
        decoded: object = None,
        *,
        request: ChatRequest | None = None,
        miss: str | None = None,
        reply_headers: Sequence[tuple[str, str]] = (),
        name: str | None = None,
        example: Example | None = None,
        model: str | None = None,
    ) -> None:
        """Journal a request. Its entry (`recorded`) is built when the test reads the
        journal, not on the way to every answer; until then it keeps what the entry needs,
        not the request's body or its parsed form. `model` is the model a provider names in
        the path (Gemini, Bedrock), for a body that names none."""
        named = decoded.get("model") if isinstance(decoded, dict) else None
        model = named if isinstance(named, str) and named else model
        if isinstance(model, str) and model and len(self.requested_models) < MODELS_KEPT:
            self.requested_models[model] = None
        entry = partial(
            recorded,
            http.without_body(),
            decoded,
            status=status,
            # A Responses request has no `messages` in its body: read as chat messages.
            messages=request.body.get("messages") if request is not None else None,
            stream=request.stream if request is not None else False,
            last_user_message=request.last_user_message if request is not None else None,
            miss=miss,
            reply_headers=reply_headers,
            name=name,
            example=example,
            model=model,
        )
        size = len(http.body) + sum(len(k) + len(v) for k, v in http.raw_headers)
        self.journal.defer(http.received_at, entry, miss=miss is not None, size=size)


def recorded(
    http: HttpRequest,
    decoded: object,
    *,
    status: int,
    messages: object = None,
    stream: bool = False,
    last_user_message: str | None = None,
    name: str | None = None,
    example: Example | None = None,
    miss: str | None = None,
    reply_headers: Sequence[tuple[str, str]] = (),
    model: str | None = None,
) -> RecordedRequest:
    """The journal entry of a request; `messages` and `model` stand in when the body has
    none."""
    body: Any = decoded
    if isinstance(body, dict) and body.get("messages") is not None:
        messages = body["messages"]
    named = body.get("model") if isinstance(body, dict) else None
    model = named if isinstance(named, str) else model
    return RecordedRequest(
        method=http.method,
        path=http.path,
        headers=redact(http.headers),
        json=body,
        model=model if isinstance(model, str) else None,
        messages=messages if isinstance(messages, list) else [],
        stream=stream,
        last_user_message=last_user_message,
        example=name,
        status=status,
        miss=miss,
        answered_by=example,
        received_at=http.received_at,
        retry_count=_retry_count(http),
        retry_after=retry_delay(reply_headers),
        sending=http.sending,
    )


def _retry_count(http: HttpRequest) -> int | None:
    value = http.header("x-stainless-retry-count")
    # isascii: "²" is a digit to isdigit(), not to int().
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def _fresh(limit: RateLimit | None) -> RateLimit | None:
    return RateLimit(limit.requests, limit.window, limit.per) if limit is not None else None
