"""Legacy completions: `POST /v1/completions`. Each prompt is read as one user message, so a
completions example or a chat example with the same text answers it.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ._chat import Miss, captured, choose, identify, miss_reply, record_upstream
from ._collection import Example, ObjectAnswer
from ._conversion import COMPLETIONS_PATH
from ._faults import Failure
from ._http import HttpRequest
from ._openai import digest, dumps, error_object, estimate_tokens, status_error
from ._request import ChatRequest, RequestError, parse_chat_request
from ._responses import AddedResponse
from ._state import Reply, Scope
from ._stream import completion, pieces

# The API's default prompt: the document separator, "as if from the start of a new document".
ENDOFTEXT = "<|endoftext|>"


def prompts(body: Mapping[str, Any]) -> list[str]:
    """The prompts of a completions request: a string, strings, a token array or token
    arrays (each read as the text `tokens:1,2,3`); a null prompt is ENDOFTEXT."""
    if "prompt" not in body:
        raise RequestError(
            "Missing required parameter: 'prompt'.",
            param="prompt",
            code="missing_required_parameter",
        )
    raw = body["prompt"]
    if raw is None:
        return [ENDOFTEXT]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        return list(raw)
    if _tokens(raw):
        return [_token_text(raw)]
    if isinstance(raw, list) and raw and all(_tokens(p) for p in raw):
        return [_token_text(p) for p in raw]
    raise RequestError(
        "Invalid 'prompt': expected a string, an array of strings, an array of tokens, "
        "or an array of token arrays.",
        param="prompt",
        code="invalid_value",
    )


def _tokens(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    )


def _token_text(tokens: list[int]) -> str:
    return "tokens:" + ",".join(map(str, tokens))


def prompt_request(body: Mapping[str, Any], prompt: str) -> ChatRequest:
    """One prompt of a completions request, read as a chat request with one user message."""
    chat = {
        "model": body.get("model"),
        "messages": [{"role": "user", "content": prompt}],
        "stream": body.get("stream"),
        "stream_options": body.get("stream_options"),
    }
    return parse_chat_request(chat)


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    try:
        if not isinstance(decoded, Mapping):
            raise RequestError("Invalid type for request body: expected an object.")
        requests = [prompt_request(decoded, p) for p in prompts(decoded)]
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    texts: list[tuple[str, str]] = []
    names: list[str] = []
    with state.lock:
        indexes = [state.index_for(state.collection, state.strategy, COMPLETIONS_PATH), state.index]
        for request in requests:
            choice = choose(state, http, request, indexes)
            if isinstance(choice, Miss) and choice.record and state.recorder and len(requests) == 1:
                saved = record_upstream(state, http, request, COMPLETIONS_PATH, decoded)
                if isinstance(saved, Reply):
                    return saved
                choice = saved
            if isinstance(choice, Miss):
                if len(requests) == 1:
                    choice = captured(state, request, choice, COMPLETIONS_PATH, decoded)
                return miss_reply(state, http, request, Miss(choice.text))
            if isinstance(choice, Failure) or choice.status >= 400:
                return _error(state, http, decoded, request, choice)
            texts.append(_text(choice, request, state))
            names.append(identify(state, choice)[1])
    first = requests[0]
    body = _body(decoded, texts, seed="/".join(names))
    state.record(http, 200, decoded, request=first, name=names[0])
    headers = (
        ("x-request-id", "req_" + digest(body["id"])[:32]),
        ("x-llm-mock-example", quote(names[0], safe=" /()[]#,.:;'!@&=+-_")),
    )
    stream = None
    if first.stream:
        stream = tuple(_chunks(body, state.chunk_size, include_usage=first.include_usage))
    return Reply(200, dumps(body), headers, stream, state.delivery)


def _text(source: Example | AddedResponse, request: ChatRequest, state: Scope) -> tuple[str, str]:
    """The completion text and finish reason an example or added response gives."""
    answer = source.answer
    own = isinstance(source, Example) and source.path == COMPLETIONS_PATH
    if own and isinstance(answer, ObjectAnswer) and isinstance(answer.obj.get("choices"), list):
        choice = answer.obj["choices"][0]
        return str(choice.get("text", "")), str(choice.get("finish_reason") or "stop")
    _, _, seed = identify(state, source)
    chat = completion(answer, source.status, seed=seed, request=request)
    message = (chat.get("choices") or [{}])[0].get("message") or {}
    return str(message.get("content") or ""), "stop"


def _error(
    state: Scope,
    http: HttpRequest,
    decoded: object,
    request: ChatRequest,
    source: Failure | Example | AddedResponse,
) -> Reply:
    if isinstance(source, Failure):
        error, headers, name = (
            status_error(source.status, source.message),
            source.headers(),
            source.name,
        )
    else:
        _, name, seed = identify(state, source)
        error = completion(source.answer, source.status, seed=seed, request=request)
        headers = tuple(source.headers)
    state.record(http, source.status, decoded, request=request, name=name)
    return Reply(source.status, dumps(error), tuple(headers))


def _body(decoded: Mapping[str, Any], texts: list[tuple[str, str]], seed: str) -> dict[str, Any]:
    prompt_tokens = sum(estimate_tokens(p) for p in prompts(decoded))
    completion_tokens = sum(max(1, estimate_tokens(t)) for t, _ in texts)
    return {
        "id": "cmpl-" + digest("cmpl", seed, str(decoded.get("prompt")))[:29],
        "object": "text_completion",
        "created": 1_700_000_000 + int(digest("created", seed)[:8], 16) % 50_000_000,
        "model": decoded.get("model"),
        "choices": [
            {"text": text, "index": i, "logprobs": None, "finish_reason": reason}
            for i, (text, reason) in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_" + digest("fingerprint", str(decoded.get("model")))[:10],
    }


def _chunks(body: Mapping[str, Any], size: int, *, include_usage: bool) -> list[bytes]:
    """Each chunk a `text_completion` with a text fragment; the finish reason on the last of
    each choice; the usage chunk when asked; then `[DONE]`."""
    head = {k: body[k] for k in ("id", "object", "created", "model", "system_fingerprint")}
    events = []
    for choice in body["choices"]:
        fragments = pieces(choice["text"], size)
        for n, fragment in enumerate(fragments):
            finish = choice["finish_reason"] if n == len(fragments) - 1 else None
            part = {
                "text": fragment,
                "index": choice["index"],
                "logprobs": None,
                "finish_reason": finish,
            }
            events.append(b"data: " + dumps({**head, "choices": [part]}) + b"\n\n")
    if include_usage:
        events.append(b"data: " + dumps({**head, "choices": [], "usage": body["usage"]}) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events
