"""Nothing leaks from one test to the next: not requests, counters, added responses, faults,
settings or the collection, whatever the previous test did or how it ended; and after the
session no server thread is alive and the port is closed."""

from __future__ import annotations

import socket

import pytest

from . import postman

LEAKY = """
import pytest

def ask(server, text="Hello world", **options):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )

def assert_clean(server):
    assert server.requests == []
    assert server._state.responses == [] and server._state.failures == []
    assert server._state.stream_faults == [] and server._state.rate_limit is None
    assert (server.latency, server.chunk_delay, server.chunk_size) == (0.0, 0.0, 8)
    assert server.require_api_key is None
    assert server.collection.path.name == "collection.json"
    assert ask(server).choices[0].message.content == "Hi!"
    assert ask(server, "step").choices[0].message.content == "first", "counters restart"

@pytest.mark.llm_collection("other.json")
def test_1_fails_after_changing_everything(llm_mock_server):
    llm_mock_server.add_response("added", times=5)
    llm_mock_server.fail_next(500, times=3)
    llm_mock_server.latency = 0.01
    llm_mock_server.chunk_delay = 0.01
    llm_mock_server.chunk_size = 2
    llm_mock_server.break_next_stream(after=1)
    llm_mock_server.rate_limit(1)
    llm_mock_server.require_api_key = "secret"
    assert False, "fails on purpose"

def test_2_is_clean(llm_mock_server):
    assert_clean(llm_mock_server)
    ask(llm_mock_server, "step")

def test_3_raises_with_a_stream_half_read(llm_mock_server):
    llm_mock_server.add_response("a long answer " * 50)
    stream = ask(llm_mock_server, "anything", stream=True)
    next(iter(stream))
    raise RuntimeError("raised with the stream still open")

def test_4_is_clean(llm_mock_server):
    assert_clean(llm_mock_server)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    hello = postman.chat_item("Hello", postman.chat_body(("user", "Hello world")), "Hi!")
    steps = [
        postman.chat_item(n, postman.chat_body(("user", "step")), n) for n in ("first", "second")
    ]
    postman.write(pytester.path / "collection.json", postman.collection(hello, *steps))
    postman.write(pytester.path / "other.json", postman.collection())
    pytester.makepyfile(LEAKY)
    return pytester


def test_nothing_leaks_to_the_next_test(project: pytest.Pytester) -> None:
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2, failed=2)


def test_nothing_leaks_under_xdist(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "xdist", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=2, failed=2)


def test_after_a_session_the_port_is_closed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pathlib
        import urllib.parse

        def test_writes_its_port(llm_mock_server):
            port = str(urllib.parse.urlsplit(llm_mock_server.url).port)
            pathlib.Path("port.txt").write_text(port)
            assert False, "a failing session closes its server too"
        """
    )
    pytester.runpytest().assert_outcomes(failed=1)
    port = int((pytester.path / "port.txt").read_text())
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing listens on the port"
