"""Which provider's door a request came through, and which door an example is saved for: the
last line of every miss's explanation (in the error the client gets and in the journal) and
each example of `GET /_llm_mock/collection`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llm_mock import LLMMockServer

from .. import http, postman

USER: Any = [{"role": "user", "content": "Nothing answers this"}]
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
GEMINI_BODY: Any = {"contents": [{"role": "user", "parts": [{"text": "Nothing answers this"}]}]}
CONVERSE_BODY: Any = {"messages": [{"role": "user", "content": [{"text": "Nothing answers this"}]}]}

# door, path, body, extra headers
DOORS: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    ("OpenAI chat", "/v1/chat/completions", {"model": "m", "messages": USER}, {}),
    ("OpenAI Responses", "/v1/responses", {"model": "m", "input": "Nothing answers this"}, {}),
    ("OpenAI completions", "/v1/completions", {"model": "m", "prompt": "Nothing"}, {}),
    ("Anthropic", "/v1/messages", {"model": "m", "max_tokens": 9, "messages": USER}, {}),
    ("Azure OpenAI", "/openai/deployments/d/chat/completions", {"messages": USER}, {}),
    ("Ollama", "/api/chat", {"model": "m", "messages": USER, "stream": False}, {}),
    ("Ollama", "/api/generate", {"model": "m", "prompt": "Nothing", "stream": False}, {}),
    (
        "Google Gemini and Vertex AI",
        "/v1beta/models/gemini-2.0-flash:generateContent",
        GEMINI_BODY,
        {"x-goog-api-key": "k"},
    ),
    (
        "Google Gemini and Vertex AI",
        "/v1beta1/projects/p/locations/l/publishers/google/models/gemini-2.0-flash:generateContent",
        GEMINI_BODY,
        {},
    ),
    ("AWS Bedrock", f"/model/{CLAUDE}/converse", CONVERSE_BODY, {}),
    (
        "AWS Bedrock",
        f"/model/{CLAUDE}/invoke",
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 9, "messages": USER},
        {},
    ),
    ("Cohere", "/v2/chat", {"model": "command-a", "messages": USER}, {}),
]


def error_message(body: Any) -> str:
    """The message of any provider's error body."""
    error = body.get("error", body)
    return str(error if isinstance(error, str) else error["message"])


@pytest.mark.parametrize(("door", "path", "body", "headers"), DOORS)
def test_a_miss_ends_with_the_door_it_came_through(
    door: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    with LLMMockServer(strict=False) as server:
        reply = http.request(
            server.url, "POST", path, body, {"Content-Type": "application/json", **headers}
        )
        (entry,) = server.requests
    assert reply.status == 404, reply.body
    said = f"The request came through the {door} door: POST {path}."
    assert error_message(reply.json()).splitlines()[-1] == said
    assert entry.miss is not None
    assert entry.miss.splitlines()[-1] == said


def test_a_miss_under_a_tests_prefix_names_the_doors_own_path(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import ollama
        import pytest

        def test_miss(llm_mock_server):
            with ollama.Client(host=llm_mock_server.url) as client:
                with pytest.raises(ollama.ResponseError) as missed:
                    client.chat(model="llama3.2", messages=[{"role": "user", "content": "No"}])
            assert missed.value.error.endswith(
                "The request came through the Ollama door: POST /api/chat."
            )
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # strict: the miss fails the test at teardown
    result.stdout.fnmatch_lines(["*   The request came through the Ollama door: POST /api/chat."])


def test_the_collection_lists_the_door_each_example_is_saved_for(tmp_path: Path) -> None:
    def saved(name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return postman.item(name, body, postman.example(name, "answer"), path=path)

    path = postman.write(
        tmp_path / "doors.json",
        postman.collection(
            saved("chat", "v1/chat/completions", postman.chat_body(("user", "Hi"))),
            saved("ollama", "api/chat", {"model": "llama3.2", "messages": USER}),
            saved("gemini", "v1beta/models/gemini-2.0-flash:generateContent", GEMINI_BODY),
            saved("bedrock", f"model/{CLAUDE}/converse", CONVERSE_BODY),
            saved("cohere", "v2/chat", {"model": "command-a", "messages": USER}),
            saved("claude", "v1/messages", {"model": "c", "max_tokens": 9, "messages": USER}),
        ),
    )
    with LLMMockServer(path) as server:
        listed = http.request(server.url, "GET", "/_llm_mock/collection").json()
    assert [(e["name"], e["door"]) for e in listed["examples"]] == [
        ("chat/chat", "OpenAI chat"),
        ("ollama/ollama", "Ollama"),
        ("gemini/gemini", "Google Gemini and Vertex AI"),
        ("bedrock/bedrock", "AWS Bedrock"),
        ("cohere/cohere", "Cohere"),
        ("claude/claude", "Anthropic"),
    ]
