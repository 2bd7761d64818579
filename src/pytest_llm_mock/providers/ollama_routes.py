"""Ollama's routes besides chat and generate: embeddings (`/api/embed`, the older
`/api/embeddings`) and the model routes (`/api/tags`, `/api/ps`, `/api/show`,
`/api/version`) (providers.md, section 2).

Embeddings are the same deterministic vectors as `/v1/embeddings` (same text, same vector),
unless an example saved on `/api/embed` or `/v1/embeddings` has the same input.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from .._chat import failure_reply
from .._collection import Example, ObjectAnswer
from .._embeddings import EMBEDDINGS_PATH, MAX_DIMENSIONS, decode, vector
from .._http import HttpRequest
from .._openai import digest, dumps, estimate_tokens, status_error
from .._state import Reply, Scope
from .ollama_answers import timestamp

EMBED_PATH = "/api/embed"
VERSION = "0.12.6"  # what `GET /api/version` says: an Ollama with every route served here
_DETAILS: dict[str, Any] = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "3.2B",
    "quantization_level": "Q4_K_M",
}
# Dimensions of the embedding models people pull, by a part of their name; others get 768.
_DIMENSIONS = (("minilm", 384), ("mxbai", 1024), ("bge-m3", 1024), ("arctic", 1024))


class _Invalid(ValueError):
    """A request Ollama would refuse with a 400 and this message."""


def embed(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`POST /api/embed` `{"model", "input": "text" | ["text", ...], "dimensions"?}`."""
    return state.api(http, partial(_embed, state, legacy=False))


def embeddings(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`POST /api/embeddings` `{"model", "prompt"}` (the older route): one vector."""
    return state.api(http, partial(_embed, state, legacy=True))


def _embed(state: Scope, http: HttpRequest, decoded: object, *, legacy: bool) -> Reply:
    try:
        model, texts, dimensions = _read_embed(decoded, legacy=legacy)
    except _Invalid as exc:
        return state.reject(http, decoded, 400, {"error": str(exc)})
    with state.lock:
        failure = state.scripted_failure(model)
    if failure is not None:
        return failure_reply(state, http, failure, decoded)
    example = _saved_example(state, model, texts)
    if example is not None and example.status >= 400:
        state.record(http, example.status, decoded, name=example.full_name, example=example)
        saved = example.answer.obj if isinstance(example.answer, ObjectAnswer) else {}
        return Reply(example.status, dumps(saved or status_error(example.status)), example.headers)
    vectors = _saved_vectors(example) if example is not None else None
    if example is None or vectors is None or len(vectors) != len(texts):
        example, vectors = None, [vector(text, dimensions) for text in texts]
    name = example.full_name if example is not None else "generated embeddings"
    headers = example.headers if example is not None else ()
    state.record(http, 200, decoded, name=name, example=example)
    if legacy:
        return Reply(200, dumps({"embedding": vectors[0] if vectors else []}), headers)
    prompt = sum(estimate_tokens(text) for text in texts)
    body = {
        "model": model,
        "embeddings": vectors,
        "total_duration": 1_000_000 + 100_000 * prompt,
        "load_duration": 1_000_000,
        "prompt_eval_count": prompt,
    }
    return Reply(200, dumps(body), headers)


def _read_embed(decoded: object, *, legacy: bool) -> tuple[str, tuple[str, ...], int]:
    """The model, the texts (an empty text is left out, as Ollama does) and the dimensions."""
    if not isinstance(decoded, Mapping):
        raise _Invalid("invalid request body: expected a JSON object")
    model = decoded.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("model is required")
    raw = decoded.get("prompt" if legacy else "input")
    if raw is None or isinstance(raw, str):
        texts: tuple[str, ...] = (raw,) if raw else ()
    elif not legacy and isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        texts = tuple(raw)
    else:
        raise _Invalid(f"invalid {'prompt' if legacy else 'input'} type: expected a string")
    dimensions = decoded.get("dimensions")
    if dimensions is None:
        dimensions = next((n for part, n in _DIMENSIONS if part in model), 768)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool):
        raise _Invalid("dimensions: expected an integer")
    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise _Invalid(f"dimensions must be from 1 to {MAX_DIMENSIONS}, got {dimensions}")
    return model, texts, dimensions


def _saved_example(state: Scope, model: str, texts: tuple[str, ...]) -> Example | None:
    """An example saved on `/api/embed` or `/v1/embeddings` for these texts, preferring one
    for this model and then one on Ollama's path."""
    found = [
        e
        for e in state.collection.examples
        if e.path in (EMBED_PATH, EMBEDDINGS_PATH) and _texts_of(e.body) == texts
    ]
    found.sort(key=lambda e: (_model_of(e.body) != model, e.path != EMBED_PATH))
    return found[0] if found else None


def _texts_of(body: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    raw = body.get("input") if body is not None else None
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return tuple(raw)
    return None


def _model_of(body: Mapping[str, Any] | None) -> object:
    return body.get("model") if body is not None else None


def _saved_vectors(example: Example) -> list[list[float]] | None:
    """The vectors an example's answer gives: Ollama's `embeddings` or OpenAI's `data`."""
    saved = example.answer.obj if isinstance(example.answer, ObjectAnswer) else {}
    try:
        if isinstance(saved.get("embeddings"), list):
            return [decode(v) for v in saved["embeddings"]]
        if isinstance(saved.get("data"), list):
            return [decode(item.get("embedding")) for item in saved["data"]]
    except (ValueError, TypeError, AttributeError):
        return None
    return None


def tags(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`GET /api/tags`: the models the collection names, added responses name, and requested."""
    listed = state.models(http)  # the key check and the journal entry of a model listing
    if listed.status != 200:
        return listed
    return Reply(200, dumps({"models": [_model(m) for m in state.model_ids()]}))


def running(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`GET /api/ps`: the same models, as loaded in memory."""
    listed = state.models(http)
    if listed.status != 200:
        return listed
    models = [
        {**_model(m), "expires_at": "2099-01-01T00:00:00Z", "size_vram": _model(m)["size"]}
        for m in state.model_ids()
    ]
    return Reply(200, dumps({"models": models}))


def show(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`POST /api/show` `{"model"}` (LiteLLM sends `{"name"}`): any model is there."""
    return state.api(http, partial(_show, state))


def _show(state: Scope, http: HttpRequest, decoded: object) -> Reply:
    body = decoded if isinstance(decoded, Mapping) else {}
    model = body.get("model") or body.get("name")
    if not isinstance(model, str) or not model:
        return state.reject(http, decoded, 400, {"error": "model is required"})
    state.record(http, 200, decoded)
    embedding = "embed" in model
    details = _DETAILS
    shown = {
        "modelfile": f"# Modelfile served by pytest-llm-mock\nFROM {model}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": details,
        "model_info": {
            "general.architecture": details["family"],
            "general.basename": model,
            "general.parameter_count": 3_000_000_000,
            f"{details['family']}.context_length": 131072,
            f"{details['family']}.embedding_length": 768 if embedding else 3072,
        },
        "capabilities": ["embedding"] if embedding else ["completion", "tools"],
        "modified_at": timestamp("modified", model),
    }
    return Reply(200, dumps(shown))


def version(state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`GET /api/version`: needs no key, as Ollama's does not."""
    state.record(http, 200)
    return Reply(200, dumps({"version": VERSION}))


def _model(model: str) -> dict[str, Any]:
    """A model as `/api/tags` lists it, every field derived from its name."""
    hashed = digest("ollama model", model)
    return {
        "name": model,
        "model": model,
        "modified_at": timestamp("modified", model),
        "size": 1_000_000_000 + int(hashed[:8], 16) % 4_000_000_000,
        "digest": hashed,
        "details": _DETAILS,
    }
