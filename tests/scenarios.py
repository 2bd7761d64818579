"""What several tests send and expect, and answers they script the same way."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pytest_llm_mock import LLMMockServer

HELLO: Any = [{"role": "user", "content": "Hello"}]
GREETING = "Hello! How can I help you today?"  # the default collection's answer to HELLO
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


class Weather(BaseModel):
    """A structured output."""

    city: str
    celsius: float


def weather_tool_then_answer(
    server: LLMMockServer, question: str = "Weather in Paris?", result: str = "21 °C"
) -> None:
    """The first `question` gets a get_weather(Paris) tool call; once the tool's `result`
    is in the conversation, the answer is "Sunny, 21 °C."."""
    server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message=question,
        times=1,
    )
    server.add_response("Sunny, 21 °C.", contains=result)
