"""Chat completions: answering `POST /v1/chat/completions` from the state's added responses,
collection and faults. The gate before it (key, rate limit, JSON body) is `Scope.api`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from ._collection import CHAT_PATH, CollectionError, Example
from ._explain import explain_added, explain_miss, explain_selection
from ._faults import Failure, delivery_from_controls
from ._http import HttpRequest, Selection, dedupe, postman_selection
from ._matching import Index
from ._openai import digest, dumps, error_object, status_error
from ._record import RecordError, Upstream
from ._request import ChatRequest, RequestError, parse_chat_request
from ._responses import AddedResponse
from ._state import Reply, Scope
from ._stream import render

_CACHED_BODY_LIMIT = 64 * 1024  # bytes of request body up to which a rendered reply is kept


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = parse_chat_request(decoded)
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    with state.lock:
        return _answer(state, http, request)


@dataclass(frozen=True)
class Miss:
    """Nothing answers: the explanation, and whether record mode should ask upstream."""

    text: str
    record: bool = False


Choice = Failure | AddedResponse | Example | Miss


def choose(
    state: Scope, http: HttpRequest, request: ChatRequest, indexes: Sequence[Index]
) -> Choice:
    """What answers `request`: a queued failure, an added response, or an example of the
    first index that has one (Postman's selection headers and sequences included)."""
    failure = state.scripted_failure(request.model)
    if failure is not None:
        return failure
    for response in state.responses:
        if response.matches(request):
            response.used += 1
            return response
    selection = postman_selection(http)
    found: tuple[Example, ...] = ()
    sequence: Hashable = None
    for index in indexes:
        if selection.name is not None:
            found = index.named(selection.name)
            sequence = ("selected", selection.name, selection.status)
        else:
            key = state.strategy.key(request)
            candidates = index.lookup(key, request.model) if key is not None else None
            if candidates is not None:
                found, sequence = candidates.examples, candidates.sequence
        if found:
            break
    matched = found
    if selection.status is not None:
        found = tuple(e for e in found if e.status == selection.status)
    if not found:
        # A selection explains the miss when it named an example or filtered some out.
        if selection.name is not None or matched:
            text = explain_selection(selection.name, selection.status, state.collection, indexes[0])
            return Miss(text)
        examples = [e for index in indexes for e in index.keyed_examples()]
        text = explain_miss(
            request, state.strategy, state.collection, examples, fallback=state.fallback
        )
        if state.responses:
            text += "\n" + explain_added(state.responses, request)
        return Miss(text, record=selection == Selection())
    position = state.counters.get((sequence, selection.status), 0)
    state.counters[(sequence, selection.status)] = position + 1
    return found[min(position, len(found) - 1)]


def _answer(state: Scope, http: HttpRequest, request: ChatRequest) -> Reply:
    choice = choose(state, http, request, [state.index])
    if isinstance(choice, Failure):
        headers = choice.headers()
        _record(state, http, request, choice.status, name=choice.name, headers=headers)
        return Reply(choice.status, dumps(status_error(choice.status, choice.message)), headers)
    if isinstance(choice, Miss):
        choice = captured(state, request, choice)
        if choice.record and state.recorder is not None:
            recorded_example = record_upstream(state, http, request, CHAT_PATH, request.body)
            if isinstance(recorded_example, Reply):
                return recorded_example
            return _reply(state, http, request, recorded_example)
        return miss_reply(state, http, request, choice)
    return _reply(state, http, request, choice)


def identify(state: Scope, source: Example | AddedResponse) -> tuple[Example | None, str, str]:
    """The example behind an answer (if any), the name reports show, and the seed its built
    ids derive from."""
    if isinstance(source, Example):
        return source, source.full_name, source.uid
    return None, source.name, f"{source.name}/{state.collection.name}"


def _reply(
    state: Scope, http: HttpRequest, request: ChatRequest, source: Example | AddedResponse
) -> Reply:
    """The answer of an example or an added response, as JSON or as a stream."""
    example, name, seed = identify(state, source)
    chunk_size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
    # The same request to the same answer gets the same reply: keep it (per test).
    cache_key = (id(source), http.path, http.body, chunk_size)
    reply = state.rendered.get(cache_key)
    if reply is None:
        reply = _render(http, request, source, name=name, seed=seed, chunk_size=chunk_size)
        # Kept for small requests only: a cache keyed on large bodies would hold them all.
        if len(state.rendered) < 1024 and len(http.body) <= _CACHED_BODY_LIMIT:
            state.rendered[cache_key] = reply
    delivery = state.delivery.merged(reply.delivery)
    if reply.stream is not None and state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    if delivery != reply.delivery:
        reply = replace(reply, delivery=delivery)
    _record(state, http, request, reply.status, name=name, example=example, headers=source.headers)
    return reply


def _render(
    http: HttpRequest,
    request: ChatRequest,
    source: Example | AddedResponse,
    *,
    name: str,
    seed: str,
    chunk_size: int,
) -> Reply:
    status = source.status
    body, stream = render(source.answer, status, seed=seed, request=request, chunk_size=chunk_size)
    headers = [
        *source.headers,
        (
            "x-request-id",
            "req_" + digest(seed, http.path, http.body.decode("utf-8", "replace"))[:32],
        ),
        ("x-llm-mock-example", quote(name, safe=" /()[]#,.:;'!@&=+-_")),
    ]
    return Reply(status, body, dedupe(headers), stream, delivery_from_controls(source.controls))


def record_upstream(
    state: Scope, http: HttpRequest, request: ChatRequest, path: str, body: object
) -> Example | Reply:
    """Record mode: ask the upstream, save its answer as a new example on `path`, serve the
    reloaded collection, and return the new example (or the 502 saying why not).

    Chat streams are recorded as they come; the other APIs are asked for JSON, which the
    mock streams itself when a client asks for a stream."""
    recorder = state.recorder
    assert recorder is not None
    try:
        hint = request.last_user_message or request.model
        sent = http.body
        if path != CHAT_PATH and isinstance(body, dict) and body.get("stream"):
            sent = dumps({**body, "stream": False})
        answer = _unlocked(state, lambda: recorder.forward(sent, path))
        saved = body if isinstance(body, dict) else dict(request.body)
        collection, name = recorder.save(saved, answer, hint=hint, path=path)
    except (RecordError, CollectionError) as exc:
        text = f"record mode: {exc}"
        error = error_object(text, "server_error", code="llm_mock_record_failed")
        _record(state, http, request, 502, miss=text)
        return Reply(502, dumps(error), (("x-should-retry", "false"),))
    state.collection = collection
    state.index = state.index_for(collection, state.strategy)
    (example,) = state.index_for(collection, state.strategy, path).named(name)
    return example


def captured(
    state: Scope, request: ChatRequest, miss: Miss, path: str = CHAT_PATH, body: object = None
) -> Miss:
    """Capture mode (and not record mode): the miss saved as a draft item of the collection
    file, `body` (the request as sent, when it is not a chat completion) on `path`."""
    capturer = state.capturer
    if capturer is None or state.recorder is not None or not miss.record:
        return miss
    hint = request.last_user_message or request.model or "request"
    saved = body if isinstance(body, dict) else request.body
    try:
        name, new = capturer.capture(saved, path, hint)
    except (OSError, ValueError) as exc:
        return replace(
            miss, text=f"{miss.text}\nCapture mode could not write {capturer.path}: {exc}"
        )
    said = "captured as draft" if new else "already captured as draft"
    return replace(
        miss,
        text=f"{miss.text}\nThe request was {said} {name!r} in {capturer.path}: fill in its "
        "answer (replace the placeholder body of its example), in Postman or any editor.",
    )


def _unlocked(state: Scope, call: Callable[[], Upstream]) -> Upstream:
    """`call()` with the state's lock, which every caller of `record_upstream` holds, let go:
    other requests are answered while the upstream takes its time."""
    state.lock.release()
    try:
        return call()
    finally:
        state.lock.acquire()


def miss_reply(state: Scope, http: HttpRequest, request: ChatRequest, miss: Miss) -> Reply:
    error = error_object(miss.text, "invalid_request_error", code="llm_mock_no_match")
    _record(state, http, request, 404, miss=miss.text)
    return Reply(404, dumps(error), (("x-should-retry", "false"),))


def _record(
    state: Scope,
    http: HttpRequest,
    request: ChatRequest,
    status: int,
    *,
    name: str | None = None,
    example: Example | None = None,
    miss: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    state.record(
        http,
        status,
        request.body,
        request=request,
        name=name,
        example=example,
        miss=miss,
        reply_headers=headers,
    )
