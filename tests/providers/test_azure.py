"""Azure OpenAI's doors through the real `openai.AzureOpenAI` / `AsyncAzureOpenAI` clients and
`OpenAI(base_url=url + "/openai/v1/")`, answered from the default collection's chat examples."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage

from pytest_llm_mock import LLMMockServer

from .. import http, openapi, postman
from ..conftest import DEFAULT_COLLECTION
from ..scenarios import GREETING, HELLO, TOOLS, Weather, weather_tool_then_answer

API_VERSION = "2024-10-21"


@pytest.fixture
def azure(standalone: LLMMockServer) -> Iterator[openai.AzureOpenAI]:
    with openai.AzureOpenAI(
        azure_endpoint=standalone.url, api_version=API_VERSION, api_key="test-key", max_retries=0
    ) as client:
        yield client


@pytest.fixture
def v1(standalone: LLMMockServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=standalone.url + "/openai/v1/", api_key="test-key", max_retries=0
    ) as client:
        yield client


def sse_chunks(lines: Iterator[str]) -> list[dict[str, Any]]:
    """The JSON chunks of a raw chat stream, checked to end with `[DONE]`."""
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(chunk) for chunk in data[:-1]]


def test_chat_answers_from_the_chat_examples_with_the_deployment_as_model(
    standalone: LLMMockServer, azure: openai.AzureOpenAI, validate: openapi.Validate
) -> None:
    raw = azure.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    validate("CreateChatCompletionResponse", raw.http_response.json())
    completion = raw.parse()
    assert isinstance(completion, ChatCompletion)
    assert (completion.choices[0].message.content, completion.model) == (GREETING, "gpt-4o")
    entry = standalone.last_request
    assert entry is not None
    assert (entry.path, entry.model, entry.stream, entry.last_user_message) == (
        "/openai/deployments/gpt-4o/chat/completions",
        "gpt-4o",
        False,
        "Hello",
    )
    assert (entry.example, entry.status) == ("Small talk/Hello/Greeting", 200)
    assert entry.headers["api-key"] == "<redacted>"


def test_the_deployment_stands_for_the_body_model(standalone: LLMMockServer) -> None:
    # The client's deployment names the URL; the body's model is what the caller passed.
    with openai.AzureOpenAI(
        azure_endpoint=standalone.url,
        azure_deployment="prod-chat",
        api_version="2025-01-01-preview",
        api_key="k",
        max_retries=0,
    ) as client:
        standalone.add_response("From prod", model="prod-chat")
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert (completion.choices[0].message.content, completion.model) == ("From prod", "prod-chat")
    standalone.assert_called_once(path="/openai/deployments/prod-chat/chat/completions")
    standalone.assert_called_once(model="prod-chat")


def test_streamed_chunks_are_valid_and_join_into_the_answer(
    standalone: LLMMockServer, azure: openai.AzureOpenAI, validate: openapi.Validate
) -> None:
    with azure.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    ) as response:
        chunks = sse_chunks(response.iter_lines())
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", chunk)
        ChatCompletionChunk.model_validate(chunk)
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == GREETING
    stream = azure.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == GREETING
    assert [r.stream for r in standalone.requests] == [True, True]


def test_the_async_client_streams(standalone: LLMMockServer) -> None:
    async def ask() -> str:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=standalone.url, api_version=API_VERSION, api_key="k", max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=HELLO, stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(ask()) == GREETING
    standalone.assert_called_once(stream=True, model="gpt-4o", last_user_message="Hello")


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_trip(
    standalone: LLMMockServer, azure: openai.AzureOpenAI, stream: bool
) -> None:
    weather_tool_then_answer(standalone)
    question: Any = [{"role": "user", "content": "Weather in Paris?"}]
    message: ChatCompletionMessage
    if stream:
        with azure.chat.completions.stream(model="gpt-4o", messages=question, tools=TOOLS) as s:
            message = s.get_final_completion().choices[0].message
    else:
        first = azure.chat.completions.create(model="gpt-4o", messages=question, tools=TOOLS)
        message = first.choices[0].message
    (call,) = message.tool_calls or []
    assert call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Paris"},
    )
    follow_up = azure.chat.completions.create(
        model="gpt-4o",
        tools=TOOLS,
        messages=[
            *question,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "21 °C"},
        ],
    )
    assert follow_up.choices[0].message.content == "Sunny, 21 °C."
    assert standalone.requests[1].last_user_message == "Weather in Paris?"


def test_structured_output_parses_into_the_users_model(
    standalone: LLMMockServer, azure: openai.AzureOpenAI
) -> None:
    standalone.add_response('{"city": "Paris", "celsius": 21.5}', contains="as JSON")
    question: Any = [{"role": "user", "content": "Weather in Paris as JSON"}]
    parsed = azure.chat.completions.parse(
        model="gpt-4o", messages=question, response_format=Weather
    )
    assert parsed.choices[0].message.parsed == Weather(city="Paris", celsius=21.5)
    with azure.chat.completions.stream(
        model="gpt-4o", messages=question, response_format=Weather
    ) as stream:
        assert (
            stream.get_final_completion().choices[0].message.parsed
            == parsed.choices[0].message.parsed
        )
    entry = standalone.requests[0]
    assert entry.json is not None
    assert entry.json["response_format"]["type"] == "json_schema"


def test_embeddings_are_the_same_vectors_as_openais(
    standalone: LLMMockServer,
    azure: openai.AzureOpenAI,
    v1: openai.OpenAI,
    validate: openapi.Validate,
) -> None:
    raw = azure.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["Hello", "Bye"], encoding_format="float"
    )
    validate("CreateEmbeddingResponse", raw.http_response.json())
    azure_vectors = [d.embedding for d in raw.parse().data]
    # The SDK's default (base64) decodes to the same floats.
    plain = standalone.openai_client().embeddings.create(
        model="text-embedding-3-small", input=["Hello", "Bye"]
    )
    for ours, theirs in zip(azure_vectors, plain.data, strict=True):
        assert ours == pytest.approx(theirs.embedding, abs=1e-6)
    assert len(azure_vectors[0]) == 1536
    through_v1 = v1.embeddings.create(model="text-embedding-3-small", input="Hello")
    assert through_v1.data[0].embedding == pytest.approx(azure_vectors[0], abs=1e-6)
    paths = [r.path for r in standalone.requests]
    assert paths[0] == "/openai/deployments/text-embedding-3-small/embeddings"
    assert paths[2] == "/openai/v1/embeddings"


def test_completions_under_a_deployment(
    standalone: LLMMockServer, azure: openai.AzureOpenAI
) -> None:
    completion = azure.completions.create(model="instruct", prompt="Hello")
    assert (completion.choices[0].text, completion.model) == (GREETING, "instruct")
    standalone.assert_called_once(path="/openai/deployments/instruct/completions")


def test_responses_go_to_openai_responses(
    standalone: LLMMockServer, azure: openai.AzureOpenAI, validate: openapi.Validate
) -> None:
    raw = azure.responses.with_raw_response.create(model="gpt-4o", input="Hello")
    validate("Response", raw.http_response.json())
    assert raw.parse().output_text == GREETING
    with azure.responses.stream(model="gpt-4o", input="Hello") as stream:
        assert stream.get_final_response().output_text == GREETING
    assert [(r.path, r.model, r.stream) for r in standalone.requests] == [
        ("/openai/responses", "gpt-4o", False),
        ("/openai/responses", "gpt-4o", True),
    ]


def test_the_v1_api_is_the_openai_routes(
    standalone: LLMMockServer, v1: openai.OpenAI, validate: openapi.Validate
) -> None:
    chat = v1.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert chat.choices[0].message.content == GREETING
    response = v1.responses.create(model="gpt-4o", input="Hello")
    assert response.output_text == GREETING
    stream = v1.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == GREETING
    legacy = v1.completions.create(model="gpt-4o", prompt="Hello")
    assert legacy.choices[0].text == GREETING
    models = v1.models.with_raw_response.list()
    validate("ListModelsResponse", models.http_response.json())
    assert "mock-llm-v1" in [m.id for m in models.parse()]
    assert v1.models.retrieve("mock-llm-v1").id == "mock-llm-v1"
    assert [r.path for r in standalone.requests][:4] == [
        "/openai/v1/chat/completions",
        "/openai/v1/responses",
        "/openai/v1/chat/completions",
        "/openai/v1/completions",
    ]
    assert [m.id for m in standalone.openai_client().models.list()] == [
        m.id for m in models.parse()
    ]


def test_every_body_and_event_under_azures_paths_validates_against_the_spec(
    standalone: LLMMockServer, validate: openapi.Validate
) -> None:
    """Legacy completions (plain and streamed), a tool call (plain and streamed), structured
    output, the Responses stream's events and the error bodies, as sent on Azure's paths."""
    deployment = f"/openai/deployments/gpt-4o/{{}}?api-version={API_VERSION}"

    def post(path: str, body: dict[str, Any]) -> http.HttpResponse:
        return http.request(standalone.url, "POST", path, body, {"api-key": "k"})

    def data(response: http.HttpResponse) -> list[Any]:
        lines = response.body.decode().splitlines()
        return sse_chunks(iter(lines))

    legacy = {"model": "instruct", "prompt": "Hello"}
    validate("CreateCompletionResponse", post(deployment.format("completions"), legacy).json())
    for chunk in data(post(deployment.format("completions"), {**legacy, "stream": True})):
        # As in test_completions: the spec types finish_reason as a string where real
        # streams send null until a choice's last chunk.
        for choice in chunk["choices"]:
            choice["finish_reason"] = choice["finish_reason"] or "stop"
        validate("CreateCompletionResponse", chunk)
    standalone.add_response(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    standalone.add_response('{"city": "Paris", "celsius": 21.5}', contains="as JSON")
    ask = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather?"}]}
    chat = deployment.format("chat/completions")
    called = post(chat, {**ask, "tools": TOOLS}).json()
    validate("CreateChatCompletionResponse", called)
    assert called["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    for chunk in data(post(chat, {**ask, "tools": TOOLS, "stream": True})):
        validate("CreateChatCompletionStreamResponse", chunk)
    as_json = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Paris as JSON"}]}
    validate("CreateChatCompletionResponse", post(chat, as_json).json())
    responses = f"/openai/responses?api-version={API_VERSION}"
    streamed = post(responses, {"model": "gpt-4o", "input": "Hello", "stream": True})
    events = [
        json.loads(line[6:]) for line in streamed.body.decode().splitlines() if line[:6] == "data: "
    ]
    assert events[-1]["type"] == "response.completed"
    for event in events:
        validate("ResponseStreamEvent", event)
    for status in (429, 503):
        standalone.fail_next(status)
        failed = post(chat, ask)
        assert failed.status == status
        validate("ErrorResponse", failed.json())


def test_the_azure_models_route(azure: openai.AzureOpenAI) -> None:
    assert "mock-gpt-4" in [m.id for m in azure.models.list()]
    with pytest.raises(openai.NotFoundError):
        azure.models.retrieve("no-such-model")


def test_429_and_503_are_the_sdks_exceptions(
    standalone: LLMMockServer, azure: openai.AzureOpenAI
) -> None:
    standalone.fail_next(429, retry_after=1, model="gpt-4o")
    with pytest.raises(openai.RateLimitError) as limited:
        azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert limited.value.response.headers["retry-after"] == "1"
    # The collection's error example (Failover/Quarterly summary): the deployment
    # mock-claude-sonnet-4 is down, mock-gpt-4 answers.
    question: Any = [{"role": "user", "content": "Summarize the quarterly report in one sentence."}]
    with pytest.raises(openai.InternalServerError) as unavailable:
        azure.chat.completions.create(model="mock-claude-sonnet-4", messages=question)
    assert unavailable.value.status_code == 503
    fallback = azure.chat.completions.create(model="mock-gpt-4", messages=question)
    assert fallback.choices[0].message.content
    assert [r.status for r in standalone.requests] == [429, 503, 200]


def test_a_rate_limit_is_a_rate_limit_error(
    standalone: LLMMockServer, azure: openai.AzureOpenAI
) -> None:
    standalone.rate_limit(1)
    azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as limited:
        azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert limited.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]


def test_a_required_key_is_accepted_from_the_api_key_header(standalone: LLMMockServer) -> None:
    standalone.require_api_key = "azure-secret"
    with openai.AzureOpenAI(
        azure_endpoint=standalone.url, api_version=API_VERSION, api_key="azure-secret"
    ) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=HELLO).choices[0]
    with (
        openai.AzureOpenAI(
            azure_endpoint=standalone.url, api_version=API_VERSION, api_key="wrong", max_retries=0
        ) as wrong,
        pytest.raises(openai.AuthenticationError) as refused,
    ):
        wrong.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert refused.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    assert [r.status for r in standalone.requests] == [200, 401]


def test_an_unknown_azure_route_is_an_openai_shaped_404(
    standalone: LLMMockServer, azure: openai.AzureOpenAI, validate: openapi.Validate
) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        azure.images.generate(model="dall-e-3", prompt="a cat")
    validate("ErrorResponse", missing.value.response.json())
    assert missing.value.body["code"] == "unknown_url"  # type: ignore[index]
    assert standalone.requests[0].path == "/openai/deployments/dall-e-3/images/generations"


def test_an_unmatched_request_explains_the_miss(azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        azure.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "?"}])
    assert missing.value.body["code"] == "llm_mock_no_match"  # type: ignore[index]


def test_examples_saved_on_azure_paths_answer_with_the_deployment_as_model(
    tmp_path: Path,
) -> None:
    def azure_item(deployment: str, answer: str) -> postman.Json:
        path = f"openai/deployments/{deployment}/chat/completions?api-version={API_VERSION}"
        body = {"messages": [{"role": "user", "content": "Status?"}]}  # no model: Azure's way
        return postman.item(deployment, body, postman.example(deployment, answer), path=path)

    embedding = postman.item(
        "embedding",
        {"input": "Status?"},
        postman.example(
            "embedding", {"object": "list", "data": [{"embedding": [1.0, 0.0]}], "model": "e"}
        ),
        path="openai/deployments/embedder/embeddings?api-version=2024-10-21",
    )
    collection = postman.collection(
        azure_item("gpt-4o", "Green"), azure_item("backup", "Amber"), embedding
    )
    path = postman.write(tmp_path / "azure.json", collection)
    question: Any = [{"role": "user", "content": "Status?"}]
    with (
        LLMMockServer(path) as server,
        openai.AzureOpenAI(
            azure_endpoint=server.url, api_version=API_VERSION, api_key="k", max_retries=0
        ) as azure,
    ):
        answers = [
            azure.chat.completions.create(model=name, messages=question).choices[0].message.content
            for name in ("gpt-4o", "backup", "elsewhere")
        ]
        # The same examples answer the OpenAI door, the model narrowing as a deployment does.
        openai_client = server.openai_client()
        chat = openai_client.chat.completions.create(model="backup", messages=question)
        vector = azure.embeddings.create(model="embedder", input="Status?").data[0].embedding
        described = http.request(server.url, "GET", "/_llm_mock/collection").json()
    assert answers == ["Green", "Amber", "Green"]  # no deployment narrows: the first answers
    assert chat.choices[0].message.content == "Amber"
    assert vector == [1.0, 0.0]
    saved = {e["name"]: (e["path"], e["model"]) for e in described["examples"]}
    assert saved["gpt-4o/gpt-4o"] == ("/chat/completions", "gpt-4o")


def test_the_fixture_serves_azure_under_the_tests_prefix(pytester: pytest.Pytester) -> None:
    shutil.copy(DEFAULT_COLLECTION, pytester.path / "collection.json")
    pytester.makepyfile(
        """
        import openai

        def test_azure(llm_mock_server):
            client = openai.AzureOpenAI(
                azure_endpoint=llm_mock_server.url, api_version="2024-10-21", api_key="k"
            )
            answer = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Hello"}]
            )
            assert answer.choices[0].message.content == "Hello! How can I help you today?"
            llm_mock_server.assert_called_once(
                path="/openai/deployments/gpt-4o/chat/completions",
                model="gpt-4o",
                last_user_message="Hello",
                stream=False,
            )
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
