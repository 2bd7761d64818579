"""`openai_client()` and `async_openai_client()`: built without TLS set-up for the server's
plain-HTTP URL; what the caller passes wins."""

from __future__ import annotations

import asyncio
import ssl
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, DefaultHttpxClient, OpenAI

from pytest_llm_mock import LLMMockServer

HELLO: Any = [{"role": "user", "content": "Hello"}]
# httpx2 for openai 3.x, httpx for 1.x and 2.x: the module the SDK sends through.
TRANSPORT = import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def both_answer(sync_client: OpenAI, async_client: AsyncOpenAI) -> None:
    """Each client's chat call gets the default collection's greeting."""
    answer = sync_client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
    assert answer.choices[0].message.content == "Hello! How can I help you today?"

    async def ask() -> str | None:
        reply = await async_client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
        return reply.choices[0].message.content

    assert asyncio.run(ask()) == "Hello! How can I help you today?"


def test_helper_clients_skip_the_tls_set_up_a_plain_client_does(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loads: list[str] = []
    for method in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
        # Counted, not run: a plain client then reads no file (the one named below is not there).
        monkeypatch.setattr(
            ssl.SSLContext, method, lambda *args, method=method, **kwargs: loads.append(method)
        )
    # Every TLS set-up the SDK may do reads the bundle named here, on any platform.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "bundle.pem"))

    sync_client = standalone.openai_client(max_retries=0)
    async_client = standalone.async_openai_client(max_retries=0)
    assert loads == []
    both_answer(sync_client, async_client)
    OpenAI(base_url=standalone.base_url, api_key="key").close()
    assert loads != [], "the count sees the TLS set-up of a plain client"


def test_a_given_http_client_wins_over_the_helpers_own(standalone: LLMMockServer) -> None:
    seen: list[str] = []

    def answer(request: Any) -> Any:
        seen.append(str(request.url))
        return TRANSPORT.Response(200, json={"object": "list", "data": []})

    http_client = TRANSPORT.Client(transport=TRANSPORT.MockTransport(answer))
    client = standalone.openai_client(http_client=http_client, max_retries=0)

    assert client.models.list().data == []
    assert seen == [f"{standalone.base_url}/models"]
    assert standalone.requests == []


def test_each_tests_client_reuses_the_connection_and_one_left_in_use_is_closed(
    pytester: pytest.Pytester,
) -> None:
    """The clients of each test share the server's keep-alive connections, so a test's client
    costs no new connection; a stream a test left unread still has its connection closed as
    the test ends, as when each client had its own, and the next test gets a fresh one. A
    session client's connections are its own: a test's end leaves them open."""
    pytester.makepyfile(
        """
        import pytest

        HELLO = [{"role": "user", "content": "Hello"}]
        SEEN = {}


        def ask(server, name):
            raw = server.openai_client().chat.completions.with_raw_response.create(
                model="m", messages=HELLO
            )
            stream = raw.http_response.extensions["network_stream"]
            SEEN[name] = stream.get_extra_info("client_addr")
            assert raw.parse().choices[0].message.content


        def test_first(llm_mock_server):
            ask(llm_mock_server, "first")


        def test_second(llm_mock_server):
            ask(llm_mock_server, "second")
            assert SEEN["second"] == SEEN["first"]  # the same connection


        @pytest.fixture(scope="session")
        def session_client(llm_mock_session):
            return llm_mock_session.openai_client()


        def socket_of(stream):
            return stream.response.extensions["network_stream"].get_extra_info("socket")


        def test_leaves_a_stream_unread(llm_mock_server, session_client):
            for name, client in ("stream", llm_mock_server.openai_client()), (
                "session", session_client
            ):
                SEEN[name] = client.chat.completions.create(model="m", messages=HELLO, stream=True)
                next(iter(SEEN[name]))


        def test_after_it(llm_mock_server):
            assert socket_of(SEEN["stream"]).fileno() == -1  # closed with its test
            assert socket_of(SEEN["session"]).fileno() != -1  # a session client's stays
            assert list(SEEN["session"])
            ask(llm_mock_server, "after")
            assert SEEN["after"] != SEEN["first"]  # the old connections went with it
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_helper_clients_never_go_through_a_proxy_from_the_environment(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy named in the environment (a CI runner's) cannot reach the test's 127.0.0.1: the
    helpers' clients send straight to the server, whatever HTTP_PROXY and ALL_PROXY say."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    both_answer(
        standalone.openai_client(max_retries=0), standalone.async_openai_client(max_retries=0)
    )
    with (
        OpenAI(base_url=standalone.base_url, api_key="k", max_retries=0) as plain,
        pytest.raises(Exception, match="Connection"),
    ):
        plain.chat.completions.create(model="mock-llm-v1", messages=HELLO)  # the proxy's way
