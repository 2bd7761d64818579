"""The HTTP surface: routes, headers and error envelopes, through raw HTTP and the SDK."""

from __future__ import annotations

import json
import socket
from importlib.util import find_spec
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._depth import MAX_DEPTH
from pytest_llm_mock._protocol import MAX_URL

from . import http, sdk

HINT = " The API expects a JSON object with 'model' and 'messages'."
HELLO = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}


def assert_envelope(body: Any, *, type_: str = "invalid_request_error") -> dict[str, Any]:
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["type"] == type_
    return dict(error)


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        (
            b"",
            None,
            None,
            "We could not parse the JSON body of your request: the request has no body." + HINT,
        ),
        (
            b"{not json",
            None,
            None,
            "We could not parse the JSON body of your request: Expecting property name enclosed "
            "in double quotes: line 1 column 2 (char 1)." + HINT,
        ),
        (
            b"[1, 2]",
            None,
            "invalid_type",
            "Invalid type for request body: expected an object, but got an array instead.",
        ),
        (
            b'{"messages": []}',
            "model",
            "missing_required_parameter",
            "Missing required parameter: 'model'.",
        ),
        (
            b'{"model": "m"}',
            "messages",
            "missing_required_parameter",
            "Missing required parameter: 'messages'.",
        ),
        (
            b'{"model": "m", "messages": "hi"}',
            "messages",
            "invalid_type",
            "Invalid type for 'messages': expected an array, but got a string instead.",
        ),
        (b'{"model": "m", "messages": []}', "messages", "empty_array", None),
        (
            b'{"model": "m", "messages": [{"content": "hi"}]}',
            "messages[0].role",
            "missing_required_parameter",
            None,
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": 5}]}',
            "messages[0].content",
            "invalid_type",
            None,
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            "stream",
            "invalid_type",
            None,
        ),
    ],
)
def test_malformed_chat_requests_get_a_400_envelope(
    standalone: LLMMockServer, body: bytes, param: str | None, code: str | None, message: str | None
) -> None:
    response = http.request(
        standalone.url, "POST", "/v1/chat/completions", body, {"content-type": "application/json"}
    )
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    error = assert_envelope(response.json())
    assert (error["param"], error["code"]) == (param, code)
    if message is not None:
        assert error["message"] == message
    assert standalone.requests[-1].status == 400
    assert standalone.unmatched == []


def test_the_sdk_raises_bad_request_for_a_missing_parameter(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.post("/chat/completions", cast_to=object, body={"model": "m"})
    assert excinfo.value.status_code == 400
    assert excinfo.value.param == "messages"
    assert excinfo.value.code == "missing_required_parameter"
    assert len(standalone.requests) == 1, "a 400 is not retried"


def test_an_unknown_route_is_a_404_envelope(standalone: LLMMockServer) -> None:
    response = http.request(standalone.url, "POST", "/v1/assistants", {"model": "m"})
    assert response.status == 404
    error = assert_envelope(response.json())
    assert error["code"] == "unknown_url"
    assert error["message"].startswith(
        "Unknown route: POST /v1/assistants. pytest-llm-mock serves: "
    )
    client = standalone.openai_client()
    with pytest.raises(openai.NotFoundError):
        client.get("/nowhere", cast_to=object)
    assert [r.path for r in standalone.unmatched] == ["/v1/assistants", "/v1/nowhere"]


def test_unknown_routes_and_wrong_methods_keep_their_place_in_the_journal(
    standalone: LLMMockServer,
) -> None:
    http.request(standalone.url, "POST", "/v1/chat/completions", HELLO)
    http.request(standalone.url, "POST", "/v1/assistants", {"model": "m"})
    http.request(standalone.url, "GET", "/v1/chat/completions")
    http.request(standalone.url, "POST", "/v1/chat/completions", HELLO)
    assert [(r.method, r.path, r.status) for r in standalone.requests] == [
        ("POST", "/v1/chat/completions", 200),
        ("POST", "/v1/assistants", 404),
        ("GET", "/v1/chat/completions", 405),
        ("POST", "/v1/chat/completions", 200),
    ]


def test_a_trailing_slash_redirects_and_mixed_case_headers_are_read(
    standalone: LLMMockServer,
) -> None:
    """`/v1/chat/completions/` is a 307 to the path without the slash (the POST repeats,
    as for every route), and header names are matched whatever their case."""
    headers = {"Content-Type": "application/json", "X-Mock-Response-Code": "200"}
    response = http.request(standalone.url, "POST", "/v1/chat/completions/", HELLO, headers)
    assert response.status == 307
    assert response.headers["location"] == f"{standalone.url}/v1/chat/completions"
    response = http.request(standalone.url, "POST", "/v1/chat/completions", HELLO, headers)
    assert response.status == 200
    assert response.headers["x-llm-mock-example"] == "Small talk/Hello/Greeting"
    (recorded,) = standalone.requests
    assert recorded.headers["x-mock-response-code"] == "200"


def test_a_wrong_method_is_a_405_envelope(standalone: LLMMockServer) -> None:
    response = http.request(standalone.url, "GET", "/v1/chat/completions")
    assert response.status == 405
    assert response.headers["allow"] == "POST"
    error = assert_envelope(response.json())
    assert error["code"] == "method_not_allowed"
    client = standalone.openai_client(max_retries=0)
    with pytest.raises(openai.APIStatusError) as excinfo:
        client.delete("/models", cast_to=object)
    assert excinfo.value.status_code == 405


def test_no_match_is_a_404_that_the_sdk_does_not_retry(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(
            model="mock-llm-v1", messages=[{"role": "user", "content": "Hello there"}]
        )
    assert excinfo.value.code == "llm_mock_no_match"
    assert excinfo.value.type == "invalid_request_error"
    assert excinfo.value.response.headers["x-should-retry"] == "false"
    assert "Closest example 1: 'Greeting' of item 'Small talk/Hello'" in sdk.message(excinfo.value)
    assert len(standalone.requests) == 1
    assert standalone.unmatched == standalone.requests


def test_routes_are_served_with_and_without_v1(standalone: LLMMockServer) -> None:
    with_v1 = http.request(standalone.url, "POST", "/v1/chat/completions", HELLO)
    without = http.request(standalone.url, "POST", "/chat/completions", HELLO)
    assert with_v1.status == without.status == 200
    assert with_v1.json()["choices"] == without.json()["choices"]
    assert http.request(standalone.url, "GET", "/models").json()["object"] == "list"


def test_answers_carry_request_id_and_example_headers(standalone: LLMMockServer) -> None:
    client = standalone.openai_client()
    raw = client.chat.completions.with_raw_response.create(
        model="mock-llm-v1",
        messages=[
            {"role": "user", "content": "Write a Python function to calculate fibonacci numbers"}
        ],
    )
    completion = raw.parse()
    assert (
        raw.headers["x-llm-mock-example"] == "Code generation/Fibonacci function/Python fibonacci"
    )
    assert raw.headers["x-request-id"].startswith("req_")
    assert completion._request_id == raw.headers["x-request-id"]
    assert raw.headers["openai-version"] == "2020-10-01", "recorded headers are kept"
    assert "content-encoding" not in raw.headers
    assert raw.headers["content-type"] == "application/json"


def test_identical_requests_get_identical_bytes(standalone: LLMMockServer) -> None:
    first = http.request(standalone.url, "POST", "/v1/chat/completions", HELLO)
    second = http.request(standalone.url, "POST", "/v1/chat/completions", HELLO)
    assert (first.status, first.body) == (second.status, second.body)
    assert first.headers == second.headers


def test_health_and_root_describe_the_server(standalone: LLMMockServer) -> None:
    assert http.request(standalone.url, "GET", "/health").json() == {"status": "ok"}
    root = http.request(standalone.url, "GET", "/").json()
    assert root["name"] == "pytest-llm-mock"
    assert root["examples"] == 15
    assert root["collection"].endswith("collection.json")
    assert root["match"] == "conversation"


def test_an_error_inside_the_server_is_a_500_and_fails_check(standalone: LLMMockServer) -> None:
    def broken(request: Any) -> str:
        if request.model == "explode":
            raise ZeroDivisionError("the strategy divided by zero")
        return str(request.last_user_message)

    standalone.use(standalone.collection, match=broken)
    client = standalone.openai_client()
    with pytest.raises(openai.InternalServerError) as excinfo:
        client.chat.completions.create(model="explode", messages=HELLO["messages"])  # type: ignore[arg-type]
    assert excinfo.value.response.headers["x-should-retry"] == "false"
    assert len(standalone.requests) == 1, "a bug in the mock is not retried"
    assert excinfo.value.type == "server_error"
    with pytest.raises(AssertionError) as failure:
        standalone.check()
    text = str(failure.value)
    assert "pytest-llm-mock raised an error while answering:" in text
    assert "ZeroDivisionError: the strategy divided by zero" in text
    assert "in broken" in text, "the traceback points at the code that failed"


def test_non_ascii_example_names_are_sent_percent_encoded(tmp_path: Any) -> None:
    from . import postman

    body = postman.chat_body(("user", "Grüß dich"))
    path = postman.write(
        tmp_path / "c.json", postman.collection(postman.chat_item("Grüße", body, "Servus"))
    )
    with LLMMockServer(path) as server:
        response = http.request(server.url, "POST", "/v1/chat/completions", body)
        assert response.status == 200
        assert response.headers["x-llm-mock-example"] == "Gr%C3%BC%C3%9Fe/Gr%C3%BC%C3%9Fe"
        assert response.json()["choices"][0]["message"]["content"] == "Servus"


def test_a_client_that_disconnects_mid_body_breaks_nothing(
    standalone: LLMMockServer, caplog: pytest.LogCaptureFixture
) -> None:
    import socket
    import time

    port = int(standalone.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model"'
        )
    deadline = time.monotonic() + 5
    while not standalone.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting on a condition, with a deadline
    (recorded,) = standalone.requests
    assert recorded.miss == "the client disconnected before sending its body"
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert http.request(standalone.url, "POST", "/v1/chat/completions", HELLO).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"model": "m", "messages": [{"role": "user", "content": ' + b"[" * 50_000 + b"]",
    ],
    ids=["deep-json", "deep-unterminated"],
)
def test_deeply_nested_json_is_a_400_not_a_server_error(
    standalone: LLMMockServer, body: bytes
) -> None:
    response = http.request(standalone.url, "POST", "/v1/chat/completions", body)
    assert response.status == 400
    assert_envelope(response.json())
    standalone.check()


def test_deeply_nested_content_parts_are_a_400(standalone: LLMMockServer) -> None:
    nested = '"x"'
    for _ in range(5000):
        nested = '{"type": "image_url", "a": ' + nested + "}"
    body = '{"model": "m", "messages": [{"role": "user", "content": [' + nested + "]}]}"
    response = http.request(standalone.url, "POST", "/v1/chat/completions", body.encode())
    assert response.status == 400
    assert (
        "the JSON is nested more than 512 levels deep"
        in assert_envelope(response.json())["message"]
    )
    standalone.check()


def test_a_body_as_deep_as_the_limit_is_answered_and_one_level_more_is_a_400_on_every_python(
    standalone: LLMMockServer,
) -> None:
    """One limit, whatever depth this Python's json module gives up at (3.13 parses 5,000)."""

    def body(depth: int) -> bytes:
        nested = "[" * (depth - 1) + "]" * (depth - 1)  # inside the body's own object
        return b'{"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}], ' + (
            b'"deep": ' + nested.encode() + b"}"
        )

    answered = http.request(standalone.url, "POST", "/v1/chat/completions", body(MAX_DEPTH))
    assert answered.status == 200
    assert answered.json()["choices"][0]["message"]["content"] == "Hello! How can I help you today?"
    refused = http.request(standalone.url, "POST", "/v1/chat/completions", body(MAX_DEPTH + 1))
    assert refused.status == 400
    assert assert_envelope(refused.json())["message"] == (
        "We could not parse the JSON body of your request: the JSON is nested more than 512 "
        "levels deep." + HINT
    )
    assert [r.status for r in standalone.requests] == [200, 400]
    standalone.check()


def test_a_url_too_long_for_the_http_parser_is_an_openai_error(standalone: LLMMockServer) -> None:
    """uvicorn's HTTP parser (httptools) holds URLs of at most 65,535 bytes: a longer one is
    refused before the app, and still in the OpenAI error shape. (The openai SDK cannot send
    one: httpx refuses URLs over 65,536 characters, scheme and host included.)"""
    longest = "/v1/models/" + "m" * (MAX_URL - len("/v1/models/"))
    reached = http.request(standalone.url, "GET", longest)
    assert (reached.status, reached.headers["content-type"]) == (404, "application/json")
    assert assert_envelope(reached.json())["code"] == "model_not_found"

    too_long = http.request(standalone.url, "GET", longest + "m")
    if find_spec("httptools") is None:  # h11 (no httptools, as on Windows) reads it: 404
        assert (too_long.status, too_long.headers["content-type"]) == (404, "application/json")
        assert assert_envelope(too_long.json())["code"] == "model_not_found"
        return
    assert (too_long.status, too_long.headers["content-type"]) == (400, "application/json")
    error = assert_envelope(too_long.json())
    assert error["code"] == "invalid_http_request"
    assert error["message"] == (
        "The request's URL is 65,536 bytes long; this server reads URLs of at most 65,535 "
        "bytes. Send long input in the request body instead."
    )
    assert http.request(standalone.url, "POST", "/v1/chat/completions", HELLO).status == 200


def test_a_request_that_is_not_http_gets_an_openai_error(standalone: LLMMockServer) -> None:
    port = int(standalone.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = sock.makefile("rb").read()  # uvicorn closes the connection after it
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    assert assert_envelope(json.loads(body))["message"] == (
        "The request is not valid HTTP/1.1, so it could not be read "
        "(Invalid HTTP request received.)."
    )
