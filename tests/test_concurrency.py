"""Many clients at once against one server: every request gets its own answer, the journal
holds each request exactly once, and sequence counters stay exact."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer

from . import postman

THREADS = 32
PER_THREAD = 10
CONCURRENT = 200


@pytest.fixture
def server(tmp_path: Path) -> LLMMockServer:
    items = [
        postman.chat_item(f"q{i}", postman.chat_body(("user", f"question {i}")), f"answer {i}")
        for i in range(THREADS)
    ]
    sequence = [
        postman.chat_item(f"step {n}", postman.chat_body(("user", "next step")), f"step {n}")
        for n in range(3)
    ]
    path = postman.write(tmp_path / "c.json", postman.collection(*items, *sequence))
    return LLMMockServer(path)


def test_32_threads_each_get_their_own_answers(server: LLMMockServer) -> None:
    errors: list[BaseException] = []
    with server:

        def worker(i: int) -> None:
            client: Any = server.openai_client(max_retries=0, timeout=30)
            try:
                for n in range(PER_THREAD):
                    stream = n % 2 == 1
                    messages = [{"role": "user", "content": f"question {i}"}]
                    if stream:
                        chunks = client.chat.completions.create(
                            model="m", messages=messages, stream=True
                        )
                        text = "".join(
                            c.choices[0].delta.content or "" for c in chunks if c.choices
                        )
                    else:
                        reply = client.chat.completions.create(model="m", messages=messages)
                        text = reply.choices[0].message.content or ""
                    assert text == f"answer {i}"
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        journal = server.requests
        assert len(journal) == THREADS * PER_THREAD
        assert Counter(r.last_user_message for r in journal) == {
            f"question {i}": PER_THREAD for i in range(THREADS)
        }
        assert sum(r.stream for r in journal) == THREADS * PER_THREAD // 2
        received = [r.received_at for r in journal]
        assert received == sorted(received), "the journal is in arrival order"


def test_200_concurrent_async_requests_and_exact_sequence_counters(server: LLMMockServer) -> None:
    with server:

        async def run() -> list[str]:
            async with server.async_openai_client(max_retries=0, timeout=60) as client:

                async def ask(i: int) -> str:
                    text = "next step" if i % 4 == 0 else f"question {i % THREADS}"
                    reply = await client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": text}]
                    )
                    return reply.choices[0].message.content or ""

                return await asyncio.gather(*(ask(i) for i in range(CONCURRENT)))

        answers = asyncio.run(run())
        for i, answer in enumerate(answers):
            if i % 4:
                assert answer == f"answer {i % THREADS}"
        steps = Counter(a for i, a in enumerate(answers) if i % 4 == 0)
        assert steps == {"step 0": 1, "step 1": 1, "step 2": CONCURRENT // 4 - 2}, (
            "each step once, the last repeats"
        )
        assert len(server.requests) == CONCURRENT
