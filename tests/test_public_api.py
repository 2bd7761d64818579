"""The public surface is `pytest_llm_mock.__all__`, and importing the plugin is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_llm_mock


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert pytest_llm_mock.__all__ == sorted(pytest_llm_mock.__all__)
    for name in pytest_llm_mock.__all__:
        assert getattr(pytest_llm_mock, name) is not None
    assert set(pytest_llm_mock.__all__) <= set(dir(pytest_llm_mock))


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = pytest_llm_mock.Nope


def test_version_is_the_distribution_version() -> None:
    from importlib.metadata import version

    assert pytest_llm_mock.__version__ == version("pytest-llm-mock")


def test_importing_the_plugin_loads_nothing_heavy() -> None:
    code = (
        "import sys; import pytest_llm_mock.plugin; "
        "heavy = ('starlette', 'uvicorn', 'openai', 'pydantic', 'httpx', 'httpx2', 'anyio'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    # pytest itself may bring some in; compare against a bare pytest import.
    bare = subprocess.run(
        [sys.executable, "-c", code.replace("import pytest_llm_mock.plugin; ", "import pytest; ")],
        capture_output=True,
        text=True,
        check=True,
    )
    plugin = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert plugin.stdout == bare.stdout
