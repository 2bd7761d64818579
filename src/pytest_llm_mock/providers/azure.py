"""Azure OpenAI: the OpenAI wire under Azure's paths (providers.md, section 6).

- `POST /openai/deployments/{deployment}/{chat/completions,completions,embeddings}`, any
  `api-version`: the deployment stands for the model (Azure serves the deployment whatever
  the body's `model` says), so it narrows matches, names the journal's model and is the
  answer's `model`.
- `POST /openai/responses`: where `AzureOpenAI` sends Responses, the deployment in the
  body's `model`.
- `/openai/v1/...`: Azure's v1 API, the OpenAI routes as they are.
- `GET /openai/models[/{model}]`: the models list, as under `/v1`.

The bodies, streams and errors are OpenAI's, answered by the shared OpenAI handlers: Azure's error
body is the OpenAI envelope, and its content-filter fields are extra fields no client needs.
The `api-key` header carries the key (`_http.api_key` reads it). Examples saved in Postman on
Azure paths are indexed as the OpenAI examples of the same API, the deployment as their model.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial

from .. import _chat, _completions, _embeddings, _responses_api
from .._collection import CHAT_PATH
from .._conversion import COMPLETIONS_PATH, RESPONSES_PATH
from .._embeddings import EMBEDDINGS_PATH
from .._http import HttpRequest
from .._state import Reply, Scope
from . import Door, Provider, gated

Answer = Callable[[Scope, HttpRequest, object], Reply]

# The API of each OpenAI path, by the key its examples are indexed under.
_ANSWERS: dict[str, Answer] = {
    CHAT_PATH: _chat.answer,
    COMPLETIONS_PATH: _completions.answer,
    EMBEDDINGS_PATH: _embeddings.answer,
    RESPONSES_PATH: _responses_api.answer,
}
_DEPLOYED = (CHAT_PATH, COMPLETIONS_PATH, EMBEDDINGS_PATH)  # what Azure serves per deployment
_DEPLOYMENT_PATH = re.compile(
    r"/openai/deployments/(?P<deployment>[^/]+)(?P<api>" + "|".join(map(re.escape, _DEPLOYED)) + ")"
)
_V1 = "/openai/v1"


def _deployed(answer: Answer) -> Callable[[Scope, HttpRequest, Mapping[str, str]], Reply]:
    """An OpenAI route under a deployment, which stands for the body's model."""

    def handler(scope: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
        return scope.api(http, partial(_as_deployment, answer, scope, params["deployment"]))

    return handler


def _as_deployment(
    answer: Answer, scope: Scope, deployment: str, http: HttpRequest, decoded: object
) -> Reply:
    if isinstance(decoded, dict):
        decoded = {**decoded, "model": deployment}
    return answer(scope, http, decoded)


def _models(scope: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    return scope.models(http)


def _model(scope: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
    return scope.model(http, params["model"])


def example_key(path: str) -> str | None:
    """An example saved on an Azure path is an example of the same OpenAI API."""
    deployed = _DEPLOYMENT_PATH.fullmatch(path)
    if deployed is not None:
        return deployed["api"]
    if path == "/openai" + RESPONSES_PATH:
        return RESPONSES_PATH
    if path.startswith(_V1 + "/") and path[len(_V1) :] in _ANSWERS:
        return path[len(_V1) :]
    return None


def example_model(path: str) -> str | None:
    """The deployment an example was saved under: its model, as for requests."""
    deployed = _DEPLOYMENT_PATH.fullmatch(path)
    return deployed["deployment"] if deployed is not None else None


def _doors() -> tuple[Door, ...]:
    deployed = tuple(
        Door("POST", f"/openai/deployments/{{deployment}}{path}", _deployed(_ANSWERS[path]))
        for path in _DEPLOYED
    )
    v1 = tuple(Door("POST", _V1 + path, gated(answer)) for path, answer in _ANSWERS.items())
    models = tuple(
        door
        for prefix in ("/openai", _V1)
        for door in (
            Door("GET", f"{prefix}/models", _models),
            Door("GET", f"{prefix}/models/{{model:llm_mock_model_id}}", _model),
        )
    )
    responses = Door("POST", "/openai" + RESPONSES_PATH, gated(_responses_api.answer))
    return (*deployed, responses, *v1, *models)


PROVIDER = Provider(
    "Azure OpenAI",
    doors=_doors(),
    # Errors stay OpenAI's envelope (Azure's own); unknown routes under /openai get it too.
    prefixes=("/openai/",),
    example_key=example_key,
    example_model=example_model,
)
