"""What pytest shows of the mock: the session summary and a failing test's requests."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_llm_mock import LLMMockServer

from . import postman

SUITE = """
import openai
import pytest

def ask(server, text):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )

def test_hello(llm_mock_server):
    ask(llm_mock_server, "Hello world")

def test_weather_and_a_typo(llm_mock_server):
    ask(llm_mock_server, "What is the weather?")
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "Helo")

def test_fails_after_asking(llm_mock_server):
    ask(llm_mock_server, "Hello world")
    assert False, "the app under test got it wrong"

def test_without_the_mock():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    items = [
        postman.folder(
            "Greetings",
            postman.chat_item("Hello", postman.chat_body(("user", "Hello world")), "Hi!"),
        ),
        postman.folder(
            "Other",
            postman.chat_item(
                "Weather", postman.chat_body(("user", "What is the weather?")), "Sunny."
            ),
        ),
        postman.folder(
            "Other", postman.chat_item("Unused", postman.chat_body(("user", "Never asked")), "...")
        ),
    ]
    postman.write(pytester.path / "collection.json", postman.collection(*items))
    pytester.makepyfile(SUITE)
    return pytester


def test_the_summary_counts_requests_misses_and_unreached_examples(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--llm-lenient")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= pytest-llm-mock =*",
            "4 requests served, 1 not answered; 1 of 3 examples in 1 collection not reached by "
            "any test (-v lists them)",
        ],
        consecutive=True,
    )


def test_verbose_lists_the_unreached_examples(project: pytest.Pytester) -> None:
    result = project.runpytest("--llm-lenient", "-v")
    path = project.path / "collection.json"
    result.stdout.fnmatch_lines(
        [
            "*= pytest-llm-mock =*",
            "4 requests served, 1 not answered; 1 of 3 examples in 1 collection not reached by "
            "any test",
            f"  {path}: Other/Unused/Unused",
        ],
        consecutive=True,
    )


def test_the_summary_adds_up_across_xdist_workers(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--llm-lenient", "-p", "xdist", "-n", "2")
    result.stdout.fnmatch_lines(
        ["4 requests served, 1 not answered; 1 of 3 examples in 1 collection not reached by *"]
    )


@pytest.mark.parametrize("args", [["-q", "-q"], ["-p", "no:llm_mock", "-k", "without"]])
def test_the_summary_can_be_turned_off(project: pytest.Pytester, args: list[str]) -> None:
    result = (
        project.runpytest("--llm-lenient", *args)
        if "no:llm_mock" not in args
        else project.runpytest(*args)
    )
    assert "pytest-llm-mock" not in result.stdout.str()


def test_no_summary_when_no_test_uses_the_mock(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "without")
    result.assert_outcomes(passed=1, deselected=3)
    assert "pytest-llm-mock" not in result.stdout.str()


def test_a_failing_test_shows_the_requests_it_made(project: pytest.Pytester) -> None:
    result = project.runpytest("--llm-lenient", "-k", "fails_after_asking")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the app under test got it wrong*",
            "*- Captured llm-mock call -*",
            "Requests this test made (1):",
            "  1. POST /v1/chat/completions model=gpt-4o-mini user='Hello world' -> 200 "
            "Greetings/Hello/Hello",
        ],
    )


def test_the_summary_reports_a_reached_journal_limit(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nllm_journal_limit = 1\n")
    result = project.runpytest("--llm-lenient", "-k", "weather")
    result.stdout.fnmatch_lines(
        [
            "2 requests served, 1 not answered; *",
            "the journal limit was reached: 1 requests were not kept (raise it with the ini key "
            "llm_journal_limit, or llm_journal_max_size for bytes)",
        ]
    )
    project.makeini("[pytest]\nllm_journal_limit = none\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR


# What a test that fails on a miss after an answered turn shows of its requests.
TWO_TURNS = [
    "Requests this test made (2):",
    "  1. POST /v1/chat/completions model=gpt-4o-mini user='What is the weather?' -> 200 "
    "Other/Weather/Weather",
    "  2. POST /v1/chat/completions model=gpt-4o-mini user='Helo' -> 404 (not answered)",
]


def test_a_strict_miss_after_an_answered_turn_shows_every_request(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("-k", "weather_and_a_typo")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        [
            "pytest-llm-mock: 1 request(s) were not answered by any example:",
            "1. POST /v1/chat/completions",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["*- Captured llm-mock call -*", *TWO_TURNS], consecutive=True)
    # The miss's explanation is the failure's message; the section does not repeat it.
    assert result.stdout.str().count("were not answered by any example") == 1


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """Each test case's properties in a JUnit XML file, by test name."""
    return {
        case.attrib["name"]: {p.attrib["name"]: p.attrib["value"] for p in case.iter("property")}
        for case in ET.parse(path).iter("testcase")
    }


def test_junit_xml_carries_the_requests_of_a_failing_test_by_default(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--junitxml", "junit.xml")
    result.assert_outcomes(passed=2, failed=2)
    properties = junit_properties(project.path / "junit.xml")
    assert properties["test_weather_and_a_typo"] == {"llm-mock call": "\n".join(TWO_TURNS)}
    assert properties["test_fails_after_asking"]["llm-mock call"] == "\n".join(
        [
            "Requests this test made (1):",
            "  1. POST /v1/chat/completions model=gpt-4o-mini user='Hello world' -> 200 "
            "Greetings/Hello/Hello",
        ]
    )
    assert properties["test_hello"] == {}  # a passing test carries nothing


def html_logs(path: Path) -> dict[str, list[str]]:
    """The log pytest-html shows for each test (one per failing phase), as plain text."""
    with open(path, encoding="utf-8") as file:
        page = file.read()
    found = re.search(r'data-jsonblob="([^"]*)"', page)
    assert found is not None, "pytest-html wrote no data"
    data = json.loads(html.unescape(found.group(1)))
    return {
        test: [html.unescape(run["log"]) for run in runs] for test, runs in data["tests"].items()
    }


def test_pytest_html_shows_the_requests_of_a_strict_miss(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "weather_and_a_typo", "--html", "report.html")
    result.assert_outcomes(failed=1, deselected=3)
    [log] = html_logs(project.path / "report.html")[
        "test_pytest_html_shows_the_requests_of_a_strict_miss.py::test_weather_and_a_typo"
    ]
    assert "pytest-llm-mock: 1 request(s) were not answered by any example:" in log
    section = " Captured llm-mock call ".center(80, "-")
    assert f"{section}\n" + "\n".join(TWO_TURNS) in log


TEARDOWN_SUITE = """
import openai
import pytest

def ask(server, text):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )

@pytest.fixture
def app(llm_mock_server):
    yield
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "Goodbye")  # as the app shuts down

def test_says_goodbye_at_teardown(app, llm_mock_server):
    ask(llm_mock_server, "Hello world")

@pytest.fixture
def broken():
    yield
    raise RuntimeError("a fixture failed at teardown")

def test_fails_twice(broken, llm_mock_server):
    ask(llm_mock_server, "Hello world")
    assert False
"""


def test_a_miss_at_teardown_shows_every_request_in_a_teardown_section(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_teardown=TEARDOWN_SUITE)
    result = project.runpytest("test_teardown.py", "--junitxml", "junit.xml", "--html", "r.html")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    shown = [
        "Requests this test made (2):",
        "  1. POST /v1/chat/completions model=gpt-4o-mini user='Hello world' -> 200 "
        "Greetings/Hello/Hello",
        "  2. POST /v1/chat/completions model=gpt-4o-mini user='Goodbye' -> 404 (not answered)",
    ]
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at teardown of test_says_goodbye_at_teardown _*",
            "pytest-llm-mock (at teardown): 1 request(s) were not answered by any example:",
        ]
    )
    result.stdout.fnmatch_lines(["*- Captured llm-mock teardown -*", *shown], consecutive=True)
    properties = junit_properties(project.path / "junit.xml")["test_says_goodbye_at_teardown"]
    assert properties == {"llm-mock teardown": "\n".join(shown)}
    # pytest-html shows the passed call, with the teardown's sections, and the teardown error.
    logs = html_logs(project.path / "r.html")["test_teardown.py::test_says_goodbye_at_teardown"]
    section = " Captured llm-mock teardown ".center(80, "-") + "\n" + "\n".join(shown)
    assert len(logs) == 2
    assert all(section in log for log in logs)
    # A test whose call showed its requests does not show them again when its teardown
    # fails too, with no request since.
    errors = result.stdout.str().split("ERROR at teardown of test_fails_twice")[1]
    errors = errors.split("= FAILURES =")[0]
    assert "Captured llm-mock call" in errors
    assert "Captured llm-mock teardown" not in errors


TIMEOUT_SUITE = """
import openai

# Imported and built before the clock starts: only the test's wait for its answer is timed.
openai.OpenAI(api_key="test-key", base_url="http://127.0.0.1:9").chat.completions

def ask(server, text, **options):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )

def test_waits_out_the_latency(llm_mock_server):
    llm_mock_server.latency = 30
    ask(llm_mock_server, "Hello world")

def test_reads_a_stalled_stream(llm_mock_server):
    llm_mock_server.break_next_stream(1, how="stall", stall=30)
    for _ in ask(llm_mock_server, "Hello world", stream=True):
        pass
"""


def test_a_test_stopped_by_pytest_timeout_shows_its_request_in_flight(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_slow=TIMEOUT_SUITE)
    result = project.runpytest(
        "test_slow.py", "--timeout=2", "--timeout-method=signal", "-o", "timeout_func_only=true"
    )
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert output.count("Failed: Timeout (>2.0s) from pytest-timeout.") == 2
    for stream in ("", " stream"):
        shown = [
            " Captured llm-mock call ".center(80, "-"),
            "Requests this test made (1):",
            f"  1. POST /v1/chat/completions model=gpt-4o-mini{stream} user='Hello world' "
            "-> 200 Greetings/Hello/Hello (in flight: answer not finished)",
        ]
        assert "\n".join(shown) in output


def test_a_request_whose_answer_is_not_sent_yet_is_in_flight_and_counts_as_called(
    llm_mock_server: LLMMockServer,
) -> None:
    llm_mock_server.add_response("Hi!", last_user_message="Hello")
    llm_mock_server.latency = 30
    arrived = threading.Event()
    llm_mock_server._state.journal.listen(lambda _: arrived.set())
    url = urlsplit(llm_mock_server.base_url)
    assert url.hostname is not None
    assert url.port is not None
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hello"}]})
    head = (
        f"POST {url.path}/chat/completions HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as client:
        client.sendall((head + body).encode())
        assert arrived.wait(10), "the request never reached the journal"
        [waiting] = llm_mock_server.requests
        assert waiting.in_flight
        assert waiting.to_json()["in_flight"] is True
        assert waiting.describe().endswith(
            "-> 200 add_response #1 (in flight: answer not finished)"
        )
        llm_mock_server.assert_called_once(last_user_message="Hello")
    # The client left before the answer: it never got one, and the journal says so.
    assert llm_mock_server.requests[0].in_flight

    llm_mock_server.latency = 0
    llm_mock_server.openai_client(max_retries=0).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hello"}]
    )
    answered = llm_mock_server.requests[1]
    assert not answered.in_flight
    assert answered.to_json()["in_flight"] is False
    assert answered.describe().endswith("-> 200 add_response #1")
    llm_mock_server.assert_call_count(2, last_user_message="Hello")


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_the_client_has_read_is_never_in_flight(
    llm_mock_server: LLMMockServer, stream: bool
) -> None:
    # Marked finished as its last bytes go out, not after: the client may read the journal
    # the moment it has them. A paced stream ends with `[DONE]` before its final empty write.
    llm_mock_server.add_response("Hello there, how are you?", last_user_message="Hi")
    llm_mock_server.chunk_delay = 0.001
    client = llm_mock_server.openai_client(max_retries=0)
    messages: Any = [{"role": "user", "content": "Hi"}]
    for _ in range(20):
        if stream:
            chunks = client.chat.completions.create(model="m", messages=messages, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            completion = client.chat.completions.create(model="m", messages=messages)
            text = completion.choices[0].message.content or ""
        assert text == "Hello there, how are you?"
        last = llm_mock_server.last_request
        assert last is not None
        assert not last.in_flight, last.describe()
