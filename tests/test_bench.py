"""The benchmark runs, so it cannot rot. It asserts nothing about speed: a busy machine must
not fail the suite (performance.md); the figures are for reading, not for gating."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

FIGURES = [
    "floor: SDK call, no socket, p50",
    "floor: SDK call, no socket, p99",
    "bare ASGI app on uvicorn in a thread, p50 (the design's bound)",
    "bare ASGI app on uvicorn in a thread, p99",
    "ours: SDK call p50",
    "ours: SDK call p99",
    "pytest-httpserver: SDK call p50 (peer)",
    "ours: 100-chunk stream",
    "ours: first chunk",
    "start, first in process",
    "start, later (warm CPU)",
    "start, later (cold CPU)",
    "pytest-httpserver start, waits until ready (warm CPU)",
    "pytest-httpserver start, its default: no wait (warm CPU)",
    "stop",
    "pytest start-up cost of the unused plugin",
    "fixture overhead per test",
    "client creation: OpenAI(base_url=...)",
    "client creation: openai_client()",
    "client creation: AsyncOpenAI(base_url=...)",
    "client creation: async_openai_client()",
    "pytest-repeat run, no client in the tests: per test",
    "pytest-repeat run, openai_client() in each test: per test",
    "pytest-repeat run: openai_client()'s time per test",
    "pytest-repeat run: OpenAI(base_url=...)'s time per test",
    "load a 10,000-example collection",
    "answer cost 10,000 / 10 examples",
    "peak memory, 10,000-example session",
]


def test_the_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(report)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    names = [row["what"] for row in data["rows"]]
    assert [name for name in FIGURES if name not in names] == []
    assert data["machine"]["cpus"] >= 1
    assert "pytest-llm-mock benchmark on" in result.stdout
