"""The providers package as issue 18 draws it: one registered module per provider wire, and no
provider importing another (each may import the package's interface and its own helpers)."""

from __future__ import annotations

import ast
from pathlib import Path

from pytest_llm_mock import providers

PACKAGE = Path(providers.__file__).parent


def owner(module: str) -> str | None:
    """The registered provider a module of the package belongs to: itself, or the provider
    whose name it extends (`gemini_answers` is Gemini's)."""
    owners = [name for name in providers._MODULES if f"{module}_".startswith(f"{name}_")]
    return max(owners, key=len, default=None)


def test_every_module_of_the_package_belongs_to_one_registered_provider() -> None:
    modules = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
    assert [m for m in modules if owner(m) is None] == []
    assert [p.name for p in providers.all_providers()] == [
        "OpenAI chat",
        "OpenAI embeddings",
        "OpenAI Responses",
        "OpenAI completions",
        "Anthropic",
        "Azure OpenAI",
        "AWS Bedrock",
        "Cohere",
        "Google Gemini and Vertex AI",
        "Ollama",
        "OpenAI models",
    ]


def test_no_provider_imports_another() -> None:
    crossings = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "__init__":
            continue
        imported = [
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        ]
        crossings += [f"{path.stem} imports {m}" for m in imported if owner(m) != owner(path.stem)]
    assert crossings == []
