"""Faults on demand, seen through the real SDK with its default retry logic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import http, postman, sdk

HI: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[LLMMockServer]:
    with LLMMockServer(strict=False) as mock:
        mock.add_response("Hello there, how are you today?")
        yield mock


def create(server: LLMMockServer, **options: Any) -> Any:
    client = server.openai_client(**options)
    return client.chat.completions.create(model="gpt-4o-mini", messages=HI)


def test_fail_next_500_twice_then_success_takes_three_attempts(server: LLMMockServer) -> None:
    server.fail_next(500, times=2, retry_after=0.01)
    assert create(server).choices[0].message.content == "Hello there, how are you today?"
    assert [(r.status, r.retry_count) for r in server.requests] == [(500, 0), (500, 1), (200, 2)]
    assert [r.example for r in server.requests] == [
        "fail_next #1",
        "fail_next #1",
        "add_response #1",
    ]
    server.assert_retries_honoured()


def test_a_429_is_retried_no_sooner_than_retry_after(server: LLMMockServer) -> None:
    server.fail_next(429, retry_after=0.15)
    create(server)
    first, retry = server.requests
    assert first.retry_after == 0.15
    assert retry.received_at - first.received_at >= 0.15
    server.assert_retries_honoured()


def test_the_retry_check_catches_a_client_that_retries_too_soon(server: LLMMockServer) -> None:
    server.fail_next(429, retry_after=5)
    body = {"model": "gpt-4o-mini", "messages": HI}
    http.request(server.url, "POST", "/v1/chat/completions", body, {"x-stainless-retry-count": "0"})
    http.request(server.url, "POST", "/v1/chat/completions", body, {"x-stainless-retry-count": "1"})
    with pytest.raises(
        AssertionError, match=r"retry 1 came [\d.]+ ms after a 429 that asked for 5000.0 ms"
    ):
        server.assert_retries_honoured()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_without_retries_the_sdk_raises(
    server: LLMMockServer, status: int, kind: type[Exception]
) -> None:
    server.fail_next(status, message="scripted failure")
    with pytest.raises(kind) as excinfo:
        create(server, max_retries=0)
    assert sdk.message(excinfo.value) == "scripted failure"
    assert len(server.requests) == 1


def test_fail_next_for_one_model_only(server: LLMMockServer) -> None:
    server.fail_next(503, model="gpt-4o")
    assert create(server, max_retries=0).choices[0].message.content
    with pytest.raises(openai.InternalServerError):
        server.openai_client(max_retries=0).chat.completions.create(model="gpt-4o", messages=HI)


def test_unused_failures_fail_check(server: LLMMockServer) -> None:
    server.fail_next(500, times=2)
    with pytest.raises(openai.InternalServerError):
        create(server, max_retries=0)
    with pytest.raises(AssertionError, match=r"fail_next #1\(status=500, times=2\): used 1 of 2"):
        server.check()


def test_fail_next_rejects_bad_arguments(server: LLMMockServer) -> None:
    with pytest.raises(ValueError, match="fail_next needs an error status"):
        server.fail_next(200)
    with pytest.raises(ValueError, match="times must be 1 or more"):
        server.fail_next(500, times=0)


def test_latency_delays_every_answer(server: LLMMockServer) -> None:
    server.latency = 0.2
    started = time.monotonic()
    create(server)
    assert time.monotonic() - started >= 0.2
    with pytest.raises(openai.APITimeoutError):
        create(server, max_retries=0, timeout=0.05)


def stream_text(server: LLMMockServer, **options: Any) -> str:
    client = server.openai_client(**options)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_a_cut_stream_is_a_connection_error(server: LLMMockServer) -> None:
    server.break_next_stream(after=3, how="disconnect")
    with pytest.raises(sdk.CUT):
        stream_text(server, max_retries=0)
    assert stream_text(server) == "Hello there, how are you today?", "only the next stream breaks"


def test_an_error_event_is_an_api_error(server: LLMMockServer) -> None:
    server.break_next_stream(after=2, how="error")
    with pytest.raises(openai.APIError) as excinfo:
        stream_text(server)
    assert not isinstance(excinfo.value, openai.APIStatusError)
    assert excinfo.value.type == "server_error"


def test_a_stalled_stream_trips_the_read_timeout(server: LLMMockServer) -> None:
    server.break_next_stream(after=2, how="stall", stall=10)
    with pytest.raises(sdk.TIMEOUT):
        stream_text(server, max_retries=0, timeout=0.3)


def test_a_short_stall_only_slows_the_stream(server: LLMMockServer) -> None:
    server.break_next_stream(after=1, how="stall", stall=0.2)
    server.chunk_delay = 0.01
    started = time.monotonic()
    assert stream_text(server) == "Hello there, how are you today?"
    assert time.monotonic() - started >= 0.2 + 0.01 * 3


def test_offline_refuses_connections_then_serves_again(server: LLMMockServer) -> None:
    url = server.url
    with server.offline(), pytest.raises(openai.APIConnectionError):
        create(server, max_retries=0)
    assert server.url == url
    assert create(server, max_retries=0).choices[0].message.content
    assert [r.status for r in server.requests] == [200], "the refused request never arrived"


def test_the_rate_limit_answers_exactly_the_next_request_with_429(server: LLMMockServer) -> None:
    server.rate_limit(3, window=60)
    client = server.openai_client(max_retries=0)
    for remaining in (2, 1, 0):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(remaining)
    with pytest.raises(openai.RateLimitError) as excinfo:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    headers = excinfo.value.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"].endswith("s")
    assert 1 <= int(headers["retry-after"]) <= 60
    assert excinfo.value.code == "rate_limit_exceeded"
    other_key = server.openai_client(max_retries=0, api_key="another-key")
    assert other_key.chat.completions.create(model="gpt-4o-mini", messages=HI).choices
    server.reset()
    server.add_response("after the reset")
    assert create(server, max_retries=0).choices, "the limit is per test"


def test_the_rate_limit_counts_fixed_windows_per_key() -> None:
    from pytest_llm_mock._faults import RateLimit

    limit = RateLimit(2, window=10.0)
    decisions = [
        limit.take(who, now)[0]
        for who, now in [("a", 0.0), ("a", 1.0), ("a", 2.0), ("b", 3.0), ("a", 10.0)]
    ]
    assert decisions == [True, True, False, True, True], (
        "the third in a window is refused; a new window starts at 10 s"
    )
    allowed, headers = limit.take("a", 11.0)
    assert allowed
    assert dict(headers)["x-ratelimit-remaining-requests"] == "0"
    assert dict(headers)["x-ratelimit-reset-requests"] == "9s"
    refused, headers = limit.take("a", 19.9995)
    assert not refused
    assert dict(headers)["retry-after-ms"] == "0.5"
    assert dict(headers)["retry-after"] == "1"
    assert dict(headers)["x-ratelimit-reset-requests"] == "1ms"


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[LLMMockServer]:
    """The same faults from a collection, as a Postman user sets them."""

    def item(name: str, controls: dict[str, str]) -> Any:
        headers = [{"key": f"x-llm-mock-{k}", "value": v} for k, v in controls.items()]
        return postman.item(
            name,
            postman.chat_body(("user", name)),
            postman.example(name, "abcdefghijklmnop", headers=headers),
        )

    data = postman.collection(
        item("slow", {"delay-ms": "200"}),
        item("paced", {"chunk-delay-ms": "20", "chunk-size": "4"}),
        item("cut", {"disconnect-after": "2"}),
        item("broken", {"error-after": "2"}),
        item("stuck", {"stall-after": "1", "stall-ms": "5000"}),
        postman.item(
            "down",
            postman.chat_body(("user", "down")),
            postman.example("down", "", status=503, headers=[{"key": "Retry-After", "value": "1"}]),
        ),
    )
    with LLMMockServer(postman.write(tmp_path / "faults.json", data), strict=False) as mock:
        yield mock


def ask_stream(server: LLMMockServer, text: str, **options: Any) -> str:
    client = server.openai_client(max_retries=0, **options)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_collection_controls(faulty: LLMMockServer) -> None:
    started = time.monotonic()
    assert ask_stream(faulty, "slow") == "abcdefghijklmnop"
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert ask_stream(faulty, "paced") == "abcdefghijklmnop"
    assert time.monotonic() - started >= 0.02 * 6, "role, 4 pieces and finish: paced"
    with pytest.raises(sdk.CUT):
        ask_stream(faulty, "cut")
    with pytest.raises(openai.APIError):
        ask_stream(faulty, "broken")
    with pytest.raises(sdk.TIMEOUT):
        ask_stream(faulty, "stuck", timeout=0.3)
    client = faulty.openai_client(max_retries=0)
    with pytest.raises(openai.InternalServerError) as excinfo:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "down"}]
        )
    assert excinfo.value.response.headers["retry-after"] == "1"
    assert excinfo.value.type == "server_error"
