"""Postman's own runner against the mock.

1. `newman run` every request of COLLECTION against the mock serving it: each must get the
   response saved in one of its item's examples.
2. Record mode: newman runs COLLECTION against a mock that records into an empty file, with a
   mock of COLLECTION as the upstream. Then, with the upstream stopped, the recorded file must
   pass `pytest-llm-mock check`, and newman runs it against a mock serving it: each request
   must get its recorded example.

    python .ci/newman_check.py COLLECTION NEWMAN_BINARY
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._record import Recorder
from pytest_llm_mock.cli import main as main_cli


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


def run_newman(newman: str, collection: str, url: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [newman, "run", collection, "--env-var", f"baseUrl={url}"]
        command += ["--reporters", "cli,json", "--reporter-json-export", str(report)]
        subprocess.run(command, check=True)
        run: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))["run"]
    return list(run["executions"])


def saved_examples(collection: str, newman: str) -> int:
    """Newman against `pytest-llm-mock serve COLLECTION`: every request gets its saved example,
    and serve exits 0 on SIGTERM (it exits 1 if any request went unanswered)."""
    command = [sys.executable, "-m", "pytest_llm_mock", "serve", collection, "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as serve:
        assert serve.stdout is not None
        url = ""
        for line in serve.stdout:  # the URL line comes right after start-up
            if "base_url:" in line:
                url = line.split("base_url:", 1)[1].strip().removesuffix("/v1")
                break
        executions = run_newman(newman, collection, url)
        serve.send_signal(signal.SIGTERM)
        rest = serve.stdout.read()
        code = serve.wait(30)
    print(rest.strip().splitlines()[-1] if rest.strip() else "serve printed nothing at exit")
    if code != 0:
        print(f"newman check: serve exited {code}: some requests were not answered")
        return 1
    return compare(collection, executions)


def record_then_replay(collection: str, newman: str) -> int:
    """Record COLLECTION's answers through the mock, then replay them without the upstream."""
    with tempfile.TemporaryDirectory() as tmp:
        recorded = Path(tmp) / "recorded.json"
        with LLMMockServer(collection, strict=False) as upstream, LLMMockServer() as recorder:
            recorder._state.recorder = Recorder(upstream.base_url, recorded)
            run_newman(newman, collection, recorder.url)
        if main_cli(["check", str(recorded)]) != 0:
            print("newman check: the recorded collection has findings")
            return 1
        with LLMMockServer(recorded) as replay:
            executions = run_newman(newman, str(recorded), replay.url)
        return compare(str(recorded), executions)


def compare(collection: str, executions: list[dict[str, Any]]) -> int:
    data = json.loads(Path(collection).read_text(encoding="utf-8"))
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
    source, binary = sys.argv[1], sys.argv[2]
    raise SystemExit(saved_examples(source, binary) or record_then_replay(source, binary))
