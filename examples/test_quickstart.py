"""The README quickstart: the real openai SDK against the default collection."""

from openai import OpenAI


def test_fibonacci(llm_mock_server):
    client = OpenAI(base_url=llm_mock_server.base_url, api_key="test-key")

    reply = client.chat.completions.create(
        model="mock-llm-v1",
        messages=[
            {"role": "user", "content": "Write a Python function to calculate fibonacci numbers"}
        ],
    )

    assert "def fibonacci" in reply.choices[0].message.content
    llm_mock_server.assert_called_once(model="mock-llm-v1")
    client.close()
