"""pytest wiring only: options, the marker, fixtures and hooks. Logic lives in the modules.

Importing this module must cost almost nothing: every pytest run of a project that installs
the plugin imports it. The server stack loads when a test first asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._fixture import LLMMockServer
    from ._options import Settings

FIXTURE = "llm_mock_server"
_SERVER: pytest.StashKey[LLMMockServer] = pytest.StashKey()
_SETTINGS: pytest.StashKey[Settings] = pytest.StashKey()
_BROKEN: pytest.StashKey[str] = pytest.StashKey()  # a usage error found in an xdist worker
_REPORTED: pytest.StashKey[bool] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llm-mock", "pytest-llm-mock: deterministic OpenAI-compatible server")
    group.addoption(
        "--llm-collection",
        metavar="PATH",
        help="Postman collection to answer from (relative to the current directory)",
    )
    group.addoption(
        "--llm-match",
        metavar="STRATEGY",
        help="match strategy: conversation (default), dialogue, last_user_message, rasa, "
        "regex:PATTERN",
    )
    group.addoption(
        "--llm-record",
        metavar="UPSTREAM_BASE_URL",
        help="record mode: send unanswered requests upstream and save the answers in the "
        "collection (key from LLM_MOCK_UPSTREAM_API_KEY)",
    )
    group.addoption(
        "--llm-lenient",
        action="store_true",
        help="do not fail tests whose requests no example answered",
    )
    parser.addini("llm_collection", "Postman collection to answer from (relative to the ini file)")
    parser.addini("llm_match", "match strategy (default: conversation)")
    parser.addini("llm_strict", "fail tests with unmatched requests", type="bool", default=True)
    parser.addini("llm_chunk_size", "characters per stream chunk (default 8)", default="8")


def pytest_configure(config: pytest.Config) -> None:
    chunk_size = str(config.getini("llm_chunk_size")).strip()
    if not chunk_size.isdigit() or int(chunk_size) < 1:
        raise pytest.UsageError(
            f"pytest-llm-mock: ini option llm_chunk_size must be 1 or more, got {chunk_size!r}"
        )
    config.addinivalue_line(
        "markers",
        "llm_collection(path, *, match=None, strict=None): the Postman collection, match "
        "strategy and strictness of pytest-llm-mock for this test",
    )


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
def _llm_mock_session(pytestconfig: pytest.Config) -> Iterator[LLMMockServer]:
    from ._fixture import LLMMockServer

    server = LLMMockServer(chunk_size=int(pytestconfig.getini("llm_chunk_size"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_mock_server(
    request: pytest.FixtureRequest, _llm_mock_session: LLMMockServer
) -> Iterator[LLMMockServer]:
    """The mock OpenAI server: `base_url`, the requests this test made, assertion helpers."""
    from ._options import configure, settings_for

    item = request.node
    if _BROKEN in item.stash:
        pytest.fail(item.stash[_BROKEN], pytrace=False)
    settings = item.stash.get(_SETTINGS, None) or settings_for(item)
    server = _llm_mock_session
    server.reset()
    configure(server, item.config, settings)
    item.stash[_SERVER] = server
    failures = None
    try:
        yield server
        # Requests made after the test body (by fixtures torn down before this one) are
        # checked here; the body's own were checked when it ended.
        if server.strict and not item.stash.get(_REPORTED, False):
            failures = server.failures()
    finally:
        del item.stash[_SERVER]
        server._close_clients()
        server.reset()
    if failures is not None:
        pytest.fail(f"pytest-llm-mock (at teardown): {failures}", pytrace=False)


@pytest.fixture
def llm_mock_env(llm_mock_server: LLMMockServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point clients that read the environment (`OPENAI_BASE_URL`, ...) at the mock server."""
    env = llm_mock_server.env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test whose requests were not all answered, with the explanation."""
    try:
        yield
    except BaseException:
        server = item.stash.get(_SERVER, None)
        failures = server.failures() if server is not None else None
        if failures is not None:
            item.add_report_section("call", "llm-mock", failures)
            item.stash[_REPORTED] = True
        raise
    server = item.stash.get(_SERVER, None)
    if server is not None and server.strict:
        failures = server.failures()
        if failures is not None:
            item.stash[_REPORTED] = True
            pytest.fail(f"pytest-llm-mock: {failures}", pytrace=False)
