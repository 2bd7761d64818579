"""AWS Bedrock Runtime: `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke` and
`/invoke-with-response-stream` (Claude's Anthropic Messages bodies; Titan embeddings on
`/invoke`) and `/count-tokens`, as botocore sends them (providers.md, section 3).

Converse messages and Anthropic bodies are read as the shared chat conversation (toolUse and
toolResult blocks as tool calls and results), so chat examples answer them; the modelId in
the path is the model (`bedrock_requests`). Examples saved on a Bedrock path are served as
saved. Answers and streams are written in `bedrock_answers`. Errors are `{"message"}` with
the `x-amzn-errortype` header that picks botocore's exception class. SigV4 signatures are
accepted unverified; the journal redacts them. Record mode forwards a miss to the upstream's
Converse or invoke path, signed by `bedrock_sign`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import quote

from .._chat import Headers, error_answer, failure_reply, respond
from .._collection import CHAT_PATH, Example, ObjectAnswer
from .._conversion import MESSAGES_PATH
from .._depth import loads
from .._embeddings import MAX_DIMENSIONS, vector
from .._eventstream import CONTENT_TYPE, exception
from .._faults import delivery_from_controls
from .._http import HttpRequest, dedupe
from .._openai import digest, dumps, estimate_tokens, estimate_usage
from .._record import Forward
from .._request import ChatRequest, RequestError
from .._responses import AddedResponse
from .._state import Reply, Scope
from .._stream import completion
from . import Door, Provider
from .bedrock_answers import (
    anthropic_chunks,
    anthropic_from_chat,
    complete_anthropic,
    complete_converse,
    converse_events,
    converse_from_chat,
)
from .bedrock_requests import (
    CONVERSE_KEY,
    INVOKE_KEY,
    chat_request,
    example_key,
    example_model,
    to_chat,
)
from .bedrock_sign import sigv4

_ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    405: "UnknownOperationException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
    529: "ServiceUnavailableException",
}
# What ends a stream that `break_next_stream(how="error")` breaks: botocore raises it.
_STREAM_ERROR = exception(
    "modelStreamErrorException",
    dumps({"message": "The model stream failed (pytest-llm-mock stream fault)."}),
)


# -- answers out --------------------------------------------------------------------------


def _answer(
    scope: Scope, http: HttpRequest, decoded: object, *, model: str, op: str, stream: bool
) -> Reply:
    if not model:
        return _reject(scope, http, decoded, model, "The modelId in the path is empty.")
    if op == "invoke" and isinstance(decoded, Mapping) and "inputText" in decoded:
        return _embedding(scope, http, model, decoded, stream=stream)
    try:
        request = chat_request(op, model, decoded, stream=stream)
    except RequestError as exc:
        return _reject(scope, http, decoded, model, exc.message)
    assert isinstance(decoded, Mapping)  # `chat_request` took nothing else
    # Claude's body: an example saved for /v1/messages answers too.
    keys = (CONVERSE_KEY,) if op == "converse" else (INVOKE_KEY, MESSAGES_PATH)
    return respond(
        scope,
        http,
        request,
        decoded,
        partial(_reply, scope, http=http, request=request, op=op),
        keys=(*keys, CHAT_PATH),
        # A recording or a draft is saved on the request's own path (streamed or not): its
        # modelId narrows. The upstream is asked for JSON, at the modelId botocore encodes.
        path=f"/model/{model}/{op}",
        forward=Forward(f"/model/{quote(model, safe='')}/{op}", sigv4),
        model=model,
        retry_hint=False,
    )


def _reply(
    scope: Scope,
    source: Example | AddedResponse,
    seed: str,
    answer_headers: Headers,
    *,
    http: HttpRequest,
    request: ChatRequest,
    op: str,
) -> Reply:
    request_id = _request_id(seed, http.path, http.body.decode("utf-8", "replace"))
    headers = [*answer_headers, ("x-amzn-requestid", request_id)]
    if source.status >= 400:
        return error_answer(source, request, scope, seed, dedupe(headers))
    size = int(source.controls.get("chunk-size", 0)) or scope.chunk_size
    key = CONVERSE_KEY if op == "converse" else INVOKE_KEY
    own = isinstance(source, Example) and source.path == key
    saved = source.answer.obj if isinstance(source.answer, ObjectAnswer) else {}
    if op == "converse":
        if own and "output" in saved:
            body = complete_converse(saved)
        else:
            body = converse_from_chat(completion(source.answer, 200, seed=seed, request=request))
        frames = converse_events(body, size) if request.stream else None
    else:
        own = own or (isinstance(source, Example) and source.path == MESSAGES_PATH)
        if own and isinstance(saved.get("content"), list):
            body = complete_anthropic(saved, request.model, seed)
        else:
            chat = completion(source.answer, 200, seed=seed, request=request)
            body = anthropic_from_chat(chat, request.model, seed)
        frames = anthropic_chunks(body, size) if request.stream else None
    delivery = scope.delivery.merged(delivery_from_controls(source.controls))
    if frames is None:
        return Reply(200, dumps(body), dedupe(headers), None, delivery)
    if scope.stream_faults:
        delivery = replace(delivery, fault=scope.stream_faults.pop(0))
    headers.insert(0, ("content-type", CONTENT_TYPE))
    if op == "invoke":
        headers.append(("x-amzn-bedrock-content-type", "application/json"))
    reply_headers = dedupe(headers)
    return Reply(
        200, dumps(body), reply_headers, tuple(frames), delivery, stream_error=_STREAM_ERROR
    )


def _embedding(
    scope: Scope, http: HttpRequest, model: str, body: Mapping[str, Any], *, stream: bool
) -> Reply:
    """A Titan text embedding: the same deterministic vector as `/v1/embeddings` gives the
    same text (1,024 dimensions for v2 models unless `dimensions` says, 1,536 for v1)."""
    text = body.get("inputText")
    dimensions = body.get("dimensions", 1024 if "v2" in model else 1536)
    problem = None
    if stream:
        problem = "Titan embedding models do not stream: use invoke_model."
    elif not isinstance(text, str) or not text:
        problem = "inputText: expected a non-empty string."
    elif isinstance(dimensions, bool) or not isinstance(dimensions, int):
        problem = "dimensions: expected an integer."
    elif not 1 <= dimensions <= MAX_DIMENSIONS:
        problem = f"dimensions: expected an integer from 1 to {MAX_DIMENSIONS}."
    if problem is not None:
        return _reject(scope, http, body, model, problem)
    assert isinstance(text, str)
    assert isinstance(dimensions, int)
    with scope.lock:
        failure = scope.scripted_failure(model)
    if failure is not None:
        return failure_reply(scope, http, failure, body, model=model)
    scope.record(http, 200, body, name="generated embeddings", model=model)
    answer = {"embedding": vector(text, dimensions), "inputTextTokenCount": estimate_tokens(text)}
    return Reply(200, dumps(answer))


def _count_tokens(scope: Scope, model: str, http: HttpRequest, decoded: object) -> Reply:
    """`count-tokens`: the input tokens a Converse or invoke answer would report."""
    given = decoded.get("input") if isinstance(decoded, Mapping) else None
    try:
        if isinstance(given, Mapping) and "converse" in given:
            request = chat_request("converse", model, given["converse"], stream=False)
        elif isinstance(given, Mapping) and isinstance(given.get("invokeModel"), Mapping):
            raw = base64.b64decode(given["invokeModel"].get("body") or "", validate=True)
            request = chat_request("invoke", model, loads(raw), stream=False)
        else:
            raise RequestError('input: expected {"converse": {...}} or {"invokeModel": {"body"}}.')
    except (binascii.Error, ValueError) as exc:
        message = exc.message if isinstance(exc, RequestError) else f"input.invokeModel.body: {exc}"
        return _reject(scope, http, decoded, model, message)
    scope.record(http, 200, decoded, request=request, model=model)
    return Reply(200, dumps({"inputTokens": estimate_usage(request, "")["prompt_tokens"]}))


def _reject(scope: Scope, http: HttpRequest, decoded: object, model: str, message: str) -> Reply:
    """A 400 for a request that is not what the operation takes (`errors` shapes it)."""
    scope.record(http, 400, decoded, model=model or None)
    return Reply(400, dumps({"message": message}))


def errors(reply: Reply) -> Reply:
    """An error reply in Bedrock's shape: `{"message"}` and the `x-amzn-errortype` header,
    from which botocore picks `client.exceptions.<Type>`. A saved Bedrock error (one that
    has the header) is sent as saved."""
    if reply.status < 400 or any(k.lower() == "x-amzn-errortype" for k, _ in reply.headers):
        return reply
    message = _message(reply.body)
    default = "InternalServerException" if reply.status >= 500 else "ValidationException"
    kind = _ERROR_TYPES.get(reply.status, default)
    headers = (
        *reply.headers,
        ("x-amzn-errortype", kind),
        ("x-amzn-requestid", _request_id("error", str(reply.status), message)),
    )
    return Reply(reply.status, dumps({"message": message}), dedupe(headers), None, reply.delivery)


def _message(body: bytes) -> str:
    try:
        decoded = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(decoded, Mapping):
        error = decoded.get("error")
        for holder in (error, decoded):
            if isinstance(holder, Mapping):
                for name in ("message", "Message"):
                    if isinstance(holder.get(name), str):
                        return str(holder[name])
    return body.decode("utf-8", "replace")


def _request_id(*parts: str) -> str:
    """A request id shaped as AWS's (a UUID), the same for the same request."""
    return str(uuid.UUID(digest("bedrock", *parts)[:32]))


# -- the provider -------------------------------------------------------------------------


Handler = Callable[[Scope, HttpRequest, Mapping[str, str]], Reply]


def _door(op: str, *, stream: bool) -> Handler:
    def handle(scope: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
        answer = partial(_answer, scope, model=params["model_id"], op=op, stream=stream)
        return scope.api(http, answer)

    return handle


def _count_door(scope: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
    return scope.api(http, partial(_count_tokens, scope, params["model_id"]))


PROVIDER = Provider(
    name="AWS Bedrock",
    doors=(
        Door("POST", "/model/{model_id:path}/converse", _door("converse", stream=False)),
        Door("POST", "/model/{model_id:path}/converse-stream", _door("converse", stream=True)),
        Door("POST", "/model/{model_id:path}/invoke", _door("invoke", stream=False)),
        Door(
            "POST",
            "/model/{model_id:path}/invoke-with-response-stream",
            _door("invoke", stream=True),
        ),
        Door("POST", "/model/{model_id:path}/count-tokens", _count_door),
    ),
    errors=errors,
    prefixes=("/model/",),
    example_key=example_key,
    to_chat=to_chat,
    example_model=example_model,
)
