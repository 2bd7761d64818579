"""The providers' doors: each module of this package is one provider's wire (its routes, how
its requests become the shared chat conversation, how answers, streams and errors are
written) and declares one `PROVIDER`. The app's route table and the collection reader take
the union of `all_providers()`; adding a provider is its module and one line in `_MODULES`.

A provider module imports the shared modules (`.._chat`, `.._request`, `.._state`, ...), never
another provider.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
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


# One line per provider: the module under this package that declares its `PROVIDER`.
_MODULES: tuple[str, ...] = (
    "azure",
    "bedrock",
    "cohere",
    "gemini",
    "ollama",
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


def routes() -> list[str]:
    """Every door as `METHOD /path`, for `GET /`."""
    return [f"{door.method} {door.path}" for p in all_providers() for door in p.doors]


def summary() -> str:
    """The providers and where their doors are, for unknown-route messages."""
    return ", ".join(f"{p.name} ({' '.join(p.prefixes)})" for p in all_providers() if p.prefixes)
