"""Validate bodies against the official OpenAI OpenAPI spec.

The spec is not part of the project: its path comes from the environment variable
`LLM_MOCK_OPENAPI_SPEC`, which `.ci/run` points at ../shared/anchors/openai/openapi.yaml.
The spec still has OpenAPI 3.0 `nullable: true` leftovers that JSON Schema ignores; they are
turned into real "or null" schemas here before validating.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "LLM_MOCK_OPENAPI_SPEC"
Validate = Callable[[str, Any], None]


def spec_path() -> Path | None:
    """The spec's path, resolved against the folder pytest was started in."""
    value = os.environ.get(ENV)
    return Path(value).resolve() if value else None


def load_document(path: Path) -> dict[str, Any]:
    """The spec as a dict, its `nullable` leftovers made real "or null" schemas."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = _fix_nullable(yaml.load(handle, Loader=loader))
    return document


def load_validator(document: dict[str, Any]) -> Validate:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    uri = "urn:openai-openapi"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validators: dict[str, Any] = {}

    def validate(schema_name: str, instance: Any) -> None:
        if schema_name not in document["components"]["schemas"]:
            raise KeyError(f"no schema {schema_name!r} in the spec")
        validator = validators.get(schema_name)
        if validator is None:
            schema = {"$ref": f"{uri}#/components/schemas/{schema_name}"}
            validator = validators[schema_name] = Draft202012Validator(schema, registry=registry)
        validator.validate(instance)

    return validate


def _fix_nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_fix_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    fixed = {k: _fix_nullable(v) for k, v in node.items()}
    if fixed.pop("nullable", False) is not True:
        return fixed
    if "enum" in fixed and None not in fixed["enum"]:
        fixed["enum"] = [*fixed["enum"], None]
    kind = fixed.get("type")
    if isinstance(kind, str):
        fixed["type"] = [kind, "null"]
        return fixed
    if isinstance(kind, list):
        fixed["type"] = [*kind, "null"] if "null" not in kind else kind
        return fixed
    return {"anyOf": [fixed, {"type": "null"}]}
