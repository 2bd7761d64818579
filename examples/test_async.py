"""The async client, in a plain pytest test (no async plugin needed)."""

import asyncio

from openai import AsyncOpenAI


def test_async_client(llm_mock_server):
    async def analyze() -> str:
        async with AsyncOpenAI(base_url=llm_mock_server.base_url, api_key="test-key") as client:
            reply = await client.chat.completions.create(
                model="mock-claude-sonnet-4",
                messages=[
                    {
                        "role": "user",
                        "content": "Analyze this CSV dataset and create visualizations",
                    }
                ],
            )
        return reply.choices[0].message.content

    answer = asyncio.run(analyze())

    assert "matplotlib" in answer
    llm_mock_server.assert_called_once(example="Pandas and matplotlib")
