"""Clients built once for a module or the session: each test still sees only its requests."""

import asyncio

import pytest

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def client(llm_mock_session):
    return llm_mock_session.openai_client()


@pytest.fixture(scope="session")
def async_client(llm_mock_session):
    return llm_mock_session.async_openai_client()  # keeps no connection across event loops


def test_first(client, llm_mock_server):
    client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
    llm_mock_server.assert_called_once(last_user_message="Hello")


def test_second(client, llm_mock_server):
    llm_mock_server.assert_not_called()  # the first test's request was the first test's
    client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
    llm_mock_server.assert_called_once()


@pytest.mark.parametrize("run", [1, 2])
def test_async(async_client, llm_mock_server, run):
    async def ask():
        reply = await async_client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
        return reply.choices[0].message.content

    assert asyncio.run(ask()) == "Hello! How can I help you today?"  # a new loop each time
    llm_mock_server.assert_called_once()
