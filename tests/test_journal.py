"""What the journal keeps of a request, and how it holds up when an entry cannot be built."""

from __future__ import annotations

from functools import partial

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._http import HttpRequest, postman_selection
from pytest_llm_mock._journal import Journal, RecordedRequest
from pytest_llm_mock._state import recorded

from . import http

HELLO = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}


def entry(path: str, received_at: float) -> RecordedRequest:
    request = HttpRequest("POST", path, [], b"", received_at=received_at)
    return recorded(request, {"model": "m", "messages": []}, status=200)


def test_an_entry_that_cannot_be_built_is_reported_and_the_rest_stay_readable() -> None:
    errors: list[BaseException] = []
    journal = Journal(errors=errors)
    built: list[str] = []

    def build(path: str, received_at: float) -> RecordedRequest:
        built.append(path)
        if path == "/broken":
            raise ValueError("cannot build this one")
        return entry(path, received_at)

    for number, path in enumerate(["/first", "/broken", "/last"], start=1):
        journal.defer(float(number), partial(build, path, float(number)))
    for _ in range(2):
        assert [r.path for r in journal.snapshot()] == ["/first", "/last"]
    assert [str(e) for e in errors] == ["cannot build this one"]
    assert len(journal) == 2
    assert built == ["/first", "/broken", "/last"], "each entry is built once"


def test_header_names_are_read_whatever_their_case() -> None:
    """ASGI servers send lowercase names; a request built from other names reads the same."""
    raw = [
        (b"Authorization", b"Bearer sk-secret"),
        (b"X-Stainless-Retry-Count", b"2"),
        (b"X-Mock-Response-Code", b"404"),
        (b"x-a", b"1"),
        (b"X-A", b"2"),
    ]
    request = HttpRequest("POST", "/v1/chat/completions", raw, b"")
    assert request.header("x-a") == "1", "a repeated header's first value counts"
    assert postman_selection(request).status == 404
    journaled = recorded(request, None, status=200)
    assert journaled.headers == {
        "authorization": "<redacted>",
        "x-stainless-retry-count": "2",
        "x-mock-response-code": "404",
        "x-a": "1, 2",
    }
    assert journaled.retry_count == 2


def test_a_retry_count_that_is_not_a_number_is_left_out(standalone: LLMMockServer) -> None:
    """'²' is a digit to str.isdigit() but not to int(): the request is answered and
    journaled, without a retry count, and the journal stays readable."""
    headers = {"x-stainless-retry-count": "²", "x-mock-response-code": "²"}
    response = http.request(standalone.url, "POST", "/v1/chat/completions", HELLO, headers)
    assert response.status == 200
    for _ in range(2):
        (journaled,) = standalone.requests
        assert journaled.retry_count is None
        assert journaled.headers["x-stainless-retry-count"] == "²"
