"""autogen-agentchat 0.7 with autogen-ext's OpenAIChatCompletionClient: a streaming assistant
that calls a tool. The client needs `model_info` for model names it does not know."""

import asyncio

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient

QUESTION = "What is the weather in Paris?"


async def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"21 °C and sunny in {city}"


def test_assistant_agent_streams_with_a_tool(llm_mock_server):
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message=QUESTION,
        times=1,
    )
    llm_mock_server.add_response("It is 21 °C and sunny in Paris.", contains="21 °C and sunny in")

    async def ask():
        model_client = OpenAIChatCompletionClient(
            model="mock-gpt-4",
            base_url=llm_mock_server.base_url,
            api_key="test-key",
            model_info={
                "vision": False,
                "function_calling": True,
                "json_output": False,
                "family": "unknown",
                "structured_output": False,
            },
        )
        agent = AssistantAgent(
            "assistant",
            model_client=model_client,
            tools=[get_weather],
            reflect_on_tool_use=True,
            model_client_stream=True,
        )
        result = await agent.run(task=QUESTION)
        await model_client.close()
        return result

    result = asyncio.run(ask())

    assert result.messages[-1].content == "It is 21 °C and sunny in Paris."
    llm_mock_server.assert_call_count(2, stream=True)
