"""Embeddings: `POST /v1/embeddings` requests in, vectors out.

Without a saved example, each input gets a deterministic vector derived from its text alone
(same text, same vector, whatever the model), L2-normalised. The SDK asks for base64 unless
told otherwise, so both encodings are served: base64 is the little-endian float32 bytes.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._collection import Example, ObjectAnswer, TextAnswer
from ._http import HttpRequest
from ._openai import dumps, error_object, estimate_tokens, status_error
from ._request import RequestError
from ._state import Reply, Scope

EMBEDDINGS_PATH = "/embeddings"
MAX_INPUTS = 2048
MAX_DIMENSIONS = 65536


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[str, ...]
    encoding: str
    dimensions: int


def default_dimensions(model: str) -> int:
    """text-embedding-3-large has 3072 dimensions; the others people use have 1536."""
    return 3072 if "large" in model else 1536


def parse_embedding_request(body: object) -> EmbeddingRequest:
    """Validate a decoded body as an embeddings request; `RequestError` names the param."""
    if not isinstance(body, Mapping):
        raise RequestError(
            "Invalid type for request body: expected an object.", code="invalid_type"
        )
    model = body.get("model")
    if model is None:
        raise RequestError(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    if not isinstance(model, str):
        raise RequestError(
            "Invalid type for 'model': expected a string.", param="model", code="invalid_type"
        )
    inputs = _inputs(body.get("input"))
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise RequestError(
            f"Invalid value: {encoding!r}. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    dimensions = body.get("dimensions", default_dimensions(model))
    if isinstance(dimensions, float) and dimensions.is_integer():
        dimensions = int(dimensions)  # JSON has one number type: 256.0 is 256
    valid = isinstance(dimensions, int) and not isinstance(dimensions, bool)
    if not valid or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise RequestError(
            f"Invalid 'dimensions': expected an integer from 1 to {MAX_DIMENSIONS}, "
            f"got {dimensions!r}.",
            param="dimensions",
            code="invalid_value",
        )
    return EmbeddingRequest(model, inputs, str(encoding), int(dimensions))


def _inputs(raw: object) -> tuple[str, ...]:
    """Texts from a string, strings, a token array or token arrays (tokens become text)."""
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and raw and len(raw) <= MAX_INPUTS:
        if all(isinstance(item, str) for item in raw):
            return tuple(raw)
        if all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
            return (_tokens(raw),)
        arrays = all(isinstance(item, list) and item for item in raw)
        if arrays and all(isinstance(t, int) and not isinstance(t, bool) for i in raw for t in i):
            return tuple(_tokens(item) for item in raw)
    raise RequestError(
        "Invalid 'input': expected a string, an array of 1 to 2048 strings, or token arrays.",
        param="input",
        code="invalid_value",
    )


def _tokens(tokens: Sequence[int]) -> str:
    return "tokens:" + ",".join(str(t) for t in tokens)


def vector(text: str, dimensions: int) -> list[float]:
    """A unit vector derived from `text` alone: the same text always gives the same one."""
    raw = hashlib.shake_256(text.encode()).digest(4 * dimensions)
    values = [v / 2147483648.0 - 1.0 for v in struct.unpack(f"<{dimensions}I", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode(values: Sequence[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return list(values)


def decode(embedding: object) -> list[float]:
    """Floats from a saved example's embedding, given as floats or as base64."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if isinstance(embedding, list):
        return [float(v) for v in embedding]
    raise ValueError("an embedding must be a list of numbers or a base64 string")


def embeddings_body(
    request: EmbeddingRequest, vectors: Sequence[Sequence[float]], model: str | None = None
) -> dict[str, Any]:
    tokens = sum(estimate_tokens(text) for text in request.inputs)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(v, request.encoding)}
            for i, v in enumerate(vectors)
        ],
        "model": model or request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def answer(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    """Answer an embeddings request: a saved example for its inputs, or generated vectors."""
    try:
        request = parse_embedding_request(decoded)
    except RequestError as exc:
        error = error_object(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
        return state.reject(http, decoded, 400, error)
    with state.lock:
        failure = state.scripted_failure(request.model)
    if failure is not None:
        headers = failure.headers()
        state.record(http, failure.status, decoded, reply_headers=headers, name=failure.name)
        return Reply(failure.status, dumps(status_error(failure.status, failure.message)), headers)
    example = _saved_example(state, request)
    if example is None:
        vectors = [vector(text, request.dimensions) for text in request.inputs]
        state.record(http, 200, decoded, name="generated embeddings")
        return Reply(200, dumps(embeddings_body(request, vectors)))
    state.record(http, example.status, decoded, name=example.full_name, example=example)
    return Reply(example.status, dumps(_example_body(example, request)), example.headers)


def _saved_example(state: Scope, request: EmbeddingRequest) -> Example | None:
    """A saved embeddings example for these inputs, preferring one for this model."""
    found = [
        e
        for e in state.collection.examples
        if e.path == EMBEDDINGS_PATH and e.body is not None and _inputs_of(e.body) == request.inputs
    ]
    named = [e for e in found if e.body is not None and e.body.get("model") == request.model]
    chosen = named or found
    return chosen[0] if chosen else None


def _inputs_of(body: Mapping[str, Any]) -> tuple[str, ...] | None:
    try:
        return _inputs(body.get("input"))
    except RequestError:
        return None


def _example_body(example: Example, request: EmbeddingRequest) -> dict[str, Any]:
    answer = example.answer
    saved = answer.obj if isinstance(answer, ObjectAnswer) else {}
    if example.status < 400 and isinstance(saved.get("data"), list):
        vectors = [decode(item.get("embedding")) for item in saved["data"]]
        return embeddings_body(request, vectors, model=saved.get("model"))
    if saved:
        return dict(saved)
    text = answer.text.strip() if isinstance(answer, TextAnswer) else ""
    return status_error(example.status, text or None)
