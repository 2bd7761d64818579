"""Cohere v2 (`POST /v2/chat`, `/v2/embed`) through the real `cohere.ClientV2`, answered from
the default collection's chat examples; every body and event checked with the SDK's types."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cohere
import pytest
from cohere import EmbedByTypeResponse, TextAssistantMessageResponseContentItem, V2ChatResponse
from cohere.v2.types.v2chat_stream_response import V2ChatStreamResponse
from pydantic import BaseModel

from pytest_llm_mock import LLMMockServer

from .. import http, postman
from ..scenarios import GREETING, HELLO, TOOLS, Weather, weather_tool_then_answer

# The SDK's class for each stream event, by the `type` it is told apart by.
EVENT_CLASSES: dict[str, type[BaseModel]] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(V2ChatStreamResponse)[0])
}


def reply_text(reply: V2ChatResponse) -> str:
    (part,) = reply.message.content or []
    assert isinstance(part, TextAssistantMessageResponseContentItem)
    return part.text


def streamed_text(events: list[Any]) -> str:
    """The text of a stream's content-delta events (the SDK's event classes)."""
    return "".join(e.delta.message.content.text for e in events if e.type == "content-delta")


@pytest.fixture
def client(standalone: LLMMockServer) -> Iterator[cohere.ClientV2]:
    with cohere.ClientV2(api_key="test-key", base_url=standalone.url, max_retries=0) as sdk:
        yield sdk


def raw_events(server: LLMMockServer, body: dict[str, Any]) -> list[dict[str, Any]]:
    """A stream's events as sent, each checked: its `event:` line names its `type`, and it
    validates as the SDK's class for that type."""
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}
    response = http.request(server.url, "POST", "/v2/chat", {**body, "stream": True}, headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.body.decode().split("\n\n")[:-1]:
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        EVENT_CLASSES[event["type"]].model_validate(event)
        events.append(event)
    return events


def test_chat_answers_from_the_chat_examples(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    reply = client.chat(model="command-a-03-2025", messages=HELLO)
    assert reply_text(reply) == GREETING
    assert reply.finish_reason == "COMPLETE"
    assert reply.usage is not None
    assert reply.usage.tokens is not None
    assert reply.usage.tokens.output_tokens
    entry = standalone.last_request
    assert entry is not None
    assert (entry.path, entry.model, entry.stream, entry.last_user_message) == (
        "/v2/chat",
        "command-a-03-2025",
        False,
        "Hello",
    )
    assert (entry.example, entry.messages) == ("Small talk/Hello/Greeting", HELLO)
    raw = http.request(
        standalone.url, "POST", "/v2/chat", {"model": "c", "messages": HELLO, "stream": False}
    )
    V2ChatResponse.model_validate(raw.json())  # strictly, not the SDK's lenient construct


def test_a_system_message_and_content_parts_match_as_chat(client: cohere.ClientV2) -> None:
    messages: Any = [
        {
            "role": "system",
            "content": [
                {
                    "type": "text",
                    "text": "You are an AI assistant with MCP protocol capabilities",
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "text", "text": "Help me integrate MCP with AutoGen agents"}],
        },
    ]
    reply = client.chat(model="mock-gpt-4", messages=messages)
    assert "mcp_server_tools" in reply_text(reply)


def test_chat_stream_events_are_cohere_s(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    events: list[Any] = list(client.chat_stream(model="command-a-03-2025", messages=HELLO))
    types = [event.type for event in events]
    assert types[:2] == ["message-start", "content-start"]
    assert types[-2:] == ["content-end", "message-end"]
    assert set(types[2:-2]) == {"content-delta"}
    assert streamed_text(events) == GREETING
    assert events[-1].delta.finish_reason == "COMPLETE"
    standalone.assert_called_once(path="/v2/chat", stream=True, last_user_message="Hello")
    assert [e["type"] for e in raw_events(standalone, {"model": "c", "messages": HELLO})] == types


def test_the_async_client_streams(standalone: LLMMockServer) -> None:
    async def ask() -> str:
        async with cohere.AsyncClientV2(api_key="k", base_url=standalone.url, max_retries=0) as sdk:
            events: list[Any] = [e async for e in sdk.chat_stream(model="c", messages=HELLO)]
        return streamed_text(events)

    assert asyncio.run(ask()) == GREETING


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_trip(
    standalone: LLMMockServer, client: cohere.ClientV2, stream: bool
) -> None:
    weather_tool_then_answer(standalone)
    question: Any = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        events: list[Any] = list(
            client.chat_stream(model="command-a", messages=question, tools=TOOLS)
        )
        (start,) = [e for e in events if e.type == "tool-call-start"]
        opened = start.delta.message.tool_calls
        arguments = "".join(
            e.delta.message.tool_calls.function.arguments
            for e in events
            if e.type == "tool-call-delta"
        )
        call_id, name = opened.id, opened.function.name
        assert events[-1].delta.finish_reason == "TOOL_CALL"
    else:
        first = client.chat(model="command-a", messages=question, tools=TOOLS)
        assert first.finish_reason == "TOOL_CALL"
        (call,) = first.message.tool_calls or []
        assert call.function is not None
        call_id, name, arguments = call.id, call.function.name, call.function.arguments or ""
    assert (name, json.loads(arguments)) == ("get_weather", {"city": "Paris"})
    history: Any = [
        *question,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": call_id,
            "content": [{"type": "document", "document": {"data": {"temperature": "21 °C"}}}],
        },
    ]
    follow_up = client.chat(model="command-a", tools=TOOLS, messages=history)
    assert reply_text(follow_up) == "Sunny, 21 °C."
    answered = standalone.requests[-1]
    assert (answered.last_user_message, answered.status) == ("Weather in Paris?", 200)


def test_streamed_tool_call_events(standalone: LLMMockServer) -> None:
    standalone.add_response(
        "I will look it up.", tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    )
    events = raw_events(standalone, {"model": "c", "messages": HELLO, "tools": TOOLS})
    assert [e["type"] for e in events] == [
        "message-start",
        "tool-plan-delta",
        "tool-plan-delta",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",  # 8 characters a piece (the default chunk size)
        "tool-call-delta",
        "tool-call-end",
        "message-end",
    ]
    start = events[4]["delta"]["message"]["tool_calls"]  # one object, not a list
    assert (start["type"], start["function"]) == (
        "function",
        {"name": "get_weather", "arguments": ""},
    )
    plan = "".join(e["delta"]["message"]["tool_plan"] for e in events[1:4])
    arguments = "".join(
        e["delta"]["message"]["tool_calls"]["function"]["arguments"] for e in events[5:7]
    )
    assert (plan, json.loads(arguments)) == ("I will look it up.", {"city": "Oslo"})
    assert events[-1]["delta"]["finish_reason"] == "TOOL_CALL"


def test_structured_output(standalone: LLMMockServer, client: cohere.ClientV2) -> None:
    standalone.add_response('{"city": "Paris", "celsius": 21.5}', contains="as JSON")
    question: Any = [{"role": "user", "content": "Weather in Paris as JSON"}]
    json_format: Any = {"type": "json_object", "json_schema": Weather.model_json_schema()}
    reply = client.chat(model="command-a", messages=question, response_format=json_format)
    assert Weather.model_validate_json(reply_text(reply)) == Weather(city="Paris", celsius=21.5)
    entry = standalone.last_request
    assert entry is not None
    assert entry.json is not None
    assert entry.json["response_format"]["type"] == "json_object"


def test_embed_gives_the_same_vectors_as_openai(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    reply = client.embed(
        model="embed-v4.0",
        texts=["Hello", "Bye"],
        input_type="search_document",
        embedding_types=["float", "int8", "base64"],
    )
    floats = reply.embeddings.float_
    assert floats is not None
    assert len(floats) == 2
    assert len(floats[0]) == 1536
    openai_vectors = standalone.openai_client().embeddings.create(
        model="text-embedding-3-small", input=["Hello", "Bye"], encoding_format="float"
    )
    for ours, theirs in zip(floats, openai_vectors.data, strict=True):
        assert ours == pytest.approx(theirs.embedding, abs=1e-6)
    assert reply.embeddings.int8 is not None
    assert all(-128 <= value <= 127 for value in reply.embeddings.int8[0])
    assert reply.embeddings.base64 is not None
    decoded = base64.b64decode(reply.embeddings.base64[0])
    assert list(struct.unpack(f"<{len(decoded) // 4}f", decoded)) == pytest.approx(floats[0])
    small = client.embed(
        model="embed-v4.0", texts=["Hello"], input_type="search_query", output_dimension=256
    )
    assert [len(v) for v in small.embeddings.float_ or []] == [256]
    entry = standalone.requests[0]
    assert (entry.path, entry.model, entry.status) == ("/v2/embed", "embed-v4.0", 200)
    raw = http.request(
        standalone.url, "POST", "/v2/embed", {"model": "embed-english-v3.0", "texts": ["Hi"]}
    )
    parsed = EmbedByTypeResponse.model_validate(raw.json())
    assert len((parsed.embeddings.float_ or [[]])[0]) == 1024


def test_429_and_503_are_the_sdks_exceptions(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    standalone.fail_next(429, retry_after=1)
    with pytest.raises(cohere.TooManyRequestsError) as limited:
        client.chat(model="command-a", messages=HELLO)
    assert limited.value.headers is not None
    assert limited.value.headers["retry-after"] == "1"
    assert isinstance(limited.value.body["message"], str)
    # The collection's error example (Failover/Quarterly summary): mock-claude-sonnet-4 is down.
    question: Any = [{"role": "user", "content": "Summarize the quarterly report in one sentence."}]
    with pytest.raises(cohere.ServiceUnavailableError) as unavailable:
        client.chat(model="mock-claude-sonnet-4", messages=question)
    assert unavailable.value.body["message"] == (
        "The engine is currently overloaded, please try again later."
    )
    standalone.fail_next(503)
    with pytest.raises(cohere.ServiceUnavailableError):
        list(client.chat_stream(model="command-a", messages=HELLO))
    standalone.fail_next(429)
    with pytest.raises(cohere.TooManyRequestsError):
        client.embed(model="embed-v4.0", texts=["x"], input_type="classification")
    assert [r.status for r in standalone.requests] == [429, 503, 503, 429]


def test_a_rate_limit_is_too_many_requests(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    standalone.rate_limit(1)
    client.chat(model="command-a", messages=HELLO)
    with pytest.raises(cohere.TooManyRequestsError):
        client.chat(model="command-a", messages=HELLO)


def test_a_required_key_is_read_from_the_bearer_header(standalone: LLMMockServer) -> None:
    standalone.require_api_key = "co-secret"
    with cohere.ClientV2(api_key="co-secret", base_url=standalone.url, max_retries=0) as sdk:
        assert sdk.chat(model="command-a", messages=HELLO).finish_reason == "COMPLETE"
    with (
        cohere.ClientV2(api_key="wrong", base_url=standalone.url, max_retries=0) as wrong,
        pytest.raises(cohere.UnauthorizedError) as refused,
    ):
        wrong.chat(model="command-a", messages=HELLO)
    assert "require_api_key" in refused.value.body["message"]
    assert standalone.requests[0].headers["authorization"] == "<redacted>"


def test_a_broken_stream_ends_with_cohere_s_error_event(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    standalone.break_next_stream(after=3, how="error")
    events: list[Any] = list(client.chat_stream(model="command-a", messages=HELLO))
    assert [e.type for e in events] == [
        "message-start",
        "content-start",
        "content-delta",
        "message-end",
    ]
    assert events[-1].delta.finish_reason == "ERROR"
    assert "stream fault" in events[-1].delta.error


@pytest.mark.parametrize("broken", [False, True])
def test_a_client_that_accepts_only_json_is_streamed_json_lines(
    standalone: LLMMockServer, broken: bool
) -> None:
    """LiteLLM's `cohere_chat/` sends `accept: application/json` and reads a stream line by
    line with `json.loads`: it gets the SDK's events as JSON lines, a broken one too."""
    body = {"model": "c", "messages": HELLO}
    events = raw_events(standalone, body)
    if broken:
        standalone.break_next_stream(after=3, how="error")
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    response = http.request(standalone.url, "POST", "/v2/chat", {**body, "stream": True}, headers)
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.body.decode().splitlines()]
    for line in lines:
        EVENT_CLASSES[line["type"]].model_validate(line)
    if broken:
        assert lines[:3] == events[:3]
        assert lines[3]["type"] == "message-end"
        assert lines[3]["delta"]["finish_reason"] == "ERROR"
        assert len(lines) == 4
    else:
        assert lines == events
    assert [r.stream for r in standalone.requests] == [True, True]


def test_misses_bad_requests_and_unknown_routes_are_cohere_errors(
    standalone: LLMMockServer, client: cohere.ClientV2
) -> None:
    unheard: Any = [{"role": "user", "content": "Unheard of"}]
    robot: Any = [{"role": "robot", "content": "x"}]
    with pytest.raises(cohere.NotFoundError) as missing:
        client.chat(model="command-a", messages=unheard)
    assert "Closest example" in missing.value.body["message"]
    assert set(missing.value.body) == {"id", "message"}
    with pytest.raises(cohere.BadRequestError) as bad:
        client.chat(model="command-a", messages=robot)
    assert "messages[0].role" in bad.value.body["message"]
    with pytest.raises(cohere.NotFoundError) as unknown:
        client.rerank(model="rerank-v3.5", query="q", documents=["a"])
    assert "Unknown route: POST /v2/rerank" in unknown.value.body["message"]
    assert [r.status for r in standalone.requests] == [404, 400, 404]


def test_a_cohere_example_is_served_as_saved(tmp_path: Path) -> None:
    saved = {
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Saved for Cohere"}]},
        "finish_reason": "COMPLETE",
    }
    body = {
        "model": "command-a",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    item = postman.item("cohere", body, postman.example("cohere", saved), path="v2/chat")
    embedding = postman.item(
        "embed",
        {"model": "embed-v4.0", "texts": ["Hi"], "input_type": "search_query"},
        postman.example("embed", {"embeddings": {"float": [[0.5, 0.5]]}}),
        path="v2/embed",
    )
    path = postman.write(tmp_path / "cohere.json", postman.collection(item, embedding))
    hi: Any = [{"role": "user", "content": "Hi"}]
    with (
        LLMMockServer(path) as server,
        cohere.ClientV2(api_key="k", base_url=server.url, max_retries=0) as sdk,
    ):
        reply = sdk.chat(model="command-a", messages=hi)
        events: list[Any] = list(sdk.chat_stream(model="command-a", messages=hi))
        vectors = sdk.embed(model="embed-v4.0", texts=["Hi"], input_type="search_query")
    assert reply_text(reply) == "Saved for Cohere"
    assert streamed_text(events) == "Saved for Cohere"
    assert vectors.embeddings.float_ == [[0.5, 0.5]]
