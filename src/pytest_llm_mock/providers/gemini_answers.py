"""Gemini's answers: `:generateContent` and `:streamGenerateContent` from an example of the
conversation (a Gemini-shaped example saved on Gemini's paths, else a chat example converted),
`:countTokens` from the request alone (the embeddings are in `gemini_embed`). Errors leave
here in the shared `{"error": {"message"}}` form; `gemini.google_errors` gives them Google's
shape. Record mode asks the upstream's `:generateContent` on the request's own path, streamed
or not.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

from .._chat import FAIL_NEXT_TEXT, Headers, error_answer, respond
from .._collection import CHAT_PATH, Example, ObjectAnswer, TextAnswer
from .._faults import delivery_from_controls
from .._http import HttpRequest
from .._openai import digest, dumps, estimate_usage
from .._record import Forward, upstream_key
from .._request import ChatRequest, RequestError, parse_chat_request
from .._responses import AddedResponse
from .._state import Reply, Scope
from .._stream import completion
from .gemini_wire import (
    GENERATE_KEY,
    chat_messages,
    complete,
    field,
    generate_response,
    stream_chunks,
)

_STREAM_ERROR = {
    "error": {
        "code": 500,
        "message": "An internal error has occurred (pytest-llm-mock stream fault).",
        "status": "INTERNAL",
    }
}
_NOTE = (
    "Its systemInstruction and contents were read as chat messages (model turns as "
    "assistant messages, functionCall parts as tool calls, functionResponse parts as tool "
    "messages) and matched against the chat examples and the examples saved on Gemini's paths."
)
_STREAM_METHOD, _METHOD = ":streamGenerateContent", ":generateContent"


def _read(decoded: object, model: str, stream: bool) -> ChatRequest:
    if not isinstance(decoded, Mapping):
        raise RequestError("Invalid JSON payload: the request body must be an object.")
    chat = {"model": model, "messages": chat_messages(decoded), "stream": stream}
    return parse_chat_request(chat)


def generate(
    state: Scope, model: str, http: HttpRequest, decoded: object, *, stream: bool
) -> Reply:
    """`:generateContent` and `:streamGenerateContent`: an example of the conversation."""
    try:
        request = _read(decoded, model, stream)
    except RequestError as exc:
        return bad(state, http, decoded, model, exc)
    assert isinstance(decoded, Mapping)  # `_read` took nothing else
    # Record mode asks for JSON on the same door (the stream is the mock's own) and saves the
    # answer there; capture mode drafts it there.
    path = http.path.removesuffix(_STREAM_METHOD) + (_METHOD if stream else "")
    return respond(
        state,
        http,
        request,
        decoded,
        partial(_reply, state, request=request),
        keys=(GENERATE_KEY, CHAT_PATH),
        path=path,
        forward=Forward(path, google_credentials),
        note=_NOTE,
        model=model,
        failure_text=FAIL_NEXT_TEXT,
        retry_hint=False,
    )


def google_credentials(url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The upstream key as Google takes it: `x-goog-api-key` (the Developer API, Vertex AI's
    express mode), or on a Vertex AI path with a project an OAuth access token,
    `Authorization: Bearer` (`gcloud auth print-access-token`)."""
    key = upstream_key()
    if key is None:
        return {}
    if "/projects/" in urlsplit(url).path:
        return {"Authorization": f"Bearer {key}"}
    return {"x-goog-api-key": key}


def _reply(
    state: Scope,
    source: Example | AddedResponse,
    seed: str,
    headers: Headers,
    *,
    request: ChatRequest,
) -> Reply:
    if source.status >= 400:
        return error_answer(source, request, state, seed, headers)
    response_id = digest("gemini", seed, request.model)[:24]
    answer = source.answer
    own = isinstance(source, Example) and source.path == GENERATE_KEY
    if own and isinstance(answer, ObjectAnswer) and "candidates" in answer.obj:
        response = complete(answer.obj, request.model, response_id)
    else:
        if own and isinstance(answer, ObjectAnswer) and "choices" not in answer.obj:
            answer = TextAnswer(json.dumps(answer.obj))  # a JSON object: structured output
        chat = completion(answer, source.status, seed=seed, request=request)
        response = generate_response(chat, request.model, response_id)
    delivery = state.delivery.merged(delivery_from_controls(source.controls))
    if not request.stream:
        return Reply(200, dumps(response), headers, None, delivery)
    size = int(source.controls.get("chunk-size", 0)) or state.chunk_size
    events = tuple(_event(chunk) for chunk in stream_chunks(response, size))
    if state.stream_faults:
        delivery = replace(delivery, fault=state.stream_faults.pop(0))
    # A stream broken with an error ends with Google's error event: the SDK raises it.
    return Reply(200, dumps(response), headers, events, delivery, _event(_STREAM_ERROR))


def _event(payload: object) -> bytes:
    return b"data: " + dumps(payload) + b"\r\n\r\n"


def count_tokens(state: Scope, model: str, http: HttpRequest, decoded: object) -> Reply:
    """`:countTokens`: the prompt tokens a generateContent answer would report."""
    body = decoded
    if isinstance(body, Mapping) and isinstance(field(body, "generateContentRequest"), Mapping):
        body = field(body, "generateContentRequest")
    try:
        request = _read(body, model, False)
    except RequestError as exc:
        return bad(state, http, decoded, model, exc)
    state.record(http, 200, decoded, request=request, model=model)
    tokens = estimate_usage(request, "")["prompt_tokens"]
    return Reply(200, dumps({"totalTokens": tokens}))


def bad(state: Scope, http: HttpRequest, decoded: object, model: str, exc: RequestError) -> Reply:
    return state.reject(http, decoded, 400, {"error": {"message": exc.message}}, model=model)
