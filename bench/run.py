"""pytest-llm-mock's benchmark: our stack beside the floor and a peer, in one process run.

    python bench/run.py [--quick] [--json PATH]

Every figure is measured in this run and, where a goal is a ratio, divided by the floor
measured in the same interleaved rounds (performance.md): the machine is shared and noisy, so
only ratios of one run compare. The floor is the openai SDK answered with the same bytes by a
MockTransport, with no socket; the peer is pytest-httpserver serving the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTION: Any = [{"role": "user", "content": "Hello"}]
STREAM_TEXT = "x" * 800  # 100 content chunks of 8 characters


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def tail(rounds: list[list[float]]) -> float:
    """The p99 of a figure measured in rounds: the median of each round's p99. A neighbour's
    burst on the shared machine lands in one round of one server, and would otherwise decide
    that server's p99 alone; a slow tail of the server's own shows in every round."""
    return statistics.median(percentile(values, 0.99) for values in rounds if values)


def ms(seconds: float) -> float:
    return seconds * 1000


class Bench:
    """The rows of one run. A row whose goal is a ratio may carry a gate: a much wider bound
    than the goal, which fails the run (exit code 1) when broken. Only ratios measured in the
    same run are gated, never absolute times: the machine is shared and noisy."""

    def __init__(self, mode: str) -> None:
        self.mode = mode  # "full", "quick" or "smoke" (the test suite's: every part, tiny)
        self.quick = mode != "full"
        self.rows: list[dict[str, Any]] = []

    def count(self, full: int, quick: int, smoke: int) -> int:
        return {"full": full, "quick": quick, "smoke": smoke}[self.mode]

    def row(
        self,
        what: str,
        value: float,
        unit: str,
        goal: str = "",
        ok: bool | None = None,
        *,
        gate: tuple[float, float] | None = None,
    ) -> None:
        """`gate`: (ratio, limit), broken when the ratio is over the limit."""
        row: dict[str, Any] = {
            "what": what,
            "value": round(value, 3),
            "unit": unit,
            "goal": goal,
            "ok": ok,
        }
        if gate is not None:
            row["gate"] = {"ratio": round(gate[0], 3), "limit": gate[1]}
        self.rows.append(row)

    def ratio(
        self,
        what: str,
        value: float,
        base: float,
        limit: float,
        *,
        gate: float | None = None,
        of: str = "floor",
        unit: str = "ms",
    ) -> None:
        """A time against a base of the same run: the goal is `limit`, the gate `gate`."""
        ratio = value / base
        self.row(
            what,
            value,
            unit,
            f"<= {limit:g}x {of} ({ratio:.2f}x)",
            ratio <= limit,
            gate=None if gate is None else (ratio, gate),
        )

    def ahead(self, what: str, value: float, unit: str, lead: float, gate: float | None) -> None:
        """A peer's figure beside ours: `lead` is how many times better ours is (the peer's
        time over ours, or our throughput over the peer's); the gate, if any, is broken when
        the peer is better than ours by more than `gate` times."""
        goal = f"ours ahead ({lead:.2f}x)"
        self.row(
            what, value, unit, goal, lead >= 1, gate=None if gate is None else (1 / lead, gate)
        )

    def tail_gate(self, gate: float) -> float | None:
        """The gate of a p99 goal: a full run's only (a quick run's p99 is one outlier)."""
        return gate if self.mode == "full" else None

    def missing(self, what: str, reason: str, *, fatal: bool = False) -> None:
        """A figure that could not be measured here, and why; `fatal` when it is ours (the
        run then fails: a ratio to ours cannot be had)."""
        row: dict[str, Any] = {"what": what, "value": None, "unit": "", "goal": reason, "ok": None}
        if fatal:
            row.update(ok=False, gate={"ratio": float("inf"), "limit": 1.0})
        self.rows.append(row)

    def broken(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if "gate" in r and r["gate"]["ratio"] > r["gate"]["limit"]]


def transport_module() -> Any:
    """httpx2 for openai 3.x, httpx for 1.x and 2.x: the module the SDK sends through."""
    from openai import DefaultHttpxClient

    return import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def floor_client(body: bytes, content_type: str) -> Any:
    from openai import OpenAI

    transport = transport_module()

    def answer(request: Any) -> Any:
        return transport.Response(200, content=body, headers={"content-type": content_type})

    http_client = transport.Client(transport=transport.MockTransport(answer))
    return OpenAI(base_url="http://floor/v1", api_key="x", http_client=http_client, max_retries=0)


def time_calls(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def bare_app(body: bytes) -> Any:
    """The least a server of this design can do: an ASGI app answering fixed bytes."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def requests(bench: Bench) -> None:
    """SDK calls: floor, bare ASGI app, our full stack, pytest-httpserver; interleaved."""
    from openai import OpenAI
    from pytest_httpserver import HTTPServer

    from pytest_llm_mock import LLMMockServer
    from pytest_llm_mock._server import ServerThread

    rounds, per_round = bench.count(8, 2, 1), bench.count(250, 50, 5)
    with LLMMockServer(ROOT / "collection.json", strict=False) as server:
        ours = server.openai_client(max_retries=0)
        raw = ours.chat.completions.with_raw_response.create(model="mock-llm-v1", messages=QUESTION)
        body = raw.http_response.content
        bare_server = ServerThread(bare_app(body))
        bare_server.start()
        peer_server = HTTPServer(host="127.0.0.1", port=0)
        peer_server.expect_request("/v1/chat/completions").respond_with_data(
            body, content_type="application/json"
        )
        peer_server.start()
        clients = {
            "floor": floor_client(body, "application/json"),
            "bare": OpenAI(base_url=f"http://127.0.0.1:{bare_server.port}/v1", api_key="x"),
            "ours": ours,
            "peer": OpenAI(base_url=peer_server.url_for("/v1"), api_key="x", max_retries=0),
        }
        samples: dict[str, list[float]] = {name: [] for name in clients}
        by_round: dict[str, list[list[float]]] = {name: [] for name in clients}

        def call(client: Any) -> Callable[[], object]:
            return lambda: client.chat.completions.create(model="mock-llm-v1", messages=QUESTION)

        for client in clients.values():  # warm up
            time_calls(call(client), 20)
        started = time.perf_counter()
        for _ in range(rounds):
            for name, client in clients.items():
                times = time_calls(call(client), per_round)
                samples[name] += times
                by_round[name].append(times)
                server.reset()  # the journal of a long run stays small, as in a test
        elapsed = time.perf_counter() - started
        for name in ("bare", "peer"):
            clients[name].close()
        bare_server.stop()
        peer_server.stop()
        floor_p50 = statistics.median(samples["floor"])
        floor_p99 = tail(by_round["floor"])

        def p50(name: str) -> float:
            return statistics.median(samples[name])

        bench.row("floor: SDK call, no socket, p50", ms(floor_p50), "ms")
        bench.row("floor: SDK call, no socket, p99", ms(floor_p99), "ms")
        bench.row(
            "bare ASGI app on uvicorn in a thread, p50 (the design's bound)",
            ms(p50("bare")),
            "ms",
            f"{p50('bare') / floor_p50:.2f}x floor",
        )
        bench.row(
            "bare ASGI app on uvicorn in a thread, p99",
            ms(tail(by_round["bare"])),
            "ms",
            f"{tail(by_round['bare']) / floor_p99:.2f}x floor p99",
        )
        # The goals are ratios to the bare app of the same rounds (performance.md): on these
        # machines the bare app itself sits at 1.5 to 2.1 times the floor.
        bench.ratio(
            "ours: SDK call p50", ms(p50("ours")), ms(p50("bare")), 1.10, gate=1.5, of="bare"
        )
        bench.ratio(
            "ours: SDK call p99",
            ms(tail(by_round["ours"])),
            ms(tail(by_round["bare"])),
            1.25,
            gate=bench.tail_gate(2.5),
            of="bare p99",
        )
        bench.row("ours: SDK call p50 over the floor", p50("ours") / floor_p50, "x")
        bench.row("ours over the bare app, p50", ms(p50("ours") - p50("bare")), "ms")
        bench.row("ours: requests per second", len(samples["ours"]) / sum(samples["ours"]), "req/s")
        bench.row(
            "pytest-httpserver: SDK call p50 (peer)",
            ms(p50("peer")),
            "ms",
            f"{p50('peer') / floor_p50:.2f}x floor",
        )
        bench.row("(interleaved request rounds took)", elapsed, "s")
        streams(bench, server, rounds)


def streams(bench: Bench, server: Any, rounds: int) -> None:
    """A 100-chunk stream: total and first-chunk times, ours against the floor."""
    server.add_response(STREAM_TEXT)
    ours = server.openai_client(max_retries=0)
    raw = ours.chat.completions.with_raw_response.create(model="m", messages=QUESTION, stream=True)
    sse = b"".join(raw.http_response.iter_bytes())
    floor = floor_client(sse, "text/event-stream")
    count = bench.count(40, 5, 1)
    totals: dict[str, list[float]] = {"floor": [], "ours": []}
    firsts: dict[str, list[float]] = {"floor": [], "ours": []}
    for _ in range(rounds):
        for name, client in (("floor", floor), ("ours", ours)):
            for _ in range(count):
                started = time.perf_counter()
                stream = client.chat.completions.create(model="m", messages=QUESTION, stream=True)
                first = None
                chunks = 0
                for _chunk in stream:
                    chunks += 1
                    if first is None:
                        first = time.perf_counter() - started
                totals[name].append(time.perf_counter() - started)
                firsts[name].append(first or 0.0)
                assert chunks == 102, f"expected role + 100 content + finish chunks, got {chunks}"
            server.reset()
            server.add_response(STREAM_TEXT)
    floor_total = statistics.median(totals["floor"])
    bench.row("floor: 100-chunk stream", ms(floor_total), "ms")
    bench.ratio(
        "ours: 100-chunk stream",
        ms(statistics.median(totals["ours"])),
        ms(floor_total),
        1.40,
        gate=2.0,
    )
    bench.ratio(
        "ours: first chunk",
        ms(statistics.median(firsts["ours"])),
        ms(statistics.median(firsts["floor"])),
        3.0,
        gate=5.0,
    )


def settle(lead_in: str) -> None:
    """The same lead-in before each timed start: a short spin, or a pause."""
    if lead_in == "cold":
        time.sleep(0.02)
        return
    deadline = time.perf_counter() + 0.002
    while time.perf_counter() < deadline:
        pass


def start_stop(bench: Bench) -> None:
    """Server start (first in this process, later ones) and stop; pytest-httpserver's too."""
    started = time.perf_counter()
    import uvicorn.protocols.http.auto  # noqa: F401
    from uvicorn.loops.auto import auto_loop_factory

    import pytest_llm_mock._app
    import pytest_llm_mock._server  # noqa: F401

    auto_loop_factory()  # imports the event loop (uvloop when installed), as a first start does
    bench.row(
        "import of the server stack (once, on first use)", ms(time.perf_counter() - started), "ms"
    )
    from pytest_httpserver import HTTPServer

    from pytest_llm_mock import LLMMockServer

    # A start right after busy work runs on a warm CPU; after a pause the core has slowed
    # down and its caches are cold, which doubles a start here. pytest-httpserver's stop
    # idles 0.5 s, so whichever server starts after it starts cold: each start gets the same
    # lead-in instead, a 2 ms spin (warm) or a 20 ms sleep (cold), alternately.
    # pytest-httpserver's start returns once its thread runs, without waiting until it
    # serves, unless given a `startup_timeout`: then it asks itself over HTTP. Ours waits
    # until uvicorn serves (so that a failed start raises from start()): the peer of the
    # same kind is the waiting one; its default is printed too.
    count = bench.count(24, 8, 4)
    kinds = ("ours", "peer, waits until ready", "peer, default (no wait)")
    starts: dict[tuple[str, str], list[float]] = {
        (kind, lead_in): [] for kind in kinds for lead_in in ("warm", "cold")
    }
    stops: list[float] = []
    for round_ in range(count):
        lead_in = "warm" if round_ % 2 else "cold"
        for kind in kinds:
            server: Any
            if kind == "ours":
                server = LLMMockServer()
            else:
                wait = None if kind.endswith("(no wait)") else 5.0
                server = HTTPServer(host="127.0.0.1", port=0, startup_timeout=wait)
            settle(lead_in)
            started = time.perf_counter()
            server.start()
            starts[kind, lead_in].append(time.perf_counter() - started)
            started = time.perf_counter()
            server.stop()
            if kind == "ours":
                stops.append(time.perf_counter() - started)
    first = ms(starts["ours", "cold"][0])
    bench.row("start, first in process", first, "ms", "<= 8 ms", first <= 8)
    for lead_in in ("warm", "cold"):
        later, peer, peer_default = (statistics.median(starts[kind, lead_in][1:]) for kind in kinds)
        bench.row(
            f"start, later ({lead_in} CPU)",
            ms(later),
            "ms",
            f"<= 4 ms, >= 2x faster than peer ({peer / later:.2f}x)",
            ms(later) <= 4 and peer / later >= 2,
        )
        bench.row(f"pytest-httpserver start, waits until ready ({lead_in} CPU)", ms(peer), "ms")
        bench.row(
            f"pytest-httpserver start, its default: no wait ({lead_in} CPU)",
            ms(peer_default),
            "ms",
        )
    bench.row(
        "stop", ms(statistics.median(stops)), "ms", "<= 3 ms", ms(statistics.median(stops)) <= 3
    )


# One timed pytest session in a child process: `load` returns the plugins to register, and
# is timed too (it may import ours).
_SESSION = """
import contextlib, importlib, io, statistics, sys, time
import pytest

def session(path, load, *args):
    started = time.perf_counter()
    plugins = load()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(["-q", "-p", "no:cacheprovider", *args, path], plugins=plugins)
    assert code == 0, code
    return time.perf_counter() - started
"""

# The unused plugin's cost, in one child process: pytest sessions in turn with the plugin
# registered and without, our modules imported afresh for each, and the median difference of
# the pairs. A fresh interpreter per session adds tens of ms of noise to a cost of about 1 ms,
# and loading the plugin by name (-p) with autoload off scans every installed distribution's
# entry points, which an installed plugin's pytest run does once anyway, for all plugins.
PLUGIN_COST = (
    _SESSION
    + """
def plain(with_plugin):
    for name in [m for m in sys.modules if m.split(".")[0] == "pytest_llm_mock"]:
        del sys.modules[name]
    load = lambda: [importlib.import_module("pytest_llm_mock.plugin")] if with_plugin else []
    return session("test_plain.py", load)

plain(True), plain(False)  # pytest's own first-run imports
differences = []
for i in range(int(sys.argv[1])):
    order = (True, False) if i % 2 else (False, True)  # neither side always goes first
    times = dict((side, plain(side)) for side in order)
    differences.append(times[True] - times[False])
print(statistics.median(differences))
"""
)

# The fixture's cost per test, in one child process with the plugin loaded: sessions of FEW
# and MANY tests, with the fixture and without; per round, the extra time of the MANY - FEW
# further tests that use it over the same number that do not; the median of the rounds.
FIXTURE_COST = (
    _SESSION
    + """
plugin = importlib.import_module("pytest_llm_mock.plugin")
few, many, rounds = map(int, sys.argv[1:])
files = [f"test_{kind}_{n}.py" for kind in ("with", "without") for n in (few, many)]
for path in files:  # pytest's and the plugin's first-run costs
    session(path, lambda: [plugin])
overheads = []
for i in range(rounds):
    order = files if i % 2 else files[::-1]  # a drift over the rounds favours neither side
    times = {path: session(path, lambda: [plugin]) for path in order}
    with_few, with_many, without_few, without_many = (times[path] for path in files)
    overheads.append(((with_many - with_few) - (without_many - without_few)) / (many - few))
print(statistics.median(overheads))
"""
)


def child(folder: Path, script: str, *args: str) -> str:
    """The last line a Python child process prints: other installed plugins stay out (their
    imports can take seconds), and bytecode caching is on, as by default (pytest caches the
    modules of plugins it loads only when Python may write bytecode)."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


def pytest_costs(bench: Bench) -> None:
    """Start-up cost of the installed plugin when unused, and the fixture's per-test cost."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_plain.py").write_text("def test_plain():\n    pass\n")
        pairs = bench.count(120, 20, 2)
        cost = float(child(folder, PLUGIN_COST, str(pairs)))
        bench.row(
            "pytest start-up cost of the unused plugin", ms(cost), "ms", "<= 10 ms", ms(cost) <= 10
        )
        few, many = bench.count(200, 20, 2), bench.count(600, 60, 4)
        for n in (few, many):
            (folder / f"test_with_{n}.py").write_text(
                textwrap.dedent(f"""
                import pytest
                @pytest.mark.parametrize("i", range({n}))
                def test_it(llm_mock_server, i):
                    pass
            """)
            )
            (folder / f"test_without_{n}.py").write_text(
                textwrap.dedent(f"""
                import pytest
                @pytest.mark.parametrize("i", range({n}))
                def test_it(i):
                    pass
            """)
            )
        rounds = bench.count(8, 2, 1)
        overhead = float(child(folder, FIXTURE_COST, str(few), str(many), str(rounds)))
        bench.row("fixture overhead per test", ms(overhead), "ms", "<= 1 ms", ms(overhead) <= 1)


def client_creation(bench: Bench) -> None:
    """The helpers' SDK clients against the SDK's own default, made in turn in one process."""
    from openai import AsyncOpenAI, OpenAI

    from pytest_llm_mock import LLMMockServer

    count = bench.count(40, 10, 2)
    with LLMMockServer() as server:
        makers: dict[str, Callable[[], Any]] = {
            "OpenAI(base_url=...)": lambda: OpenAI(base_url=server.base_url, api_key="x"),
            "openai_client()": server.openai_client,
            "AsyncOpenAI(base_url=...)": lambda: AsyncOpenAI(base_url=server.base_url, api_key="x"),
            "async_openai_client()": server.async_openai_client,
        }
        for make in makers.values():  # first-use imports
            make()
        samples: dict[str, list[float]] = {name: [] for name in makers}
        for _ in range(count):
            for name, make in makers.items():
                started = time.perf_counter()
                make()
                samples[name].append(time.perf_counter() - started)
    made = {name: ms(statistics.median(times)) for name, times in samples.items()}
    for helper, plain in (
        ("openai_client()", "OpenAI(base_url=...)"),
        ("async_openai_client()", "AsyncOpenAI(base_url=...)"),
    ):
        bench.row(f"client creation: {plain}", made[plain], "ms")
        ratio = made[helper] / made[plain]
        bench.row(
            f"client creation: {helper}",
            made[helper],
            "ms",
            f"<= 0.2x {plain.split('(')[0]}() ({ratio:.3f}x)",
            ratio <= 0.2,
            gate=(ratio, 0.5),
        )


# A client made in each test of a pytest-repeat run, in one child process with the plugin
# loaded: the run's time per test with the helper's client, with a plain OpenAI(...) and with
# none (MANY tests, then FEW for the plain client, whose 20 ms each would make a long run).
REPEAT_COST = (
    _SESSION
    + """
import json
plugins = [importlib.import_module(name) for name in ("pytest_llm_mock.plugin", "pytest_repeat")]
many, few, rounds = map(int, sys.argv[1:])
for path in ("test_helper.py", "test_plain.py", "test_none.py"):  # first-run costs
    session(path, lambda: plugins, "--count", "2")

def run(path, count):
    return session(path, lambda: plugins, "--count", str(count)) / count

runs = {}
for i in range(rounds):
    order = ("test_helper.py", "test_none.py") if i % 2 else ("test_none.py", "test_helper.py")
    for path in order:
        runs.setdefault(f"{path}:{many}", []).append(run(path, many))
for path in ("test_plain.py", "test_none.py"):
    runs[f"{path}:{few}"] = [run(path, few)]
print(json.dumps({key: statistics.median(per_test) for key, per_test in runs.items()}))
"""
)


def repeat_run(bench: Bench) -> None:
    """Per-test time of a pytest-repeat run that makes a client in each test."""
    tests = {
        "test_helper.py": "llm_mock_server.openai_client()",
        "test_plain.py": "OpenAI(base_url=llm_mock_server.base_url, api_key='x').close()",
        "test_none.py": "pass",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        for path, body in tests.items():
            (folder / path).write_text(
                f"from openai import OpenAI\n\ndef test_it(llm_mock_server):\n    {body}\n"
            )
        many, few, rounds = bench.count(1000, 200, 5), bench.count(100, 20, 5), bench.count(2, 1, 1)
        per_test = json.loads(child(folder, REPEAT_COST, str(many), str(few), str(rounds)))
    helper, none = per_test[f"test_helper.py:{many}"], per_test[f"test_none.py:{many}"]
    plain = per_test[f"test_plain.py:{few}"] - per_test[f"test_none.py:{few}"]
    bench.row(
        "pytest-repeat run, no client in the tests: per test", ms(none), "ms", f"{many:,} tests"
    )
    bench.row(
        "pytest-repeat run, openai_client() in each test: per test",
        ms(helper),
        "ms",
        f"{many:,} tests",
    )
    bench.row(
        "pytest-repeat run: openai_client()'s time per test",
        ms(helper - none),
        "ms",
        f"{(helper - none) / plain:.3f}x OpenAI(base_url=...)'s" if plain > 0 else "",
    )
    bench.row(
        "pytest-repeat run: OpenAI(base_url=...)'s time per test",
        ms(plain),
        "ms",
        f"{few:,} tests, less the run without",
    )


def write_collection(path: Path, size: int) -> None:
    items = [
        {
            "name": f"q{i}",
            "request": {
                "method": "POST",
                "url": "{{baseUrl}}/v1/chat/completions",
                "body": {
                    "mode": "raw",
                    "raw": json.dumps(
                        {
                            "model": "m",
                            "messages": [
                                {"role": "system", "content": "You are a benchmark."},
                                {"role": "user", "content": f"question number {i}"},
                            ],
                        }
                    ),
                },
            },
            "response": [{"name": f"a{i}", "code": 200, "body": f"answer {i}"}],
        }
        for i in range(size)
    ]
    path.write_text(json.dumps({"info": {"name": f"{size}"}, "item": items}))


def collections(bench: Bench) -> None:
    """Load time, and per-request cost at 10, 1,000 and 10,000 examples."""
    from pytest_llm_mock._chat import answer
    from pytest_llm_mock._http import HttpRequest
    from pytest_llm_mock._matching import CONVERSATION
    from pytest_llm_mock._postman import load_collection
    from pytest_llm_mock._scopes import ServerState

    sizes = (10, 1_000, 10_000)
    calls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"c{size}.json"
            write_collection(path, size)
            started = time.perf_counter()
            collection = load_collection(path)
            loaded = time.perf_counter() - started
            if size == 10_000:
                bench.row("load a 10,000-example collection", loaded, "s", "<= 1 s", loaded <= 1)
            state = ServerState().base
            state.use(collection, CONVERSATION)
            body = json.dumps(
                {
                    "model": "m",
                    "messages": [
                        {"role": "system", "content": "You are a benchmark."},
                        {"role": "user", "content": f"question number {size - 1}"},
                    ],
                }
            ).encode()
            http = HttpRequest(
                "POST", "/v1/chat/completions", [(b"content-type", b"application/json")], body
            )
            calls[size] = (state, http, body)
    rounds: list[dict[int, float]] = []
    for _ in range(bench.count(10, 3, 1)):  # interleaved, so no size gets the warm-up
        medians = {}
        for size, (state, http, body) in calls.items():
            samples = []
            for _ in range(bench.count(300, 60, 5)):
                started = time.perf_counter()
                answer(state, http, json.loads(body))
                samples.append(time.perf_counter() - started)
            medians[size] = statistics.median(samples)
            state.reset()
        rounds.append(medians)
    for size in sizes:
        cost = statistics.median(r[size] for r in rounds)
        bench.row(f"answer cost at {size:,} examples", cost * 1e6, "us")
    # Compared round by round: the machine's speed drifts between rounds, not within one.
    spread = statistics.median(r[10_000] / r[10] for r in rounds)
    bench.row(
        "answer cost 10,000 / 10 examples",
        spread,
        "x",
        "within 10%",
        abs(spread - 1) <= 0.10,
        gate=(spread, 1.5),
    )
    memory(bench)


def memory(bench: Bench) -> None:
    """Peak memory of a session serving a 10,000-example collection (a child process)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        write_collection(path, 10_000)
        script = textwrap.dedent(f"""
            from pytest_llm_mock import LLMMockServer
            with LLMMockServer({str(path)!r}, strict=False) as server:
                client = server.openai_client()
                for i in range(0, 10_000, 1_000):
                    client.chat.completions.create(model="m", messages=[
                        {{"role": "system", "content": "You are a benchmark."}},
                        {{"role": "user", "content": f"question number {{i}}"}}])
        """)
        subprocess.run([sys.executable, "-c", script], check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    bench.row("peak memory, 10,000-example session", peak, "MiB")


def machine() -> dict[str, Any]:
    import openai
    import starlette
    import uvicorn

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "openai": openai.__version__,
        "starlette": starlette.__version__,
        "uvicorn": uvicorn.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


OWN_PARTS: dict[str, Callable[[Bench], None]] = {
    "start_stop": start_stop,
    "requests": requests,
    "pytest_costs": pytest_costs,
    "client_creation": client_creation,
    "repeat_run": repeat_run,
    "collections": collections,
}
PEER_PARTS = ("peers", "suite", "load")  # bench/peers_run.py, in the peers' environment
PEERS_PYTHON = ROOT / "bench" / ".peers" / "venv" / "bin" / "python"


def peers(bench: Bench, parts: list[str]) -> dict[str, str]:
    """The peers' parts, run by the peers' environment's Python; their rows join ours."""
    if not PEERS_PYTHON.exists():
        raise SystemExit(f"{PEERS_PYTHON} is missing: run bench/peers/setup first")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peers.json"
        argv = [str(PEERS_PYTHON), str(ROOT / "bench" / "peers_run.py"), bench.mode, str(report)]
        subprocess.run([*argv, *parts], check=True, timeout=bench.count(3600, 1200, 600))
        data = json.loads(report.read_text())
    bench.rows += data["rows"]
    versions: dict[str, str] = data["versions"]
    return versions


def report(bench: Bench, info: dict[str, Any], took: float) -> None:
    print(
        f"pytest-llm-mock benchmark on {info['platform']}, {info['cpus']} CPUs, Python "
        f"{info['python']}, openai {info['openai']}, starlette {info['starlette']}, "
        f"uvicorn {info['uvicorn']} ({bench.mode} run)"
    )
    start, end = info["load"]["start"], info["load"]["end"]
    print(f"  {info['date']}; load average {start[0]:.2f} at the start, {end[0]:.2f} at the end")
    if info.get("peers"):
        print("  peers: " + ", ".join(f"{name} {v}" for name, v in info["peers"].items()))
    width = max(len(r["what"]) for r in bench.rows)
    for r in bench.rows:
        mark = {True: "ok", False: "MISSED", None: ""}[r["ok"]]
        value = "-" if r["value"] is None else f"{r['value']:.3f}"
        print(f"  {r['what']:<{width}}  {value:>10} {r['unit']:<6} {r['goal']:<44} {mark}")
    print(f"  ({took:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: figures are rough")
    parser.add_argument("--smoke", action="store_true", help="every part once, for the tests")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "last-run.json")
    parser.add_argument(
        "--peers", action="store_true", help="the peers' parts too (after bench/peers/setup)"
    )
    parser.add_argument(
        "--part",
        action="append",
        choices=[*OWN_PARTS, *PEER_PARTS],
        help="only this part (repeatable)",
    )
    args = parser.parse_args(argv)
    bench = Bench("smoke" if args.smoke else "quick" if args.quick else "full")
    chosen = args.part or [*OWN_PARTS, *(PEER_PARTS if args.peers else ())]
    started = time.perf_counter()
    load = os.getloadavg()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the peer logs every request
    for name, part in OWN_PARTS.items():
        if name in chosen:
            part(bench)
    info = machine()
    peer_parts = [name for name in PEER_PARTS if name in chosen]
    if peer_parts:
        info["peers"] = peers(bench, peer_parts)
    took = time.perf_counter() - started
    # The machine is shared: its load (1, 5, 15 minutes) as the run began and ended.
    info["load"] = {"start": load, "end": os.getloadavg()}
    report(bench, info, took)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"machine": info, "mode": bench.mode, "seconds": took, "rows": bench.rows}, indent=2
        )
    )
    # A smoke run (the test suite's) counts too little for a ratio to mean anything: only a
    # failure of ours fails it, never a gate.
    broken = [r for r in bench.broken() if bench.mode != "smoke" or r["value"] is None]
    for r in broken:
        if r["value"] is None:
            print(f"FAILED: {r['what']}: {r['goal']}", file=sys.stderr)
            continue
        print(
            f"FAILED: {r['what']}: {r['gate']['ratio']:.2f}x is past its gate of "
            f"{r['gate']['limit']:g}x (goal: {r['goal']})",
            file=sys.stderr,
        )
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
