from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llm_mock import LLMMockServer

from . import openapi

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
# Resolved now: some tests change the working folder before the spec is first loaded.
SPEC = openapi.spec_path()
DEFAULT_COLLECTION = ROOT / "collection.json"


@pytest.fixture(scope="session")
def validate() -> openapi.Validate:
    """Validate a body against a schema of the official OpenAI spec."""
    path = SPEC
    if path is None:
        pytest.fail(
            f"set {openapi.ENV} to the OpenAI OpenAPI spec "
            "(../shared/anchors/openai/openapi.yaml); .ci/run does"
        )
    return openapi.load_validator(path)


@pytest.fixture
def standalone() -> Iterator[LLMMockServer]:
    """A server of its own (not the plugin's), serving the default collection, not strict."""
    with LLMMockServer(DEFAULT_COLLECTION, strict=False) as server:
        yield server
