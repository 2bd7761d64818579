"""Postman's own runner against the mock: `newman run` every request of a collection, then
check that each got the response saved in one of its item's examples.

    python .ci/newman_check.py COLLECTION NEWMAN_BINARY
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_llm_mock import LLMMockServer


def items(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Request items in the order newman runs them (depth first)."""
    for node in nodes:
        if "item" in node:
            yield from items(node["item"])
        else:
            yield node


def answered_by(code: int, body: bytes, example: dict[str, Any]) -> bool:
    if example.get("code", 200) != code:
        return False
    served = json.loads(body)
    try:
        saved = json.loads(example.get("body") or "")
    except ValueError:
        saved = example.get("body") or ""
    if isinstance(saved, dict):  # a full object: every saved field comes back as saved
        return all(served.get(key) == value for key, value in saved.items())
    return served["choices"][0]["message"]["content"] == saved  # plain-text shorthand


def main(collection: str, newman: str) -> int:
    data = json.loads(Path(collection).read_text(encoding="utf-8"))
    with LLMMockServer(collection) as server, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                newman,
                "run",
                collection,
                "--env-var",
                f"baseUrl={server.url}",
                "--reporters",
                "cli,json",
                "--reporter-json-export",
                str(report),
            ],
            check=True,
        )
        executions = json.loads(report.read_text(encoding="utf-8"))["run"]["executions"]
    failures = []
    expected = list(items(data["item"]))
    if len(executions) != len(expected):
        failures.append(
            f"newman ran {len(executions)} requests, the collection has {len(expected)}"
        )
    for item, execution in zip(expected, executions, strict=False):
        response = execution.get("response") or {}
        body = bytes(response.get("stream", {}).get("data", []))
        code = response.get("code", 0)
        if not any(answered_by(code, body, example) for example in item.get("response", [])):
            failures.append(f"{item['name']!r}: got {code} {body[:200]!r}, not a saved example")
    for failure in failures:
        print(f"newman check: {failure}")
    passed = len(expected) - len(failures)
    print(f"newman check: {passed} of {len(expected)} requests got their saved example")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
