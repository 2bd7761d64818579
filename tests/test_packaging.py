"""The wheel carries the embedded default collection, the type marker and the entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import DEFAULT_COLLECTION, ROOT


def test_the_wheel_embeds_the_default_collection(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("pytest_llm_mock-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("pytest_llm_mock/collection.json") == DEFAULT_COLLECTION.read_bytes()
        assert "pytest_llm_mock/py.typed" in names
        web = {f"pytest_llm_mock/web/{n}" for n in ("index.html", "page.js", "page.css")}
        assert web <= names, "the web page's files are shipped in the package"
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "[pytest11]\nllm_mock = pytest_llm_mock.plugin" in text
    assert "pytest-llm-mock = pytest_llm_mock.cli:run" in text
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
