"""The Responses API (`POST /v1/responses`) through the real SDK, and its wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer, load_collection

from . import http, openapi, postman, sdk
from .conftest import DEFAULT_COLLECTION
from .scenarios import weather_tool_then_answer

TOOLS: Any = [
    {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


def chat_examples() -> list[Any]:
    examples = load_collection(DEFAULT_COLLECTION).examples
    return [e for e in examples if e.request is not None and e.status == 200]


def as_input(example: Any) -> dict[str, Any]:
    """The example's chat request written as a Responses request."""
    messages = example.request.body["messages"]
    system = [m["content"] for m in messages if m["role"] == "system"]
    body: dict[str, Any] = {
        "model": example.model,
        "input": [
            {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
        ],
    }
    if system:
        body["instructions"] = system[0]
    return body


@pytest.mark.parametrize("example", chat_examples(), ids=lambda e: e.full_name)
def test_chat_examples_answer_responses_requests(standalone: LLMMockServer, example: Any) -> None:
    client = standalone.openai_client()
    chat = client.chat.completions.create(**dict(example.request.body))
    response = client.responses.create(**as_input(example))
    assert response.output_text == chat.choices[0].message.content
    assert response.status == "completed"
    standalone.assert_called_once(path="/v1/responses", example=example.full_name)


def events(body: bytes) -> list[tuple[str, Any]]:
    out = []
    for block in body.decode().split("\n\n")[:-1]:
        event, data = block.split("\n")
        assert event.startswith("event: ")
        assert data.startswith("data: ")
        out.append((event[len("event: ") :], json.loads(data[len("data: ") :])))
    return out


def test_the_stream_has_named_events_in_order(standalone: LLMMockServer) -> None:
    body = {"model": "mock-llm-v1", "input": "Hello", "stream": True}
    response = http.request(standalone.url, "POST", "/v1/responses", body)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert b"[DONE]" not in response.body
    stream = events(response.body)
    assert all(name == data["type"] for name, data in stream)
    assert [data["sequence_number"] for _, data in stream] == list(range(len(stream)))
    names = [name for name, _ in stream]
    assert names[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert names[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = "".join(d["delta"] for n, d in stream if n == "response.output_text.delta")
    assert text == "Hello! How can I help you today?"
    lifecycle = ("response.created", "response.in_progress", "response.completed")
    assert len({d["response"]["id"] for n, d in stream if n in lifecycle}) == 1


def test_the_stream_helper_and_a_function_tool_with_previous_response_id(
    standalone: LLMMockServer,
) -> None:
    weather_tool_then_answer(standalone)
    client = standalone.openai_client()
    with client.responses.stream(model="gpt-4o", input="Weather in Paris?", tools=TOOLS) as stream:
        first = stream.get_final_response()
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    follow_up = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21 °C"}],
        tools=TOOLS,
    )
    assert follow_up.output_text == "Sunny, 21 °C."
    messages = standalone.requests[1].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]


def test_a_whole_conversation_in_input_matches_like_chat(standalone: LLMMockServer) -> None:
    standalone.add_response(
        "done",
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        ],
    )
    client = standalone.openai_client()
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "go"}]},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{ }"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
        ],
    )
    assert response.output_text == "done"


@pytest.fixture
def responses_collection(tmp_path: Path) -> Iterator[LLMMockServer]:
    own = {
        "output": [
            {
                "type": "message",
                "id": "msg_saved",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "Saved as a response", "annotations": []}
                ],
            }
        ],
        "model": "gpt-4o-2024-08-06",
    }
    items = [
        postman.item(
            "object",
            {"model": "gpt-4o", "instructions": "Be brief.", "input": "Tell me"},
            postman.example("object", own),
            path="v1/responses",
        ),
        postman.item(
            "text",
            {"model": "gpt-4o", "input": [{"role": "user", "content": "Plain"}]},
            postman.example("text", "Plain text answer"),
            path="v1/responses",
        ),
    ]
    path = postman.write(tmp_path / "responses.json", postman.collection(*items))
    with LLMMockServer(path) as mock:
        yield mock


def test_responses_examples_answer(responses_collection: LLMMockServer) -> None:
    client = responses_collection.openai_client()
    own = client.responses.create(model="gpt-4o", instructions="Be brief.", input="Tell me")
    assert own.output_text == "Saved as a response"
    assert own.model == "gpt-4o-2024-08-06"
    text = client.responses.create(model="gpt-4o", input="Plain")
    assert text.output_text == "Plain text answer"
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.responses.create(model="gpt-4o", input="Tell me")
    message = sdk.message(excinfo.value)
    # Only the instructions (the system prompt) differ: that example ranks first, with the hint.
    assert "Closest example 1: 'object' of item 'object'" in message
    assert "Only the system prompt differs from example 'object'" in message
    responses_collection.reset()


def test_errors(standalone: LLMMockServer) -> None:
    client = standalone.openai_client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.responses.create(
            model="mock-llm-v1", input="Hello", previous_response_id="resp_nope"
        )
    assert excinfo.value.code == "previous_response_not_found"
    standalone.fail_next(503)
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="mock-llm-v1", input="Hello")
    response = http.request(standalone.url, "POST", "/v1/responses", {"model": "m", "input": 5})
    assert (response.status, response.json()["error"]["param"]) == (400, "input")
    # Nothing to answer: no input, or only a reference (an item without `type` or `role`).
    for body in ({"model": "m"}, {"model": "m", "input": [{"id": "msg_1"}]}):
        response = http.request(standalone.url, "POST", "/v1/responses", body)
        error = response.json()["error"]
        assert (response.status, error["param"], error["code"]) == (
            400,
            "input",
            "missing_required_parameter",
        )


def test_bodies_and_events_are_valid(standalone: LLMMockServer, validate: openapi.Validate) -> None:
    standalone.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message="tools",
    )
    bodies = [as_input(e) for e in chat_examples()] + [
        {"model": "gpt-4o", "input": "tools", "tools": TOOLS}
    ]
    for body in bodies:
        plain = http.request(standalone.url, "POST", "/v1/responses", body)
        validate("Response", plain.json())
        streamed = http.request(standalone.url, "POST", "/v1/responses", {**body, "stream": True})
        for _, event in events(streamed.body):
            validate("ResponseStreamEvent", event)


def test_a_function_call_output_of_text_parts_matches_as_its_text(
    standalone: LLMMockServer,
) -> None:
    """The API allows a tool's output as a list of `input_text` parts (Haystack sends it):
    it is read as the parts' text, as message content is, not as JSON."""
    call = {
        "id": "call_paris",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    standalone.add_response(
        "Sunny, 21 °C.",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C, clear"},
        ],
    )
    output: Any = [
        {"type": "input_text", "text": "21 °C,"},
        {"type": "input_text", "text": "clear"},
    ]
    reply = standalone.openai_client().responses.create(
        model="gpt-4o",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_paris",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_paris", "output": output},
        ],
    )
    assert reply.output_text == "Sunny, 21 °C."
    standalone.assert_called_once(contains="21 °C, clear")


def test_a_fault_answers_with_its_status_and_the_journal_keeps_the_body_as_sent(
    standalone: LLMMockServer,
) -> None:
    standalone.fail_next(429, retry_after=0.25, message="Slow down.")
    body = {"model": "gpt-4o", "input": "Hello"}
    failed = http.request(standalone.url, "POST", "/v1/responses", body)
    assert (failed.status, failed.json()["error"]["message"]) == (429, "Slow down.")
    assert failed.headers["retry-after-ms"] == "250"
    missed = {"model": "gpt-4o", "input": "Nothing answers this"}
    assert http.request(standalone.url, "POST", "/v1/responses", missed).status == 404
    fault, miss = standalone.requests
    assert (fault.example, fault.retry_after, fault.json) == ("fail_next #1", 0.25, body)
    assert miss.json == missed
