"""Credentials never leave the server: not in the journal, the inspection endpoint, serve's
log, test reports (even `-vv --showlocals`) or collections written by record mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._record import Recorder

from . import http
from .conftest import DEFAULT_COLLECTION
from .served import serving

HELLO = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}

# Every value is a secret of its own, so that any leak shows which header it came from.
CREDENTIALS = {
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIA-SECRET-AWS-ID/20250101/us-east-1/bedrock/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=SECRET-AWS-SIGNATURE"
    ),
    "Proxy-Authorization": "Basic SECRET-PROXY",
    "api-key": "SECRET-AZURE",
    "X-Api-Key": "SECRET-ANTHROPIC",
    "X-Goog-Api-Key": "SECRET-GEMINI",
    "X-Amz-Security-Token": "SECRET-AWS-SESSION",
    "Cookie": "session=SECRET-COOKIE",
    "Set-Cookie": "session=SECRET-SET-COOKIE",
    "Ocp-Apim-Subscription-Key": "SECRET-ANY-KEY",  # any name ending in -key
    "X-Auth-Token": "SECRET-ANY-TOKEN",  # any name ending in -token
    "X-Client-Secret-Value": "SECRET-ANY-SECRET",  # any name with 'secret' in it
}
SECRETS = ["AKIA-SECRET-AWS-ID", "SECRET-AWS-SIGNATURE"] + [
    value for name, value in CREDENTIALS.items() if name != "Authorization"
]
# Not credentials: shown as sent.
KEPT = {"X-Request-Id": "req-visible", "OpenAI-Organization": "org-visible"}


def assert_no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"leaked: {leaked}"


def test_every_credential_header_is_redacted_in_the_journal_and_the_inspection_endpoint(
    standalone: LLMMockServer,
) -> None:
    sent = http.request(
        standalone.url, "POST", "/v1/chat/completions", HELLO, {**CREDENTIALS, **KEPT}
    )
    assert sent.status == 200
    inspected = http.request(standalone.url, "GET", "/_llm_mock/requests")
    for headers in (standalone.requests[0].headers, inspected.json()[0]["headers"]):
        assert {name: headers[name.lower()] for name in CREDENTIALS} == dict.fromkeys(
            CREDENTIALS, "<redacted>"
        )
        assert {name: headers[name.lower()] for name in KEPT} == KEPT
    assert_no_secret(repr(standalone.requests))
    assert_no_secret(inspected.body.decode())


def test_credentials_never_reach_serves_log(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), "--lenient", cwd=tmp_path) as served:
        for message in ("Hello", "Not in the collection"):
            body = {**HELLO, "messages": [{"role": "user", "content": message}]}
            url = served.base_url.removesuffix("/v1")
            http.request(url, "POST", "/v1/chat/completions", body, CREDENTIALS)
        served.wait_for("POST /v1/chat/completions 404")
        served.process.terminate()
        served.wait_for("pytest-llm-mock stopped: 2 requests")
        assert served.process.wait(10) == 0
        assert served.process.stderr is not None
        log = "\n".join(served.lines) + served.process.stderr.read()
    assert_no_secret(log)


def test_credentials_never_reach_a_failing_tests_report_even_with_showlocals(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The secrets come from the environment: the test's source and locals never hold them.
    monkeypatch.setenv("SENT_HEADERS", json.dumps(CREDENTIALS))
    pytester.makeconftest(
        """
        import http.client, json, os
        from urllib.parse import urlsplit

        def send(url, text):
            parts = urlsplit(url)
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
            headers = {"Content-Type": "application/json"}
            headers.update(json.loads(os.environ["SENT_HEADERS"]))
            connection.request("POST", "/v1/chat/completions", body=body, headers=headers)
            connection.getresponse().read()
            connection.close()
        """
    )
    pytester.makepyfile(
        """
        from conftest import send

        def test_it(llm_mock_server):
            send(llm_mock_server.url, "nothing answers this")
            recorded = llm_mock_server.last_request
            requests = llm_mock_server.requests
            assert recorded.headers == {}
        """
    )
    result = pytester.runpytest("-vv", "--showlocals", "-rA")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert_no_secret(output)
    assert "'x-goog-api-key': '<redacted>'" in output  # the headers are shown, redacted
    assert "nothing answers this" in output  # and the unanswered request is explained


def test_record_mode_writes_no_credential_or_account_header(tmp_path: Path) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "recorded answer"},
                "finish_reason": "stop",
            }
        ],
    }
    upstream_headers = {
        "Set-Cookie": "__cf_bm=SECRET-SET-COOKIE; path=/; HttpOnly",
        "OpenAI-Organization": "SECRET-ORGANIZATION",
        "OpenAI-Project": "SECRET-PROJECT",
        "OpenAI-Session-Token": "SECRET-ANY-TOKEN",  # kept by its prefix, but a token
        "X-Amz-Security-Token": "SECRET-AWS-SESSION",
        "OpenAI-Processing-Ms": "12",
        "X-Request-Id": "req_1",
        "X-Ratelimit-Remaining-Tokens": "99",
    }
    path = tmp_path / "recorded.json"
    with HTTPServer(host="127.0.0.1", port=0, startup_timeout=10) as upstream:
        upstream.expect_request("/v1/chat/completions", method="POST").respond_with_json(
            completion, headers=upstream_headers
        )
        with LLMMockServer() as recorder:
            recorder._state.recorder = Recorder(upstream.url_for("/v1"), path)
            client = recorder.openai_client(max_retries=0, default_headers=CREDENTIALS)
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Record me"}]
            )
        upstream.check()
    assert reply.choices[0].message.content == "recorded answer"
    text = path.read_text(encoding="utf-8")
    leaked = [s for s in ["SECRET-ORGANIZATION", "SECRET-PROJECT", *SECRETS] if s in text]
    assert leaked == []
    data: Any = json.loads(text)
    (example,) = data["item"][0]["item"][0]["response"]
    assert {h["key"].lower(): h["value"] for h in example["header"]} == {
        "content-type": "application/json",
        "openai-processing-ms": "12",
        "x-request-id": "req_1",
        "x-ratelimit-remaining-tokens": "99",
    }
