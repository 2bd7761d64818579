"""Hostile collection files: each loads or fails with a clear error naming the file, and none
crashes the session. (Collection errors by field are in test_collection.py.)"""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import CollectionError, LLMMockServer, load_collection
from pytest_llm_mock._depth import MAX_DEPTH

from . import postman


def test_a_50_mb_answer_loads_and_is_served(tmp_path: Path) -> None:
    big = "x" * (50 * 1024 * 1024)
    item = postman.chat_item("big", postman.chat_body(("user", "big?")), big)
    path = postman.write(tmp_path / "big.json", postman.collection(item))
    with LLMMockServer(path) as server:
        client = server.openai_client()
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "big?"}]
        )
    assert len(reply.choices[0].message.content or "") == len(big)


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = postman.chat_item("deep", postman.chat_body(("user", "deep?")), "yes")
    for level in range(depth):
        node = {"name": f"f{level}", "item": [node]}
    return node


def test_folders_200_deep_load(tmp_path: Path) -> None:
    path = postman.write(tmp_path / "deep.json", postman.collection(nested(200)))
    (example,) = load_collection(path).examples
    assert len(example.folders) == 200


def test_nesting_too_deep_for_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bomb.json"
    path.write_text('{"item": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(
        CollectionError, match=r"bomb\.json: is nested too deeply to be a collection"
    ):
        load_collection(path)


def deep_list(depth: int) -> Any:
    """Arrays `depth` levels deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_collection_as_deep_as_the_limit_loads_and_one_level_more_is_a_clear_error(
    tmp_path: Path,
) -> None:
    """One limit, whatever depth this Python's json module gives up at (3.13 parses 5,000)."""
    item = postman.chat_item("hi", postman.chat_body(("user", "hi")), "hello")
    for depth, loads in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        data = postman.collection(item)
        data["extra"] = deep_list(depth - 1)  # inside the file's own object
        path = postman.write(tmp_path / f"deep-{depth}.json", data)
        if loads:
            assert [e.full_name for e in load_collection(path).examples] == ["hi/hi"]
            continue
        with pytest.raises(CollectionError) as raised:
            load_collection(path)
        assert str(raised.value) == (
            f"{path}: is nested too deeply to be a collection "
            "(more than 512 levels of arrays and objects)"
        )


def _deep_request(item: dict[str, Any]) -> None:
    body = {**postman.chat_body(("user", "hi")), "extra": deep_list(MAX_DEPTH)}
    item["request"]["body"]["raw"] = json.dumps(body)


def _deep_answer(item: dict[str, Any]) -> None:
    item["response"][0]["body"] = json.dumps({"extra": deep_list(MAX_DEPTH)})


def _deep_stream(item: dict[str, Any]) -> None:
    example = item["response"][0]
    example["header"] = [{"key": "Content-Type", "value": "text/event-stream"}]
    example["body"] = f"data: {json.dumps(deep_list(MAX_DEPTH + 1))}\n\ndata: [DONE]\n\n"


@pytest.mark.parametrize(
    ("deepen", "error"),
    [
        (_deep_request, "field 'request.body.raw': nested too deeply"),
        (_deep_answer, "field 'response[0].body': nested too deeply"),
        (
            _deep_stream,
            "field 'response[0].body': line 1 of the recorded stream is nested too deeply",
        ),
    ],
    ids=["request-body", "answer-body", "recorded-stream"],
)
def test_json_saved_in_a_collection_deeper_than_the_limit_is_a_clear_error(
    tmp_path: Path, deepen: Callable[[dict[str, Any]], None], error: str
) -> None:
    item = postman.chat_item("hi", postman.chat_body(("user", "hi")), "hello")
    deepen(item)
    path = postman.write(tmp_path / "deep.json", postman.collection(item))
    with pytest.raises(CollectionError) as raised:
        load_collection(path)
    assert str(raised.value).endswith(f"{error} (more than 512 levels of arrays and objects)"), str(
        raised.value
    )


def test_a_json_bomb_of_arrays_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    path.write_text(json.dumps({"item": [[[1] * 10] * 10] * 20_000}))
    with pytest.raises(CollectionError, match=r"item '#1', field 'item': expected an object"):
        load_collection(path)


def test_duplicate_names_load_as_separate_examples(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "same?"))
    items = [postman.chat_item("twin", body, "first"), postman.chat_item("twin", body, "second")]
    path = postman.write(tmp_path / "twins.json", postman.collection(*items))
    first, second = load_collection(path).examples
    assert first.full_name == second.full_name == "twin/twin"
    assert first.uid != second.uid
    with LLMMockServer(path) as server:
        client = server.openai_client()
        answers = [
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "same?"}]
            )
            .choices[0]
            .message.content
            for _ in range(2)
        ]
    assert answers == ["first", "second"], "equal requests form a sequence"


def test_a_broken_collection_in_a_session_is_a_usage_error_not_a_crash(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "collection.json").write_bytes(b"\xff\xfe\x00{broken")
    pytester.makepyfile("def test_it(llm_mock_server):\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*collection.json: is not UTF-8 text (invalid byte at offset 0)*"])


def hostile_files() -> dict[str, bytes]:
    answer = postman.chat_item("big", postman.chat_body(("user", "big?")), "x" * (20 * 1024 * 1024))
    whole = json.dumps(postman.collection(answer)).encode()
    return {
        "truncated": whole[: len(whole) // 2],
        "deep": b'{"item": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "bomb": json.dumps({"item": [[[1] * 10] * 10] * 20_000}).encode(),
        "not-utf-8": b'{"item": "' + b"\xff" * (10 * 1024 * 1024) + b'"}',
        "wrong-types": json.dumps(
            {"info": 5, "item": [{"request": [], "response": 7}] * 10_000}
        ).encode(),
    }


EXPECTED = {
    "truncated": "is not valid JSON: Unterminated string starting at line 1 column",
    "deep": "is nested too deeply to be a collection",
    "bomb": "item '#1', field 'item': expected an object",
    "not-utf-8": "is not UTF-8 text (invalid byte at offset 10)",
    "wrong-types": "item '#1', field 'request': missing or not an object",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_files_fail_in_bounded_time_and_memory(tmp_path: Path, name: str) -> None:
    """Each fails with an error naming the file, before a generous deadline, using memory
    within a few times the file's size."""
    data = hostile_files()[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(data)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_collection(path)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    tracemalloc.start()
    try:
        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        worker.join(timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"loading {name} did not finish"
    (error,) = outcome
    assert isinstance(error, CollectionError), repr(error)
    assert f"{name}.json" in str(error)
    assert EXPECTED[name] in str(error)
    assert peak < 8 * len(data) + 64 * 1024 * 1024, f"{peak / 2**20:.0f} MiB for {name}"
