"""Cohere v2's `POST /v2/embed` (providers.md, section 4): the same deterministic vectors as
`/v1/embeddings` (same text, same vector), or a saved example's (Cohere's on `/v2/embed`, or
OpenAI's for the same input), written in every embedding type the request asks for.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from .._chat import failure_reply
from .._collection import Example, ObjectAnswer
from .._embeddings import EMBEDDINGS_PATH, MAX_DIMENSIONS, decode, vector
from .._http import HttpRequest
from .._openai import dumps, estimate_tokens, status_error
from .._request import RequestError
from .._state import Reply, Scope
from .cohere_answers import cohere_id

EMBED_PATH = "/v2/embed"
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
_MAX_INPUTS = 96


def embed(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    """`POST /v2/embed`: a saved example for these texts (Cohere's or OpenAI's), or the
    deterministic vectors, in every type asked for."""
    try:
        model, texts, kinds, dimensions = _embed_request(decoded)
    except RequestError as exc:
        return state.reject(http, decoded, 400, {"message": exc.message})
    with state.lock:
        failure = state.scripted_failure(model)
    if failure is not None:
        return failure_reply(state, http, failure, decoded)
    example = _saved_embedding(state, texts)
    vectors = [vector(text, dimensions) for text in texts]
    name = "generated embeddings"
    if example is not None:
        name = example.full_name
        saved = example.answer.obj if isinstance(example.answer, ObjectAnswer) else {}
        if example.status >= 400:
            state.record(http, example.status, decoded, name=name, example=example)
            body = dict(saved) or status_error(example.status)
            return Reply(example.status, dumps(body), example.headers)
        vectors = _saved_vectors(saved) or vectors
    tokens = sum(estimate_tokens(text) for text in texts)
    body = {
        "id": cohere_id("embed", model, *texts),
        "embeddings": embeddings(vectors, kinds),
        "texts": list(texts),
        "response_type": "embeddings_by_type",
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
    }
    state.record(http, 200, decoded, name=name, example=example)
    return Reply(200, dumps(body), example.headers if example is not None else ())


def _embed_request(decoded: object) -> tuple[str, tuple[str, ...], tuple[str, ...], int]:
    """The model, texts, embedding types and dimensions of an embed request."""
    if not isinstance(decoded, Mapping):
        raise RequestError("invalid request: the body must be a JSON object")
    model = decoded.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("invalid request: model must be a non-empty string")
    texts = _embed_texts(decoded)
    kinds = decoded.get("embedding_types") or ["float"]
    if not isinstance(kinds, list) or any(k not in EMBEDDING_TYPES for k in kinds):
        raise RequestError(
            f"invalid request: embedding_types must be a list of {', '.join(EMBEDDING_TYPES)}"
        )
    dimensions = decoded.get("output_dimension")
    if dimensions is None:
        dimensions = 384 if "light" in model else 1536 if "v4" in model else 1024
    valid = isinstance(dimensions, int) and not isinstance(dimensions, bool)
    if not valid or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise RequestError(
            f"invalid request: output_dimension must be an integer from 1 to {MAX_DIMENSIONS}"
        )
    return model, texts, tuple(dict.fromkeys(kinds)), int(dimensions)


def _embed_texts(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The texts to embed: `texts`, `images` (their data URIs) or `inputs` (each one's
    text parts joined, an image part by its URL)."""
    for field in ("texts", "images"):
        raw = body.get(field)
        if raw is not None:
            if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
                raise RequestError(f"invalid request: {field} must be a list of strings")
            return _counted(tuple(raw))
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise RequestError("invalid request: one of texts, images or inputs must be given")
    texts = []
    for item in inputs:
        content = item.get("content") if isinstance(item, Mapping) else None
        if not isinstance(content, list) or not all(isinstance(p, Mapping) for p in content):
            raise RequestError("invalid request: each of inputs must have a content list")
        texts.append(" ".join(_part_text(part) for part in content))
    return _counted(tuple(texts))


def _part_text(part: Mapping[str, Any]) -> str:
    if part.get("type") == "image_url":
        image = part.get("image_url")
        return str(image.get("url") if isinstance(image, Mapping) else image)
    return str(part.get("text") or "")


def _counted(texts: tuple[str, ...]) -> tuple[str, ...]:
    if not 1 <= len(texts) <= _MAX_INPUTS:
        raise RequestError(f"invalid request: embed takes 1 to {_MAX_INPUTS} inputs")
    return texts


def _saved_embedding(state: Scope, texts: tuple[str, ...]) -> Example | None:
    """A Cohere embed example saved for these texts, else an OpenAI embeddings one."""
    own = [
        e
        for e in state.collection.examples
        if e.path == EMBED_PATH and e.body is not None and _tuple(e.body.get("texts")) == texts
    ]
    openai = [
        e
        for e in state.collection.examples
        if e.path == EMBEDDINGS_PATH and e.body is not None and _tuple(e.body.get("input")) == texts
    ]
    found = own or openai
    return found[0] if found else None


def _tuple(raw: object) -> tuple[str, ...] | None:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return tuple(raw)
    return None


def _saved_vectors(saved: Mapping[str, Any]) -> list[list[float]] | None:
    """The float vectors of a saved Cohere (`embeddings.float`) or OpenAI (`data`) answer."""
    floats = saved.get("embeddings")
    if isinstance(floats, Mapping) and isinstance(floats.get("float"), list):
        return [decode(v) for v in floats["float"]]
    data = saved.get("data")
    if isinstance(data, list):
        return [decode(item.get("embedding")) for item in data if isinstance(item, Mapping)]
    return None


def embeddings(vectors: Sequence[Sequence[float]], kinds: Sequence[str]) -> dict[str, Any]:
    """The `embeddings` object of an embed answer, one list per asked type."""
    out: dict[str, Any] = {}
    for kind in kinds:
        if kind == "float":
            out[kind] = [list(v) for v in vectors]
        elif kind == "base64":
            out[kind] = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
        elif kind in ("int8", "uint8"):
            low = -128 if kind == "int8" else 0
            out[kind] = [[_quantized(x, low) for x in v] for v in vectors]
        else:  # binary, ubinary: the signs, 8 to a byte
            out[kind] = [_packed(v, signed=kind == "binary") for v in vectors]
    return out


def _quantized(value: float, low: int) -> int:
    """A value of [-1, 1] on the 256 steps from `low`."""
    return max(low, min(low + 255, low + round((value + 1.0) * 127.5)))


def _packed(vector: Sequence[float], *, signed: bool) -> list[int]:
    out = []
    for start in range(0, len(vector), 8):
        group = vector[start : start + 8]
        byte = 0
        for value in group:
            byte = (byte << 1) | (value > 0)
        byte <<= 8 - len(group)  # a short last group is padded with zeros
        out.append(byte - 128 if signed else byte)
    return out
