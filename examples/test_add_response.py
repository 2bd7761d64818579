"""Answers added from the test take priority over the collection."""

import openai
import pytest


def test_add_response_and_tool_calls(llm_mock_server):
    llm_mock_server.add_response("It is sunny.", last_user_message="Weather in Paris?")
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        contains="use your tools",
    )
    client = llm_mock_server.openai_client()

    text = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}]
    )
    call = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris? Please use your tools."}],
    )

    assert text.choices[0].message.content == "It is sunny."
    tool_call = call.choices[0].message.tool_calls[0]
    assert (tool_call.function.name, tool_call.function.arguments) == (
        "get_weather",
        '{"city": "Paris"}',
    )
    llm_mock_server.assert_call_count(2, model="gpt-4o-mini")


def test_errors_from_python(llm_mock_server):
    llm_mock_server.add_response(status=429, headers={"retry-after-ms": "1"}, times=1)
    client = llm_mock_server.openai_client(max_retries=0)

    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
        )
    reply = client.chat.completions.create(
        model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
    )
    assert reply.choices[0].message.content == "Hello! How can I help you today?"
