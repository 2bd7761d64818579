"""Rendered answers are kept across tests for the same request, within a bound in bytes, and
never outlive the example they were rendered from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._rendered import Rendered
from pytest_llm_mock._state import Reply

from . import postman

ASK: Any = [{"role": "user", "content": "Weather?"}]


def reply(size: int) -> Reply:
    return Reply(200, b"x" * size)


def key(source: object, chunk_size: int, seed: str = "seed") -> tuple[int, str, str, bytes, int]:
    return Rendered.key(source, seed, "/chat/completions", b"{}", chunk_size)


def test_the_cache_keeps_the_newest_within_its_bytes_and_knows_its_sources() -> None:
    rendered = Rendered(max_bytes=6400)
    sources = [object() for _ in range(130)]
    for number, source in enumerate(sources):
        rendered.put(source, key(source, number), reply(50))
    # 123 entries of 52 bytes fit in 6,400: the oldest 7 went, the newest stayed.
    assert len(rendered) == 123
    assert rendered.get(sources[6], key(sources[6], 6)) is None
    assert rendered.get(sources[7], key(sources[7], 7)) == reply(50)
    assert rendered.get(sources[129], key(sources[129], 129)) == reply(50)
    # Another seed (another collection's name for an added response) is another reply.
    assert rendered.get(sources[129], key(sources[129], 129, seed="other")) is None
    # The same key for another object (another example) is not its reply.
    assert rendered.get(object(), key(sources[129], 129)) is None
    # An entry larger than a 64th of the bound (100 bytes) is rendered each time, never kept.
    rendered.put(sources[0], key(sources[0], 0), reply(99))
    assert rendered.get(sources[0], key(sources[0], 0)) is None
    assert len(rendered) == 123


@pytest.mark.parametrize("stream", [False, True])
def test_a_changed_answer_is_served_at_once_for_the_same_request(
    tmp_path: Path, stream: bool
) -> None:
    def collection(answer: str) -> Path:
        item = postman.chat_item("weather", postman.chat_body(("user", "Weather?")), answer)
        return postman.write(tmp_path / f"{answer}.json", postman.collection(item))

    def ask(server: LLMMockServer) -> str:
        client = server.openai_client()
        if stream:
            chunks = client.chat.completions.create(model="m", messages=ASK, stream=True)
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return (
            client.chat.completions.create(model="m", messages=ASK).choices[0].message.content or ""
        )

    with LLMMockServer(collection("Sunny")) as server:
        for _ in range(2):
            first = server._open_scope("first")
            assert ask(first) == "Sunny"
            first._close_scope()
        second = server._open_scope("second")
        second.use(collection("Rainy"))
        assert ask(second) == "Rainy"
        second._close_scope()
