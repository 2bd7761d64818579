"""AG2 / AutoGen classic: the assistant writes a script to analyze a small dataset, the user
proxy runs it in a temporary work dir, and the chat ends on TERMINATE. The second answer is
given only when the script's real output comes back, so the example proves the code ran."""

import autogen

TASK = "Analyze data.csv in your work dir: print the mean of the 'value' column."
SCRIPT = """Here is a script:

```python
import csv

with open("data.csv", newline="") as handle:
    values = [float(row["value"]) for row in csv.DictReader(handle)]
print(f"mean={sum(values) / len(values)}")
```
"""


def test_assistant_writes_and_proxy_runs_the_script(llm_mock_server, tmp_path):
    (tmp_path / "data.csv").write_text("name,value\na,1\nb,2\nc,3\nd,4\n")
    llm_mock_server.add_response(SCRIPT, last_user_message=TASK, times=1)
    llm_mock_server.add_response("The mean of 'value' is 2.5.\nTERMINATE", contains="mean=2.5")
    config_list = [
        {"model": "mock-gpt-4", "base_url": llm_mock_server.base_url, "api_key": "test-key"}
    ]

    assistant = autogen.AssistantAgent(
        name="assistant",
        llm_config={"config_list": config_list, "cache_seed": None},
    )
    user_proxy = autogen.UserProxyAgent(
        name="user_proxy",
        human_input_mode="NEVER",
        max_consecutive_auto_reply=3,
        is_termination_msg=lambda x: x.get("content", "").rstrip().endswith("TERMINATE"),
        code_execution_config={"work_dir": str(tmp_path), "use_docker": False},
    )
    result = user_proxy.initiate_chat(assistant, message=TASK)

    assert result.chat_history[-1]["content"].endswith("TERMINATE")
    assert "mean=2.5" in result.chat_history[-2]["content"]
    llm_mock_server.assert_call_count(2, model="mock-gpt-4")
