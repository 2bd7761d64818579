"""The Anthropic Messages API (`POST /v1/messages`) through the real `anthropic` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from pytest_llm_mock import LLMMockServer

from . import http, postman
from .scenarios import weather_tool_then_answer

TOOLS: Any = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
HELLO: Any = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def client(standalone: LLMMockServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=standalone.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def test_messages_create_answers_from_chat_examples(
    standalone: LLMMockServer, client: anthropic.Anthropic
) -> None:
    message = client.messages.create(model="mock-llm-v1", max_tokens=100, messages=HELLO)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello! How can I help you today?"
    assert (message.role, message.stop_reason, message.model) == (
        "assistant",
        "end_turn",
        "mock-llm-v1",
    )
    with_system = client.messages.create(
        model="mock-gpt-4",
        max_tokens=100,
        system="You are an AI assistant with MCP protocol capabilities",
        messages=[{"role": "user", "content": "Help me integrate MCP with AutoGen agents"}],
    )
    assert "mcp_server_tools" in with_system.content[0].text  # type: ignore[union-attr]
    with client.messages.stream(model="mock-llm-v1", max_tokens=100, messages=HELLO) as stream:
        assert "".join(stream.text_stream) == "Hello! How can I help you today?"
    standalone.assert_call_count(3, path="/v1/messages")


def test_tools_stream_and_tool_results(
    standalone: LLMMockServer, client: anthropic.Anthropic
) -> None:
    weather_tool_then_answer(standalone)
    question: Any = [{"role": "user", "content": "Weather in Paris?"}]
    with client.messages.stream(
        model="claude-x", max_tokens=100, messages=question, tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    (call,) = [block for block in final.content if block.type == "tool_use"]
    assert (call.name, call.input, final.stop_reason) == (
        "get_weather",
        {"city": "Paris"},
        "tool_use",
    )
    follow_up = client.messages.create(
        model="claude-x",
        max_tokens=100,
        tools=TOOLS,
        messages=[
            *question,
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21 °C"}],
            },
        ],
    )
    assert follow_up.content[0].text == "Sunny, 21 °C."  # type: ignore[union-attr]
    # The journal keeps the messages as the client sent them.
    assert [m["role"] for m in standalone.requests[1].messages] == ["user", "assistant", "user"]


def test_stream_events_have_names_and_no_done(standalone: LLMMockServer) -> None:
    body = {"model": "mock-llm-v1", "max_tokens": 10, "messages": HELLO, "stream": True}
    response = http.request(
        standalone.url,
        "POST",
        "/v1/messages",
        body,
        {"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    assert b"[DONE]" not in response.body
    names = [
        block.split("\n")[0].removeprefix("event: ")
        for block in response.body.decode().split("\n\n")[:-1]
    ]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert "content_block_delta" in names


def test_an_anthropic_shaped_example_answers(tmp_path: Path) -> None:
    saved = {
        "content": [{"type": "text", "text": "Saved for Claude"}],
        "model": "claude-mock-1",
        "stop_reason": "end_turn",
    }
    item = postman.item(
        "claude",
        {
            "model": "claude-mock-1",
            "max_tokens": 50,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}],
        },
        postman.example("claude", saved),
        path="v1/messages",
    )
    with (
        LLMMockServer(postman.write(tmp_path / "c.json", postman.collection(item))) as server,
        anthropic.Anthropic(base_url=server.url, api_key="k") as sdk,
    ):
        message = sdk.messages.create(
            model="claude-mock-1",
            max_tokens=50,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hi"}],
        )
    assert message.content[0].text == "Saved for Claude"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("setup", "kind", "expected"),
    [
        ("miss", anthropic.NotFoundError, (404, "not_found_error")),
        ("overloaded", anthropic.InternalServerError, (529, "overloaded_error")),
        ("limited", anthropic.RateLimitError, (429, "rate_limit_error")),
        ("key", anthropic.AuthenticationError, (401, "authentication_error")),
        ("bad", anthropic.BadRequestError, (400, "invalid_request_error")),
    ],
)
def test_errors_have_anthropics_shape(
    standalone: LLMMockServer,
    client: anthropic.Anthropic,
    setup: str,
    kind: type[Exception],
    expected: tuple[int, str],
) -> None:
    messages: Any = HELLO
    if setup == "miss":
        messages = [{"role": "user", "content": "nothing answers this"}]
    elif setup == "overloaded":
        standalone.fail_next(529)
    elif setup == "limited":
        standalone.fail_next(429, retry_after=1)
    elif setup == "key":
        standalone.require_api_key = "the-right-key"

    def call() -> object:
        if setup == "bad":  # no max_tokens
            return client.post(
                "/v1/messages", cast_to=object, body={"model": "m", "messages": HELLO}
            )
        return client.messages.create(model="mock-llm-v1", max_tokens=10, messages=messages)

    with pytest.raises(kind) as excinfo:
        call()
    error: Any = excinfo.value
    body = json.loads(error.response.text)
    assert (error.status_code, body["error"]["type"]) == expected
    assert body["type"] == "error"
    assert error.response.headers["request-id"].startswith("req_")
    standalone.reset()


def _weather_round_trip(server: LLMMockServer) -> None:
    """A chat conversation with the ids chat clients see: `call_paris` asked for, then
    answered with the tool's result."""
    call = {
        "id": "call_paris",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    server.add_response(
        tool_calls=[{"id": "call_paris", "name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message="Weather in Paris?",
        times=2,
    )
    server.add_response(
        "Sunny, 21 °C.",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C"},
        ],
    )


def test_tool_use_ids_are_anthropics_and_come_back_to_the_chat_example(
    standalone: LLMMockServer, client: anthropic.Anthropic
) -> None:
    _weather_round_trip(standalone)
    question: Any = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.messages.create(model="claude-x", max_tokens=100, messages=question)
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert call.id == "toolu_paris"
    with client.messages.stream(model="claude-x", max_tokens=100, messages=question) as stream:
        streamed = stream.get_final_message()
    assert [b.id for b in streamed.content if b.type == "tool_use"] == ["toolu_paris"]
    history: Any = [
        *question,
        {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
    ]
    follow_up = client.messages.create(
        model="claude-x",
        max_tokens=100,
        messages=[
            *history,
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21 °C"}],
            },
        ],
    )
    assert follow_up.content[0].text == "Sunny, 21 °C."  # type: ignore[union-attr]


def test_count_tokens_gives_the_input_tokens_a_message_reports(
    standalone: LLMMockServer, client: anthropic.Anthropic
) -> None:
    standalone.add_response("Short.", last_user_message="Count me")
    asked: Any = [{"role": "user", "content": "Count me"}]
    counted = client.messages.count_tokens(model="claude-x", system="Be brief.", messages=asked)
    message = client.messages.create(
        model="claude-x", max_tokens=100, system="Be brief.", messages=asked
    )
    assert counted.input_tokens == message.usage.input_tokens > 0
    longer = client.messages.count_tokens(model="claude-x", system="Be brief. " * 9, messages=asked)
    assert longer.input_tokens > counted.input_tokens
    assert standalone.requests[0].path == "/v1/messages/count_tokens"
    assert standalone.requests[0].status == 200
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.count_tokens(model="mock-llm-v1", messages=[])
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_a_fault_journals_its_retry_after_for_the_retry_check(standalone: LLMMockServer) -> None:
    standalone.fail_next(429, retry_after=0.1)
    with anthropic.Anthropic(base_url=standalone.url, api_key="key", max_retries=1) as sdk:
        sdk.messages.create(model="mock-llm-v1", max_tokens=10, messages=HELLO)
    fault, retry = standalone.requests
    assert (fault.status, fault.retry_after, retry.status) == (429, 0.1, 200)
    standalone.assert_retries_honoured()
