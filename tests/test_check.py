"""`pytest-llm-mock check`: each kind of finding, and the exit codes 0, 1 and 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock.cli import main

from . import postman
from .conftest import DEFAULT_COLLECTION
from .served import run_cli, serving

HI = postman.chat_body(("user", "hi"))
DOWN = {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    return code, capsys.readouterr().out.strip().splitlines()


def check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *items: Any, match: str = "conversation"
) -> tuple[int, list[str]]:
    path = postman.write(tmp_path / "c.json", postman.collection(*items))
    return run(capsys, str(path), "--match", match)


def test_a_clean_collection_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, str(DEFAULT_COLLECTION))
    assert code == 0
    assert lines == [f"{DEFAULT_COLLECTION}: 15 examples, no findings (match: conversation)"]


CASES = [
    (
        [postman.item("lonely", HI)],
        "item 'lonely': has no saved example, so it answers nothing; save one in Postman",
    ),
    (
        [postman.item("typo", HI, postman.example("e", "a"), path="v1/chat/completion")],
        "item 'typo', example 'e': path /v1/chat/completion is not served (did you mean "
        "/v1/chat/completions?): it can never be reached",
    ),
    (
        [
            {
                "name": "got",
                "request": postman.request(postman.chat_body(("user", "hi")), "api/chat", "GET"),
                "response": [postman.example("e", "a")],
            }
        ],
        "item 'got', example 'e': method GET on /api/chat: only POST is served",
    ),
    (
        [postman.item("no body", None, postman.example("e", "a"))],
        "item 'no body', example 'e': has no request body, so no request matches it (only "
        "x-mock-response-name reaches it)",
    ),
    (
        [postman.item("bad error", HI, postman.example("e", {"detail": "nope"}, status=500))],
        "item 'bad error', example 'e': status 500 with a body that is not an OpenAI error "
        'envelope {"error": {"message", "type", "param", "code"}}; SDKs will show it raw',
    ),
    (
        [postman.chat_item("one", HI, "a"), postman.chat_item("two", HI, "b")],
        "item 'one', example 'one': 2 examples answer the same request for model "
        "'gpt-4o-mini' ('one', 'two'): they "
        "form a sequence (1st call, 2nd call, ...); if that is not meant, make the requests "
        "differ",
    ),
    (
        [postman.chat_item("ok", HI, "a"), postman.chat_item("down", HI, DOWN, status=503)],
        "item 'ok', example 'ok': the sequence for model 'gpt-4o-mini' ('ok', 'down') answers "
        "[200, 503]: an error "
        "after a success is reached only by a later call; put errors first for a retry",
    ),
    (
        [
            postman.chat_item("any", postman.chat_body(("user", "hi"), model=None), "a"),
            postman.chat_item("mini", HI, "b"),
        ],
        "item 'any', example 'any': 2 examples share this request; some name a model and some "
        "do not, so requests for a named model see only theirs while others see all in sequence",
    ),
]


@pytest.mark.parametrize(("items", "finding"), CASES)
def test_each_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], items: list[Any], finding: str
) -> None:
    code, lines = check(tmp_path, capsys, *items)
    assert code == 1
    assert lines[0] == f"{tmp_path / 'c.json'}, {finding}"
    assert lines[-1].startswith("1 finding in ")


@pytest.mark.parametrize(
    ("saved", "shown", "meant"),
    [
        ("model/m/conversee", "/model/m/conversee", "/model/m/converse"),
        ("api/chatt", "/api/chatt", "/api/chat"),
        ("v2/chatt", "/v2/chatt", "/v2/chat"),
        (
            "openai/deployments/d/chat/completion?api-version=2024-10-21",
            "/openai/deployments/d/chat/completion",
            "/openai/deployments/d/chat/completions",
        ),
        (
            "v1beta/modles/gemini-2.0-flash:generateContent",
            "/v1beta/modles/gemini-2.0-flash:generateContent",
            "/v1beta/models/gemini-2.0-flash:generateContent",
        ),
        ("v1/embedings", "/v1/embedings", "/v1/embeddings"),
        ("api/pull", "/api/pull", None),  # an Ollama path, but not one examples answer
    ],
)
def test_a_mistyped_path_is_shown_as_saved_with_the_path_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], saved: str, shown: str, meant: str | None
) -> None:
    typo = postman.item("typo", HI, postman.example("e", "a"), path=saved)
    code, lines = check(tmp_path, capsys, typo)
    guess = f" (did you mean {meant}?)" if meant else ""
    assert (code, lines) == (
        1,
        [
            f"{tmp_path / 'c.json'}, item 'typo', example 'e': path {shown} is not served"
            f"{guess}: it can never be reached",
            "1 finding in 1 examples",
        ],
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("openai/deployments/d/chat/completions?api-version=2024-10-21", HI),
        ("v2/chat", postman.chat_body(("user", "hi"), model="command-a")),
        (
            "v1beta/models/gemini-2.0-flash:generateContent",
            {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        ),
        ("model/m/converse", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
        ("api/chat", postman.chat_body(("user", "hi"), model="llama3.2")),
    ],
    ids=["azure", "cohere", "gemini", "bedrock", "ollama"],
)
def test_examples_saved_on_the_providers_paths_have_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, body: dict[str, Any]
) -> None:
    saved = postman.item("saved", body, postman.example("e", "a"), path=path)
    code, lines = check(tmp_path, capsys, saved)
    assert (code, lines) == (
        0,
        [f"{tmp_path / 'c.json'}: 1 examples, no findings (match: conversation)"],
    )


def test_a_retry_sequence_and_per_model_answers_are_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limited = postman.chat_item("limited", HI, DOWN, status=429)
    retried = postman.chat_item("retried", HI, "ok")
    claude = postman.chat_item(
        "claude", postman.chat_body(("user", "x"), model="claude"), DOWN, status=503
    )
    gpt = postman.chat_item("gpt", postman.chat_body(("user", "x"), model="gpt"), "ok")
    code, _ = check(tmp_path, capsys, limited, retried, claude, gpt)
    assert code == 0


def test_an_example_without_a_key_under_the_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = check(tmp_path, capsys, postman.chat_item("plain", HI, "a"), match="rasa")
    assert code == 1
    assert (
        "its request has no key under the 'rasa' strategy (the Rasa conversation section "
        "was not found" in lines[0]
    )


def test_a_file_that_does_not_parse_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"item": [', encoding="utf-8")
    code, lines = run(capsys, str(path))
    assert code == 1
    assert lines == [f"{path}: is not valid JSON: Expecting value at line 1 column 11", "1 finding"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "missing.json"], "pytest-llm-mock: error: missing.json: no such file"),
        (["check", "x.json", "--match", "fuzzy"], "unknown match strategy 'fuzzy'"),
        (["check"], "the following arguments are required: collection"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def selecting(name: str, body: Any, answer: str, header: str, value: str) -> Any:
    """An item whose saved request carries a Postman selection header."""
    item = postman.chat_item(name, body, answer)
    item["request"]["header"].append({"key": header, "value": value, "type": "text"})
    return item


def test_a_saved_selection_header_naming_another_items_example_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = selecting("Own", HI, "mine", "x-mock-response-name", "Own")
    stale = selecting(
        "Stale", postman.chat_body(("user", "bye")), "bye", "x-mock-response-name", "Own"
    )
    dangling = selecting(
        "Dangling", postman.chat_body(("user", "why")), "why", "X-Mock-Response-Id", "gone"
    )
    disabled = selecting("Off", postman.chat_body(("user", "off")), "off", "x", "y")
    disabled["request"]["header"][-1] = {
        "key": "x-mock-response-name",
        "value": "Own",
        "disabled": True,
    }
    code, lines = check(tmp_path, capsys, own, stale, dangling, disabled)
    assert code == 1
    path = tmp_path / "c.json"
    assert lines == [
        f"{path}, item 'Stale' (examples: 'Stale'): its saved request sends x-mock-response-name: "
        "'Own', which names example 'Own' of item 'Own', not one of this item's own. Postman's "
        "runner sends saved headers, and the mock (as Postman's mock servers do) answers with "
        "the example they name, not by the request's messages: remove the header or make it "
        "name this item's example",
        f"{path}, item 'Dangling' (examples: 'Dangling'): its saved request sends "
        "x-mock-response-id: 'gone', which names no example in the collection. Postman's "
        "runner sends saved headers, and the mock (as Postman's mock servers do) answers with "
        "the example they name, not by the request's messages: remove the header or make it "
        "name this item's example",
        "2 findings in 4 examples",
    ]


def test_serve_logs_an_answer_chosen_by_a_selection_header(tmp_path: Path) -> None:
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as served:
        client = openai.OpenAI(base_url=served.base_url, api_key="k", max_retries=0)
        with client:
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "anything"}],
                extra_headers={"x-mock-response-name": "Greeting"},
            )
        line = served.wait_for("POST /v1/chat/completions 200")
    assert "Small talk/Hello/Greeting (chosen by x-mock-response-name, not by the messages)" in line


def test_one_item_that_cannot_be_read_hides_no_finding_in_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = postman.chat_item("Broken", HI, "never", status=200)
    broken["response"][0]["code"] = 999
    lonely = postman.item("Lonely", postman.chat_body(("user", "bye")))
    fine = postman.chat_item("Fine", postman.chat_body(("user", "fine")), "ok")
    code, lines = check(tmp_path, capsys, broken, lonely, fine)
    path = tmp_path / "c.json"
    assert code == 1
    assert lines[0].startswith(f"{path}, item 'Broken/Broken', field 'response[0].code': ")
    assert lines[1:] == [
        f"{path}, item 'Lonely': has no saved example, so it answers nothing; save one in Postman",
        "2 findings in 1 examples",
    ]
