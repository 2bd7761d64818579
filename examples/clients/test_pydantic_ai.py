"""pydantic-ai with its OpenAI chat-completions model: an agent with a tool and structured
output (which pydantic-ai asks for as a `final_result` tool call)."""

import asyncio

from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider


class CityWeather(BaseModel):
    city: str
    celsius: float


def test_agent_with_a_tool_and_structured_output(llm_mock_server):
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_temperature", "arguments": {"city": "Paris"}}],
        last_user_message="How warm is Paris?",
        times=1,
    )
    llm_mock_server.add_response(
        tool_calls=[{"name": "final_result", "arguments": {"city": "Paris", "celsius": 21.5}}],
        contains="21.5",
    )
    # The fixture's async client keeps no connection open past run_sync's event loop.
    provider = OpenAIProvider(openai_client=llm_mock_server.async_openai_client())
    model = OpenAIChatModel("mock-gpt-4", provider=provider)
    agent = Agent(model, output_type=CityWeather)

    @agent.tool_plain
    def get_temperature(city: str) -> float:
        """The temperature in a city, in °C."""
        return 21.5

    async def ask():
        return await agent.run("How warm is Paris?")

    result = asyncio.run(ask())

    assert result.output == CityWeather(city="Paris", celsius=21.5)
    llm_mock_server.assert_call_count(2, model="mock-gpt-4")


def test_the_default_openai_model_uses_the_responses_api(llm_mock_server):
    from pydantic_ai.models.openai import OpenAIResponsesModel

    llm_mock_server.add_response(
        tool_calls=[{"name": "get_temperature", "arguments": {"city": "Paris"}}],
        last_user_message="How warm is Paris?",
        times=1,
    )
    llm_mock_server.add_response(
        tool_calls=[{"name": "final_result", "arguments": {"city": "Paris", "celsius": 21.5}}],
        contains="21.5",
    )
    provider = OpenAIProvider(openai_client=llm_mock_server.async_openai_client())
    agent = Agent(OpenAIResponsesModel("mock-gpt-4", provider=provider), output_type=CityWeather)

    @agent.tool_plain
    def get_temperature(city: str) -> float:
        """The temperature in a city, in °C."""
        return 21.5

    async def ask():
        return await agent.run("How warm is Paris?")

    result = asyncio.run(ask())

    assert result.output == CityWeather(city="Paris", celsius=21.5)
    llm_mock_server.assert_call_count(2, path="/v1/responses")
