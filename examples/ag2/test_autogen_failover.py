"""AG2 / AutoGen (classic `import autogen`): a two-entry config_list fails over when the first
model is down. The assistant sends its own system prompt, so the example matches by
`dialogue` (the conversation without system messages)."""

import autogen
import pytest


@pytest.mark.llm_collection(match="dialogue")
def test_autogen_fails_over_to_the_second_config(llm_mock_server):
    base_url = llm_mock_server.base_url
    config_list = [
        {"model": "mock-claude-sonnet-4", "base_url": base_url, "api_key": "test-key"},
        {"model": "mock-gpt-4", "base_url": base_url, "api_key": "test-key"},
    ]
    assistant = autogen.AssistantAgent(
        name="assistant",
        llm_config={"config_list": config_list, "cache_seed": None},
    )
    user_proxy = autogen.UserProxyAgent(
        name="user_proxy",
        human_input_mode="NEVER",
        max_consecutive_auto_reply=0,
        code_execution_config=False,
    )

    result = user_proxy.initiate_chat(
        assistant, message="Summarize the quarterly report in one sentence."
    )

    assert result.chat_history[-1]["content"].startswith("Revenue grew 12%")
    llm_mock_server.assert_called(model="mock-claude-sonnet-4")
    llm_mock_server.assert_called_once(model="mock-gpt-4")
