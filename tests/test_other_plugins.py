"""The plugins users combine with this one, each installed and run through pytester with the
recipe of the README's "With other plugins" section, and where it is cheap without it, to
show what the recipe prevents.

openai 3.x sends through `httpx2`, 1.x and 2.x through `httpx`: the suite runs in both
environments, and where the plugins treat the two differently the expectation says which.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

# openai is imported as the module is collected: its first import takes long enough to time
# out a short pytest-timeout limit on its own.
ASK = """
import openai


def ask(server, content="hi"):
    client = server.openai_client(max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )
    return completion.choices[0].message.content
"""

# Runs in a process of their own load only the plugins they need: hypothesis and
# schemathesis alone take seconds to import.
LEAN = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")

HINT = (
    "RuntimeError: pytest-llm-mock serves on 127.0.0.1: add --allow-hosts=127.0.0.1 "
    "(pytest-socket blocked the mock server's socket)"
)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """conftest's pytester, with the summary's lines in full."""
    monkeypatch.setenv("COLUMNS", "200")
    return pytester


def openai_sends_through_httpx() -> bool:
    """Whether the installed openai sends through `httpx` (1.x, 2.x) rather than `httpx2`."""
    from openai import DefaultHttpxClient

    return DefaultHttpxClient.__mro__[1].__module__.split(".")[0] == "httpx"


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## With other plugins\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_recipes_are_the_ones_tested_here() -> None:
    """Every line of the section's Python and ini blocks (but the elided `...` ones) stands
    in this file, in a test run below."""
    blocks = re.findall(r"```(?:python|ini)\n(.*?)```", readme_section(), flags=re.DOTALL)
    assert len(blocks) >= 8
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [
        line
        for block in blocks
        for line in block.splitlines()
        if line.strip() and "..." not in line and line.strip() not in source
    ]
    assert missing == []


# -- pytest-socket -----------------------------------------------------------------------

SOCKET_TESTS = (
    ASK
    + """
import socket

import pytest
import pytest_socket


def test_sync(llm_mock_server):
    llm_mock_server.add_response("through")
    assert ask(llm_mock_server) == "through"


@pytest.mark.asyncio
async def test_async(llm_mock_server):
    llm_mock_server.add_response("through")
    client = llm_mock_server.async_openai_client(max_retries=0)
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "through"


def test_other_hosts_stay_blocked():
    # A socket of its own, closed here: create_connection would leave its socket to the
    # garbage collector, which may warn about it during a later test.
    with socket.socket() as sock:
        with pytest.raises(pytest_socket.SocketConnectBlockedError), pytest.warns(UserWarning):
            sock.connect(("127.0.0.2", 9))
"""
)


SOCKET_INI = """
[pytest]
addopts = --disable-socket --allow-hosts=127.0.0.1
"""


@pytest.mark.parametrize(
    ("flags", "cause"),
    [
        # -W: pytester's runs in this process would otherwise inherit this suite's
        # filterwarnings = error.
        pytest.param(
            ["--disable-socket", "-W", "always::UserWarning"],
            "SocketBlockedError",
            id="disable-socket",
        ),
        pytest.param(
            ["--disable-socket", "--allow-unix-socket", "-W", "always::UserWarning"],
            "SocketBlockedError",
            id="allow-unix-socket",
        ),
        # pytest-socket warns before it raises: where warnings are errors, the warning is
        # what arrives.
        pytest.param(
            ["--disable-socket", "-W", "error::UserWarning"], "UserWarning", id="warnings-errors"
        ),
    ],
)
def test_disable_socket_fails_the_fixture_with_the_allow_hosts_hint(
    pytester: pytest.Pytester, flags: list[str], cause: str
) -> None:
    pytester.makepyfile(
        test_blocked=ASK
        + """
def test_one(llm_mock_server):
    ask(llm_mock_server)


def test_two(llm_mock_server):
    ask(llm_mock_server)
"""
    )
    result = pytester.runpytest(*flags)
    result.assert_outcomes(errors=2)
    # pytest-socket's error, then ours: its last line is the hint, and so is the summary's.
    result.stdout.fnmatch_lines(
        [
            f"E *{cause}: A test tried to use socket.socket.",
            "The above exception was the direct cause of the following exception:",
            f"E *{HINT}",
            "*short test summary info*",
            f"ERROR test_blocked.py::test_one - {HINT}",
            f"ERROR test_blocked.py::test_two - {HINT}",
        ]
    )


def test_allow_hosts_lets_the_fixture_and_its_clients_through(pytester: pytest.Pytester) -> None:
    """--allow-hosts lifts the block on making sockets and limits connect() to the hosts
    named: the server binds, clients reach it, any other host is still refused."""
    pytester.makeini(SOCKET_INI)
    pytester.makepyfile(test_allowed=SOCKET_TESTS)
    pytester.runpytest().assert_outcomes(passed=3)


# -- pytest-recording (VCR.py) ------------------------------------------------------------

VCR_TEST = (
    ASK
    + """
import pytest


@pytest.mark.vcr
def test_agent(llm_mock_server):
    llm_mock_server.add_response("live")
    assert ask(llm_mock_server) == "live"
    llm_mock_server.assert_called_once(model="gpt-4o-mini")
"""
)

VCR_CONFTEST = """
import pytest


@pytest.fixture(scope="module")
def vcr_config():
    return {"ignore_localhost": True}
"""


# The runs that record and replay cassettes run in processes of their own, as two runs of a
# suite do: in pytester's in-process runs, a second run fails to load the cassette the first
# wrote (a yaml ConstructorError), since the modules first imported by a run are forgotten.


@contextlib.contextmanager
def holding(port: int) -> Iterator[None]:
    """Keep `port` of 127.0.0.1 busy, so that a server started now gets another one (as it
    would on another run, all but always)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # in use already: busy all the same
            sock.bind(("127.0.0.1", port))
            sock.listen()
        yield


def test_a_cassette_records_the_mocks_port_and_fails_on_the_next_run(
    pytester: pytest.Pytester,
) -> None:
    """Without ignore_localhost, VCR.py records the requests to the mock (through httpx and
    httpx2 alike, so with every openai version), ephemeral port included; the next run's
    server has another port, and replay fails."""
    pytester.makepyfile(test_vcr=VCR_TEST)
    pytester.runpytest_subprocess(*LEAN, "--record-mode=once").assert_outcomes(passed=1)
    cassette = (pytester.path / "cassettes" / "test_vcr" / "test_agent.yaml").read_text()
    recorded = re.search(r"http://127\.0\.0\.1:(\d+)/", cassette)
    assert recorded is not None, cassette
    with holding(int(recorded.group(1))):
        result = pytester.runpytest_subprocess(*LEAN, "--record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CannotOverwriteExistingCassetteException*"])
    output = result.stdout.str()  # vcrpy's wording differs between its versions
    assert "differ in port" in output or "port - assertion failure" in output


def test_ignore_localhost_keeps_the_mock_out_of_cassettes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(VCR_CONFTEST)
    pytester.makepyfile(test_vcr=VCR_TEST)
    pytester.runpytest_subprocess(*LEAN, "--record-mode=once").assert_outcomes(passed=1)
    assert not (pytester.path / "cassettes").exists()
    # The next run (another server, another port) reaches the mock again.
    pytester.runpytest_subprocess(*LEAN, "--record-mode=once").assert_outcomes(passed=1)


BLOCK_NETWORK_INI = """
[pytest]
addopts = --block-network --allowed-hosts=127.0.0.1
"""


def test_block_network_needs_allowed_hosts_for_the_mock(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(VCR_CONFTEST)
    pytester.makepyfile(test_vcr=VCR_TEST)
    # In a process of its own: the blocked connect leaves its socket to the garbage collector
    # (the error is not an OSError, which would close it), and the run's records hold it
    # until this test ends, so it would warn in a later test of this process.
    blocked = pytester.runpytest_subprocess("--block-network")
    blocked.assert_outcomes(failed=1)
    blocked.stdout.fnmatch_lines(["*RuntimeError: Network is disabled for host '127.0.0.1'"])
    pytester.makeini(BLOCK_NETWORK_INI)
    pytester.runpytest().assert_outcomes(passed=1)


# -- respx and pytest_httpx ---------------------------------------------------------------

# The other API is mocked, never reached: respx and pytest_httpx refuse unmatched requests.
RESPX_RECIPE = (
    ASK
    + """
import httpx


def test_weather_agent(llm_mock_server, respx_mock):
    respx_mock.route(host="127.0.0.1").pass_through()
    respx_mock.get("https://api.example.com/weather").respond(json={"temp": 21})
    llm_mock_server.add_response("sunny")
    assert ask(llm_mock_server) == "sunny"
    assert httpx.get(llm_mock_server.url + "/health").status_code == 200
    assert httpx.get("https://api.example.com/weather").json() == {"temp": 21}
    llm_mock_server.assert_called_once(model="gpt-4o-mini")
"""
)

HTTPX_MOCK_RECIPE = (
    ASK
    + """
import httpx
import pytest


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host != "127.0.0.1")
def test_weather_agent(llm_mock_server, httpx_mock):
    httpx_mock.add_response(url="https://api.example.com/weather", json={"temp": 21})
    llm_mock_server.add_response("sunny")
    assert ask(llm_mock_server) == "sunny"
    assert httpx.get(llm_mock_server.url + "/health").status_code == 200
    assert httpx.get("https://api.example.com/weather").json() == {"temp": 21}
    llm_mock_server.assert_called_once(model="gpt-4o-mini")
"""
)

RESPX_WITHOUT = (
    ASK
    + """
import httpx
import respx


@respx.mock
def test_openai(llm_mock_server):
    llm_mock_server.add_response("through")
    assert ask(llm_mock_server) == "through"


@respx.mock
def test_plain_httpx(llm_mock_server):
    assert httpx.get(llm_mock_server.url + "/health").status_code == 200
"""
)

HTTPX_MOCK_WITHOUT = (
    ASK
    + """
import httpx


def test_openai(llm_mock_server, httpx_mock):
    llm_mock_server.add_response("through")
    assert ask(llm_mock_server) == "through"


def test_plain_httpx(llm_mock_server, httpx_mock):
    assert httpx.get(llm_mock_server.url + "/health").status_code == 200
"""
)


@pytest.mark.parametrize("recipe", [RESPX_RECIPE, HTTPX_MOCK_RECIPE], ids=["respx", "httpx_mock"])
def test_httpx_mocks_pass_127_0_0_1_through_to_the_mock(
    pytester: pytest.Pytester, recipe: str
) -> None:
    pytester.makepyfile(test_mocked=recipe)
    pytester.runpytest().assert_outcomes(passed=1)


def test_respx_without_pass_through_catches_what_goes_through_httpx(
    pytester: pytest.Pytester,
) -> None:
    """A plain httpx client to the mock is caught whatever the openai version; openai itself
    only where it sends through httpx (1.x, 2.x): respx does not patch httpx2."""
    pytester.makepyfile(test_mocked=RESPX_WITHOUT)
    result = pytester.runpytest("-rA")
    caught = ["*FAILED*::test_plain_httpx - respx.models.AllMockedAssertionError: RESPX*"]
    if openai_sends_through_httpx():
        result.assert_outcomes(failed=2)
        caught.insert(0, "*FAILED*::test_openai - openai.APIConnectionError*")
    else:
        result.assert_outcomes(passed=1, failed=1)
        caught.insert(0, "PASSED*::test_openai")
    result.stdout.fnmatch_lines(
        ["*RESPX: <Request('GET', 'http://127.0.0.1:*/health')> not mocked!", *caught]
    )


def test_httpx_mock_without_should_mock_catches_what_goes_through_httpx(
    pytester: pytest.Pytester,
) -> None:
    """As with respx: pytest_httpx answers the requests to the mock it sees (with a timeout
    error, and a teardown error for a request not expected), and sees openai's only where
    openai sends through httpx."""
    pytester.makepyfile(test_mocked=HTTPX_MOCK_WITHOUT)
    result = pytester.runpytest("-rA")
    caught = ["*No response can be found for GET request on http://127.0.0.1:*/health"]
    if openai_sends_through_httpx():
        result.assert_outcomes(failed=2, errors=2)
        caught.insert(0, "*No response can be found for POST request on http://127.0.0.1:*")
    else:
        result.assert_outcomes(passed=1, failed=1, errors=1)
        result.stdout.fnmatch_lines(["PASSED*::test_openai"])
    result.stdout.fnmatch_lines(caught)


# -- pytest-timeout -----------------------------------------------------------------------

TIMEOUT_TESTS = (
    ASK
    + """
import pytest


def test_first(llm_mock_server):
    llm_mock_server.add_response("served")
    assert ask(llm_mock_server) == "served"


@pytest.mark.timeout(1, func_only=True)
def test_slow(llm_mock_server):
    llm_mock_server.add_response("late")
    llm_mock_server.latency = 60
    ask(llm_mock_server)


def test_next(llm_mock_server):
    llm_mock_server.add_response("served")
    assert ask(llm_mock_server) == "served"
"""
)


TIMEOUT_INI = """
[pytest]
addopts = --timeout 30 --timeout-method=signal
"""


def test_timeout_signal_method_fails_the_test_and_the_next_one_is_served(
    pytester: pytest.Pytester,
) -> None:
    """SIGALRM interrupts the test in the main thread; the server runs in its own thread and
    goes on serving."""
    pytester.makeini(TIMEOUT_INI)
    pytester.makepyfile(test_timeout=TIMEOUT_TESTS)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Stack of pytest-llm-mock 127.0.0.1:*",  # the dump shows the server waiting
            "PASSED test_timeout.py::test_first",
            "PASSED test_timeout.py::test_next",
            "FAILED test_timeout.py::test_slow - Failed: Timeout (>1.0s) from pytest-timeout.",
        ]
    )


def test_timeout_thread_method_ends_the_whole_run(pytester: pytest.Pytester) -> None:
    """The thread method dumps every thread's stack and ends the process: no later test
    runs, hence the signal method."""
    pytester.makepyfile(test_timeout=TIMEOUT_TESTS)
    result = pytester.runpytest_subprocess(
        *LEAN, "--timeout", "30", "--timeout-method=thread", "-v"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "test_timeout.py::test_first PASSED*",
            "test_timeout.py::test_slow *+ Timeout +*",
            "*Stack of pytest-llm-mock 127.0.0.1:*",
        ]
    )
    result.stdout.no_fnmatch_line("*test_next*")


# -- pytest-asyncio -----------------------------------------------------------------------

ASYNCIO_STRICT = """
import asyncio

import pytest
import pytest_asyncio

LOOPS = set()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(llm_mock_session):
    client = llm_mock_session.async_openai_client(max_retries=0)
    yield client
    await client.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_reply(client, llm_mock_server):
    LOOPS.add(asyncio.get_running_loop())
    llm_mock_server.add_response("one")
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "one"
    llm_mock_server.assert_called_once(model="gpt-4o-mini")


@pytest.mark.asyncio(loop_scope="session")
async def test_stream(client, llm_mock_server):
    LOOPS.add(asyncio.get_running_loop())
    assert len(LOOPS) == 1
    llm_mock_server.add_response("two")
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "two"
    llm_mock_server.assert_called_once(stream=True)
"""

ASYNCIO_AUTO = """
import asyncio

import pytest

LOOPS = set()


@pytest.fixture
async def client(llm_mock_server):
    client = llm_mock_server.async_openai_client(max_retries=0)
    yield client
    await client.close()


async def test_reply(client, llm_mock_server):
    LOOPS.add(asyncio.get_running_loop())
    llm_mock_server.add_response("one")
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "one"


async def test_again(client, llm_mock_server):
    LOOPS.add(asyncio.get_running_loop())
    assert len(LOOPS) == 1
    llm_mock_server.add_response("two")
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "two"
"""

ASYNCIO_INI = """
[pytest]
filterwarnings = error
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


def test_asyncio_strict_mode_with_a_session_loop_and_client(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_strict=ASYNCIO_STRICT)
    # PYTEST_ADDOPTS (see conftest) sets the fixture loop scope to function: this one wins.
    result = pytester.runpytest("-o", "asyncio_default_fixture_loop_scope=session")
    result.assert_outcomes(passed=2)


def test_asyncio_auto_mode_with_a_session_loop(pytester: pytest.Pytester) -> None:
    pytester.makeini(ASYNCIO_INI)
    pytester.makepyfile(test_auto=ASYNCIO_AUTO)
    result = pytester.runpytest("-o", "asyncio_default_fixture_loop_scope=session")
    result.assert_outcomes(passed=2)


# -- anyio and trio -----------------------------------------------------------------------

ANYIO_TESTS = """
import pytest
import sniffio


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_reply(llm_mock_server, anyio_backend):
    assert sniffio.current_async_library() == anyio_backend
    llm_mock_server.add_response("one")
    client = llm_mock_server.async_openai_client(max_retries=0)
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "one"


@pytest.mark.anyio
async def test_stream(llm_mock_server, anyio_backend):
    llm_mock_server.add_response("two")
    client = llm_mock_server.async_openai_client(max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "two"
"""

TRIO_INI = r"""
[pytest]
filterwarnings =
    error
    ignore:Async generator 'openai\._streaming\.:ResourceWarning
"""


def test_the_async_client_runs_under_trio(pytester: pytest.Pytester) -> None:
    pytester.makeini(TRIO_INI)
    pytester.makepyfile(test_anyio=ANYIO_TESTS)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["PASSED*::test_stream[[]trio[]]"])


def test_a_stream_under_trio_warns_about_openais_unclosed_generators(
    pytester: pytest.Pytester,
) -> None:
    """openai stops reading a stream at `[DONE]` and leaves its async generators to the
    garbage collector, which trio warns about: hence the recipe's filter."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_anyio=ANYIO_TESTS)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ResourceWarning: Async generator 'openai._streaming.*' was garbage collected*",
            "FAILED*::test_stream[[]trio[]]*",
        ]
    )
