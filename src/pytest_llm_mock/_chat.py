"""Chat completions: answering `POST /v1/chat/completions` from the state's added responses,
collection and faults. The gate before it (key, rate limit, JSON body) is `Scope.api`.

Every door that reads its requests as a chat conversation (the Responses and Messages APIs,
the providers') is answered by `respond`: the same choice, faults, misses, record and capture
modes and journal, the answer written in the door's own shape.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import quote

from . import providers
from ._collection import CHAT_PATH, CollectionError, Example, canonical_path
from ._explain import explain_added, explain_door, explain_miss, explain_selection
from ._faults import Failure, delivery_from_controls
from ._http import HttpRequest, Selection, dedupe, postman_selection
from ._matching import Index, Strategy
from ._openai import digest, dumps, error_object, status_error
from ._record import Forward, RecordError, Upstream
from ._request import ChatRequest, RequestError, parse_chat_request
from ._responses import AddedResponse
from ._state import Reply, Scope
from ._stream import completion, render

_NAME_SAFE = " /()[]#,.:;'!@&=+-_"  # kept as they are in x-llm-mock-example
_NO_RETRY = (("x-should-retry", "false"),)
# What a `fail_next` without a message says on the doors that do not give its status's text.
FAIL_NEXT_TEXT = "The mock server was told to fail (fail_next)."

Headers = tuple[tuple[str, str], ...]
# Writes the answer of an example or added response: (it, the seed, its headers) -> the reply.
Write = Callable[[Example | AddedResponse, str, Headers], Reply]


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        request = parse_chat_request(decoded)
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    write = partial(_reply, state, http=http, request=request)
    return respond(state, http, request, request.body, write, keys=(CHAT_PATH,))


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


def respond(
    state: Scope,
    http: HttpRequest,
    request: ChatRequest,
    decoded: Mapping[str, Any],
    write: Write,
    *,
    keys: Sequence[str],
    strategy: Strategy | None = None,
    path: str | None = None,
    sent: Mapping[str, Any] | None = None,
    forward: Forward | None = None,
    note: str = "",
    model: str | None = None,
    failure_text: str | None = None,
    retry_hint: bool = True,
) -> Reply:
    """The reply to a conversation that came through a door (`decoded`: its body as sent),
    journaled. The example or added response that answers it is written by
    `write(source, seed, headers)` in the door's shape (`seed`: what its built ids derive
    from; `headers`: its saved ones, then `x-llm-mock-example`); a miss or a fault gets an
    OpenAI-shaped error reply, which the door's `errors` shapes.

    - `keys`: the example keys looked in, in order (`CHAT_PATH`: the chat examples), matched
      with `strategy` (the state's unless given).
    - `path`: where record mode saves a miss and capture mode drafts it (`keys[0]` unless
      given); `sent`: what record mode forwards upstream (`decoded` unless given); `forward`:
      where and how it is forwarded (a POST to `path` with a bearer key unless given).
    - `note`: said after every miss's explanation (how the door read the request), before
      the line that names the door it came through.
    - `model`: the journal's model, for a body that names none (the path's).
    - `failure_text`: what a `fail_next` without a message says (its status's text unless
      given); `retry_hint`: whether a miss's reply says `x-should-retry: false`.
    """
    path = keys[0] if path is None else path
    with state.lock:
        strategy = state.strategy if strategy is None else strategy
        indexes = [state.index_for(state.collection, strategy, key) for key in keys]
        choice = choose(state, http, request, indexes)
        recording = isinstance(choice, Miss) and choice.record and state.recorder is not None
        if recording:
            body = decoded if sent is None else sent
            saved = record_upstream(state, http, request, path, body, forward=forward)
            if isinstance(saved, Reply):
                return saved
            choice = saved
        if isinstance(choice, Miss):
            text = captured(state, request, choice, path, decoded).text
            for said in (note, explain_door(http.method, http.path, http.raw_headers)):
                if said:
                    text += f"\n{said}"
            state.record(http, 404, decoded, request=request, miss=text, model=model)
            error = error_object(text, "invalid_request_error", code="llm_mock_no_match")
            return Reply(404, dumps(error), _NO_RETRY if retry_hint else ())
        if isinstance(choice, Failure):
            return failure_reply(
                state, http, choice, decoded, request=request, model=model, text=failure_text
            )
        example, name, seed = identify(state, choice)
        state.record(
            http,
            choice.status,
            decoded,
            request=request,
            name=name,
            example=example,
            reply_headers=choice.headers,
            model=model,
        )
        return write(choice, seed, (*choice.headers, example_header(name)))


def failure_reply(
    state: Scope,
    http: HttpRequest,
    failure: Failure,
    decoded: object,
    *,
    request: ChatRequest | None = None,
    model: str | None = None,
    text: str | None = None,
) -> Reply:
    """A `fail_next`'s error reply, OpenAI-shaped (the door's `errors` shapes it), journaled
    with its retry headers; `text` when the failure has no message, else its status's."""
    headers = failure.headers()
    state.record(
        http,
        failure.status,
        decoded,
        request=request,
        name=failure.name,
        reply_headers=headers,
        model=model,
    )
    error = status_error(failure.status, failure.message or text)
    return Reply(failure.status, dumps(error), headers)


def error_answer(
    source: Example | AddedResponse, request: ChatRequest, state: Scope, seed: str, headers: Headers
) -> Reply:
    """The reply of an error example (or a response added with an error status), for a door
    whose writer has no error shape of its own: an OpenAI-shaped error, which the door's
    `errors` shapes, delivered as the test and the example say (its delay control too)."""
    error = completion(source.answer, source.status, seed=seed, request=request)
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    return Reply(source.status, dumps(error), tuple(headers), None, delivery)


def example_header(name: str) -> tuple[str, str]:
    """`x-llm-mock-example`: the name of what answered, readable but for what HTTP cannot
    carry (non-ASCII) or a name would garble, percent-encoded."""
    return ("x-llm-mock-example", quote(name, safe=_NAME_SAFE))


def identify(state: Scope, source: Example | AddedResponse) -> tuple[Example | None, str, str]:
    """The example behind an answer (if any), the name reports show, and the seed its built
    ids derive from."""
    if isinstance(source, Example):
        return source, source.full_name, source.uid
    return None, source.name, f"{source.name}/{state.collection.name}"


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    http: HttpRequest,
    request: ChatRequest,
) -> Reply:
    """The answer of an example or an added response, as JSON or as a stream."""
    chunk_size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
    # The same request to the same answer gets the same reply: kept, across tests.
    rendered = state.server.rendered
    key = rendered.key(source, seed, http.path, http.body, chunk_size)
    reply = rendered.get(source, key)
    if reply is None:
        reply = _render(http, request, source, headers, seed=seed, chunk_size=chunk_size)
        rendered.put(source, key, reply)
    delivery = state.delivery.merged(reply.delivery)
    if reply.stream is not None and state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    if delivery != reply.delivery:
        reply = replace(reply, delivery=delivery)
    return reply


def _render(
    http: HttpRequest,
    request: ChatRequest,
    source: Example | AddedResponse,
    headers: Headers,
    *,
    seed: str,
    chunk_size: int,
) -> Reply:
    status = source.status
    body, stream = render(source.answer, status, seed=seed, request=request, chunk_size=chunk_size)
    request_id = "req_" + digest(seed, http.path, http.body.decode("utf-8", "replace"))[:32]
    headers = dedupe((*headers, ("x-request-id", request_id)))
    return Reply(status, body, headers, stream, delivery_from_controls(source.controls))


def record_upstream(
    state: Scope,
    http: HttpRequest,
    request: ChatRequest,
    path: str,
    body: object,
    *,
    forward: Forward | None = None,
) -> Example | Reply:
    """Record mode: ask the upstream (as `forward` says: at `path` with a bearer key unless
    given), save its answer as a new example on `path`, serve the reloaded collection, and
    return the new example (or the 502 saying why not).

    Chat streams are recorded as they come; the other APIs are asked for JSON, which the
    mock streams itself when a client asks for a stream."""
    recorder = state.recorder
    assert recorder is not None
    try:
        hint = request.last_user_message or request.model
        sent = http.body
        if path != CHAT_PATH and isinstance(body, dict) and body.get("stream"):
            sent = dumps({**body, "stream": False})
        how = Forward(path) if forward is None else forward
        answer = _unlocked(state, lambda: recorder.forward(sent, how.path, how.credentials))
        saved = body if isinstance(body, dict) else dict(request.body)
        collection, name = recorder.save(saved, answer, hint=hint, path=path)
    except (RecordError, CollectionError) as exc:
        text = f"record mode: {exc}"
        error = error_object(text, "server_error", code="llm_mock_record_failed")
        state.record(http, 502, request.body, request=request, miss=text)
        return Reply(502, dumps(error), _NO_RETRY)
    state.collection = collection
    state.index = state.index_for(collection, state.strategy)
    door = providers.example_key(canonical_path(path))  # a provider's path: its examples' key
    key = path if door is None else door[0]
    (example,) = state.index_for(collection, state.strategy, key).named(name)
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
    door = explain_door(http.method, http.path, http.raw_headers)
    text = miss.text if door is None else f"{miss.text}\n{door}"
    error = error_object(text, "invalid_request_error", code="llm_mock_no_match")
    state.record(http, 404, request.body, request=request, miss=text)
    return Reply(404, dumps(error), _NO_RETRY)


class ToolCall(NamedTuple):
    """A tool call of a chat completion's message, as the other APIs write it again."""

    id: Any
    name: Any
    arguments: Any  # parsed; `{}` when they are not JSON


def tool_calls(message: Mapping[str, Any]) -> list[ToolCall]:
    """The tool calls of a chat completion's message."""
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = {}
        calls.append(ToolCall(call.get("id"), function.get("name"), arguments))
    return calls
