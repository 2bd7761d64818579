"""The embedded default collection, answered through the plugin's fixture and the real SDK."""

from __future__ import annotations

import asyncio

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from .conftest import DEFAULT_COLLECTION

SYSTEM_CMD = (
    "You are a command generator for a contacts assistant. Answer with one command per line, "
    "using only: start flow FLOW_NAME, set slot SLOT_NAME VALUE, cancel flow."
)
ADD = "I want to add someone to my contact list"

PROMPTS = [
    pytest.param(
        "mock-llm-v1",
        [{"role": "user", "content": "Write a Python function to calculate fibonacci numbers"}],
        "def fibonacci(n: int) -> int:",
        id="fibonacci",
    ),
    pytest.param(
        "mock-claude-sonnet-4",
        [{"role": "user", "content": "Analyze this CSV dataset and create visualizations"}],
        "import matplotlib.pyplot as plt",
        id="csv",
    ),
    pytest.param(
        "mock-gpt-4",
        [
            {"role": "system", "content": "You are an AI assistant with MCP protocol capabilities"},
            {"role": "user", "content": "Help me integrate MCP with AutoGen agents"},
        ],
        "mcp_server_tools",
        id="mcp",
    ),
    pytest.param(
        "mock-llm-v1",
        [{"role": "user", "content": "Hello"}],
        "Hello! How can I help you today?",
        id="hello",
    ),
]

TURNS = [
    ([("user", ADD)], "start flow add_contact"),
    (
        [("user", ADD), ("assistant", "start flow add_contact"), ("user", "@barts")],
        "set slot add_contact_handle @barts",
    ),
    (
        [
            ("user", ADD),
            ("assistant", "start flow add_contact"),
            ("user", "@barts"),
            ("assistant", "set slot add_contact_handle @barts"),
            ("user", "Bart"),
        ],
        "set slot add_contact_name Bart",
    ),
]


def conversation(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_CMD},
        *({"role": role, "content": text} for role, text in turns),
    ]


@pytest.mark.parametrize(("model", "messages", "expected"), PROMPTS)
def test_sync_sdk_gets_the_collection_answer(
    llm_mock_server: LLMMockServer, model: str, messages: list[dict[str, str]], expected: str
) -> None:
    client = llm_mock_server.openai_client()
    completion = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    content = completion.choices[0].message.content
    assert content is not None
    assert expected in content
    assert completion.model == model
    assert completion.choices[0].finish_reason == "stop"
    llm_mock_server.assert_called_once(model=model)


@pytest.mark.parametrize(("model", "messages", "expected"), PROMPTS)
def test_async_sdk_gets_the_collection_answer(
    llm_mock_server: LLMMockServer, model: str, messages: list[dict[str, str]], expected: str
) -> None:
    async def ask() -> str | None:
        async with llm_mock_server.async_openai_client() as client:
            completion = await client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
            )
        return completion.choices[0].message.content

    content = asyncio.run(ask())
    assert content is not None
    assert expected in content


def test_each_turn_of_the_conversation_gets_its_own_command(
    llm_mock_server: LLMMockServer,
) -> None:
    client = llm_mock_server.openai_client()
    answers = [
        client.chat.completions.create(
            model="mock-gpt-4",
            messages=conversation(turns),  # type: ignore[arg-type]
            temperature=0,
        )
        .choices[0]
        .message.content
        for turns, _ in TURNS
    ]
    assert answers == [command for _, command in TURNS]
    llm_mock_server.assert_call_count(3, model="mock-gpt-4")


def test_the_same_short_reply_is_answered_by_its_history(llm_mock_server: LLMMockServer) -> None:
    client = llm_mock_server.openai_client()
    remove = conversation(
        [
            ("user", "Please remove a contact"),
            ("assistant", "start flow remove_contact"),
            ("user", "@barts"),
        ]
    )
    add = conversation(TURNS[1][0])
    first = client.chat.completions.create(model="mock-gpt-4", messages=remove)  # type: ignore[arg-type]
    second = client.chat.completions.create(model="mock-gpt-4", messages=add)  # type: ignore[arg-type]
    assert first.choices[0].message.content == "set slot remove_contact_handle @barts"
    assert second.choices[0].message.content == "set slot add_contact_handle @barts"
    llm_mock_server.assert_call_count(2, last_user_message="@barts")


def test_models_lists_the_mock_models(llm_mock_server: LLMMockServer) -> None:
    client = llm_mock_server.openai_client()
    ids = [model.id for model in client.models.list()]
    assert ids == ["mock-llm-v1", "mock-claude-sonnet-4", "mock-gpt-4"]
    assert client.models.retrieve("mock-gpt-4").id == "mock-gpt-4"
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.models.retrieve("gpt-5")
    assert excinfo.value.code == "model_not_found"


def test_the_packaged_default_is_the_root_collection() -> None:
    from pytest_llm_mock._collection import default_collection_path

    assert default_collection_path().read_bytes() == DEFAULT_COLLECTION.read_bytes()
