"""The benchmark runs, so it cannot rot. It asserts nothing about speed: a busy machine must
not fail the suite (performance.md); the figures are for reading, and only `bench/run.py`
itself fails on a ratio broken by a wide margin. The peers' parts need the peers' environment
(bench/peers/setup); what of them runs without it is tested here: the generated suites, the
load client against our own `serve`, the gates."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

FIGURES = [
    "floor: SDK call, no socket, p50",
    "floor: SDK call, no socket, p99",
    "bare ASGI app on uvicorn in a thread, p50 (the design's bound)",
    "bare ASGI app on uvicorn in a thread, p99",
    "ours: SDK call p50",
    "ours: SDK call p99",
    "ours: SDK call p50 over the floor",
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


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The benchmark's modules importable, as when bench/run.py runs (its folder first)."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    yield
    for name in [n for n in sys.modules if n.split(".")[0] in BENCH_MODULES]:
        del sys.modules[name]


BENCH_MODULES = {"run", "contenders", "suite", "load", "side_by_side", "peers_run"}


def module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.usefixtures("bench")
def test_a_ratio_past_its_gate_or_a_failure_of_ours_fails_the_run_a_missed_goal_does_not() -> None:
    run = module("run")
    bench = run.Bench("quick")
    bench.ratio("within the gate", 1.3, 1.0, 1.10, gate=1.5)
    bench.ratio("past the gate", 1.6, 1.0, 1.10, gate=1.5)
    bench.ahead("a peer 1.6 times faster", 1.0, "ms", 1 / 1.6, 1.5)
    bench.ahead("a peer 1.6 times faster, ungated", 1.0, "ms", 1 / 1.6, None)
    bench.missing("a peer that cannot stream here", "why")
    bench.missing("ours, failing", "why", fatal=True)

    assert [row["ok"] for row in bench.rows] == [False, False, False, False, None, False]
    assert [row["what"] for row in bench.broken()] == [
        "past the gate",
        "a peer 1.6 times faster",
        "ours, failing",
    ]
    assert bench.tail_gate(2.5) is None
    assert run.Bench("full").tail_gate(2.5) == 2.5


@pytest.mark.usefixtures("bench")
def test_every_generated_suite_is_valid_python() -> None:
    suite = module("suite")

    compile(suite.DATA, "bench_data.py", "exec")
    for each in suite.SUITES:
        compile(suite.test_file(each, 10), f"{each.name}.py", "exec")
        assert each.ran(1000) in (1000, 100)


@pytest.mark.usefixtures("bench")
def test_the_load_client_gets_every_answer_of_our_serve_with_no_error(tmp_path: Path) -> None:
    side_by_side, load, ours = module("side_by_side"), module("load"), module("contenders.ours")
    server = side_by_side.started(ours.OursProcess, tmp_path)
    try:
        tally, cpu = load.run_load(server.port, 8, 0.5, True)
    finally:
        server.stop()

    assert tally.errors == {}
    assert len(tally.latencies) >= 10
    assert cpu > 0
    assert server.child.process.returncode == 0
