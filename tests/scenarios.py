"""Answers several tests script the same way."""

from __future__ import annotations

from pytest_llm_mock import LLMMockServer


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
