"""Chat completions: answering `POST /v1/chat/completions` from the state's added responses,
collection and faults. The gate before it (key, rate limit, JSON body) is `MockState.api`."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace
from urllib.parse import quote

from ._collection import CollectionError, Example
from ._explain import explain_miss, explain_selection
from ._faults import delivery_from_controls
from ._http import HttpRequest, Selection, dedupe, json_error, postman_selection
from ._openai import digest, dumps, error_object, status_error
from ._record import Recorder, RecordError
from ._request import ChatRequest, RequestError, parse_chat_request
from ._responses import AddedResponse
from ._state import MockState, Reply, recorded
from ._stream import render


def answer(state: MockState, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = parse_chat_request(decoded)
    except RecursionError:
        return state.reject(http, None, 400, json_error("the JSON is nested too deeply"))
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    with state.lock:
        return _answer(state, http, request)


def _answer(state: MockState, http: HttpRequest, request: ChatRequest) -> Reply:
    failure = state.scripted_failure(request.model)
    if failure is not None:
        error = status_error(failure.status, failure.message)
        headers = failure.headers()
        _record(state, http, request, failure.status, name=failure.name, headers=headers)
        return Reply(failure.status, dumps(error), headers)
    for response in state.responses:
        if response.matches(request):
            response.used += 1
            return _reply(state, http, request, response)
    selection = postman_selection(http.headers)
    if selection.name is not None:
        found = state.index.named(selection.name)
        sequence: Hashable = ("selected", selection.name, selection.status)
    else:
        key = state.strategy.key(request)
        candidates = state.index.lookup(key, request.model) if key is not None else None
        found = candidates.examples if candidates is not None else ()
        sequence = candidates.sequence if candidates is not None else None
    matched = found
    if selection.status is not None:
        found = tuple(e for e in found if e.status == selection.status)
    if not found and state.recorder is not None and selection == Selection():
        return _record_upstream(state, http, request, state.recorder)
    if not found:
        # A selection explains the miss when it named an example or filtered some out.
        explained_by = selection if selection.name is not None or matched else None
        return _miss(state, http, request, explained_by)
    position = state.counters.get((sequence, selection.status), 0)
    state.counters[(sequence, selection.status)] = position + 1
    example = found[min(position, len(found) - 1)]
    return _reply(state, http, request, example)


def _reply(
    state: MockState, http: HttpRequest, request: ChatRequest, source: Example | AddedResponse
) -> Reply:
    """The answer of an example or an added response, as JSON or as a stream."""
    example = source if isinstance(source, Example) else None
    name = source.full_name if isinstance(source, Example) else source.name
    seed = example.uid if example is not None else f"{name}/{state.collection.name}"
    status = source.status
    chunk_size = int(source.controls.get("chunk-size", 0))
    body, stream = render(
        source.answer,
        status,
        seed=seed,
        request=request,
        chunk_size=chunk_size or state.chunk_size,
    )
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    if stream is not None and state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    headers = [
        *source.headers,
        (
            "x-request-id",
            "req_" + digest(seed, http.path, http.body.decode("utf-8", "replace"))[:32],
        ),
        ("x-llm-mock-example", quote(name, safe=" /()[]#,.:;'!@&=+-_")),
    ]
    _record(state, http, request, status, name=name, example=example, headers=source.headers)
    return Reply(status, body, dedupe(headers), stream, delivery)


def _record_upstream(
    state: MockState, http: HttpRequest, request: ChatRequest, recorder: Recorder
) -> Reply:
    """Ask the upstream, save its answer as a new example, and answer with it."""
    try:
        collection, name = recorder.save(request, recorder.forward(http.body))
    except (RecordError, CollectionError) as exc:
        text = f"record mode: {exc}"
        error = error_object(text, "server_error", code="llm_mock_record_failed")
        _record(state, http, request, 502, miss=text)
        return Reply(502, dumps(error), (("x-should-retry", "false"),))
    state.collection = collection
    state.index = state.index_for(collection, state.strategy)
    (example,) = state.index.named(name)
    return _reply(state, http, request, example)


def _miss(
    state: MockState, http: HttpRequest, request: ChatRequest, selection: Selection | None = None
) -> Reply:
    if selection is not None:
        text = explain_selection(selection.name, selection.status, state.collection, state.index)
    else:
        examples = state.index.keyed_examples()
        text = explain_miss(request, state.strategy, state.collection, examples)
    error = error_object(text, "invalid_request_error", code="llm_mock_no_match")
    _record(state, http, request, 404, miss=text)
    return Reply(404, dumps(error), (("x-should-retry", "false"),))


def _record(
    state: MockState,
    http: HttpRequest,
    request: ChatRequest,
    status: int,
    *,
    name: str | None = None,
    example: Example | None = None,
    miss: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    state.journal.append(
        recorded(
            http,
            request.body,
            request=request,
            status=status,
            name=name,
            example=example,
            miss=miss,
            reply_headers=headers,
        )
    )
