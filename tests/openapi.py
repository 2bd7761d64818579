"""Validate bodies against the official OpenAI OpenAPI spec.

The tests read the part of the spec they use from openapi_subset.json, extracted from the
pinned spec by openapi_subset.py. The spec still has OpenAPI 3.0 `nullable: true` leftovers
that JSON Schema ignores; they are turned into real "or null" schemas here before validating.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .openapi_subset import SUBSET

Validate = Callable[[str, Any], None]


def load_document() -> dict[str, Any]:
    """The spec's subset as a dict, its `nullable` leftovers made real "or null" schemas."""
    with SUBSET.open(encoding="utf-8") as handle:
        document: dict[str, Any] = _fix_nullable(json.load(handle))
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
            raise KeyError(
                f"no schema {schema_name!r} in {SUBSET.name}: add it to SCHEMAS in "
                "openapi_subset.py and run python -m tests.openapi_subset SPEC"
            )
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
