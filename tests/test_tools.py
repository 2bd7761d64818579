"""A tool loop: the model asks for a tool, the client runs it and sends the result back, and
the follow-up matches by its whole conversation, tool call and result included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer

from . import http, postman, sdk

ASK = {"role": "user", "content": "What is the weather in Paris?"}
CALL = {
    "id": "call_weather_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    first = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [CALL]}}]}
    follow_up = {
        "model": "gpt-4o",
        "messages": [
            ASK,
            # Recorded with other whitespace and key order: arguments compare parsed.
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {**CALL, "function": {"name": "get_weather", "arguments": '{ "city":"Paris" }'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_weather_1", "content": "21 °C and sunny"},
        ],
    }
    items = [
        postman.chat_item("1 ask", {"model": "gpt-4o", "messages": [ASK]}, first),
        postman.chat_item("2 answer", follow_up, "It is 21 °C and sunny in Paris."),
    ]
    path = postman.write(tmp_path / "tools.json", postman.collection(*items))
    with LLMMockServer(path) as mock:
        yield mock


def run_tool(name: str, arguments: str) -> str:
    assert (name, json.loads(arguments)) == ("get_weather", {"city": "Paris"})
    return "21 °C and sunny"


@pytest.mark.parametrize("stream", [False, True])
def test_the_tool_loop_reaches_the_final_answer(server: LLMMockServer, stream: bool) -> None:
    client = server.openai_client()
    messages: Any = [ASK]
    message: Any = None
    for _ in range(3):  # bounded: a loop that never ends is a failure, not a hang
        if stream:
            with client.chat.completions.stream(
                model="gpt-4o", messages=messages, tools=TOOLS
            ) as s:
                message = s.get_final_completion().choices[0].message
        else:
            message = (
                client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
                .choices[0]
                .message
            )
        if not message.tool_calls:
            break
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            assert call.type == "function"
            result = run_tool(call.function.name, call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    assert message.content == "It is 21 °C and sunny in Paris."
    assert [r.example for r in server.requests] == ["1 ask/1 ask", "2 answer/2 answer"]


def test_a_different_tool_result_is_a_different_conversation(server: LLMMockServer) -> None:
    import openai

    client = server.openai_client(max_retries=0)
    messages: Any = [
        ASK,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_weather_1", "content": "rain"},
    ]
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(model="gpt-4o", messages=messages)
    assert "first difference in messages[2] (tool)" in sdk.message(excinfo.value)
    server.reset()


def test_an_agent_loop_under_last_user_message_uses_a_sequence(tmp_path: Path) -> None:
    """After a tool call the follow-up repeats the same last user message: a sequence of two
    examples answers the call first and the final text second, so the loop ends."""
    first = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [CALL]}}]}
    items = [
        postman.chat_item("call", {"messages": [ASK]}, first),
        postman.chat_item("final", {"messages": [ASK]}, "It is 21 °C and sunny in Paris."),
    ]
    path = postman.write(tmp_path / "loop.json", postman.collection(*items))
    with LLMMockServer(path, match="last_user_message") as server:
        assert run_loop(server) == "It is 21 °C and sunny in Paris."
        assert [r.example for r in server.requests] == ["call/call", "final/final"]


def test_an_agent_loop_from_python_with_times(tmp_path: Path) -> None:
    with LLMMockServer() as server:
        server.add_response(tool_calls=[CALL], last_user_message=ASK["content"], times=1)
        server.add_response("Sunny, 21 °C.", last_user_message=ASK["content"])
        assert run_loop(server) == "Sunny, 21 °C."
        server.assert_call_count(2, last_user_message=ASK["content"])


def run_loop(server: LLMMockServer) -> str | None:
    client = server.openai_client()
    messages: Any = [ASK]
    for _ in range(4):  # bounded
        message = (
            client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
            .choices[0]
            .message
        )
        if not message.tool_calls:
            return message.content
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            assert call.type == "function"
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": run_tool(call.function.name, call.function.arguments),
                }
            )
    raise AssertionError("the agent loop did not end")


def test_a_custom_tool_call_in_the_history_matches_by_name_and_input(tmp_path: Path) -> None:
    """Custom tools (free-text input, not JSON arguments) are part of the conversation too."""
    call: Any = {"id": "call_1", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}
    conversation: Any = [
        ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    item = postman.chat_item("custom", {"model": "gpt-4o", "messages": conversation}, "One.")
    with LLMMockServer(postman.write(tmp_path / "c.json", postman.collection(item))) as mock:
        client = mock.openai_client(max_retries=0)
        answer = client.chat.completions.create(model="gpt-4o", messages=conversation)
        assert answer.choices[0].message.content == "One."
        other = {**call, "custom": {"name": "sql", "input": "SELECT 2"}}
        changed = [ASK, {**conversation[1], "tool_calls": [other]}, conversation[2]]
        miss = http.request(
            mock.url, "POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": changed}
        )
        assert miss.status == 404
        assert "SELECT 2" in miss.json()["error"]["message"]
        mock.reset()
