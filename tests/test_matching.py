"""Match keys, normalisation, model narrowing and sequences, served by a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._matching import resolve_strategy
from pytest_llm_mock._request import parse_chat_request

from . import postman, sdk


def key(strategy: str, messages: list[dict[str, Any]]) -> Any:
    return resolve_strategy(strategy).key(parse_chat_request({"model": "m", "messages": messages}))


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


SYSTEM = {"role": "system", "content": "Be brief."}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "f", "arguments": '{"a": 1, "b": [1, 2]}'},
        }
    ],
}


@pytest.mark.parametrize(
    ("strategy", "a", "b", "equal"),
    [
        ("conversation", [user("Hello  world\n")], [user(" Hello world")], True),
        ("conversation", [user("Hello\r\nworld")], [user("Hello\nworld")], True),
        ("conversation", [user("Hello world")], [user("Hello World")], False),
        (
            "conversation",
            [user([{"type": "text", "text": "Hello"}, {"type": "text", "text": "world"}])],
            [user("Hello world")],
            True,
        ),
        (
            "conversation",
            [user([{"type": "image_url", "image_url": {"url": "a.png"}}])],
            [user([{"type": "image_url", "image_url": {"url": "b.png"}}])],
            False,
        ),
        ("conversation", [SYSTEM, user("Hi")], [user("Hi")], False),
        (
            "conversation",
            [user("Hi"), CALL],
            [
                user("Hi"),
                {
                    **CALL,
                    "tool_calls": [
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"b":[1,2],"a":1}'},
                        }
                    ],
                },
            ],
            True,
        ),
        (
            "conversation",
            [user("Hi"), CALL],
            [
                user("Hi"),
                {
                    **CALL,
                    "tool_calls": [
                        {"function": {"name": "g", "arguments": '{"a": 1, "b": [1, 2]}'}}
                    ],
                },
            ],
            False,
        ),
        (
            "conversation",
            [{"role": "tool", "tool_call_id": "call_1", "content": "4"}],
            [{"role": "tool", "tool_call_id": "call_2", "content": "4"}],
            False,
        ),
        ("dialogue", [SYSTEM, user("Hi")], [user("Hi")], True),
        (
            "dialogue",
            [{"role": "developer", "content": "x"}, user("Hi")],
            [SYSTEM, user("Hi")],
            True,
        ),
        ("dialogue", [user("Hi"), user("there")], [user("Hi")], False),
        (
            "last_user_message",
            [SYSTEM, user("Earlier"), {"role": "assistant", "content": "ok"}, user("Yes")],
            [user("Yes")],
            True,
        ),
        ("last_user_message", [user("Yes")], [user("yes")], False),
        ("regex:order (\\d+)", [user("please order 12 pizzas")], [user("order 12 now")], True),
        ("regex:order (\\d+)", [user("order 12")], [user("order 13")], False),
    ],
)
def test_strategy_keys(
    strategy: str, a: list[dict[str, Any]], b: list[dict[str, Any]], equal: bool
) -> None:
    assert (key(strategy, a) == key(strategy, b)) is equal


def test_a_request_without_a_user_message_has_no_last_user_key() -> None:
    assert key("last_user_message", [SYSTEM]) is None
    assert key("regex:(x)", [user("nothing")]) is None


def test_unknown_strategies_list_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match="unknown match strategy 'exact'; valid strategies are: conversation, dialogue, "
        "last_user_message, rasa, regex:PATTERN",
    ):
        resolve_strategy("exact")
    with pytest.raises(ValueError, match="bad regular expression"):
        resolve_strategy("regex:(")


@pytest.fixture
def narrowing(tmp_path: Path) -> Iterator[LLMMockServer]:
    """'Hi' answered per model for two models, plus a sequence: 429 then 200."""
    hi = ("user", "Hi")
    retry = ("user", "Retry me")
    items = [
        postman.chat_item("any model", postman.chat_body(hi, model="gpt-4o"), "from gpt-4o"),
        postman.chat_item("mini", postman.chat_body(hi, model="gpt-4o-mini"), "from mini"),
        postman.chat_item(
            "limited",
            postman.chat_body(retry),
            {
                "error": {
                    "message": "slow down",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            status=429,
        ),
        postman.chat_item("recovered", postman.chat_body(retry), "second time lucky"),
    ]
    path = postman.write(tmp_path / "c.json", postman.collection(*items))
    with LLMMockServer(path) as server:
        yield server


def ask(server: LLMMockServer, text: str, model: str = "gpt-4o-mini", **options: Any) -> str | None:
    client = server.openai_client(**options)
    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content


def test_model_narrows_to_the_examples_that_name_it(narrowing: LLMMockServer) -> None:
    assert ask(narrowing, "Hi", model="gpt-4o-mini") == "from mini"
    assert ask(narrowing, "Hi", model="gpt-4o") == "from gpt-4o"


def test_an_unnamed_model_falls_back_to_every_candidate_as_a_sequence(
    narrowing: LLMMockServer,
) -> None:
    assert [ask(narrowing, "Hi", model="claude") for _ in range(3)] == [
        "from gpt-4o",
        "from mini",
        "from mini",
    ]


def test_a_retry_gets_the_next_example_of_the_sequence(narrowing: LLMMockServer) -> None:
    assert ask(narrowing, "Retry me", max_retries=1) == "second time lucky"
    assert [r.status for r in narrowing.requests] == [429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in narrowing.requests] == ["0", "1"]


def test_sequences_repeat_their_last_answer_and_reset(narrowing: LLMMockServer) -> None:
    with pytest.raises(openai.RateLimitError):
        ask(narrowing, "Retry me", max_retries=0)
    assert ask(narrowing, "Retry me", max_retries=0) == "second time lucky"
    assert ask(narrowing, "Retry me", max_retries=0) == "second time lucky"
    narrowing.reset()
    with pytest.raises(openai.RateLimitError):
        ask(narrowing, "Retry me", max_retries=0)


def test_lookup_does_not_scan_the_collection(tmp_path: Path) -> None:
    """The index answers by key: a strategy's key function runs once per request, however
    many examples there are."""
    calls = 0

    def counting(request: Any) -> Any:
        nonlocal calls
        calls += 1
        return request.last_user_message

    items = [
        postman.chat_item(str(i), postman.chat_body(("user", f"q{i}")), f"a{i}")
        for i in range(2000)
    ]
    path = postman.write(tmp_path / "big.json", postman.collection(*items))
    with LLMMockServer(path, match=counting) as server:
        built = calls
        assert built == 2000
        assert ask(server, "q1999") == "a1999"
        assert calls == built + 1


def test_regex_searches_the_text_as_sent(tmp_path: Path) -> None:
    prompt = "Task: book\nUSER: a table for two\nAI: sure\n---\nflows: ..."
    item = postman.chat_item("rasa-ish", postman.chat_body(("user", prompt)), "booked")
    path = postman.write(tmp_path / "c.json", postman.collection(item))
    edited = "Task: book, edited\nUSER:   a table  for two\nAI: sure\n---\nflows: changed"
    with LLMMockServer(path, match=r"regex:USER: ([^\n]*)\n") as server:
        assert ask(server, edited) == "booked"


def test_a_dialogue_miss_points_at_the_message_that_differs(tmp_path: Path) -> None:
    recorded = postman.chat_body(
        ("system", "S"), ("user", "Hi"), ("assistant", "Where to?"), ("user", "France")
    )
    item = postman.chat_item("trip", recorded, "Bon voyage")
    path = postman.write(tmp_path / "c.json", postman.collection(item))
    with LLMMockServer(path, match="dialogue", strict=False) as server:
        client = server.openai_client(max_retries=0)
        with pytest.raises(openai.NotFoundError) as excinfo:
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "developer", "content": "D"},
                    {"role": "system", "content": "S"},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Where to?"},
                    {"role": "user", "content": "Spain"},
                ],
            )
    message = sdk.message(excinfo.value)
    assert "first difference in messages[3] (user) (received as messages[4] (user)):" in message
    assert "expected: France" in message
    assert "received: Spain" in message


class CountingKey(str):
    """A match key that counts how often dict lookups compare it."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingKey.comparisons += 1
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        return str.__hash__(self)


def counting_key(request: Any) -> CountingKey:
    return CountingKey(request.last_user_message)


@pytest.mark.parametrize("size", [10, 10_000])
def test_a_lookup_makes_the_same_comparisons_whatever_the_size(tmp_path: Path, size: int) -> None:
    items = [
        postman.chat_item(str(i), postman.chat_body(("user", f"q{i}")), f"a{i}")
        for i in range(size)
    ]
    path = postman.write(tmp_path / "big.json", postman.collection(*items))
    with LLMMockServer(path, match=counting_key) as server:
        CountingKey.comparisons = 0
        assert ask(server, "q7") == "a7"
        assert CountingKey.comparisons == 1, "one dict lookup: one comparison, for 10 or 10,000"


def test_the_index_exposes_examples_that_share_a_key(tmp_path: Path) -> None:
    from pytest_llm_mock import load_collection
    from pytest_llm_mock._matching import CONVERSATION, Index

    hi = postman.chat_body(("user", "Hi"))
    items = [
        postman.chat_item("one", hi, "1"),
        postman.chat_item("two", hi, "2"),
        postman.chat_item("alone", postman.chat_body(("user", "Bye")), "3"),
    ]
    collection = load_collection(postman.write(tmp_path / "c.json", postman.collection(*items)))
    groups = Index.build(collection.examples, CONVERSATION).sequences()
    assert [[e.name for e in group] for group in groups.values()] == [["one", "two"]]


def test_a_callable_strategy_matches_and_misses(tmp_path: Path) -> None:
    def first_word(request: Any) -> str:
        return str(request.last_user_message).split()[0].lower()

    item = postman.chat_item("greet", postman.chat_body(("user", "Hello there")), "Hi!")
    path = postman.write(tmp_path / "c.json", postman.collection(item))
    with LLMMockServer(path, match=first_word, strict=False) as server:
        assert ask(server, "HELLO again, friend") == "Hi!"
        with pytest.raises(openai.NotFoundError) as excinfo:
            ask(server, "Goodbye there")
    assert "strategy: callable " in sdk.message(excinfo.value)
    assert "first difference in the key:" in sdk.message(excinfo.value)
