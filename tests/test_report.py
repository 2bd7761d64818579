"""What pytest shows of the mock: the session summary and a failing test's requests."""

from __future__ import annotations

import pytest

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
