"""An application module that knows nothing about tests: it builds its own client from
the environment (OPENAI_BASE_URL, OPENAI_API_KEY), as most apps do."""

from openai import OpenAI


def greet(name: str) -> str:
    with OpenAI() as client:
        reply = client.chat.completions.create(
            model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
        )
    return f"{name}: {reply.choices[0].message.content}"
