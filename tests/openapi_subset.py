"""Extract the part of the official OpenAI OpenAPI spec the tests use, into openapi_subset.json.

The spec is about 3 MB and not part of this repository; the tests validate against this
subset instead, checked in beside this script:

    python -m tests.openapi_subset SPEC            # write tests/openapi_subset.json
    python -m tests.openapi_subset --check SPEC    # exit 1 if the checked-in file differs

SPEC is `openapi.yaml` of https://github.com/openai/openai-openapi at the commit pinned below
(its SHA-256 is checked). Kept: the operations schemathesis generates requests for and the
schemas the tests validate against, with every schema they reach through `$ref`; of each,
only what validation and request generation read (types, required fields, enums, `$ref`s,
subschemas, bounds, formats, `nullable`, `discriminator`, the security schemes and a path
parameter's example, all of which schemathesis generates from). Descriptions, titles, other
examples, defaults and `x-*` documentation are left out. An unknown keyword is an error, not
a silent omission. The output is sorted and indented the same way every time, so the check
is a byte comparison.

To move to a newer spec: set COMMIT and SHA256 to it, run the first command, run the tests.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPOSITORY = "https://github.com/openai/openai-openapi"
COMMIT = "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"
SHA256 = "db5d7478feae10b4d331834c60d9765a8aa042e38419f9b1694288c11aa8ebc8"
SUBSET = Path(__file__).with_name("openapi_subset.json")

# The operations test_spec_requests.py generates requests for.
OPERATIONS = [
    ("post", "/chat/completions"),
    ("post", "/completions"),
    ("post", "/embeddings"),
    ("post", "/responses"),
    ("get", "/models"),
    ("get", "/models/{model}"),
]
# The schemas the tests validate bodies and events against (`validate(name, body)`).
SCHEMAS = [
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateCompletionResponse",
    "CreateEmbeddingResponse",
    "ErrorResponse",
    "ListModelsResponse",
    "Model",
    "Response",
    "ResponseStreamEvent",
]

_SCHEMA_PREFIX = "#/components/schemas/"
# Keywords whose value is one subschema, a list of them, or a map of names to them.
_SUBSCHEMA = frozenset(
    {
        "additionalProperties",
        "contains",
        "else",
        "if",
        "items",
        "not",
        "propertyNames",
        "then",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_SUBSCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAP = frozenset({"$defs", "dependentSchemas", "patternProperties", "properties"})
# Keywords kept as they are: validation (JSON Schema 2020-12 and 2019-09's recursive
# references, which the spec still uses), `format` and `readOnly`/`writeOnly` (schemathesis
# generates from them), and OpenAPI's `nullable` (made JSON Schema when loaded) and
# `discriminator` (schemathesis picks a oneOf branch by it; its mapping holds `$ref`s).
_LITERAL = frozenset(
    {
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$recursiveAnchor",
        "$recursiveRef",
        "$ref",
        "const",
        "contentEncoding",
        "contentMediaType",
        "dependentRequired",
        "discriminator",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minContains",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "nullable",
        "pattern",
        "readOnly",
        "required",
        "type",
        "uniqueItems",
        "writeOnly",
    }
)
# The fields of a parameter, beside its schema, that say how to send it.
_PARAMETER = frozenset(
    {"allowEmptyValue", "allowReserved", "explode", "in", "name", "required", "style"}
)
_SECURITY_SCHEME = frozenset(
    {"bearerFormat", "flows", "in", "name", "openIdConnectUrl", "scheme", "type"}
)
# Documentation: no validator or generator reads it. `x-*` keys are left out as well.
_DOCUMENTATION = frozenset(
    {"$comment", "default", "deprecated", "description", "example", "examples", "title"}
)


def extract(spec: dict[str, Any], source: dict[str, str]) -> dict[str, Any]:
    """The subset of `spec` the tests use, as an OpenAPI document naming its `source`."""
    schemas = spec["components"]["schemas"]
    wanted: list[str] = []
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        operation = spec["paths"].get(path, {}).get(method)
        if operation is None:
            raise ValueError(f"the spec has no operation {method.upper()} {path} (OPERATIONS)")
        if "security" in operation:
            raise ValueError(f"{path} {method}: its own security: extend extract to keep it")
        paths.setdefault(path, {})[method] = _operation(operation, f"{path} {method}", wanted)
    wanted.extend(SCHEMAS)
    kept: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name not in schemas:
            raise ValueError(f"the spec has no schema {name!r} (SCHEMAS, or a $ref to it)")
        if name not in kept:
            kept[name] = _schema(schemas[name], f"components.schemas.{name}", wanted)
    # Schemathesis generates the credentials the spec asks for, part of each request it makes.
    security = spec.get("security", [])
    used = sorted({name for requirement in security for name in requirement})
    schemes = {name: _security_scheme(name, spec["components"]["securitySchemes"]) for name in used}
    info = spec["info"]
    return {
        "openapi": spec["openapi"],
        "info": {"title": info["title"], "version": info["version"], "license": info["license"]},
        "x-subset-of": source,
        "security": security,
        "paths": paths,
        "components": {"schemas": kept, "securitySchemes": schemes},
    }


def render(document: dict[str, Any]) -> str:
    """The file's text: the same document always gives the same bytes."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def load_spec(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec at `path` and where it comes from; refused unless it is the pinned one."""
    import yaml

    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise ValueError(
            f"{path} is not the pinned spec: its SHA-256 is {digest}, expected {SHA256} "
            f"(openapi.yaml of {REPOSITORY} at {COMMIT}). To move to this spec, set COMMIT "
            f"and SHA256 in {Path(__file__).name} to it and regenerate."
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(raw, Loader=loader)
    source = {
        "repository": REPOSITORY,
        "commit": COMMIT,
        "path": "openapi.yaml",
        "sha256": SHA256,
        "copyright": "Copyright (c) OpenAI (https://openai.com), MIT License",
        "generated-by": "python -m tests.openapi_subset SPEC (do not edit by hand)",
    }
    return spec, source


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.openapi_subset",
        description="Extract the part of the OpenAI OpenAPI spec the tests use.",
    )
    parser.add_argument("spec", type=Path, help="openapi.yaml of openai/openai-openapi")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--output", type=Path, default=SUBSET, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        parser.error(f"no spec at {args.spec}")
    try:
        text = render(extract(*load_spec(args.spec)))
    except ValueError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    if not args.check:
        args.output.write_bytes(text.encode())  # bytes: "\n" line ends on every system
        print(f"wrote {args.output} ({len(text.encode()):,} bytes)")
        return 0
    current = args.output.read_bytes().decode() if args.output.is_file() else ""
    if current == text:
        print(f"{args.output} is up to date with {args.spec}")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(), text.splitlines(), str(args.output), "extracted", lineterm=""
    )
    print("\n".join(list(diff)[:40]), file=sys.stderr)
    print(
        f"{args.output} differs from what {args.spec} gives: "
        f"run python -m tests.openapi_subset {args.spec}",
        file=sys.stderr,
    )
    return 1


def _operation(operation: dict[str, Any], where: str, refs: list[str]) -> dict[str, Any]:
    """What schemathesis generates a request from: the parameters and the request body."""
    kept: dict[str, Any] = {}
    for i, parameter in enumerate(operation.get("parameters", [])):
        at = f"{where}.parameters[{i}]"
        if "$ref" in parameter:
            raise ValueError(f"{at}: a parameter by $ref: extend _operation to keep its target")
        fields: dict[str, Any] = {}
        for key, value in parameter.items():
            if key == "schema":
                fields[key] = _schema(value, f"{at}.schema", refs)
                # Schemathesis also generates a parameter from its example: for a model's
                # name, the one value of the many it makes up that names a real model.
                if "example" in value:
                    fields[key]["example"] = _json(value["example"], f"{at}.schema.example")
            elif key in _PARAMETER:
                fields[key] = _json(value, f"{at}.{key}")
            elif key not in _DOCUMENTATION and not key.startswith("x-"):
                raise ValueError(
                    f"{at}: unknown field {key!r}: add it to _PARAMETER or _DOCUMENTATION"
                )
        kept.setdefault("parameters", []).append(fields)
    body = operation.get("requestBody")
    if body is not None:
        content = {
            media: {"schema": _schema(value["schema"], f"{where}.requestBody.{media}", refs)}
            for media, value in body["content"].items()
        }
        kept["requestBody"] = {"required": body.get("required", False), "content": content}
    return kept


def _security_scheme(name: str, schemes: dict[str, Any]) -> dict[str, Any]:
    where = f"components.securitySchemes.{name}"
    kept: dict[str, Any] = {}
    for key, value in schemes[name].items():
        if key in _SECURITY_SCHEME:
            kept[key] = _json(value, f"{where}.{key}")
        elif key not in _DOCUMENTATION and not key.startswith("x-"):
            raise ValueError(
                f"{where}: unknown field {key!r}: add it to _SECURITY_SCHEME or _DOCUMENTATION"
            )
    return kept


def _schema(node: Any, where: str, refs: list[str]) -> Any:
    """`node` without its documentation, the names of the schemas it refers to added to
    `refs`; an error naming `where` for an unknown keyword."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        raise ValueError(f"{where}: expected a schema, got {node!r}")
    kept: dict[str, Any] = {}
    for key, value in node.items():
        at = f"{where}.{key}"
        if key in _SUBSCHEMA:
            kept[key] = _schema(value, at, refs)
        elif key in _SUBSCHEMA_LIST:
            kept[key] = [_schema(v, f"{at}[{i}]", refs) for i, v in enumerate(value)]
        elif key in _SUBSCHEMA_MAP:
            kept[key] = {name: _schema(v, f"{at}.{name}", refs) for name, v in value.items()}
        elif key in _LITERAL:
            kept[key] = _json(value, at)
        elif key not in _DOCUMENTATION and not key.startswith("x-"):
            raise ValueError(
                f"{where}: unknown keyword {key!r}: add it to _LITERAL if validation or "
                "request generation reads it, else to _DOCUMENTATION"
            )
    targets = [kept["$ref"]] if "$ref" in kept else []
    targets += kept.get("discriminator", {}).get("mapping", {}).values()
    for target in targets:
        if not target.startswith(_SCHEMA_PREFIX):
            raise ValueError(f"{where}: {target!r} is not a schema of components.schemas")
        refs.append(target.removeprefix(_SCHEMA_PREFIX))
    return kept


def _json(value: Any, where: str) -> Any:
    """`value`, checked to be JSON (YAML also reads dates and other types JSON lacks)."""
    if isinstance(value, dict):
        return {k: _json(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"{where}: {value!r} is not JSON")


if __name__ == "__main__":
    sys.exit(main())
