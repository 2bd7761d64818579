"""pytest-llm-mock: a deterministic OpenAI-compatible server for end-to-end tests.

Names load on first use, so that importing the package (which pytest does for every run
of a project that installs the plugin) costs almost nothing.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._collection import Collection, CollectionError, Example
    from ._fixture import LLMMockServer
    from ._journal import RecordedRequest
    from ._postman import load_collection
    from ._request import ChatRequest, Message

__all__ = [
    "ChatRequest",
    "Collection",
    "CollectionError",
    "Example",
    "LLMMockServer",
    "Message",
    "RecordedRequest",
    "__version__",
    "load_collection",
]

_HOMES = {
    "ChatRequest": "._request",
    "Collection": "._collection",
    "CollectionError": "._collection",
    "Example": "._collection",
    "LLMMockServer": "._fixture",
    "Message": "._request",
    "RecordedRequest": "._journal",
    "load_collection": "._postman",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-llm-mock")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pytest_llm_mock' has no attribute {name!r}")
    return getattr(import_module(home, __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
