"""Reading Postman collections: what is taken from where, and errors that name the place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import CollectionError, load_collection
from pytest_llm_mock._collection import ObjectAnswer, TextAnswer, canonical_path
from pytest_llm_mock._postman import load_cached

from . import postman


def load(tmp_path: Path, data: Any) -> Any:
    return load_collection(postman.write(tmp_path / "c.json", data))


def test_nested_folders_give_full_names_in_document_order(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "hi"))
    data = postman.collection(
        postman.folder(
            "A",
            postman.folder("B", postman.chat_item("deep", body, "1", example_name="one")),
            postman.chat_item("shallow", body, "2"),
        ),
        postman.chat_item("top", body, "3"),
    )
    examples = load(tmp_path, data).examples
    assert [e.full_name for e in examples] == ["A/B/deep/one", "A/shallow/shallow", "top/top"]
    assert [e.position for e in examples] == [0, 1, 2]
    assert examples[0].folders == ("A", "B")
    assert examples[0].item_path == "A/B/deep"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        (
            {
                "raw": "{{baseUrl}}/v1/chat/completions",
                "host": ["{{baseUrl}}"],
                "path": ["v1", "chat", "completions"],
            },
            "/chat/completions",
        ),
        (
            {
                "raw": "{{baseUrl}}/chat/completions",
                "host": ["{{baseUrl}}"],
                "path": ["chat", "completions"],
            },
            "/chat/completions",
        ),
        ("https://api.openai.com/v1/chat/completions", "/chat/completions"),
        ("{{url}}/v1/chat/completions", "/chat/completions"),
        ("{{base}}/{{version}}/chat/completions", "/chat/completions"),
        ("localhost:8080/v1/models?x=1", "/models"),
        ({"raw": "{{baseUrl}}/v1/embeddings"}, "/embeddings"),
        ({"path": "/v1/chat/completions"}, "/chat/completions"),
    ],
)
def test_the_host_is_ignored_and_v1_is_optional(tmp_path: Path, url: Any, path: str) -> None:
    data = postman.collection(
        postman.chat_item("x", postman.chat_body(("user", "hi")), "a"), variables={"version": "v1"}
    )
    data["item"][0]["request"]["url"] = url
    assert load(tmp_path, data).examples[0].path == path


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/v1/chat/completions", "/chat/completions"),
        ("chat/completions/", "/chat/completions"),
        ("/v1", "/"),
        ("/", "/"),
        ("/v1models", "/v1models"),
    ],
)
def test_canonical_path(raw: str, canonical: str) -> None:
    assert canonical_path(raw) == canonical


def test_collection_variables_are_substituted_in_request_bodies(tmp_path: Path) -> None:
    body = {"model": "{{model}}", "messages": [{"role": "user", "content": "{{greeting}} there"}]}
    data = postman.collection(
        postman.chat_item("x", body, "a"), variables={"model": "gpt-4o", "greeting": "Hi"}
    )
    example = load(tmp_path, data).examples[0]
    assert example.model == "gpt-4o"
    assert example.request.messages[0].text == "Hi there"


def test_the_example_original_request_wins_over_the_item_body(tmp_path: Path) -> None:
    item = postman.item(
        "chat",
        postman.chat_body(("user", "from the item")),
        postman.example(
            "first", "1", original_body=postman.chat_body(("user", "from the example"))
        ),
        postman.example("second", "2"),
    )
    first, second = load(tmp_path, postman.collection(item)).examples
    assert first.request.last_user_message == "from the example"
    assert second.request.last_user_message == "from the item"


def test_status_headers_and_controls(tmp_path: Path) -> None:
    headers: list[dict[str, Any]] = [
        {"key": "Content-Type", "value": "application/json"},
        {"key": "Content-Length", "value": "123"},
        {"key": "Content-Encoding", "value": "br"},
        {"key": "Transfer-Encoding", "value": "chunked"},
        {"key": "Connection", "value": "keep-alive"},
        {"key": "x-ratelimit-remaining-requests", "value": "9"},
        {"key": "X-LLM-Mock-Chunk-Size", "value": "5"},
        {"key": "x-disabled", "value": "1", "disabled": True},
    ]
    item = postman.item(
        "limited",
        postman.chat_body(("user", "hi")),
        postman.example("429", {"error": {"message": "slow down"}}, status=429, headers=headers),
    )
    example = load(tmp_path, postman.collection(item)).examples[0]
    assert example.status == 429
    assert example.headers == (("x-ratelimit-remaining-requests", "9"),)
    assert example.controls == {"chunk-size": "5"}


def test_v2_0_string_headers_are_read(tmp_path: Path) -> None:
    item = postman.item("x", postman.chat_body(("user", "hi")), postman.example("e", "a"))
    item["response"][0]["header"] = "Content-Type: text/plain\nx-custom: yes\n"
    assert load(tmp_path, postman.collection(item)).examples[0].headers == (("x-custom", "yes"),)


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("Just text", TextAnswer("Just text")),
        ("", TextAnswer("")),
        (None, TextAnswer("")),
        ('{"choices": []}', ObjectAnswer({"choices": []})),
        ("[1, 2]", TextAnswer("[1, 2]")),
        ('"quoted"', TextAnswer('"quoted"')),
        ('{"city": "Paris"}', TextAnswer('{"city": "Paris"}')),
        ('{"object": "chat.completion"}', ObjectAnswer({"object": "chat.completion"})),
    ],
)
def test_example_bodies_are_text_or_objects(tmp_path: Path, body: str | None, answer: Any) -> None:
    item = postman.item("x", postman.chat_body(("user", "hi")), postman.example("e", "a"))
    item["response"][0]["body"] = body
    assert load(tmp_path, postman.collection(item)).examples[0].answer == answer


def test_a_non_chat_item_has_no_chat_pattern(tmp_path: Path) -> None:
    item = postman.item(
        "models", None, postman.example("list", {"object": "list", "data": []}), path="v1/models"
    )
    example = load(tmp_path, postman.collection(item)).examples[0]
    assert (example.method, example.path, example.request) == ("POST", "/models", None)


def test_an_item_without_examples_serves_nothing(tmp_path: Path) -> None:
    item = postman.item("lonely", postman.chat_body(("user", "hi")))
    assert load(tmp_path, postman.collection(item)).examples == ()


def test_models_are_listed_in_order_of_first_appearance(tmp_path: Path) -> None:
    items = [
        postman.chat_item(str(i), postman.chat_body(("user", str(i)), model=model), "a")
        for i, model in enumerate(["b", "a", "b", "c"])
    ]
    assert load(tmp_path, postman.collection(*items)).models == ("b", "a", "c")


def _chat(**changes: Any) -> dict[str, Any]:
    item = postman.item("Chat", postman.chat_body(("user", "hi")), postman.example("ex", "a"))
    for dotted, value in changes.items():
        target: Any = item
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return postman.collection(postman.folder("Folder", item))


@pytest.mark.parametrize(
    ("data", "item", "field", "reason"),
    [
        ([], None, None, "expected a Postman collection (a JSON object)"),
        (
            {"info": {}},
            None,
            "item",
            "missing or not a list; expected a Postman collection v2.0/v2.1 export "
            "(File > Export in Postman)",
        ),
        ({"item": [], "variable": {"a": 1}}, None, "variable", "expected a list of {key, value}"),
        ({"item": [3]}, "#1", "item", "expected an object (a request or a folder)"),
        ({"item": [{"name": "F", "item": {}}]}, "F", "item", "a folder's items must be a list"),
        (_chat(request=5), "Folder/Chat", "request", "missing or not an object"),
        (_chat(response={}), "Folder/Chat", "response", "expected a list of saved examples"),
        (
            _chat(response__0__code=99),
            "Folder/Chat/ex",
            "response[0].code",
            "expected an HTTP status code (200-599), got 99",
        ),
        (
            _chat(response__0__code=101),
            "Folder/Chat/ex",
            "response[0].code",
            "expected an HTTP status code (200-599), got 101",
        ),
        (
            _chat(response__0__code=204),
            "Folder/Chat/ex",
            "response[0].code",
            "status 204 cannot carry a body; use 200 with an empty body instead",
        ),
        (
            _chat(response__0__header=[{"key": "bad name", "value": "x"}]),
            "Folder/Chat/ex",
            "response[0].header[0]",
            "'bad name' is not a valid HTTP header name",
        ),
        (
            _chat(response__0__header=[{"key": "x-ok", "value": "ok ✓"}]),
            "Folder/Chat/ex",
            "response[0].header[0]",
            "the value of 'x-ok' is not Latin-1 text, which HTTP headers must be: 'ok ✓'",
        ),
        (
            _chat(response__0__header=[{"key": "x-ok", "value": "a\r\nb: c"}]),
            "Folder/Chat/ex",
            "response[0].header[0]",
            "the value of 'x-ok' has a line break",
        ),
        (
            _chat(
                response__0__body='{"choices": [{"message": {"tool_calls": [{"function": "f"}]}}]}'
            ),
            "Folder/Chat/ex",
            "response[0].body",
            "not a valid chat.completion: choices[0].message.tool_calls[0].function: expected an "
            "object with a string 'name'",
        ),
        (
            _chat(response__0__body='{"choices": {}}'),
            "Folder/Chat/ex",
            "response[0].body",
            "not a valid chat.completion: choices: expected a list of choices",
        ),
        (
            _chat(response__0__header=7),
            "Folder/Chat/ex",
            "response[0].header",
            "expected a list of {key, value}",
        ),
        (
            _chat(response__0__header=[{"value": "x"}]),
            "Folder/Chat/ex",
            "response[0].header[0]",
            "expected an object with a string 'key'",
        ),
        (
            _chat(response__0__body='{"choices": ['),
            "Folder/Chat/ex",
            "response[0].body",
            "looks like JSON but does not parse: Expecting value at line 1 column 14",
        ),
        (
            _chat(response__0__body=12),
            "Folder/Chat/ex",
            "response[0].body",
            "expected the response body as a string",
        ),
        (
            _chat(request__body__raw="{not json"),
            "Folder/Chat/ex",
            "request.body.raw",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (
            _chat(request__body__raw='{"model": "m"}'),
            "Folder/Chat/ex",
            "request.body.raw",
            "not a chat-completion request (messages): Missing required parameter: 'messages'.",
        ),
        (
            _chat(request__body__raw='{"model": "m", "messages": [{"role": "robot"}]}'),
            "Folder/Chat/ex",
            "request.body.raw",
            'not a chat-completion request (messages[0].role): Invalid value: "robot". '
            "Supported values are: 'developer', 'system', 'user', 'assistant', 'tool', "
            "'function'.",
        ),
        (
            _chat(request__body__mode="formdata"),
            "Folder/Chat/ex",
            "request.body.mode",
            "body mode 'formdata' is not supported; save the request body as raw JSON",
        ),
        (
            _chat(request__url=None),
            "Folder/Chat/ex",
            "request.url",
            "missing; the request needs a URL such as {{baseUrl}}/v1/...",
        ),
    ],
)
def test_errors_name_the_file_item_and_field(
    tmp_path: Path, data: Any, item: str | None, field: str | None, reason: str
) -> None:
    path = (
        postman.write(tmp_path / "broken.json", data)
        if not isinstance(data, list)
        else tmp_path / "broken.json"
    )
    if isinstance(data, list):
        path.write_text(json.dumps(data))
    with pytest.raises(CollectionError) as excinfo:
        load_collection(path)
    error = excinfo.value
    assert (error.file, error.item, error.field, error.reason) == (str(path), item, field, reason)
    assert str(error).startswith(str(path))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is not valid JSON: Expecting value at line 1 column 1"),
        (b'{"item": [', "is not valid JSON: Expecting value at line 1 column 11"),
        (b"\xff\xfe{}", "is not UTF-8 text (invalid byte at offset 0)"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    with pytest.raises(CollectionError, match="^" + str(path) + ": ") as excinfo:
        load_collection(path)
    assert excinfo.value.reason == reason


def test_a_missing_file_and_a_directory_are_named(tmp_path: Path) -> None:
    with pytest.raises(CollectionError, match="no such file"):
        load_collection(tmp_path / "missing.json")
    with pytest.raises(CollectionError, match="is a directory"):
        load_collection(tmp_path)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(postman.collection()).encode())
    assert load_collection(path).examples == ()


def test_generated_ids_do_not_depend_on_where_the_file_lives(tmp_path: Path) -> None:
    data = postman.collection(postman.chat_item("x", postman.chat_body(("user", "hi")), "a"))
    here = load_collection(postman.write(tmp_path / "a" / "c.json", data))
    there = load_collection(postman.write(tmp_path / "b" / "other.json", data))
    assert here.examples[0].uid == there.examples[0].uid


def test_same_names_in_one_collection_get_different_ids(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "hi"))
    data = postman.collection(postman.chat_item("x", body, "a"), postman.chat_item("x", body, "b"))
    first, second = load(tmp_path, data).examples
    assert first.uid != second.uid


def test_a_pattern_without_model_fits_any_model(tmp_path: Path) -> None:
    body = postman.chat_body(("user", "hi"), model=None)
    collection = load(tmp_path, postman.collection(postman.chat_item("x", body, "a")))
    assert collection.examples[0].model is None
    assert collection.models == ()


def test_a_cached_collection_follows_its_symlink_when_it_points_elsewhere(tmp_path: Path) -> None:
    """Loaded once per file until it changes, and a symlink pointed at another file is a change
    even when neither file is: the other file's collection is served."""
    item = postman.chat_item("hello", postman.chat_body(("user", "Hello")), "Hi")
    first = postman.write(tmp_path / "a.json", postman.collection(item, name="first"))
    second = postman.write(tmp_path / "b.json", postman.collection(item, name="second"))
    link = tmp_path / "collection.json"
    link.symlink_to(first)
    assert load_cached(link).name == "first"
    assert load_cached(link) is load_cached(str(link))  # parsed once
    pointed = tmp_path / "pointed.json"
    pointed.symlink_to(second)
    pointed.replace(link)  # the link now names the second file; neither file changed
    assert load_cached(link).name == "second"
