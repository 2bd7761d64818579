"""Docs are tests: every Python block of the README stands verbatim in the example it names,
and the README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.startswith("# examples/")])
def test_readme_blocks_are_taken_from_the_examples(block: str) -> None:
    first, _, code = block.partition("\n")
    example = ROOT / first.removeprefix("# ")
    assert example.is_file(), f"the README names {example}, which does not exist"
    assert code.strip() in example.read_text(encoding="utf-8")


def test_every_runnable_readme_block_names_its_example() -> None:
    unnamed = [b for b in BLOCKS if not b.startswith("# examples/") and "..." not in b]
    assert unnamed == []


def test_ci_runs_the_readme_commands() -> None:
    setup = README.split("## Set-up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in setup.splitlines() if line and not line.startswith("#")]
    assert commands[0] == "bash examples/run"
    assert "../shared" not in setup
    printed = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "readme.py"), "setup"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert printed.splitlines() == commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python3 .ci/readme.py setup > "$work/setup.txt"' in ci


def test_every_guarantee_names_a_test_that_exists() -> None:
    table = README.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", table)
    assert len(named) >= 10
    for path, test in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not test or f"def {test}(" in source, f"{path}::{test} does not exist"
