"""The providers' doors: each module named in `_MODULES` is one provider's wire (its routes,
how its requests become the shared chat conversation, how answers, streams and errors are
written) and declares one `PROVIDER`. The app's route table and the collection reader take
the union of `all_providers()`; adding a provider is its module and one line in `_MODULES`.

A provider module imports the shared modules (`.._chat`, `.._request`, `.._state`, ...) and
its own helpers in this package (`gemini_answers`, ...), never another provider. What more
than one provider writes is shared, outside this package:

- the chat answer flow (`.._chat.respond`: the choice, faults, misses, record and capture
  modes, the journal) and the conversions between wires (`.._conversion`);
- the OpenAI APIs (`.._chat.answer`, `.._responses_api`, `.._completions`, `.._embeddings`,
  the models list of `.._state.Scope`): OpenAI serves them at `/v1/...` and at the root,
  Azure under its own paths, so the `openai_*` modules declare doors around them;
- the events that stream an Anthropic message (`.._messages`), which Bedrock's `invoke`
  sends too. The rest of the Messages API is `anthropic`'s own.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # the collection reader imports this package: no import cycle at run time
    from typing import TypeAlias

    from .._http import HttpRequest, RawHeaders
    from .._state import Reply
    from .._state import Scope as TestScope

    # (the test's scope, the request, the route's path parameters) -> the reply.
    Handler: TypeAlias = Callable[[TestScope, HttpRequest, Mapping[str, str]], Reply]


def _same(reply: Reply) -> Reply:
    return reply


def _none(path: str) -> str | None:
    return None


@dataclass(frozen=True)
class Door:
    """One route: a method, a Starlette path pattern (`/api/chat`,
    `/model/{model_id:path}/converse`) and its handler."""

    method: str
    path: str
    handler: Handler


@dataclass(frozen=True)
class Provider:
    """One provider's wire.

    - `errors` rewrites every error reply of its doors (OpenAI-shaped on the way in: misses,
      faults, bad requests) into the provider's shape and headers.
    - `prefixes`: an unknown route or a wrong method under one of these paths gets the
      provider's own 404/405 (through `errors`), not OpenAI's.
    - `example_key(path)`: for an example saved in Postman on one of this provider's paths
      (already without host, query and a leading `/v1`), the key its examples are indexed
      under (`Example.path`, and the `path` its handler passes to `Scope.index_for`); None
      for paths that are not the provider's. A key is a path of its own, so that
      `example_key(key) == key`; or an OpenAI key (`/chat/completions`, ...) for a provider
      whose wire is OpenAI's (Azure): its examples are then the OpenAI API's own.
    - `example_model(path)`: the model an example saved on `path` stands for, whatever its
      body says (Azure's deployment); None to keep the body's.
    - `to_chat(body, path)`: a saved request body of such an example as a chat request body
      (`{"model", "messages", ...}`), so the same strategies match it.
    - `claims(headers)`: for a door whose method and path another door also has (Gemini's
      `GET /v1/models`), whether a request is this provider's; the first door that claims
      it answers, else the unclaiming door.
    """

    name: str
    doors: tuple[Door, ...]
    errors: Callable[[Reply], Reply] = _same
    prefixes: tuple[str, ...] = ()
    example_key: Callable[[str], str | None] = _none
    to_chat: Callable[[Mapping[str, Any], str], dict[str, Any]] | None = None
    example_model: Callable[[str], str | None] = _none
    claims: Callable[[RawHeaders], bool] | None = None


def gated(answer: Callable[[TestScope, HttpRequest, object], Reply]) -> Handler:
    """A door whose requests pass the API's gate (`Scope.api`: key, rate limit, JSON body)
    and are answered by `answer(scope, request, decoded body)`."""

    def handler(scope: TestScope, http: HttpRequest, _: Mapping[str, str]) -> Reply:
        return scope.api(http, partial(answer, scope))

    return handler


def with_and_without_v1(method: str, path: str, handler: Handler) -> tuple[Door, Door]:
    """A door at `/v1{path}`, and at `path` for clients whose base URL has no `/v1`."""
    return Door(method, "/v1" + path, handler), Door(method, path, handler)


# One line per provider: the module under this package that declares its `PROVIDER`. The
# order is the one `GET /` and unknown-route errors list them in, and the route table's:
# where the paths of two providers' doors overlap, the first one's matches first (the
# `Allow` of a wrong method's 405, the provider the web page names): OpenAI's models come
# after Gemini, whose doors share their paths.
_MODULES: tuple[str, ...] = (
    "openai_chat",
    "openai_embeddings",
    "openai_responses",
    "openai_completions",
    "anthropic",
    "azure",
    "bedrock",
    "cohere",
    "gemini",
    "ollama",
    "openai_models",
)


@cache
def all_providers() -> tuple[Provider, ...]:
    """Every provider, loaded on first use (the collection reader imports this package, and a
    provider module imports the shared modules that import the reader)."""
    loaded = (import_module(f"{__name__}.{name}") for name in _MODULES)
    return tuple(cast("Provider", module.PROVIDER) for module in loaded)


def example_key(path: str) -> tuple[str, Provider] | None:
    """The key and provider of an example saved on `path`, if a provider claims the path."""
    for provider in all_providers():
        key = provider.example_key(path)
        if key is not None:
            return key, provider
    return None


def provider_of_key(key: str) -> Provider | None:
    """The provider whose example key `key` is (`example_key` gives each key back unchanged)."""
    found = example_key(key)
    return found[1] if found is not None and found[0] == key else None


def for_unknown(path: str) -> Provider | None:
    """The provider whose 404/405 an unknown route or wrong method under `path` gets."""
    for provider in all_providers():
        if any(path.startswith(prefix) for prefix in provider.prefixes):
            return provider
    return None


_CONVERTOR = re.compile(r"\{(\w+):[^}]+\}")  # `{model:llm_mock_model_id}`, shown as `{model}`


def root_routes() -> list[str]:
    """The doors of the providers without paths of their own (no `prefixes`: OpenAI's APIs,
    Anthropic's) as `METHOD /v1/path`, for `GET /` and unknown-route errors: each door once
    (it is served without `/v1` too), its parameters as `{name}`."""
    return [
        f"{door.method} {_CONVERTOR.sub(_name, door.path)}"
        for p in all_providers()
        if not p.prefixes
        for door in p.doors
        if door.path.startswith("/v1/")
    ]


def _name(parameter: re.Match[str]) -> str:
    return "{" + parameter[1] + "}"


def routes() -> list[str]:
    """Every door of the providers with paths of their own as `METHOD /path`, for `GET /`."""
    return [f"{door.method} {door.path}" for p in all_providers() if p.prefixes for door in p.doors]


def summary() -> str:
    """The providers and where their doors are, for unknown-route messages."""
    return ", ".join(f"{p.name} ({' '.join(p.prefixes)})" for p in all_providers() if p.prefixes)


# A door's path parameter: `{deployment}` is one segment, `{model_id:path}` and
# `{model:llm_mock_model_id}` any text (slashes included).
_PARAMETER = re.compile(r"\{\w+(?::(\w+))?\}")


def door_of(method: str, path: str, headers: RawHeaders | None = None) -> Provider | None:
    """The provider whose door `METHOD path` comes through: a request's path (without a
    test's prefix and the query) or an example's. Where two doors both match, as the app
    does: the first whose provider `claims` the request's `headers`, else the unclaiming
    one (without headers, no provider claims)."""
    if headers is None:
        return _door_of_path(method, path)
    return _door(method, path, headers)


@lru_cache(maxsize=1024)  # examples' paths: a collection has few
def _door_of_path(method: str, path: str) -> Provider | None:
    return _door(method, path, None)


def _door(method: str, path: str, headers: RawHeaders | None) -> Provider | None:
    unclaimed = None
    for provider, door_method, pattern in _door_patterns():
        if door_method != method or pattern.fullmatch(path) is None:
            continue
        if provider.claims is None:
            return provider
        if headers is not None and provider.claims(headers):
            return provider
        unclaimed = unclaimed or provider
    return unclaimed


@cache
def _door_patterns() -> tuple[tuple[Provider, str, re.Pattern[str]], ...]:
    return tuple(
        (provider, door.method, _pattern(door.path))
        for provider in all_providers()
        for door in provider.doors
    )


def _pattern(path: str) -> re.Pattern[str]:
    parts: list[str] = []
    end = 0
    for parameter in _PARAMETER.finditer(path):
        parts.append(re.escape(path[end : parameter.start()]))
        parts.append("[^/]+" if parameter[1] is None else ".+")
        end = parameter.end()
    return re.compile("".join([*parts, re.escape(path[end:])]), re.DOTALL)
