"""pytest wiring only: options, the marker, fixtures and hooks. Logic lives in the modules.

Importing this module must cost almost nothing: every pytest run of a project that installs
the plugin imports it. The server stack loads when a test first asks for the fixture.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from ._flags import MARKER_HELP, add_options, check_ini

if TYPE_CHECKING:
    from ._fixture import LLMMockServer
    from ._options import Settings
    from ._report import Stats

FIXTURE = "llm_mock_server"
_SERVER: pytest.StashKey[LLMMockServer] = pytest.StashKey()
_SETTINGS: pytest.StashKey[Settings] = pytest.StashKey()
_BROKEN: pytest.StashKey[str] = pytest.StashKey()  # a usage error found in an xdist worker
_STATS: pytest.StashKey[Stats] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    check_ini(config)
    config.addinivalue_line("markers", MARKER_HELP)
    if config.getoption("llm_report", None) or config.getini("llm_report"):
        from ._html_report import register

        register(config)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Load every collection the selected tests use, so a broken one stops the run early."""
    users = [item for item in session.items if FIXTURE in getattr(item, "fixturenames", ())]
    if not users:
        return
    from ._options import settings_for

    in_worker = hasattr(session.config, "workerinput")
    for item in users:
        try:
            item.stash[_SETTINGS] = settings_for(item)
        except pytest.UsageError as exc:
            if not in_worker:
                raise
            # A worker cannot stop the run with a usage error (xdist reports an internal
            # error without the message): each affected test reports it instead.
            item.stash[_BROKEN] = str(exc)


@pytest.fixture(scope="session")
def llm_mock_session(pytestconfig: pytest.Config) -> Iterator[LLMMockServer]:
    """The session's mock OpenAI server, for module- and session-scoped clients and apps.

    The server of every test's `llm_mock_server`, offering only `url`, `base_url`, `env`,
    `openai_client()` and `async_openai_client()`. Its URLs carry no test prefix: a request is
    charged to the test running when it is sent, which requests `llm_mock_server` for them.
    """
    from ._fixture import LLMMockServer
    from ._options import session_settings
    from ._report import NO_TEST
    from ._session import session_face

    limit = int(pytestconfig.getini("llm_journal_limit"))
    chunk_size = int(pytestconfig.getini("llm_chunk_size"))
    body_size = pytestconfig.getini("llm_max_body_size")
    journal_size = pytestconfig.getini("llm_journal_max_size")
    server = LLMMockServer(
        chunk_size=chunk_size,
        journal_limit=limit,
        max_body_size=int(body_size) if body_size else None,
        journal_max_size=int(journal_size) if journal_size else None,
    ).start()
    server._server.default_api_key = pytestconfig.getoption("llm_require_api_key")
    try:  # what answers requests sent while no test runs
        collection, strategy, fallback = session_settings(pytestconfig)
        server._state.use(collection, strategy)
        server._state.fallback = fallback
    except pytest.UsageError:
        pass  # a run-level collection no test uses may be broken: each test's own is checked
    server._server.outside_tests(NO_TEST)
    try:
        yield session_face(server)
    finally:
        server.stop()
        _stats(pytestconfig).add_late(server._server.late.drain())


@pytest.fixture
def llm_mock_server(
    request: pytest.FixtureRequest, llm_mock_session: LLMMockServer
) -> Iterator[LLMMockServer]:
    """This test's mock OpenAI server: `base_url`, its requests, added responses, assertions.

    One server per session (or xdist worker); each test gets its own URL prefix, journal,
    settings and verdict, checked when the test ends.
    """
    from ._options import configure, settings_for

    item = request.node
    if _BROKEN in item.stash:
        pytest.fail(item.stash[_BROKEN], pytrace=False)
    settings = item.stash.get(_SETTINGS, None) or settings_for(item)
    # Each run of the test (a rerun too) gets a scope of its own: its URL prefix, journal,
    # settings and verdict.
    server = llm_mock_session._open_scope(item.nodeid)
    configure(server, item.config, settings)
    item.stash[_SERVER] = server
    try:
        yield server
    finally:
        del item.stash[_SERVER]
        # Closed first: what arrives from now on is late; what came before is in the verdict.
        server._close_scope()
        stats = _stats(item.config)
        stats.add(server.collection, server._state.journal)
        stats.add_late(llm_mock_session._server.late.drain())
    # Requests made after the test body (by fixtures torn down before this one) are checked
    # here; a verdict the body's end already reported is not repeated.
    failures = server.failures() if server.strict else None
    if failures is not None and failures != server._reported:
        pytest.fail(f"pytest-llm-mock (at teardown): {failures}", pytrace=False)


@pytest.fixture
def llm_mock_env(llm_mock_server: LLMMockServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point clients that read the environment (`OPENAI_BASE_URL`, ...) at the mock server.

    Sets `llm_mock_server.env` for this test: `OPENAI_BASE_URL`, `OPENAI_API_BASE`,
    `OPENAI_API_KEY` and `OPENAI_AGENTS_DISABLE_TRACING`.
    """
    env = llm_mock_server.env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _stats(config: pytest.Config) -> Stats:
    if _STATS not in config.stash:
        from ._report import Stats

        config.stash[_STATS] = Stats()
    return config.stash[_STATS]


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    stats = config.stash.get(_STATS, None)
    output = getattr(config, "workeroutput", None)  # an xdist worker's report home
    if output is not None:
        if stats is not None:
            output["llm_mock"] = stats.to_json()
        return
    # A late request that nothing answered was charged to no test: the run fails for it.
    strict = bool(config.getini("llm_strict")) and not config.getoption("llm_lenient")
    if strict and stats is not None and stats.late_misses and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    data = getattr(node, "workeroutput", {}).get("llm_mock")
    if data is not None:
        _stats(node.config).merge(data)  # type: ignore[attr-defined]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    stats = config.stash.get(_STATS, None)
    if stats is None or config.get_verbosity() < -1:
        return
    terminalreporter.write_sep("=", "pytest-llm-mock")
    for line in stats.lines(verbose=config.get_verbosity() > 0):
        terminalreporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test whose requests were not all answered, with the explanation; show a
    failing test's requests in its report."""
    try:
        yield
    except BaseException:
        server = item.stash.get(_SERVER, None)
        if server is not None:
            from ._report import show

            failures = server.failures()
            show(item, "call", server.requests, failures)
            server._reported = failures
        raise
    server = item.stash.get(_SERVER, None)
    if server is not None and server.strict:
        failures = server.failures()
        if failures is not None:
            from ._report import show

            show(item, "call", server.requests)  # the failure itself says what went wrong
            server._reported = failures
            pytest.fail(f"pytest-llm-mock: {failures}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Show the requests of a test that fails at teardown (the verdict on requests that
    fixtures made as they were torn down, or any other teardown error)."""
    server = item.stash.get(_SERVER, None)  # gone once the fixture is torn down
    try:
        return (yield)
    except BaseException:
        if server is not None:
            from ._report import show

            show(item, "teardown", server.requests)
        raise
