"""OpenAI's Models API: `GET /v1/models` and `GET /v1/models/{model}` (and without `/v1`):
the models the collection names and the ones in use (`.._state.Scope.models`). Gemini serves
the same paths: a request with Google's headers is Gemini's (its `claims`), any other these.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._http import HttpRequest
from .._state import Reply, Scope
from . import Provider, with_and_without_v1


def _models(scope: Scope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
    return scope.models(http)


def _model(scope: Scope, http: HttpRequest, params: Mapping[str, str]) -> Reply:
    return scope.model(http, params["model"])


PROVIDER = Provider(
    "OpenAI models",
    doors=(
        *with_and_without_v1("GET", "/models", _models),
        *with_and_without_v1("GET", "/models/{model:llm_mock_model_id}", _model),
    ),
)
