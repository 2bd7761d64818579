"""Ollama's native API (`/api/...`) through the real `ollama.Client` and `ollama.AsyncClient`,
answered from the default collection's chat examples; raw HTTP only for what the client hides
(the stream's framing, the default `stream`, routes it has no method for)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import ollama
import openai
import pytest

from pytest_llm_mock import LLMMockServer, load_collection
from pytest_llm_mock.cli import main

from .. import http, postman
from ..scenarios import GREETING, HELLO, Weather, weather_tool_then_answer

QUARTERLY: Any = [{"role": "user", "content": "Summarize the quarterly report in one sentence."}]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def client(standalone: LLMMockServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=standalone.url) as sdk:
        yield sdk


def post(server: LLMMockServer, route: str, body: Any) -> http.HttpResponse:
    """A request as curl sends it, for what the client does not show."""
    return http.request(server.url, "POST", urlsplit(server.url).path + route, body)


def ndjson(response: http.HttpResponse) -> list[ollama.ChatResponse]:
    """Every line of an NDJSON stream, parsed with the client's own type."""
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.body.decode().splitlines()
    return [ollama.ChatResponse(**json.loads(line)) for line in lines]


def test_chat_answers_from_the_chat_examples_and_is_journaled(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    reply = client.chat(model="mock-llm-v1", messages=HELLO)
    assert reply.message.role == "assistant"
    assert reply.message.content == GREETING
    assert (reply.model, reply.done, reply.done_reason) == ("mock-llm-v1", True, "stop")
    assert reply.prompt_eval_count is not None
    assert reply.eval_count is not None
    assert reply.eval_count > 0
    assert reply.created_at is not None
    assert reply.created_at.endswith("Z")
    with_system = client.chat(
        model="mock-gpt-4",
        messages=[
            {"role": "system", "content": "You are an AI assistant with MCP protocol capabilities"},
            {"role": "user", "content": "Help me integrate MCP with AutoGen agents"},
        ],
    )
    assert "mcp_server_tools" in (with_system.message.content or "")
    entry = standalone.requests[0]
    assert (entry.method, entry.path, entry.model, entry.stream) == (
        "POST",
        "/api/chat",
        "mock-llm-v1",
        False,
    )
    assert entry.last_user_message == "Hello"
    assert entry.example == "Small talk/Hello/Greeting"
    assert entry.status == 200
    standalone.assert_call_count(2, path="/api/chat")
    # The same request gets the same bytes.
    assert client.chat(model="mock-llm-v1", messages=HELLO) == reply


def test_chat_streams_ndjson_and_streams_by_default(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    parts = list(client.chat(model="mock-llm-v1", messages=HELLO, stream=True))
    assert "".join(p.message.content or "" for p in parts) == GREETING
    assert len(parts) > 2
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].done_reason == "stop"
    assert parts[-1].eval_count is not None
    # Without `stream` in the body, Ollama streams: so does the mock, and the journal says so.
    streamed = ndjson(post(standalone, "/api/chat", {"model": "mock-llm-v1", "messages": HELLO}))
    assert "".join(p.message.content or "" for p in streamed) == GREETING
    assert streamed[-1].done is True
    single = post(standalone, "/api/chat", {"model": "m", "messages": HELLO, "stream": False})
    assert single.headers["content-type"] == "application/json"
    assert ollama.ChatResponse(**single.json()).message.content == GREETING
    assert [r.stream for r in standalone.requests] == [True, True, False]
    standalone.assert_call_count(2, path="/api/chat", stream=True)


def test_generate_answers_a_prompt_as_a_user_message(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    reply = client.generate(model="mock-llm-v1", prompt="Hello")
    assert reply.response == GREETING
    assert (reply.done, reply.done_reason) == (True, "stop")
    parts = list(client.generate(model="mock-llm-v1", prompt="Hello", stream=True))
    assert "".join(p.response or "" for p in parts) == GREETING
    assert parts[-1].done is True
    with_system = client.generate(
        model="mock-gpt-4",
        system="You are an AI assistant with MCP protocol capabilities",
        prompt="Help me integrate MCP with AutoGen agents",
    )
    assert "mcp_server_tools" in (with_system.response or "")
    entry = standalone.requests[1]
    assert (entry.path, entry.model, entry.stream, entry.last_user_message) == (
        "/api/generate",
        "mock-llm-v1",
        True,
        "Hello",
    )


def _weather_collection(tmp_path: Path) -> Path:
    """A tool conversation saved as chat completions, with the ids OpenAI's clients send."""
    call = {
        "id": "call_paris",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    question = {"role": "user", "content": "Weather in Paris?"}
    asked = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
    result = {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C"}
    history = [question, {"role": "assistant", "content": None, "tool_calls": [call]}, result]
    items = [
        postman.chat_item("ask", {"model": "gpt-4o", "messages": [question]}, asked),
        postman.chat_item("answer", {"model": "gpt-4o", "messages": history}, "Sunny, 21 °C."),
    ]
    return postman.write(tmp_path / "weather.json", postman.collection(*items))


def test_a_tool_round_trip_matches_chat_examples_saved_with_ids(tmp_path: Path) -> None:
    with (
        LLMMockServer(_weather_collection(tmp_path)) as server,
        ollama.Client(host=server.url) as client,
    ):
        messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.chat(model="llama3.2", messages=messages, tools=[WEATHER_TOOL])
        assert first.message.content == ""
        (call,) = first.message.tool_calls or []
        assert call.function.name == "get_weather"
        assert call.function.arguments == {"city": "Paris"}
        streamed = list(
            client.chat(model="llama3.2", messages=messages, tools=[WEATHER_TOOL], stream=True)
        )
        assert [p.message.tool_calls for p in streamed if p.message.tool_calls] == [[call]]
        # Ollama's history has no ids: the tool result follows its call, as Ollama sends it.
        messages += [
            first.message,
            {"role": "tool", "content": "21 °C", "tool_name": call.function.name},
        ]
        final = client.chat(model="llama3.2", messages=messages, tools=[WEATHER_TOOL])
        assert final.message.content == "Sunny, 21 °C."
        sent = server.requests[-1]
        assert sent.json is not None
        assert sent.json["messages"][1]["tool_calls"][0]["function"]["arguments"] == {
            "city": "Paris"
        }
        assert [r.example for r in server.requests] == ["ask/ask", "ask/ask", "answer/answer"]
        assert server.unmatched == []


def test_format_schema_answers_structured_output(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    standalone.add_response(
        json.dumps({"city": "Paris", "celsius": 21.5}), last_user_message="Weather in Paris as JSON"
    )
    asked: Any = [{"role": "user", "content": "Weather in Paris as JSON"}]
    reply = client.chat(model="llama3.2", messages=asked, format=Weather.model_json_schema())
    assert Weather.model_validate_json(reply.message.content or "") == Weather(
        city="Paris", celsius=21.5
    )
    generated = client.generate(model="llama3.2", prompt="Weather in Paris as JSON", format="json")
    assert Weather.model_validate_json(generated.response or "").city == "Paris"
    sent = standalone.requests[0].json
    assert sent is not None
    assert sent["format"]["properties"]["celsius"] == {"title": "Celsius", "type": "number"}


def test_embeddings_are_deterministic_and_the_same_as_openais(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    first = client.embed(model="nomic-embed-text", input=["Paris", "London"])
    again = client.embed(model="nomic-embed-text", input="Paris")
    assert first.embeddings[0] == again.embeddings[0]
    assert first.embeddings[0] != first.embeddings[1]
    assert [len(v) for v in first.embeddings] == [768, 768]
    assert abs(sum(x * x for x in first.embeddings[0]) - 1.0) < 1e-9
    assert len(client.embed(model="all-minilm", input="Paris").embeddings[0]) == 384
    assert len(client.embed(model="all-minilm", input="Paris", dimensions=64).embeddings[0]) == 64
    legacy = client.embeddings(model="nomic-embed-text", prompt="Paris")
    assert list(legacy.embedding) == first.embeddings[0]
    with openai.OpenAI(base_url=standalone.base_url, api_key="k", max_retries=0) as sdk:
        same = sdk.embeddings.create(
            model="nomic-embed-text", input="Paris", dimensions=768, encoding_format="float"
        )
    assert same.data[0].embedding == first.embeddings[0]
    entry = standalone.requests[0]
    assert (entry.path, entry.model, entry.status) == ("/api/embed", "nomic-embed-text", 200)


def test_models_show_and_version(standalone: LLMMockServer, client: ollama.Client) -> None:
    client.chat(model="llama3.2", messages=HELLO)
    listed = [m.model for m in client.list().models]
    assert listed[0] == "mock-llm-v1"  # the collection's models, then those requested
    assert "llama3.2" in listed
    assert all(m.digest and m.size and m.details for m in client.list().models)
    assert [m.model for m in client.ps().models] == listed
    shown = client.show("llama3.2")
    assert shown.modelinfo is not None
    assert shown.modelinfo["llama.context_length"] == 131072
    assert shown.capabilities == ["completion", "tools"]
    assert client.show("nomic-embed-text").capabilities == ["embedding"]
    version = http.request(standalone.url, "GET", urlsplit(standalone.url).path + "/api/version")
    assert version.status == 200
    assert version.json()["version"].count(".") == 2
    assert [r.path for r in standalone.requests] == [
        "/api/chat",
        "/api/tags",
        "/api/tags",
        "/api/ps",
        "/api/show",
        "/api/show",
        "/api/version",
    ]


@pytest.mark.parametrize("status", [429, 503])
def test_faults_are_the_clients_response_error(
    standalone: LLMMockServer, client: ollama.Client, status: int
) -> None:
    standalone.fail_next(status, retry_after=2)
    with pytest.raises(ollama.ResponseError) as raised:
        client.chat(model="mock-llm-v1", messages=HELLO)
    assert raised.value.status_code == status
    assert isinstance(raised.value.error, str)
    assert raised.value.error  # Ollama's shape: the message itself, not an object
    standalone.fail_next(status)
    with pytest.raises(ollama.ResponseError) as streamed:
        list(client.chat(model="mock-llm-v1", messages=HELLO, stream=True))
    assert streamed.value.status_code == status
    raw = post(standalone, "/api/generate", {"model": "m", "prompt": "Hello"})  # no fault left
    assert raw.status == 200
    assert [r.status for r in standalone.requests] == [status, status, 200]
    entry = standalone.requests[0]
    assert entry.retry_after == 2
    assert entry.example == "fail_next #1"


def test_rate_limits_and_error_examples_are_ollama_errors(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    standalone.rate_limit(1)
    assert client.chat(model="mock-llm-v1", messages=HELLO).message.content == GREETING
    with pytest.raises(ollama.ResponseError) as limited:
        client.chat(model="mock-llm-v1", messages=HELLO)
    assert limited.value.status_code == 429
    assert "rate_limit" in str(limited.value.error)
    standalone.rate_limit(None)
    # The collection's error example: mock-claude-sonnet-4 is down.
    with pytest.raises(ollama.ResponseError) as down:
        client.chat(model="mock-claude-sonnet-4", messages=QUARTERLY)
    assert (down.value.status_code, down.value.error) == (
        503,
        "The engine is currently overloaded, please try again later.",
    )
    assert client.chat(model="mock-gpt-4", messages=QUARTERLY).message.content
    with standalone.offline(), pytest.raises(ConnectionError):
        client.chat(model="mock-llm-v1", messages=HELLO)


def test_a_broken_stream_ends_as_ollamas_would(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    standalone.break_next_stream(after=1)
    parts = client.chat(model="mock-llm-v1", messages=HELLO, stream=True)
    assert next(parts).message.content == GREETING[:8]
    with pytest.raises(httpx.RemoteProtocolError):  # the connection dropped mid-body
        next(parts)
    standalone.break_next_stream(after=2, how="error")
    streamed = client.generate(model="mock-llm-v1", prompt="Hello", stream=True)
    with pytest.raises(ollama.ResponseError) as raised:
        list(streamed)
    assert raised.value.status_code == -1  # an error line inside the stream, as Ollama writes
    assert "stream fault" in str(raised.value.error)
    assert client.chat(model="mock-llm-v1", messages=HELLO, stream=False).message.content


def test_unknown_routes_and_bad_requests_get_ollamas_errors(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    with pytest.raises(ollama.ResponseError) as unknown:
        client.pull("llama3.2")
    assert unknown.value.status_code == 404
    assert "Unknown route: POST /api/pull" in str(unknown.value.error)
    assert "POST /api/chat" in str(unknown.value.error)
    wrong = http.request(standalone.url, "GET", urlsplit(standalone.url).path + "/api/chat")
    assert wrong.status == 405
    assert isinstance(wrong.json()["error"], str)
    no_model = post(standalone, "/api/chat", {"messages": HELLO})
    assert (no_model.status, no_model.json()) == (400, {"error": "model is required"})
    bad_role = post(standalone, "/api/chat", {"model": "m", "messages": [{"role": "robot"}]})
    assert bad_role.status == 400
    assert "messages[0].role" in bad_role.json()["error"]
    with pytest.raises(ollama.ResponseError) as missed:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "Nothing saved"}])
    assert missed.value.status_code == 404
    assert "No example in" in str(missed.value.error)
    assert standalone.unmatched[-1].last_user_message == "Nothing saved"


def test_a_request_with_nothing_to_answer_loads_the_model(
    standalone: LLMMockServer, client: ollama.Client
) -> None:
    loaded = client.chat(model="llama3.2")
    assert (loaded.done, loaded.done_reason, loaded.message.content) == (True, "load", "")
    assert client.generate(model="llama3.2").done_reason == "load"
    assert [r.status for r in standalone.requests] == [200, 200]


def test_examples_saved_on_ollamas_paths_are_served_as_saved(tmp_path: Path) -> None:
    not_found = 'model "gone" not found, try pulling it first'
    question = {"model": "llama3.2", "messages": [{"role": "user", "content": "Who are you?"}]}
    saved_chat = {
        "model": "llama3.2:latest",
        "created_at": "2025-01-01T00:00:00.000001Z",
        "message": {"role": "assistant", "content": "An Ollama example."},
        "done": True,
        "done_reason": "stop",
        "eval_count": 4,
    }
    saved_generate = {"model": "llama3.2", "response": "A generate example.", "done": True}
    vectors = {"model": "all-minilm", "embeddings": [[0.6, 0.8]]}
    items = [
        postman.item("chat", question, postman.example("chat", saved_chat), path="api/chat"),
        postman.item(
            "generate",
            {"model": "llama3.2", "prompt": "Who are you?", "system": "Be brief."},
            postman.example("generate", saved_generate),
            path="api/generate",
        ),
        postman.item(
            "gone",
            {**question, "model": "gone"},
            postman.example("gone", {"error": not_found}, status=404),
            path="api/chat",
        ),
        postman.item(
            "embed",
            {"model": "all-minilm", "input": ["Paris"]},
            postman.example("embed", vectors),
            path="api/embed",
        ),
    ]
    path = postman.write(tmp_path / "ollama.json", postman.collection(*items))
    assert main(["check", str(path)]) == 0  # Ollama's paths are served
    with LLMMockServer(path) as server, ollama.Client(host=server.url) as client:
        reply = client.chat(model="llama3.2", messages=question["messages"])
        assert reply.message.content == "An Ollama example."
        assert (reply.model, reply.created_at, reply.eval_count) == (
            "llama3.2:latest",
            "2025-01-01T00:00:00.000001Z",
            4,
        )
        streamed = list(client.chat(model="llama3.2", messages=question["messages"], stream=True))
        assert "".join(p.message.content or "" for p in streamed) == "An Ollama example."
        # An /api/chat example answers generate requests with the same conversation too.
        assert client.generate(model="llama3.2", prompt="Who are you?").response == (
            "An Ollama example."
        )
        brief = client.generate(model="llama3.2", prompt="Who are you?", system="Be brief.")
        assert brief.response == "A generate example."
        assert client.embed(model="all-minilm", input="Paris").embeddings == [[0.6, 0.8]]
        with pytest.raises(ollama.ResponseError) as gone:
            client.chat(model="gone", messages=question["messages"])
        assert (gone.value.status_code, gone.value.error) == (404, not_found)
        assert [r.example for r in server.requests] == [
            "chat/chat",
            "chat/chat",
            "chat/chat",
            "generate/generate",
            "embed/embed",
            "gone/gone",
        ]


def test_the_async_client(standalone: LLMMockServer) -> None:
    weather_tool_then_answer(standalone)
    asked: Any = [{"role": "user", "content": "Weather in Paris?"}]

    async def converse() -> dict[str, Any]:
        async with ollama.AsyncClient(host=standalone.url) as client:
            reply = await client.chat(model="mock-llm-v1", messages=HELLO)
            parts = await client.chat(model="mock-llm-v1", messages=HELLO, stream=True)
            streamed = [p.message.content or "" async for p in parts]
            called = await client.chat(model="llama3.2", messages=asked, tools=[WEATHER_TOOL])
            result = {"role": "tool", "content": "21 °C", "tool_name": "get_weather"}
            history = [*asked, called.message, result]
            answered = await client.chat(model="llama3.2", messages=history)
            vectors = await client.embed(model="nomic-embed-text", input="Paris")
        return {
            "text": reply.message.content,
            "streamed": "".join(streamed),
            "calls": [
                (c.function.name, c.function.arguments) for c in called.message.tool_calls or []
            ],
            "answered": answered.message.content,
            "dimensions": len(vectors.embeddings[0]),
        }

    assert asyncio.run(converse()) == {
        "text": GREETING,
        "streamed": GREETING,
        "calls": [("get_weather", {"city": "Paris"})],
        "answered": "Sunny, 21 °C.",
        "dimensions": 768,
    }
    assert [r.stream for r in standalone.requests[:2]] == [False, True]


def test_the_fixture_serves_ollama_and_fails_the_test_on_a_miss(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import ollama

        HELLO = [{"role": "user", "content": "Hello"}]

        def test_hello(llm_mock_server):
            with ollama.Client(host=llm_mock_server.url) as client:
                reply = client.chat(model="mock-llm-v1", messages=HELLO)
            assert reply.message.content == "Hello! How can I help you today?"
            llm_mock_server.assert_called_once(path="/api/chat", last_user_message="Hello")

        def test_miss(llm_mock_server):
            with ollama.Client(host=llm_mock_server.url) as client:
                try:
                    client.generate(model="llama3.2", prompt="Not in the collection")
                except ollama.ResponseError as error:
                    assert error.status_code == 404
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*POST /api/generate model=llama3.2 user='Not in the collection' -> 404 (not answered)"]
    )


def test_record_mode_asks_an_ollama_upstream_and_saves_its_answers(tmp_path: Path) -> None:
    from pytest_llm_mock._record import Recorder

    path = tmp_path / "recorded.json"

    def ask(server: LLMMockServer) -> list[str]:
        with ollama.Client(host=server.url) as client:
            chat = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Chat?"}])
            parts = client.generate(model="llama3.2", prompt="Generate?", stream=True)
            return [chat.message.content or "", "".join(p.response or "" for p in parts)]

    with LLMMockServer() as upstream, LLMMockServer() as recorder:
        upstream.add_response("from chat", last_user_message="Chat?")
        upstream.add_response("from generate", last_user_message="Generate?")
        recorder._state.recorder = Recorder(upstream.url, path)
        assert ask(recorder) == ["from chat", "from generate"]
        # The upstream is asked for JSON, the stream is the mock's own.
        assert [(r.path, r.stream) for r in upstream.requests] == [
            ("/api/chat", False),
            ("/api/generate", False),
        ]
    recorded = load_collection(path)
    assert [e.path for e in recorded.examples] == ["/api/chat", "/api/generate"]
    assert main(["check", str(path)]) == 0
    with LLMMockServer(path) as replay:
        assert ask(replay) == ["from chat", "from generate"]
        assert [r.example for r in replay.requests] == [e.full_name for e in recorded.examples]
