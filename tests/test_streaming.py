"""`stream: true`: SSE chunks synthesized from any answer, as real clients expect them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import CollectionError, LLMMockServer, load_collection

from . import http, openapi, postman
from .conftest import DEFAULT_COLLECTION

TOOLS = [
    {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
    {"name": "get_time", "arguments": {}},
]


def events(body: bytes) -> list[Any]:
    """The data of each SSE event; `[DONE]` stays a string."""
    assert body.endswith(b"\n\n")
    out: list[Any] = []
    for block in body.decode().split("\n\n")[:-1]:
        (line,) = block.splitlines()
        assert line.startswith("data: ")
        data = line[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def stream_raw(server: LLMMockServer, body: dict[str, Any]) -> http.HttpResponse:
    response = http.request(server.url, "POST", "/v1/chat/completions", {**body, "stream": True})
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    return response


def chat_examples() -> list[Any]:
    return [
        e
        for e in load_collection(DEFAULT_COLLECTION).examples
        if e.request is not None and e.status == 200
    ]


@pytest.mark.parametrize("example", chat_examples(), ids=lambda e: e.full_name)
def test_joined_chunks_give_the_same_text_as_the_answer(
    standalone: LLMMockServer, example: Any
) -> None:
    # As saved (a captured request may say `"stream": false`), less the stream flag.
    body = {k: v for k, v in example.request.body.items() if k != "stream"}
    client = standalone.openai_client()
    whole = client.chat.completions.create(**body)
    chunks = list(client.chat.completions.create(**body, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len(chunks) > 3, "the default splits text into several chunks"
    assert {(c.id, c.created, c.model) for c in chunks} == {(whole.id, whole.created, whole.model)}


def test_the_async_client_streams(standalone: LLMMockServer) -> None:
    async def collect() -> str:
        async with standalone.async_openai_client() as client:
            stream = await client.chat.completions.create(
                model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(collect()) == "Hello! How can I help you today?"


def test_the_event_sequence(standalone: LLMMockServer) -> None:
    hello = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}
    data = events(stream_raw(standalone, hello).body)
    assert data[-1] == "[DONE]"
    chunks = data[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all("usage" not in c for c in chunks), "no usage key unless include_usage"


def test_the_usage_chunk_comes_only_when_asked(standalone: LLMMockServer) -> None:
    hello = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}
    asked = {**hello, "stream_options": {"include_usage": True}}
    data = events(stream_raw(standalone, asked).body)[:-1]
    assert data[-1]["choices"] == []
    assert data[-1]["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in data[:-1])
    client = standalone.openai_client()
    with_usage = list(client.chat.completions.create(**asked, stream=True))  # type: ignore[call-overload]
    without = list(client.chat.completions.create(**hello, stream=True))  # type: ignore[call-overload]
    assert [c.usage is not None for c in with_usage].count(True) == 1
    assert all(c.usage is None for c in without)


def test_tool_calls_are_rebuilt_exactly_by_the_stream_helper(standalone: LLMMockServer) -> None:
    standalone.add_response(tool_calls=TOOLS, last_user_message="weather and time?")
    client = standalone.openai_client()
    messages: Any = [{"role": "user", "content": "weather and time?"}]
    whole = client.chat.completions.create(model="gpt-4o", messages=messages)
    with client.chat.completions.stream(model="gpt-4o", messages=messages) as stream:
        final = stream.get_final_completion()
    expected = [
        (c.id, c.function.name, c.function.arguments)
        for c in whole.choices[0].message.tool_calls or []
        if c.type == "function"
    ]
    rebuilt = [
        (c.id, c.function.name, c.function.arguments)
        for c in final.choices[0].message.tool_calls or []
    ]
    assert rebuilt == expected
    assert [name for _, name, _ in rebuilt] == ["get_weather", "get_time"]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.content is None


def test_tool_call_deltas_name_the_call_once(standalone: LLMMockServer) -> None:
    standalone.add_response(tool_calls=TOOLS)
    standalone.chunk_size = 5
    data = events(stream_raw(standalone, postman.chat_body(("user", "x"))).body)[:-1]
    deltas = [d for c in data for d in c["choices"][0]["delta"].get("tool_calls", [])]
    firsts = [d for d in deltas if "id" in d]
    assert [
        (d["index"], d["type"], d["function"]["name"], d["function"]["arguments"]) for d in firsts
    ] == [
        (0, "function", "get_weather", ""),
        (1, "function", "get_time", ""),
    ]
    rest = [d for d in deltas if "id" not in d]
    assert all(
        set(d) == {"index", "function"} and set(d["function"]) == {"arguments"} for d in rest
    )
    indexes = [d["index"] for d in deltas]
    assert indexes == sorted(indexes), "calls stream one after another"
    joined = "".join(d["function"]["arguments"] for d in deltas if d["index"] == 0)
    assert json.loads(joined) == {"city": "Paris", "unit": "celsius"}
    assert all(len(d["function"]["arguments"]) <= 5 for d in rest)


def test_chunk_size_per_test_and_per_example(tmp_path: Path) -> None:
    hi = postman.chat_body(("user", "hi"))
    sized = postman.item(
        "sized",
        hi,
        postman.example(
            "sized", "abcdefghij", headers=[{"key": "x-llm-mock-chunk-size", "value": "3"}]
        ),
    )
    path = postman.write(tmp_path / "c.json", postman.collection(sized))
    with LLMMockServer(path) as server:
        client = server.openai_client()

        def pieces() -> list[str]:
            stream = client.chat.completions.create(**hi, stream=True)
            return [
                c.choices[0].delta.content
                for c in stream
                if c.choices and c.choices[0].delta.content
            ]

        assert pieces() == ["abc", "def", "ghi", "j"]
        server.add_response("klmnopq")
        server.chunk_size = 2
        assert pieces() == ["kl", "mn", "op", "q"]
        server.reset()
        assert server.chunk_size == 8
    with pytest.raises(ValueError, match="chunk_size must be 1 or more"):
        server.chunk_size = 0


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            "x-llm-mock-chunk-size",
            "x-llm-mock-chunk-size takes a whole number of characters per stream chunk "
            "(1 or more), got 'many'",
        ),
        (
            "x-llm-mock-chunk-sise",
            "unknown control header 'x-llm-mock-chunk-sise'; known: x-llm-mock-chunk-size, "
            "x-llm-mock-delay-ms, x-llm-mock-chunk-delay-ms, x-llm-mock-disconnect-after, "
            "x-llm-mock-error-after, x-llm-mock-stall-after, x-llm-mock-stall-ms",
        ),
    ],
)
def test_bad_control_headers_are_collection_errors(
    tmp_path: Path, header: str, reason: str
) -> None:
    item = postman.item(
        "x",
        postman.chat_body(("user", "hi")),
        postman.example("e", "a", headers=[{"key": header, "value": "many"}]),
    )
    with pytest.raises(CollectionError) as excinfo:
        load_collection(postman.write(tmp_path / "c.json", postman.collection(item)))
    assert (excinfo.value.item, excinfo.value.field, excinfo.value.reason) == (
        "x/e",
        "response[0].header[0]",
        reason,
    )


def test_refusals_and_several_choices_stream(standalone: LLMMockServer) -> None:
    standalone.add_response(
        body={"choices": [{"message": {"content": None, "refusal": "I can't help with that."}}]},
        last_user_message="refuse",
    )
    standalone.add_response(
        body={"choices": [{"message": {"content": "first"}}, {"message": {"content": "second"}}]},
        last_user_message="two",
    )
    client = standalone.openai_client()
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "refuse"}]
    ) as stream:
        refused = stream.get_final_completion()
    assert refused.choices[0].message.refusal == "I can't help with that."
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "two"}], n=2
    ) as stream:
        both = stream.get_final_completion()
    assert [c.message.content for c in both.choices] == ["first", "second"]


def test_an_error_answer_to_a_stream_request_is_a_plain_error(standalone: LLMMockServer) -> None:
    standalone.add_response(status=500)
    client = standalone.openai_client(max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True
        )


def test_identical_stream_requests_get_identical_bytes(standalone: LLMMockServer) -> None:
    hello = {"model": "mock-llm-v1", "messages": [{"role": "user", "content": "Hello"}]}
    first, second = stream_raw(standalone, hello), stream_raw(standalone, hello)
    assert (first.body, first.headers) == (second.body, second.headers)


def test_every_chunk_is_valid(validate: openapi.Validate, standalone: LLMMockServer) -> None:
    standalone.add_response(tool_calls=TOOLS, last_user_message="tools")
    bodies = [dict(e.request.body) for e in chat_examples()]
    bodies.append(postman.chat_body(("user", "tools")))
    for body in bodies:
        for options in ({}, {"stream_options": {"include_usage": True}}):
            for chunk in events(stream_raw(standalone, {**body, **options}).body)[:-1]:
                validate("CreateChatCompletionStreamResponse", chunk)
                openai.types.chat.ChatCompletionChunk.model_validate(chunk)


RECORDING = (
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Recorded "},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"answer"},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
    '"id":"call_rec","type":"function","function":{"name":"lookup","arguments":""}}]},'
    '"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
    '"function":{"arguments":"{\\"q\\": 1}"}}]},"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-rec","object":"chat.completion.chunk","created":1700000001,'
    '"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,'
    '"finish_reason":"tool_calls"}]}\n\n'
    "data: [DONE]\n\n"
)


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    item = postman.item(
        "recorded",
        postman.chat_body(("user", "replay")),
        postman.example(
            "sse", RECORDING, headers=[{"key": "Content-Type", "value": "text/event-stream"}]
        ),
    )
    return postman.write(tmp_path / "c.json", postman.collection(item))


def test_a_recorded_stream_is_replayed_byte_for_byte(recorded: Path) -> None:
    with LLMMockServer(recorded) as server:
        response = stream_raw(server, postman.chat_body(("user", "replay")))
        assert response.body == RECORDING.encode()
        client = server.openai_client()
        with client.chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "replay"}]
        ) as stream:
            final = stream.get_final_completion()
    assert final.choices[0].message.content == "Recorded answer"
    (call,) = final.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_rec",
        "lookup",
        '{"q": 1}',
    )


def test_a_recorded_stream_is_assembled_for_non_streaming_requests(
    recorded: Path, validate: openapi.Validate
) -> None:
    with LLMMockServer(recorded) as server:
        response = http.request(
            server.url, "POST", "/v1/chat/completions", postman.chat_body(("user", "replay"))
        )
    body = response.json()
    validate("CreateChatCompletionResponse", body)
    assert (body["id"], body["created"], body["model"]) == (
        "chatcmpl-rec",
        1700000001,
        "gpt-4o-2024-08-06",
    )
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Recorded answer"
    assert choice["message"]["tool_calls"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q": 1}'},
            "id": "call_rec",
        }
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "data: {oops\n\n",
            "line 1 of the recorded stream is not JSON: "
            "Expecting property name enclosed in double quotes",
        ),
        ("data: [1]\n\n", "line 1 of the recorded stream is not a JSON object"),
        ("event: ping\n\n", "the recorded stream has no 'data:' events"),
    ],
)
def test_a_broken_recording_is_a_collection_error(tmp_path: Path, body: str, reason: str) -> None:
    item = postman.item(
        "rec",
        postman.chat_body(("user", "x")),
        postman.example(
            "sse", body, headers=[{"key": "Content-Type", "value": "text/event-stream"}]
        ),
    )
    with pytest.raises(CollectionError) as excinfo:
        load_collection(postman.write(tmp_path / "c.json", postman.collection(item)))
    assert (excinfo.value.field, excinfo.value.reason) == ("response[0].body", reason)
