"""`--llm-report=PATH` (ini `llm_report`): one self-contained HTML file written when the
session ends: each test's requests with the example that answered or why none did, the
examples and how many tests reached each, and the session's summary. xdist workers send
their part to the controller, which writes the file; pytest-html's report links to it.

The file holds no script and no outside resource: its style is inline, every text in it is
escaped, and its content policy allows nothing else.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._collection import Collection
    from ._journal import Journal, RecordedRequest

ROWS_PER_TEST = 200  # requests listed per test; all are counted
USER_TEXT = 300  # characters of a last user message shown
_WORKER_KEY = "llm_mock_report"


def register(config: pytest.Config) -> None:
    """Write the report asked for by `--llm-report` (against the invocation folder), else by
    the ini's `llm_report` (against the ini file's folder)."""
    flag = config.getoption("llm_report", None)
    if flag:
        path = Path(config.invocation_params.dir, flag)
    else:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        path = Path(base, str(config.getini("llm_report")))
    config.pluginmanager.register(ReportPlugin(path), "llm-mock-report")


@dataclass
class SessionLog:
    """What the report shows, as plain JSON so that xdist workers can send it."""

    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)  # collection -> names
    reached: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # -> name -> tests

    def add(self, test: str, collection: Collection, journal: Journal) -> None:
        from ._web_json import door, latency_ms

        entries = journal.snapshot()
        name = test
        for run in range(2, 1000):  # a rerun (pytest-rerunfailures) is listed apart
            if name not in self.tests:
                break
            name = f"{test} (run {run})"
        self.tests[name] = {
            "requests": [_request(e, door(e.method, e.path), latency_ms(e)) for e in entries][
                :ROWS_PER_TEST
            ],
            "count": len(entries) + journal.dropped,
            "misses": journal.miss_count,
        }
        where = collection.describe()
        self.examples.setdefault(where, [e.full_name for e in collection.examples])
        reached = self.reached.setdefault(where, {})
        for entry in entries:
            if entry.answered_by is not None:
                tests = reached.setdefault(entry.answered_by.full_name, [])
                if test not in tests:
                    tests.append(test)

    def to_json(self) -> dict[str, Any]:
        return {"tests": self.tests, "examples": self.examples, "reached": self.reached}

    def merge(self, data: dict[str, Any]) -> None:
        self.tests.update(data["tests"])
        for where, names in data["examples"].items():
            self.examples.setdefault(where, names)
        for where, reached in data["reached"].items():
            mine = self.reached.setdefault(where, {})
            for example, tests in reached.items():
                mine.setdefault(example, [])
                mine[example] += [t for t in tests if t not in mine[example]]


def _request(entry: RecordedRequest, door: str, latency: float | None) -> dict[str, Any]:
    user = entry.last_user_message
    return {
        "method": entry.method,
        "path": entry.path,
        "door": door,
        "model": entry.model,
        "user": user if user is None or len(user) <= USER_TEXT else user[: USER_TEXT - 1] + "…",
        "status": entry.status,
        "example": entry.example,
        "miss": entry.miss,
        "latency_ms": latency,
        "stream": entry.stream,
    }


class ReportPlugin:
    """Collects each test's requests, merges the workers' and writes the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log = SessionLog()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        from .plugin import _SERVER

        server = item.stash.get(_SERVER, None)  # gone once the fixture is torn down
        try:
            return (yield)
        finally:
            if server is not None:  # its requests, those its fixtures made at teardown too
                self.log.add(item.nodeid, server.collection, server._state.journal)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.log.outcomes[report.nodeid] = "failed"
        elif report.when == "call" or (report.when == "setup" and report.skipped):
            self.log.outcomes.setdefault(report.nodeid, report.outcome)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if data is not None:
            self.log.merge(data)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(session.config, "workeroutput", None)
        if output is not None:  # an xdist worker: the controller writes the file
            output[_WORKER_KEY] = self.log.to_json()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(render(self.log, session), encoding="utf-8")
        os.replace(temporary, self.path)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not hasattr(terminalreporter.config, "workeroutput"):
            terminalreporter.write_line(f"pytest-llm-mock report: {self.path}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        """A link to this report in pytest-html's, relative to where that one is written."""
        from urllib.request import pathname2url

        html_path = getattr(session.config.option, "htmlpath", None)
        target = str(self.path)
        if html_path:
            start = Path(session.config.invocation_params.dir, html_path).parent
            target = os.path.relpath(self.path, start)
        href = html.escape(pathname2url(target), quote=True)
        prefix.append(
            f'<p class="llm-mock-report">pytest-llm-mock: <a href="{href}">the requests of each '
            "test, the examples that answered them, and why the others were not answered</a></p>"
        )


# -- the file -----------------------------------------------------------------------------------

_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(log: SessionLog, session: pytest.Session) -> str:
    """The report as one HTML document: inline style, no script, everything escaped."""
    style = (Path(__file__).with_name("web") / "page.css").read_text(encoding="utf-8")
    tests = log.tests
    requests = sum(t["count"] for t in tests.values())
    misses = sum(t["misses"] for t in tests.values())
    total = sum(len(names) for names in log.examples.values())
    reached = sum(
        1
        for where, names in log.examples.items()
        for n in names
        if log.reached.get(where, {}).get(n)
    )
    stats = [
        ("tests using the mock", len(tests)),
        ("requests", requests),
        ("not answered", misses),
        ("examples reached", f"{reached} of {total}"),
    ]
    late = _late(session)
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>pytest-llm-mock report</title>",
        f"<style>{style}</style></head>",
        '<body class="report"><header><div class="title"><h1>pytest-llm-mock report</h1>',
        f'<span class="summary">{_e(str(session.config.rootpath))} · {_e(when)}</span>',
        "</div></header><main>",
        '<section id="summary"><h2>Session</h2>',
        *(f'<span class="stat"><strong>{_e(str(v))}</strong>{_e(k)}</span>' for k, v in stats),
        *([f'<p class="warn">{_e(late)}</p>'] if late else []),
        "</section>",
        '<section id="tests"><h2>Tests</h2>',
        *(
            _test(name, data, log.outcomes.get(name.split(" (run ")[0], ""))
            for name, data in tests.items()
        ),
        "" if tests else '<p class="empty">No test used llm_mock_server.</p>',
        "</section>",
        '<section id="examples"><h2>Examples</h2>',
        _examples(log),
        "</section></main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _test(name: str, data: dict[str, Any], outcome: str) -> str:
    count, misses = data["count"], data["misses"]
    failed = " failed" if outcome == "failed" or misses else ""
    shown = len(data["requests"])
    rows = "".join(_row(i, r) for i, r in enumerate(data["requests"], start=1))
    more = f'<p class="muted">{count - shown} more not listed.</p>' if count > shown else ""
    table = (
        '<table class="requests"><thead><tr><th>#</th><th>Door</th><th>Model</th>'
        "<th>Last user message</th><th>Status</th><th>Latency</th><th>Answered by</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">No requests.</p>'
    )
    summary = (
        f'<span class="outcome {_e(outcome)}">{_e(outcome or "ran")}</span> '
        f'<code class="nodeid">{_e(name)}</code> · {count} request{"s" if count != 1 else ""}'
        + (f", {misses} not answered" if misses else "")
    )
    opened = " open" if misses or outcome == "failed" else ""
    return (
        f'<details class="test{failed}"{opened}><summary>{summary}</summary>{table}{more}</details>'
    )


def _row(number: int, request: dict[str, Any]) -> str:
    user = request["user"]
    latency = "" if request["latency_ms"] is None else f"{request['latency_ms']} ms"
    status = int(request["status"])
    kind = "ok" if status < 300 else "warn" if status < 500 else "err"
    answered = (
        f'<span class="err">not answered</span><pre class="explanation">{_e(request["miss"])}</pre>'
        if request["miss"] is not None
        else _e(request["example"] or "")
    )
    cells = [
        str(number),
        _e(request["door"]),
        _e(request["model"] or ""),
        _e(user if user is not None else f"{request['method']} {request['path']}"),
        f'<span class="{kind}">{status}</span>',
        _e(latency),
        answered,
    ]
    css = ' class="miss"' if request["miss"] is not None else ""
    return f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _examples(log: SessionLog) -> str:
    """Per collection, each example and how many tests it answered (none: greyed out)."""
    if not log.examples:
        return '<p class="empty">No collection was used.</p>'
    parts = []
    for where, names in log.examples.items():
        reached = log.reached.get(where, {})
        rows = []
        for name in names:
            tests = reached.get(name, [])
            css = "" if tests else ' class="unreached"'
            rows.append(f"<tr{css}><td>{_e(name)}</td><td>{len(tests)}</td></tr>")
        parts.append(
            f'<h3>{_e(where)}</h3><table class="examples"><thead><tr><th>Example</th>'
            f"<th>Tests that reached it</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(parts)


def _late(session: pytest.Session) -> str:
    """The requests that arrived after their test ended, as the terminal summary counts them."""
    from .plugin import _STATS

    stats = session.config.stash.get(_STATS, None)
    if stats is None or not stats.late:
        return ""
    return (
        f"{stats.late} request(s) arrived after their test had ended ({stats.late_misses} not "
        "answered): " + "; ".join(stats.late_lines)
    )
