"""The plain openai SDK: streaming, a tool-call loop, and structured output with .parse()."""

import json

from pydantic import BaseModel

HELLO = [{"role": "user", "content": "Hello"}]


def test_streaming(llm_mock_server):
    client = llm_mock_server.openai_client()

    stream = client.chat.completions.create(model="mock-llm-v1", messages=HELLO, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == "Hello! How can I help you today?"


def get_weather(city):
    return f"21 °C and sunny in {city}"


def test_tool_call_loop(llm_mock_server):
    question = {"role": "user", "content": "What is the weather in Paris?"}
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        messages=[question],
    )
    llm_mock_server.add_response("It is 21 °C and sunny in Paris.", contains="sunny in Paris")
    client = llm_mock_server.openai_client()
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]

    messages = [question]
    for _ in range(3):  # bounded agent loop
        message = (
            client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
            .choices[0]
            .message
        )
        if not message.tool_calls:
            break
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = get_weather(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})

    assert message.content == "It is 21 °C and sunny in Paris."


class Weather(BaseModel):
    city: str
    celsius: float


def test_structured_output(llm_mock_server):
    llm_mock_server.add_response('{"city": "Paris", "celsius": 21.5}')
    client = llm_mock_server.openai_client()

    completion = client.chat.completions.parse(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Paris as JSON"}],
        response_format=Weather,
    )

    assert completion.choices[0].message.parsed == Weather(city="Paris", celsius=21.5)
