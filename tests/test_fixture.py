"""The fixture object's API: added responses, assertion helpers, check() and reset()."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import sdk


@pytest.fixture
def server() -> Iterator[LLMMockServer]:
    with LLMMockServer(strict=False) as mock:
        yield mock


def chat(
    server: LLMMockServer, *messages: tuple[str, str], model: str = "m", stream: bool = False
) -> str | None:
    client = server.openai_client(max_retries=0)
    completion = client.chat.completions.create(
        model=model,
        messages=[{"role": r, "content": t} for r, t in messages],  # type: ignore[misc]
    )
    return completion.choices[0].message.content


def test_added_responses_match_on_every_criterion_in_order(server: LLMMockServer) -> None:
    server.add_response("by model", model="special")
    server.add_response("by last message", last_user_message="Hi  there")
    server.add_response("by substring", contains="weather")
    server.add_response(
        "by messages",
        messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
    )
    server.add_response("fallback")
    assert chat(server, ("user", "Hi there"), model="special") == "by model"
    assert chat(server, ("user", "Hi there")) == "by last message"
    assert chat(server, ("system", "talk about the weather"), ("user", "go")) == "by substring"
    assert chat(server, ("system", "S"), ("user", "Q")) == "by messages"
    assert chat(server, ("user", "Q")) == "fallback"


def test_times_limits_an_added_response_and_check_reports_unused(server: LLMMockServer) -> None:
    server.add_response("once", times=1)
    server.add_response("twice", times=2)
    assert [chat(server, ("user", "x")) for _ in range(2)] == ["once", "twice"]
    with pytest.raises(AssertionError, match=r"add_response #2\(any request\): used 1 of 2"):
        server.check()
    assert chat(server, ("user", "x")) == "twice"
    server.check()


def test_added_responses_come_before_the_collection() -> None:
    from .conftest import DEFAULT_COLLECTION

    with LLMMockServer(DEFAULT_COLLECTION) as mock:
        mock.add_response("overridden", last_user_message="Hello")
        assert chat(mock, ("user", "Hello")) == "overridden"
        assert mock.last_request is not None
        assert mock.last_request.example == "add_response #1"


def test_add_response_rejects_bad_arguments(server: LLMMockServer) -> None:
    with pytest.raises(ValueError, match="add_response needs content, tool_calls or body"):
        server.add_response()
    with pytest.raises(ValueError, match="times must be a positive number"):
        server.add_response("x", times=0)
    with pytest.raises(ValueError, match="give either body or content/tool_calls"):
        server.add_response("x", body={"choices": []})
    with pytest.raises(ValueError, match=r"body is not a valid chat.completion: choices\[0\]: "):
        server.add_response(body={"choices": ["text"]})
    with pytest.raises(ValueError, match="a tool call needs a 'name'"):
        server.add_response(tool_calls=[{"arguments": {}}])


def test_add_response_headers_follow_the_collection_rules(server: LLMMockServer) -> None:
    with pytest.raises(ValueError, match="'bad name' is not a valid HTTP header name"):
        server.add_response("x", headers={"bad name": "1"})
    with pytest.raises(ValueError, match="unknown control header 'x-llm-mock-nope'"):
        server.add_response("x", headers={"x-llm-mock-nope": "1"})
    with pytest.raises(ValueError, match="status: expected an HTTP status code"):
        server.add_response("x", status=100)
    server.add_response(
        "abcdef",
        headers={"Content-Length": "2", "x-custom": "kept", "x-llm-mock-chunk-size": "4"},
    )
    client = server.openai_client(max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    assert raw.parse().choices[0].message.content == "abcdef"
    assert raw.headers["x-custom"] == "kept"
    assert "x-llm-mock-chunk-size" not in raw.headers
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    assert [c.choices[0].delta.content for c in stream if c.choices][1:3] == ["abcd", "ef"]


def test_contains_is_whitespace_normalised_like_the_request(server: LLMMockServer) -> None:
    server.add_response("found", contains="line one\nline  two")
    assert chat(server, ("user", "before line one\n  line two after")) == "found"
    server.assert_called_once(contains="line one\nline  two")


def test_add_response_with_an_error_status(server: LLMMockServer) -> None:
    server.add_response(status=503, headers={"retry-after-ms": "1"})
    with pytest.raises(openai.InternalServerError) as excinfo:
        chat(server, ("user", "x"))
    assert excinfo.value.status_code == 503
    assert sdk.message(excinfo.value).endswith(
        "The engine is currently overloaded, please try again later."
    )
    assert excinfo.value.response.headers["retry-after-ms"] == "1"


def test_assertion_helpers_count_matching_requests(server: LLMMockServer) -> None:
    server.add_response("ok")
    chat(server, ("user", "first"), model="a")
    chat(server, ("system", "about cats"), ("user", "second"), model="b")
    server.assert_called()
    server.assert_called(model="a")
    server.assert_called_once(last_user_message="second")
    server.assert_called_once(contains="about cats")
    server.assert_call_count(2, path="/chat/completions", stream=False)
    server.assert_called_once(example="add_response #1", model="b")
    server.assert_not_called(model="c")
    with pytest.raises(
        TypeError,
        match="unknown criteria \\['colour'\\]; valid criteria are: model, last_user_message",
    ):
        server.assert_called(colour="red")


def test_assertion_failures_list_the_requests_made(server: LLMMockServer) -> None:
    server.add_response("ok")
    chat(server, ("user", "first"), model="a")
    with pytest.raises(AssertionError) as excinfo:
        server.assert_called_once(model="b")
    assert str(excinfo.value) == (
        "expected 1 request matching model='b'; found 0.\n"
        "Requests received (1):\n"
        "  1. POST /v1/chat/completions model=a user='first' -> 200 add_response #1"
    )
    server.reset()
    with pytest.raises(AssertionError, match=r"The server received no requests\."):
        server.assert_called()


def test_example_criterion_accepts_example_item_or_full_name() -> None:
    from .conftest import DEFAULT_COLLECTION

    with LLMMockServer(DEFAULT_COLLECTION) as mock:
        chat(mock, ("user", "Hello"), model="mock-llm-v1")
        for name in ("Greeting", "Hello", "Small talk/Hello/Greeting"):
            mock.assert_called_once(example=name)
        mock.assert_not_called(example="Small talk")


def test_check_reports_unmatched_requests_and_reset_forgets_everything(
    server: LLMMockServer,
) -> None:
    with pytest.raises(openai.NotFoundError):
        chat(server, ("user", "nobody answers"))
    assert len(server.unmatched) == 1
    with pytest.raises(AssertionError, match="1 request\\(s\\) were not answered by any example"):
        server.check()
    server.add_response("later", times=1)
    server.reset()
    assert server.requests == []
    assert server.unmatched == []
    server.check()
    with pytest.raises(openai.NotFoundError):
        chat(server, ("user", "the added response is gone too"))


def test_the_context_manager_checks_on_exit_when_strict() -> None:
    with (
        pytest.raises(AssertionError, match="were not answered"),
        LLMMockServer() as mock,
        pytest.raises(openai.NotFoundError),
    ):
        chat(mock, ("user", "unanswered"))


def test_env_and_urls(server: LLMMockServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.base_url == server.url + "/v1"
    assert server.env == {
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_BASE": server.base_url,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }


def test_urls_need_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="the server is not running"):
        _ = LLMMockServer().url


def test_the_journal_keeps_the_newest_requests_up_to_its_limit() -> None:
    with LLMMockServer(journal_limit=3, strict=False) as mock:
        mock.add_response("ok")
        for n in range(5):
            chat(mock, ("user", f"request {n}"))
        assert [r.last_user_message for r in mock.requests] == [
            "request 2",
            "request 3",
            "request 4",
        ]
        assert mock.dropped_requests == 2
        mock.reset()
        assert mock.dropped_requests == 0
    with pytest.raises(ValueError, match="journal_limit must be 1 or more"):
        LLMMockServer(journal_limit=0)
    with pytest.raises(ValueError, match="max_body_size must be 1 or more"):
        LLMMockServer(max_body_size=0)
