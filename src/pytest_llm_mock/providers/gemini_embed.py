"""Gemini's embeddings: `:embedContent` (one text), `:batchEmbedContents` and Vertex AI's
`:predict` (the door google-genai uses on Vertex for the models that are not Gemini
embeddings, `text-embedding-004` for one, and for every model before google-genai 3). Each is
the same deterministic vector as `/v1/embeddings` (same text, same vector), in the model's
dimensions.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._chat import FAIL_NEXT_TEXT, failure_reply
from .._embeddings import vector
from .._http import HttpRequest
from .._openai import dumps, estimate_tokens
from .._request import RequestError
from .._state import Reply, Scope
from .gemini_answers import bad
from .gemini_wire import content_text, field


def embed(state: Scope, model: str, http: HttpRequest, decoded: object, *, batch: bool) -> Reply:
    """`:embedContent` and `:batchEmbedContents` (the Developer API's and Vertex AI's)."""
    try:
        body = _object(decoded)
        requests = body.get("requests") if batch else [body]
        inputs = [_embed_input(one, model) for one in _listed(requests, "requests")]
    except RequestError as exc:
        return bad(state, http, decoded, model, exc)
    embeddings = [{"values": vector(text, size)} for text, size in inputs]
    if batch:
        response: dict[str, Any] = {"embeddings": embeddings}
    else:
        tokens = estimate_tokens(inputs[0][0])
        response = {"embedding": embeddings[0], "metadata": {"tokenCount": tokens}}
    return _answer(state, http, decoded, model, response)


def predict(state: Scope, model: str, http: HttpRequest, decoded: object) -> Reply:
    """Vertex AI's `:predict` for text embeddings: `{"instances": [{"content": text, ...}],
    "parameters": {"outputDimensionality"}}` answered with `{"predictions": [{"embeddings":
    {"values", "statistics"}}], "metadata"}`."""
    instances = decoded.get("instances") if isinstance(decoded, Mapping) else None
    if isinstance(instances, list) and any(
        isinstance(one, Mapping) and "prompt" in one and "content" not in one for one in instances
    ):
        message = (
            f"Unknown method: POST {http.path}. pytest-llm-mock serves :predict for text "
            "embeddings only (instances with content); image generation is not served."
        )
        state.record(http, 404, decoded, miss=message, model=model)
        return Reply(404, dumps({"error": {"message": message}}))
    try:
        body = _object(decoded)
        parameters = body.get("parameters")
        size = _size(parameters if isinstance(parameters, Mapping) else {}, model)
        texts = [_instance_text(one) for one in _listed(body.get("instances"), "instances")]
    except RequestError as exc:
        return bad(state, http, decoded, model, exc)
    predictions = [
        {
            "embeddings": {
                "values": vector(text, size),
                "statistics": {"token_count": estimate_tokens(text), "truncated": False},
            }
        }
        for text in texts
    ]
    billable = sum(len(text) for text in texts)
    response = {"predictions": predictions, "metadata": {"billableCharacterCount": billable}}
    return _answer(state, http, decoded, model, response)


def _answer(
    state: Scope, http: HttpRequest, decoded: object, model: str, response: object
) -> Reply:
    with state.lock:
        failure = state.scripted_failure(model)
    if failure is not None:
        return failure_reply(state, http, failure, decoded, model=model, text=FAIL_NEXT_TEXT)
    state.record(http, 200, decoded, name="generated embeddings", model=model)
    return Reply(200, dumps(response))


def _object(decoded: object) -> Mapping[str, Any]:
    if not isinstance(decoded, Mapping):
        raise RequestError("Invalid JSON payload: the request body must be an object.")
    return decoded


def _listed(items: object, name: str) -> Sequence[object]:
    if not isinstance(items, list) or not items:
        raise RequestError(f"{name} is not specified", param=name)
    return items


def _embed_input(one: object, model: str) -> tuple[str, int]:
    if not isinstance(one, Mapping):
        raise RequestError("Invalid JSON payload: each request must be an object.")
    config = field(one, "embedContentConfig")  # Vertex AI's place for it
    return content_text(one.get("content")), _size(
        config if isinstance(config, Mapping) else one, model
    )


def _instance_text(one: object) -> str:
    if not isinstance(one, Mapping) or not isinstance(one.get("content"), str):
        raise RequestError(
            "Invalid JSON payload: each instance must be an object with a content string.",
            param="instances",
        )
    text: str = one["content"]
    return text


def _size(holder: Mapping[str, Any], model: str) -> int:
    """The `outputDimensionality` asked for, else the model's own size."""
    default = 3072 if "gemini-embedding" in model else 768
    size = field(holder, "outputDimensionality")
    if size is None:
        return default
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= default:
        raise RequestError(
            f"outputDimensionality must be an integer from 1 to {default}, got {size!r}.",
            param="outputDimensionality",
        )
    return size
