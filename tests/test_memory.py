"""Memory stays bounded however long a server runs: reloads, API keys under a rate limit,
Responses conversations and large request bodies each cost a bounded amount.

Memory is measured with tracemalloc, which follows every allocation of the process (the
server thread's too): tracing starts, a warm-up fills what is meant to stay (caches, the
newest windows or conversations), then the growth is measured over the rest."""

from __future__ import annotations

import gc
import http.client
import json
import os
import textwrap
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_llm_mock import LLMMockServer

from . import http as plain_http
from . import postman
from .served import run_cli, serving

MiB = 1024 * 1024


def connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "tests only talk to loopback"
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def post(
    connection: http.client.HTTPConnection,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    connection.request(
        "POST",
        path,
        body=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """Trace allocations; the callable gives the bytes traced now, after a collection."""
    tracemalloc.start()

    def now() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    try:
        yield now
    finally:
        tracemalloc.stop()


def growth(send: Callable[[int], None], count: int, warm_up: int) -> int:
    """Bytes still held after `send(n)` for n from `warm_up` to `count`, compared with after
    the first `warm_up` (all of them traced)."""
    with traced() as now:
        for number in range(warm_up):
            send(number)
        before = now()
        for number in range(warm_up, count):
            send(number)
        return now() - before


# -- reloads ------------------------------------------------------------------------------


def big_collection(items: int, name: str) -> dict[str, Any]:
    """About 10 KB of file per item."""
    return postman.collection(
        *(
            postman.chat_item(f"item {n}", postman.chat_body(("user", question(n))), answer(n))
            for n in range(items)
        ),
        name=name,
    )


def question(number: int) -> str:
    return f"question {number} " + "q" * 5000


def answer(number: int) -> str:
    return f"answer {number} " + "a" * 5000


def save(path: Path, data: dict[str, Any], version: int) -> None:
    """Write `data` as a new save of `path`, with a modification time of its own."""
    data["info"]["name"] = f"version {version}"
    path.write_text(json.dumps(data), encoding="utf-8")
    stamp = (1_700_000_000 + version) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_100_reloads_of_an_800_kb_collection_keep_memory_flat(tmp_path: Path) -> None:
    """Each save of a collection that `use()` (or a watching `serve`) reloads replaces the
    last one: nothing keeps the old collection or the indexes built for it (the old code kept
    1.3 MiB per save of this file, 132 MiB in all)."""
    path = tmp_path / "collection.json"
    data = big_collection(80, "version 0")
    save(path, data, 0)
    assert 750_000 < path.stat().st_size < 900_000
    # A journal of one request: what is measured is what reloads keep, not the requests.
    with LLMMockServer(path, strict=False, journal_limit=1) as mock:
        client = connect(mock.url)

        def reload(version: int) -> None:
            save(path, data, version + 1)
            mock.use(path)
            assert mock.collection.name == f"version {version + 1}"
            asked = postman.chat_body(("user", question(version % 80)))
            _, body = post(client, "/v1/chat/completions", asked)
            assert body["choices"][0]["message"]["content"] == answer(version % 80)

        grown = growth(reload, count=103, warm_up=3)
        client.close()
    assert grown < 5 * MiB, f"100 reloads kept {grown / MiB:.1f} MiB"


def test_loading_100_collection_files_keeps_the_last_loads_of_32(tmp_path: Path) -> None:
    """Files are parsed once while unchanged, but the cache of parsed files keeps only the 32
    most recently used: a session that loads many files (one per test in `tmp_path`) holds
    as much after 100 files as after 40 (the old code held 2.5 times as much: all 100)."""
    data = big_collection(10, "a file")
    with LLMMockServer(strict=False, journal_limit=1) as mock, traced() as now:
        before = now()
        held = []
        for number in range(100):
            path = tmp_path / f"collection-{number}.json"
            save(path, data, number)
            mock.use(path)
            assert mock.collection.path == path.resolve()
            if number + 1 in (40, 100):
                held.append(now() - before)
    after_40, after_100 = held
    assert after_100 < 1.5 * after_40, f"{after_100 / MiB:.1f} MiB, {after_40 / MiB:.1f} at 40"


def test_collections_saved_between_tests_are_not_all_kept_for_late_requests(
    pytester: pytest.Pytester,
) -> None:
    """A test that ends keeps its collection for requests that arrive late, but not every
    test's: a collection saved between tests (record mode, an edited file) is not kept 100
    times (the old code kept the last 1,024 tests' collections: 25 MiB more here)."""
    pytester.makepyfile(
        textwrap.dedent(
            """
            import gc
            import json
            import os
            import tracemalloc
            from pathlib import Path

            import pytest

            PATH = Path("saved.json")
            ITEM = {
                "name": "item",
                "request": {"method": "POST", "url": "{{baseUrl}}/v1/chat/completions",
                            "body": {"mode": "raw", "raw": json.dumps(
                                {"messages": [{"role": "user", "content": "q" * 300}]})}},
                "response": [{"name": "e", "code": 200, "body": "a" * 300}],
            }
            measured = {}


            def traced():
                gc.collect()
                return tracemalloc.get_traced_memory()[0]


            @pytest.mark.parametrize("version", range(100))
            def test_saved(llm_mock_server, version):
                data = {"info": {"name": f"v{version}"}, "item": [ITEM] * 200}
                PATH.write_text(json.dumps(data))
                os.utime(PATH, ns=(version * 10**9, version * 10**9))
                llm_mock_server.use(PATH)
                if version == 0:
                    tracemalloc.start()
                if version == 40:  # what is kept for late requests is all traced by now
                    measured["before"] = traced()
                if version == 99:
                    grown = traced() - measured["before"]
                    tracemalloc.stop()
                    assert grown < 5 * 2**20, f"{grown / 2**20:.1f} MiB kept"
            """
        )
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=100)


# -- rate limits and conversations --------------------------------------------------------


def test_10000_api_keys_under_a_rate_limit_leave_no_lasting_memory() -> None:
    """A key's window that has ended is forgotten (its next request starts a new one): a
    long-running `serve --rate-limit` seen by many keys holds only the windows still open
    (the old code kept every key's window, 3 MiB for these 9,000 keys)."""
    with LLMMockServer(strict=False, journal_limit=10) as mock:
        mock.rate_limit(5, window=0.05)
        mock.add_response("ok")
        client = connect(mock.url)
        hello = postman.chat_body(("user", "Hello"))

        def send(number: int) -> None:
            key = f"sk-proj-{number:08d}" + "k" * 200
            status, body = post(
                client, "/v1/chat/completions", hello, {"authorization": f"Bearer {key}"}
            )
            assert status == 200, body

        grown = growth(send, count=10_000, warm_up=1_000)
        client.close()
    assert grown < 1 * MiB, f"9,000 API keys kept {grown / MiB:.1f} MiB"


def test_10000_responses_conversations_keep_memory_bounded() -> None:
    """A test keeps the 1,000 most recently used Responses conversations: a long-running
    `serve` answering 10,000 conversations holds no more than 1,000 of them (the old code
    kept all, 2 KB each here), and a forgotten `previous_response_id` says why."""
    with LLMMockServer(strict=False, journal_limit=10) as mock:
        mock.add_response("ok " + "o" * 500)
        client = connect(mock.url)
        ids: list[str] = []

        def send(number: int) -> None:
            body = {"model": "m", "input": f"conversation {number} " + "h" * 1000}
            status, answer = post(client, "/v1/responses", body)
            assert status == 200, answer
            ids.append(answer["id"])

        grown = growth(send, count=10_000, warm_up=2_000)
        follow_up = {"model": "m", "input": "and then?", "previous_response_id": ids[-1]}
        status, answer = post(client, "/v1/responses", follow_up)
        assert status == 200, answer
        forgotten = {**follow_up, "previous_response_id": ids[0]}
        status, answer = post(client, "/v1/responses", forgotten)
        client.close()
    assert grown < 2 * MiB, f"8,000 conversations kept {grown / MiB:.1f} MiB"
    assert status == 400
    assert answer["error"]["code"] == "previous_response_not_found"
    assert answer["error"]["message"] == (
        f"Previous response with id '{ids[0]}' not found. pytest-llm-mock keeps the 1000 "
        "most recently used responses of a test and has forgotten older ones."
    )


# -- the journal's byte limit ---------------------------------------------------------------


def test_the_journal_keeps_its_byte_limit_with_large_bodies_and_every_miss() -> None:
    """50 answered requests of 1 MiB and 5 unanswered ones with an 8 MiB journal: the
    newest requests are kept up to 8 MiB, the others counted as dropped, and every miss is
    still listed with its explanation and fails the test."""
    with LLMMockServer(strict=False, journal_max_size=8 * MiB) as mock:
        mock.add_response("ok", contains="answer me")
        client = connect(mock.url)
        sent: list[tuple[str, int]] = []
        for number in range(50):
            if number % 10 == 9:
                text = f"nobody answers {number} " + "n" * MiB
                sent.append((text, 404))
            text = f"answer me {number} " + "x" * MiB
            sent.append((text, 200))
        for text, expected in sent:
            status, body = post(client, "/v1/chat/completions", postman.chat_body(("user", text)))
            assert status == expected, body
        client.close()
        kept = mock.requests
        misses = mock.unmatched
        failures = mock.failures()
    assert 6 <= len(kept) <= 8
    assert sum(len(json.dumps(r.json)) for r in kept) <= 8 * MiB
    assert [r.last_user_message for r in kept] == [text for text, _ in sent[-len(kept) :]]
    assert mock.dropped_requests == len(sent) - len(kept)
    assert [r.last_user_message for r in misses] == [t for t, status in sent if status == 404]
    assert all("No example" in (r.miss or "") for r in misses)
    assert failures is not None
    assert failures.startswith("5 request(s) were not answered by any example:")


def test_the_memory_a_journal_holds_stays_near_its_byte_limit() -> None:
    """What the journal holds of 50 requests of 1 MiB stays under twice its 8 MiB limit
    (a request's parsed JSON is about its size); the old code held all 50."""
    with LLMMockServer(strict=False, journal_max_size=8 * MiB) as mock:
        client = connect(mock.url)

        def send(number: int) -> None:
            body = {
                "model": "text-embedding-3-small",
                "input": f"text {number} " + "x" * MiB,
                "dimensions": 8,
                "encoding_format": "float",
            }
            status, answer = post(client, "/v1/embeddings", body)
            assert status == 200, answer

        grown = growth(send, count=50, warm_up=0)
        client.close()
        assert 6 <= len(mock.requests) <= 8
    assert grown < 16 * MiB, f"the journal held {grown / MiB:.1f} MiB"


def test_the_journal_byte_limit_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_journal_max_size = 3000\n")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import openai

            def test_it(llm_mock_server):
                llm_mock_server.add_response("ok")
                client = llm_mock_server.openai_client(max_retries=0)
                for number in range(5):
                    text = f"{number} " + "x" * 1000
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": text}]
                    )
                kept = llm_mock_server.requests
                assert 1 <= len(kept) <= 2
                assert llm_mock_server.dropped_requests == 5 - len(kept)
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["the journal limit was reached: * requests were not kept *"])
    pytester.makeini("[pytest]\nllm_journal_max_size = 0\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pytest-llm-mock: ini option llm_journal_max_size must be 1 or more, got 0"]
    )


def test_serve_keeps_the_journal_within_its_byte_limit_and_says_so(tmp_path: Path) -> None:
    collection = postman.write(tmp_path / "c.json", postman.collection())
    with serving(str(collection), "--journal-max-size", "3000", cwd=tmp_path) as served:
        root = served.base_url.removesuffix("/v1")
        for number in range(5):
            body = postman.chat_body(("user", f"{number} " + "x" * 1000))
            response = plain_http.request(root, "POST", "/v1/chat/completions", body)
            assert response.status == 404
        served.wait_for(
            "pytest-llm-mock: the journal limit (10000 requests, 3000 bytes) was reached: "
            "older requests drop"
        )
        journal = plain_http.request(root, "GET", "/_llm_mock/requests").json()
        assert 1 <= len(journal) <= 2
        served.process.terminate()
        assert served.process.wait(10) == 1, "the misses the limit dropped still count"
        served.wait_for("pytest-llm-mock stopped: 5 requests, 5 not answered")
    refused = run_cli("serve", "--journal-max-size", "0", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == "pytest-llm-mock: error: --journal-max-size must be 1 or more\n"
