"""openai-agents: Runner.run with a function tool, over the Responses API. `llm_mock_env`
points its default client at the mock and turns tracing off (it would export to the
internet whatever the base URL)."""

import asyncio

from agents import Agent, Runner, function_tool

QUESTION = "What is the weather in Paris?"


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"21 °C and sunny in {city}"


def test_runner_calls_a_tool(llm_mock_env, llm_mock_server):
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message=QUESTION,
        times=1,
    )
    llm_mock_server.add_response("It is 21 °C and sunny in Paris.", contains="21 °C and sunny in")
    agent = Agent(
        name="Assistant",
        instructions="You answer weather questions.",
        tools=[get_weather],
        model="mock-gpt-4",
    )

    result = asyncio.run(Runner.run(agent, QUESTION))

    assert result.final_output == "It is 21 °C and sunny in Paris."
    llm_mock_server.assert_call_count(2, path="/v1/responses")
