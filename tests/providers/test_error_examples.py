"""An error answer (an error example, or a response added with an error status) is delayed as
every answer is, through every door: a test's `latency` and an example's latency control."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer

from .. import http

HELLO: Any = [{"role": "user", "content": "Hello"}]
DOORS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "openai chat": ("/v1/chat/completions", {"model": "m", "messages": HELLO}, {}),
    "responses": ("/v1/responses", {"model": "m", "input": "Hello"}, {}),
    "anthropic": ("/v1/messages", {"model": "m", "max_tokens": 16, "messages": HELLO}, {}),
    "gemini": (
        "/v1beta/models/gemini-2.0-flash:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]},
        {"x-goog-api-key": "k"},
    ),
    "ollama": ("/api/chat", {"model": "llama3", "messages": HELLO, "stream": False}, {}),
    "bedrock": (
        "/model/m/converse",
        {"messages": [{"role": "user", "content": [{"text": "Hello"}]}]},
        {},
    ),
    "cohere": ("/v2/chat", {"model": "c", "messages": HELLO}, {}),
}
LATENCY = 0.3


@pytest.mark.parametrize("door", DOORS)
def test_an_error_answer_waits_the_tests_latency(standalone: LLMMockServer, door: str) -> None:
    path, body, headers = DOORS[door]
    standalone.add_response("The model is overloaded.", status=503)
    standalone.latency = LATENCY
    began = time.perf_counter()
    answer = http.request(standalone.url, "POST", path, body, headers)
    took = time.perf_counter() - began
    assert answer.status == 503, answer.body
    assert took >= LATENCY, f"{door}: answered in {took:.3f} s"


@pytest.mark.parametrize("door", DOORS)
def test_an_error_answer_waits_its_own_latency(standalone: LLMMockServer, door: str) -> None:
    path, body, headers = DOORS[door]
    standalone.add_response(
        "The model is overloaded.",
        status=503,
        headers={"x-llm-mock-delay-ms": str(int(LATENCY * 1000))},
    )
    began = time.perf_counter()
    answer = http.request(standalone.url, "POST", path, body, headers)
    took = time.perf_counter() - began
    assert answer.status == 503, answer.body
    assert took >= LATENCY, f"{door}: answered in {took:.3f} s"
