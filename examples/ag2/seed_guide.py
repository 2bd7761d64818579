"""The seed guide's AutoGen script: a classic AG2 assistant writes a script on the guide's task,
the user proxy runs it, and the chat ends on TERMINATE within max_consecutive_auto_reply=3.

Run `pytest-llm-mock serve` first (port 8080, the embedded default collection answers: its
"AutoGen seed guide" items were captured from this script with `serve --capture`), then
`python seed_guide.py`. LLM_MOCK_BASE_URL points it elsewhere (the test gives it a free port).
"""

import os

import autogen

BASE_URL = os.environ.get("LLM_MOCK_BASE_URL", "http://localhost:8080/v1")

config_list = [{"model": "mock-claude-sonnet-4", "base_url": BASE_URL, "api_key": "mock-key"}]

assistant = autogen.AssistantAgent(
    name="assistant",
    llm_config={"config_list": config_list, "cache_seed": None},
)
user_proxy = autogen.UserProxyAgent(
    name="user_proxy",
    human_input_mode="NEVER",
    max_consecutive_auto_reply=3,
    code_execution_config={"work_dir": "coding", "use_docker": False},
)
user_proxy.initiate_chat(
    assistant,
    message="Write a Python script to analyze a simple dataset and create a basic visualization",
)
