"""LiteLLM's completion() against the mock, streaming and not."""

import os

# LiteLLM fetches its model price list from the internet at import unless told to use the copy
# it ships; a test suite must not reach the internet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

MCP = [
    {"role": "system", "content": "You are an AI assistant with MCP protocol capabilities"},
    {"role": "user", "content": "Help me integrate MCP with AutoGen agents"},
]


def test_completion(llm_mock_server):
    response = litellm.completion(
        model="openai/mock-gpt-4",
        api_base=llm_mock_server.base_url,
        api_key="test-key",
        messages=MCP,
    )

    assert "mcp_server_tools" in response.choices[0].message.content
    llm_mock_server.assert_called_once(model="mock-gpt-4", stream=False)


def test_streaming_completion(llm_mock_server):
    stream = litellm.completion(
        model="openai/mock-gpt-4",
        api_base=llm_mock_server.base_url,
        api_key="test-key",
        messages=MCP,
        stream=True,
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)

    assert "mcp_server_tools" in text
    llm_mock_server.assert_called_once(model="mock-gpt-4", stream=True)
