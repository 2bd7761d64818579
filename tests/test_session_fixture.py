"""`llm_mock_session`: the session's server, for clients and apps built once (real pytest
runs through `pytester`, real clients on a real socket)."""

from __future__ import annotations

import pytest

# Each test's own request: answered from Python in that test, and recorded only there.
ASK = """
def ask(client, server, text):
    server.add_response(f"answer to {text}", last_user_message=text)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )
    assert reply.choices[0].message.content == f"answer to {text}"
    assert [r.last_user_message for r in server.requests] == [text]
"""


def test_a_module_scoped_client_charges_each_request_to_the_test_that_sends_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        ASK
        + """
import pytest

@pytest.fixture(scope="module")
def client(llm_mock_session):
    return llm_mock_session.openai_client(max_retries=0)

def test_first(client, llm_mock_server, llm_mock_session):
    assert "/_t/" not in llm_mock_session.base_url
    assert llm_mock_server.url.startswith(llm_mock_session.url + "/_t/")
    assert llm_mock_session.env["OPENAI_BASE_URL"] == llm_mock_session.base_url
    ask(client, llm_mock_server, "first")

def test_second(client, llm_mock_server):
    ask(client, llm_mock_server, "second")
    llm_mock_server.assert_not_called(last_user_message="first")
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_session_scoped_async_client_serves_tests_that_each_run_their_own_loop(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def client(llm_mock_session):
    return llm_mock_session.async_openai_client(max_retries=0)
"""
    )
    pytester.makepyfile(
        """
import asyncio
import pytest

@pytest.mark.parametrize("n", range(3))
def test_each(client, llm_mock_server, n):
    text = f"question {n}"
    llm_mock_server.add_response(f"answer {n}", last_user_message=text)

    async def ask():
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
        )
        return reply.choices[0].message.content

    assert asyncio.run(ask()) == f"answer {n}"
    assert [r.last_user_message for r in llm_mock_server.requests] == [text]
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_session_scoped_async_client_on_pytest_asyncios_session_loop(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        ASK.replace("def ask", "async def ask").replace("reply = client", "reply = await client")
        + """
import pytest
import pytest_asyncio
from openai import AsyncOpenAI

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(llm_mock_session):
    async with AsyncOpenAI(base_url=llm_mock_session.base_url, api_key="key") as client:
        yield client

@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("n", range(3))
async def test_each(client, llm_mock_server, n):
    await ask(client, llm_mock_server, f"question {n}")
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_per_test_members_of_the_session_server_raise_outside_and_inside_a_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.fixture(scope="module")
def primed(llm_mock_session):
    llm_mock_session.add_response("hello")

def test_outside(primed):
    pass

def test_inside(llm_mock_session, llm_mock_server):
    assert not hasattr(llm_mock_session, "requests")
    with pytest.raises(AttributeError, match="use llm_mock_server.latency"):
        llm_mock_session.latency = 1.0
    assert llm_mock_server.latency == 0.0
    llm_mock_session.assert_called()
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1, failed=1)
    message = (
        "*AttributeError: llm_mock_session.{} belongs to a test: llm_mock_session is the "
        "server every test shares, for long-lived clients and apps (url, base_url, env, "
        "openai_client(), async_openai_client()); each test's requests, added responses, "
        "faults, settings and assertions are on its own view. Request the llm_mock_server "
        "fixture in the test and use llm_mock_server.{}.*"  # Python may add "Did you mean"
    )
    result.stdout.fnmatch_lines(
        [
            message.format("add_response", "add_response"),
            message.format("assert_called", "assert_called"),
        ]
    )


def test_pytest_fixtures_describes_each_fixture_in_one_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    described = {
        "llm_mock_env": "Point clients that read the environment (`OPENAI_BASE_URL`, ...) at the "
        "mock server.",
        "llm_mock_server": "This test's mock OpenAI server: `base_url`, its requests, added "
        "responses, assertions.",
        "llm_mock_session [[]session scope[]]": "The session's mock OpenAI server, for module- and "
        "session-scoped clients and apps.",
    }
    for fixture, line in described.items():
        result.stdout.fnmatch_lines(
            [f"{fixture} -- *pytest_llm_mock/plugin.py:*", f"    {line}", ""], consecutive=True
        )
