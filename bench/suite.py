"""A generated suite of 1,000 tests, run with ours, with each peer's pytest integration, and on
the no-socket floor; serially and under `-n 2`.

Each test builds its client as that tool's docs show, then sends one chat call; every tenth
is a tool round trip of two calls and two in ten are streamed (the 100-chunk stream). Each
run is a fresh `python -m pytest` with plugin autoload off and only its own plugin loaded
(`-p`), so that no other installed plugin's import is charged to it. fakellm's streams
sleep 10 ms a chunk in its code: its suite is a tenth as long, its time multiplied by ten.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from contenders import (
    ANSWER,
    HELLO,
    MODEL,
    STREAM,
    STREAM_TEXT,
    TOOL,
    TOOL_ANSWER,
    TOOL_RESULT,
    WEATHER,
)
from contenders.aimock import CLI
from contenders.aimock import write_fixtures as aimock_fixtures
from contenders.fakellm import write_config as fakellm_config
from contenders.ours import write_collection
from contenders.stubllm import write_fixtures as stubllm_fixtures
from contenders.wire import completion_bytes, sse_bytes, tool_answer_bytes, tool_call_bytes
from run import Bench

FILES = 10  # the suite's test files; each holds a tenth of the tests
FLOOR = "floor (no socket)"
FIXTURE_ONLY = "floor + our fixture and client (no socket)"
FLOOR_CLIENT = (
    'OpenAI(base_url="http://floor/v1", api_key="x", '
    "http_client=transport.Client(transport=transport.MockTransport(floor)))"
)
BARE = "bare ASGI app on uvicorn in a thread (the design's bound)"
OURS = "pytest-llm-mock"
ONE_CLIENT = "pytest-llm-mock, one client for the session"
OWN = (FLOOR, BARE, FIXTURE_ONLY, OURS, ONE_CLIENT)  # run in every round; the peers in the first


@dataclass
class Suite:
    """One tool's way to write the suite's tests."""

    name: str
    plugin: str | None  # the module loaded with -p
    fixtures: str  # the test's fixture arguments
    client: str  # how the test builds its client, as the tool's docs show
    before: dict[str, str] = field(default_factory=dict)  # per kind: answer, stream, tool
    after: str = ""
    conftest: str = ""
    ini: str = ""
    decorator: str = ""
    share: int = 1  # run 1/share of the tests, and multiply the time accordingly

    def ran(self, tests: int) -> int:
        """How many of the suite's `tests` it runs."""
        return max(1, tests // self.share // FILES) * FILES


SUITES = [
    Suite(FLOOR, None, "", FLOOR_CLIENT),
    # What of ours is not the socket: our plugin, its fixture and openai_client() in each
    # test, with the calls on the floor's transport.
    Suite(
        FIXTURE_ONLY,
        "pytest_llm_mock.plugin",
        "llm_mock_server",
        FLOOR_CLIENT,
        before=dict.fromkeys(("answer", "stream", "tool"), "llm_mock_server.openai_client()"),
    ),
    # What a socket costs whatever the server: the least server of our design (uvicorn in a
    # thread, an ASGI app answering the same bytes), its clients sharing keep-alive
    # connections as ours do, and no plugin.
    Suite(
        BARE,
        None,
        "bare",
        'OpenAI(base_url=bare[0], api_key="x", http_client=bare[1])',
        conftest="""
            import pytest
            from bench_data import bare_app, transport
            from pytest_llm_mock._server import ServerThread

            @pytest.fixture(scope="session")
            def bare():
                server = ServerThread(bare_app)
                server.start()
                with transport.Client() as shared:
                    yield f"http://127.0.0.1:{server.port}/v1", shared
                server.stop()
        """,
    ),
    Suite(OURS, "pytest_llm_mock.plugin", "llm_mock_server", "llm_mock_server.openai_client()"),
    # What of ours is a new connection per test: one client for the session (README, "Clients
    # and apps built once"), each test still charged with its own requests.
    Suite(
        ONE_CLIENT,
        "pytest_llm_mock.plugin",
        "llm_mock_server, session_client",
        "session_client",
        conftest="""
            import pytest

            @pytest.fixture(scope="session")
            def session_client(llm_mock_session):
                return llm_mock_session.openai_client()
        """,
    ),
    Suite(
        "pytest-httpserver",
        "pytest_httpserver.pytest_plugin",
        "httpserver",
        'OpenAI(base_url=httpserver.url_for("/v1"), api_key="x")',
        before={
            "answer": "httpserver.expect_request(CHAT)"
            ".respond_with_data(COMPLETION, content_type=JSON)",
            "stream": "httpserver.expect_request(CHAT).respond_with_data(SSE, content_type=EVENTS)",
            "tool": "httpserver.expect_ordered_request(CHAT)"
            ".respond_with_data(TOOL_CALL, content_type=JSON)\n"
            "httpserver.expect_ordered_request(CHAT)"
            ".respond_with_data(TOOL_REPLY, content_type=JSON)",
        },
        after="httpserver.check_assertions()",
    ),
    Suite(
        "pytest-fakellm",
        "pytest_fakellm.plugin",
        "fakellm",
        "fakellm.openai_client()",
        ini="fakellm_config = fakellm.yaml",
        share=10,
    ),
    Suite(
        "aimock-pytest",
        "aimock_pytest.plugin",
        "aimock_session",
        'OpenAI(base_url=aimock_session.base_url + "/v1", api_key="x")',
        conftest="""
            import pytest

            @pytest.fixture(scope="session", autouse=True)
            def fixtures(aimock_session):
                aimock_session.load_fixtures("fixtures.json")
        """,
    ),
    Suite(
        "stubllm",
        "stubllm.pytest_plugin.plugin",
        "stubllm_server",
        'OpenAI(base_url=stubllm_server.openai_url, api_key="test-key")',
        decorator='@use_fixtures("fixtures.yaml")',
    ),
    Suite(
        "llmock",
        "llmock.pytest_plugin",
        "llmock",
        "OpenAI()",
        before={
            "answer": "llmock.reply(ANSWER)",
            "stream": "llmock.reply(STREAM_TEXT)",
            "tool": 'llmock.call_tool("get_weather", {"city": "Paris"}).reply(TOOL_ANSWER)',
        },
    ),
]

DATA = f"""
import json
from importlib import import_module

from openai import DefaultHttpxClient, OpenAI

try:
    from stubllm.pytest_plugin import use_fixtures
except ImportError:
    pass

# the module the SDK sends through: httpx2 for openai 3.x, httpx before
transport = import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
MODEL = {MODEL!r}
HELLO = {HELLO!r}
STREAM = {STREAM!r}
WEATHER = {WEATHER!r}
TOOL = {TOOL!r}
ANSWER = {ANSWER!r}
STREAM_TEXT = {STREAM_TEXT!r}
TOOL_RESULT = {TOOL_RESULT!r}
TOOL_ANSWER = {TOOL_ANSWER!r}
CHAT, JSON, EVENTS = "/v1/chat/completions", "application/json", "text/event-stream"
COMPLETION = {completion_bytes()!r}
SSE = {sse_bytes()!r}
TOOL_CALL = {tool_call_bytes()!r}
TOOL_REPLY = {tool_answer_bytes()!r}


def answer_for(body):
    \"\"\"The bytes and content type every contender answers a request body with.\"\"\"
    request = json.loads(body)
    if request.get("stream"):
        return SSE, EVENTS
    if request.get("tools"):
        return (TOOL_REPLY if request["messages"][-1]["role"] == "tool" else TOOL_CALL), JSON
    return COMPLETION, JSON


def floor(request):
    \"\"\"The floor's answers: the same bytes, from no server at all.\"\"\"
    content, kind = answer_for(request.content)
    return transport.Response(200, content=content, headers={{"content-type": kind}})


async def bare_app(scope, receive, send):
    \"\"\"The least a server of our design can do: the same bytes from an ASGI app.\"\"\"
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    content, kind = answer_for(body)
    headers = [(b"content-type", kind.encode())]
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": content}})
"""


def test_file(suite: Suite, count: int) -> str:
    def before(kind: str) -> str:
        return textwrap.indent(suite.before.get(kind, "pass"), " " * 8)

    arguments = f"i, {suite.fixtures}" if suite.fixtures else "i"
    return f"""import pytest

from bench_data import *


@pytest.mark.parametrize("i", range({count}))
{suite.decorator}
def test_chat({arguments}):
    kind = i % 10
    if kind == 0:
{before("tool")}
        client = {suite.client}
        first = client.chat.completions.create(model=MODEL, messages=WEATHER, tools=[TOOL])
        call = first.choices[0].message.tool_calls[0]
        assistant = {{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]}}
        result = {{"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}}
        messages = [*WEATHER, assistant, result]
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=[TOOL])
        assert reply.choices[0].message.content == TOOL_ANSWER
    elif kind < 3:
{before("stream")}
        client = {suite.client}
        stream = client.chat.completions.create(model=MODEL, messages=STREAM, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == STREAM_TEXT
    else:
{before("answer")}
        client = {suite.client}
        reply = client.chat.completions.create(model=MODEL, messages=HELLO)
        assert reply.choices[0].message.content == ANSWER
    {suite.after}
"""


def write(suite: Suite, folder: Path, tests: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text(f"[pytest]\n{suite.ini}\n")
    (folder / "bench_data.py").write_text(DATA)
    (folder / "conftest.py").write_text(textwrap.dedent(suite.conftest))
    write_collection(folder / "collection.json")
    fakellm_config(folder / "fakellm.yaml")
    stubllm_fixtures(folder / "fixtures.yaml")
    aimock_fixtures(folder / "fixtures.json")
    for number in range(FILES):
        (folder / f"test_chat_{number}.py").write_text(test_file(suite, suite.ran(tests) // FILES))
    return folder


def run(suite: Suite, folder: Path, workers: int) -> tuple[float, str]:
    """Wall time of one pytest run and its summary line."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if suite.plugin:
        argv += ["-p", suite.plugin]
    if workers:
        argv += ["-p", "xdist", "-n", str(workers)]
    bin_dir = str(Path(sys.executable).parent)  # as with the environment activated
    env = {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "AIMOCK_CLI_PATH": str(CLI),  # aimock-pytest's pinned 1.45.0 is not on npm yet
        "PATH": bin_dir + os.pathsep + os.environ["PATH"],
    }
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    began = time.perf_counter()
    done = subprocess.run(
        argv, check=False, cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )
    took = time.perf_counter() - began
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    if done.returncode:
        output = (done.stdout + done.stderr).strip().splitlines()
        print(f"  ({suite.name}, {workers or 'no'} workers, failed:", file=sys.stderr)
        print("\n".join(output[-25:]) + ")", file=sys.stderr)
        summary = summary or done.stderr.strip()[-300:]
    return took, summary


def counted(summary: str, outcome: str) -> int:
    found = re.search(rf"(\d+) {outcome}", summary)
    return int(found.group(1)) if found else 0


def suite(bench: Bench, folder: Path) -> None:
    tests = bench.count(1000, 200, 20)
    folders = {s.name: write(s, folder / re.sub(r"\W+", "-", s.name), tests) for s in SUITES}
    walls: dict[tuple[str, int], list[float]] = {}
    summaries: dict[tuple[str, int], list[str]] = {}
    # Ours and the floor, whose ratio is the tight goal, in interleaved rounds; each peer
    # once, in the first.
    rounds = bench.count(3, 1, 1)
    for number in range(rounds):
        for workers in (0, 2):
            for s in SUITES:
                if number and s.name not in OWN:
                    continue
                wall, summary = run(s, folders[s.name], workers)
                walls.setdefault((s.name, workers), []).append(wall * tests / s.ran(tests))
                summaries.setdefault((s.name, workers), []).append(summary)
    for workers in (0, 2):
        mode = "-n 2" if workers else "serial"
        floor = statistics.median(walls[FLOOR, workers])
        ours = statistics.median(walls[OURS, workers])
        for s in SUITES:
            wall = statistics.median(walls[s.name, workers])
            what = f"suite of {tests:,} tests, {mode}: {s.name}"
            if s.ran(tests) != tests:
                what += f" ({s.ran(tests):,} tests, scaled)"
            failing = [
                summary
                for summary in summaries[s.name, workers]
                if counted(summary, "passed") != s.ran(tests)
                or counted(summary, "failed") + counted(summary, "error")
            ]
            if failing:
                reason = f"{failing[0]} ({wall:.1f} s)"
                bench.missing(f"{what}: did not pass here", reason, fatal=s.name in OWN)
                continue
            per_test = f"{wall / tests * 1000:.2f} ms a test"
            if s.name == FLOOR:
                bench.row(what, wall, "s", per_test)
            elif s.name in (BARE, FIXTURE_ONLY, ONE_CLIENT):
                bench.row(what, wall, "s", f"{wall / floor:.2f}x floor, {per_test}")
            elif s.name == OURS:
                # A short run's fixed costs (interpreters, imports) weigh more: a wider gate.
                gate = 1.6 if bench.mode == "full" else 2.0
                bench.ratio(what, wall, floor, 1.25, gate=gate, unit="s")
                bench.row(f"suite, {mode}: ours per test", wall / tests * 1000, "ms", per_test)
            else:
                bench.ahead(what, wall, "s", wall / ours, 1.5)
