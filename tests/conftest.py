from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer

from . import openapi

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COLLECTION = ROOT / "collection.json"


@pytest.fixture(scope="session", autouse=True)
def _server_stack_loaded() -> None:
    """Start a server once before any test, so that the whole server stack is imported by the
    suite's own process: what an in-process pytester run imports first is dropped after it,
    and httptools imported again raises parser errors that the kept uvicorn does not catch."""
    with LLMMockServer(strict=False):
        pass


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with pytest-asyncio's loop-scope option set in the runs it makes (unset, it
    warns at start-up, which the inner runs' `filterwarnings = error` turns into an error),
    and the same output on CI as elsewhere."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")
    # On CI pytest does not shorten the short test summary: the runs print the same anywhere.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    return pytester


@pytest.fixture(scope="session")
def spec_document() -> dict[str, Any]:
    """The part of the official OpenAI OpenAPI spec the tests use, `nullable` made JSON Schema."""
    return openapi.load_document()


@pytest.fixture(scope="session")
def validate(spec_document: dict[str, Any]) -> openapi.Validate:
    """Validate a body against a schema of the official OpenAI spec."""
    return openapi.load_validator(spec_document)


@pytest.fixture
def standalone() -> Iterator[LLMMockServer]:
    """A server of its own (not the plugin's), serving the default collection, not strict."""
    with LLMMockServer(DEFAULT_COLLECTION, strict=False) as server:
        yield server
