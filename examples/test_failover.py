"""Failover with plain SDK code: a list of model configurations, tried in order. In the
default collection mock-claude-sonnet-4 answers 503 to this request and mock-gpt-4 answers."""

import openai
from openai import OpenAI

CONFIGS = [
    {"model": "mock-claude-sonnet-4"},
    {"model": "mock-gpt-4"},
]
SUMMARY = [{"role": "user", "content": "Summarize the quarterly report in one sentence."}]


def complete_with_failover(base_url, messages):
    """The application code under test: the first configuration that answers wins."""
    errors = []
    for config in CONFIGS:
        with OpenAI(base_url=base_url, api_key="test-key") as client:
            try:
                return client.chat.completions.create(model=config["model"], messages=messages)
            except (openai.InternalServerError, openai.RateLimitError) as error:
                errors.append(error)
    raise RuntimeError(f"every model failed: {errors}")


def test_failover_to_the_second_model(llm_mock_server):
    reply = complete_with_failover(llm_mock_server.base_url, SUMMARY)

    assert reply.model == "mock-gpt-4"
    assert reply.choices[0].message.content.startswith("Revenue grew 12%")
    # The SDK retried the 503 twice (retry-after-ms: 1) before the app failed over.
    llm_mock_server.assert_call_count(3, model="mock-claude-sonnet-4")
    llm_mock_server.assert_called_once(model="mock-gpt-4")
    llm_mock_server.assert_retries_honoured()
