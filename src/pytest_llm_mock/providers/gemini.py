"""Google Gemini, through the Developer API's doors (`/{v1,v1beta,v1alpha}/models/...`) and
Vertex AI's (`/{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/...`, and the
express mode's `/{v1,v1beta1}/publishers/google/models/...`): one wire, one client package
(google-genai), one example shape. `generateContent` and `streamGenerateContent` are matched
as chat with the active strategy and answered from the same examples as chat completions;
`countTokens`, `embedContent`, `batchEmbedContents` and Vertex AI's `predict` (text
embeddings) are answered from the request alone.
Errors are Google's `{"error": {"code", "message", "status"}}` (providers.md, section 1).

`GET /v1/models[/{model}]` is also OpenAI's: a request with Google's `x-goog-*` headers gets
Google's model list, any other the OpenAI one.

This module holds the routes, errors, models and the collection's hooks; the answers are in
`gemini_answers`, the body conversions in `gemini_wire`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from .._http import HttpRequest, RawHeaders
from .._openai import dumps
from .._state import Reply, Scope
from . import Door, Provider
from .gemini_answers import count_tokens, generate
from .gemini_embed import embed, predict
from .gemini_wire import GENERATE_KEY, chat_messages

_METHOD = re.compile(
    r"/(?:v1beta1?/|v1alpha/)?(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/)?"
    r"models/(?P<model>.+):(?P<method>[A-Za-z]+)"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",  # a method the path does not serve
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_METHODS = "generateContent, streamGenerateContent, countTokens, embedContent, batchEmbedContents"


_Answer = Callable[[Scope, str, HttpRequest, object], Reply]
_ANSWERS: dict[str, _Answer] = {
    "generateContent": partial(generate, stream=False),
    "streamGenerateContent": partial(generate, stream=True),
    "countTokens": count_tokens,
    "embedContent": partial(embed, batch=False),
    "batchEmbedContents": partial(embed, batch=True),
    "predict": predict,
}


def _post(state: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
    """`POST .../models/{model}:{method}`."""
    model, colon, method = params["target"].rpartition(":")
    answer = _ANSWERS.get(method) if colon and model else None
    if answer is None:
        message = (
            f"Unknown method: POST {http.path}. pytest-llm-mock serves these methods of "
            f".../models/{{model}}: {_METHODS}, and on Vertex AI predict (text embeddings)."
        )
        state.record(http, 404, miss=message)
        return Reply(404, dumps({"error": {"message": message}}))
    model = model.removeprefix("models/")
    return state.api(http, partial(answer, state, model), model=model)


def _list(publisher: bool, state: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    """`GET .../models`: the models the collection names and the ones in use."""
    reply = state.models(http)  # the key check and the journal entry
    if reply.status != 200:
        return reply
    models = [_model(model_id, publisher) for model_id in state.model_ids()]
    return Reply(200, dumps({"publisherModels" if publisher else "models": models}))


def _get(publisher: bool, state: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
    """`GET .../models/{model}`: a model the collection names or one in use, else a 404."""
    model_id = params["model"].removeprefix("models/")
    reply = state.model(http, model_id)
    if reply.status != 200:
        return reply
    return Reply(200, dumps(_model(model_id, publisher)))


def _model(model_id: str, publisher: bool) -> dict[str, Any]:
    if publisher:  # Vertex AI's publisher model
        return {"name": f"publishers/google/models/{model_id}", "versionId": "001"}
    return {
        "name": f"models/{model_id}",
        "baseModelId": model_id,
        "version": "001",
        "displayName": model_id,
        "description": "Served by pytest-llm-mock.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": _METHODS.split(", "),
    }


def google_errors(reply: Reply) -> Reply:
    """An error reply in Google's shape."""
    if reply.status < 400:
        return reply
    status = reply.status
    try:
        error = json.loads(reply.body)["error"]
    except (ValueError, KeyError, TypeError):
        error = {"message": reply.body.decode("utf-8", "replace")}
    if not isinstance(error, Mapping):
        error = {"message": str(error)}
    name = error.get("status")
    if not isinstance(name, str):
        name = _STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    shaped: dict[str, Any] = {
        "code": status,
        "message": str(error.get("message", "")),
        "status": name,
    }
    if isinstance(error.get("details"), list):
        shaped["details"] = error["details"]
    return Reply(status, dumps({"error": shaped}), reply.headers, None, reply.delivery)


def claims(headers: RawHeaders) -> bool:
    """Google's clients send `x-goog-api-key` or `x-goog-api-client`; OpenAI's send neither."""
    return any(name.startswith(b"x-goog-") for name, _ in headers)


def example_key(path: str) -> str | None:
    """Examples saved on any generateContent path (either door, any version, any model)."""
    found = _METHOD.fullmatch(path)
    if found is None or found["method"] not in ("generateContent", "streamGenerateContent"):
        return None
    return GENERATE_KEY


def example_model(path: str) -> str | None:
    """The model in the path an example is saved on (`gemini-2.0-flash`)."""
    found = _METHOD.fullmatch(path)
    model = found["model"].removeprefix("models/") if found is not None else None
    return None if model in (None, "{model}") else model


def to_chat(body: Mapping[str, Any], _: str) -> dict[str, Any]:
    return {"messages": chat_messages(body)}  # the model is in the path: `example_model`


def _doors() -> tuple[Door, ...]:
    target, model = "{target:llm_mock_model_id}", "{model:llm_mock_model_id}"
    doors: list[Door] = []
    # Developer API; no version: LiteLLM's `gemini/` with `api_base` set to the server.
    for version in ("/v1", "/v1beta", "/v1alpha", ""):
        doors += [
            Door("POST", f"{version}/models/{target}", _post),
            Door("GET", f"{version}/models", partial(_list, False)),
            Door("GET", f"{version}/models/{model}", partial(_get, False)),
        ]
    for version in ("/v1", "/v1beta1"):
        located = f"{version}/projects/{{project}}/locations/{{location}}"
        doors += [
            Door("POST", f"{located}/publishers/google/models/{target}", _post),
            Door("POST", f"{located}/models/{target}", _post),
            Door("POST", f"{version}/publishers/google/models/{target}", _post),  # express
            Door("GET", f"{version}/publishers/google/models", partial(_list, True)),
            Door("GET", f"{version}/publishers/google/models/{model}", partial(_get, True)),
        ]
    return tuple(doors)


PROVIDER = Provider(
    "Google Gemini and Vertex AI",
    doors=_doors(),
    errors=google_errors,
    prefixes=("/v1beta/", "/v1alpha/", "/v1beta1/", "/v1/projects/", "/v1/publishers/"),
    example_key=example_key,
    to_chat=to_chat,
    example_model=example_model,
    claims=claims,
)
