"""The seed guide's AutoGen script: a classic AG2 assistant writes a script on the guide's task,
the user proxy runs it, and the chat ends on TERMINATE within max_consecutive_auto_reply=3.

Run `pytest-llm-mock serve` first (port 8080, the embedded default collection answers: its
"AutoGen seed guide" items were captured from this script with `serve --capture`), then
`python seed_guide.py`. LLM_MOCK_BASE_URL points it elsewhere (the test gives it a free port).

The guide's failover variant, `python seed_guide.py --failover`, lists mock-gpt-4 after
mock-claude-sonnet-4. Against `pytest-llm-mock serve --fail-model mock-claude-sonnet-4` every
turn fails over: serve logs the 503s for the first model and the answers for the second.
"""

import os
import sys

import autogen

BASE_URL = os.environ.get("LLM_MOCK_BASE_URL", "http://localhost:8080/v1")
FAILOVER = "--failover" in sys.argv[1:]

config_list = [{"model": "mock-claude-sonnet-4", "base_url": BASE_URL, "api_key": "mock-key"}]
if FAILOVER:
    config_list.append({"model": "mock-gpt-4", "base_url": BASE_URL, "api_key": "mock-key"})

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
if FAILOVER:
    answered = sorted(m for m in assistant.client.total_usage_summary or {} if m != "total_cost")
    print("Answered by:", ", ".join(answered))
