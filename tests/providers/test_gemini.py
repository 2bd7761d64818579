"""Gemini (Developer API) and Vertex AI through the real `google-genai` client, answered from
the same chat examples as the OpenAI wire."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import openai
import pytest
from google import genai
from google.genai import errors, types

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._capture import Capturer
from pytest_llm_mock._collection import DRAFT_PLACEHOLDER

from .. import http, postman
from ..conftest import DEFAULT_COLLECTION
from ..scenarios import Weather

MODEL = "gemini-2.0-flash"
HELLO = "Hello! How can I help you today?"
# The client's settings from the environment: none may leak in from the machine.
_ENVIRONMENT = (
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
)
CLIENTS = ("default", "v1", "v1beta", "vertex", "express")
# google-genai 3 embeds on Vertex AI through :embedContent for Gemini embedding models; 2.x
# (what pip picks on Python 3.10) through :predict for every model.
VERTEX_GEMINI_EMBED = "embedContent" if int(genai.__version__.split(".")[0]) >= 3 else "predict"
VERTEX_PATH = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return "21 °C" if city == "Paris" else "unknown"


WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="The weather in a city.",
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={"city": types.Schema(type=types.Type.STRING)},
                required=["city"],
            ),
        )
    ]
)
# google-genai 2.x reads a tool's annotations unevaluated (`inspect.signature`): with
# `from __future__ import annotations` on, it would check the argument against the string "str".
get_weather.__annotations__ = {"city": str, "return": str}
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture(autouse=True)
def _no_google_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def gemini(url: str, kind: str = "v1", **options: Any) -> genai.Client:
    """The client as users build it, pointed at the mock, with retries off unless given.
    `default` leaves the Developer API's version to the client (v1 from google-genai 3, v1beta
    before); Vertex AI needs credentials, which an access token that never expires satisfies
    offline."""
    options.setdefault("retry_options", types.HttpRetryOptions(attempts=1))
    if kind == "vertex":
        token = google.oauth2.credentials.Credentials("fake-token")  # type: ignore[no-untyped-call]
        return genai.Client(
            vertexai=True,
            project="p",
            location="us-central1",
            credentials=token,
            http_options=types.HttpOptions(base_url=url, **options),
        )
    if kind == "express":  # Vertex AI with an API key
        return genai.Client(
            vertexai=True, api_key="k", http_options=types.HttpOptions(base_url=url, **options)
        )
    version = None if kind == "default" else kind
    return genai.Client(
        api_key="k",
        http_options=types.HttpOptions(base_url=url, api_version=version, **options),
    )


def default_version() -> str:
    """The Developer API version the client sends when told none."""
    with genai.Client(api_key="k") as sdk:
        version = sdk._api_client._http_options.api_version
    assert version in ("v1", "v1beta"), version
    return version


@pytest.fixture
def client(standalone: LLMMockServer) -> Iterator[genai.Client]:
    with gemini(standalone.url) as sdk:
        yield sdk


def _call(call_id: str, **arguments: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps(arguments)},
    }


@pytest.fixture
def chats(tmp_path: Path) -> Iterator[LLMMockServer]:
    """Chat examples, as saved for OpenAI clients: a two-turn chat, a tool round trip (with
    the ids chat clients see), structured output."""
    question = {"role": "user", "content": "Weather in Paris?"}
    asked = {
        "role": "assistant",
        "content": None,
        "tool_calls": [_call("call_paris", city="Paris")],
    }
    answered = {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C"}
    items = [
        postman.chat_item("hello", postman.chat_body(("user", "Hello")), HELLO),
        postman.chat_item(
            "joke",
            postman.chat_body(("user", "Hello"), ("assistant", HELLO), ("user", "Tell me a joke")),
            "Why did the mock cross the road?",
        ),
        postman.chat_item(
            "weather tool",
            postman.chat_body(("user", "Weather in Paris?")),
            {"choices": [{"message": asked, "finish_reason": "tool_calls"}]},
        ),
        postman.chat_item(
            "weather answer",
            {
                "model": "gpt-4o-mini",
                "messages": [question, asked, answered],
            },
            "Sunny, 21 °C.",
        ),
        postman.chat_item(
            "weather json",
            postman.chat_body(("user", "Weather in Paris as JSON")),
            json.dumps({"city": "Paris", "celsius": 21.5}),
        ),
    ]
    path = postman.write(tmp_path / "gemini.json", postman.collection(*items))
    with LLMMockServer(path, strict=False) as server:
        yield server


@pytest.mark.parametrize("kind", CLIENTS)
def test_generate_content_answers_from_the_chat_examples(
    standalone: LLMMockServer, kind: str
) -> None:
    with gemini(standalone.url, kind) as sdk:
        response = sdk.models.generate_content(
            model=MODEL,
            contents="Hello",
            config=types.GenerateContentConfig(temperature=0.0),
        )
    assert response.text == HELLO
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == MODEL
    usage = response.usage_metadata
    assert usage is not None
    assert usage.total_token_count
    assert usage.total_token_count == (usage.prompt_token_count or 0) + (
        usage.candidates_token_count or 0
    )
    (request,) = standalone.requests
    expected_path = {
        "default": f"/{default_version()}/models/{MODEL}:generateContent",
        "v1": f"/v1/models/{MODEL}:generateContent",
        "v1beta": f"/v1beta/models/{MODEL}:generateContent",
        "vertex": f"{VERTEX_PATH}{MODEL}:generateContent",
        "express": f"/v1beta1/publishers/google/models/{MODEL}:generateContent",
    }[kind]
    assert (request.path, request.model, request.stream, request.last_user_message) == (
        expected_path,
        MODEL,
        False,
        "Hello",
    )
    assert request.example == "Small talk/Hello/Greeting"
    assert request.json is not None
    assert request.json["contents"][0]["parts"] == [{"text": "Hello"}]
    credential = "authorization" if kind == "vertex" else "x-goog-api-key"
    assert request.headers[credential] == "<redacted>"


@pytest.mark.parametrize("kind", ["v1", "vertex"])
def test_streamed_answer_comes_in_chunks_and_ends_with_the_finish_reason(
    standalone: LLMMockServer, kind: str
) -> None:
    with gemini(standalone.url, kind) as sdk:
        chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="Hello"))
    assert "".join(chunk.text or "" for chunk in chunks) == HELLO
    assert len(chunks) == math.ceil(len(HELLO) / standalone.chunk_size)
    finished = [c.candidates[0].finish_reason for c in chunks if c.candidates]
    assert finished == [None] * (len(chunks) - 1) + [types.FinishReason.STOP]
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.total_token_count
    request = standalone.requests[-1]
    assert request.path.endswith(f"{MODEL}:streamGenerateContent")
    assert (request.model, request.stream, request.last_user_message) == (MODEL, True, "Hello")


def test_stream_is_server_sent_events_without_done(standalone: LLMMockServer) -> None:
    response = http.request(
        standalone.url,
        "POST",
        f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]},
        {"content-type": "application/json", "x-goog-api-key": "k"},
    )
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.body.decode().split("\r\n\r\n")
    assert events.pop() == ""
    assert all(event.startswith("data: {") for event in events)
    assert b"[DONE]" not in response.body
    parsed = [types.GenerateContentResponse.model_validate_json(e[6:]) for e in events]
    assert "".join(p.text or "" for p in parsed) == HELLO


def test_the_async_client_generates_and_streams(standalone: LLMMockServer) -> None:
    async def ask() -> tuple[str | None, str]:
        # Closed on the loop that opened its connections.
        async with gemini(standalone.url, "vertex").aio as sdk:
            response = await sdk.models.generate_content(model=MODEL, contents="Hello")
            stream = await sdk.models.generate_content_stream(model=MODEL, contents="Hello")
            return response.text, "".join([chunk.text or "" async for chunk in stream])

    assert asyncio.run(ask()) == (HELLO, HELLO)
    assert [r.stream for r in standalone.requests] == [False, True]


def test_a_chat_session_sends_its_history_and_matches_the_chat_example(
    chats: LLMMockServer,
) -> None:
    with gemini(chats.url) as sdk:
        chat = sdk.chats.create(model=MODEL)
        # Streamed: the session keeps each chunk as a turn of its own.
        first = "".join(chunk.text or "" for chunk in chat.send_message_stream("Hello"))
        second = chat.send_message("Tell me a joke")
    assert first == HELLO
    assert second.text == "Why did the mock cross the road?"
    sent = chats.requests[-1]
    assert sent.json is not None
    assert len(sent.json["contents"]) > 3
    assert [m["role"] for m in sent.messages] == ["user", "assistant", "user"]
    assert sent.example == "joke/joke"


def test_system_instruction_is_the_system_message(standalone: LLMMockServer) -> None:
    with gemini(standalone.url) as sdk:
        response = sdk.models.generate_content(
            model="mock-gpt-4",
            contents="Help me integrate MCP with AutoGen agents",
            config=types.GenerateContentConfig(
                system_instruction="You are an AI assistant with MCP protocol capabilities"
            ),
        )
    assert response.text is not None
    assert "mcp_server_tools" in response.text
    assert standalone.requests[-1].messages[0]["role"] == "system"


def test_tool_round_trip_by_hand(chats: LLMMockServer) -> None:
    config = types.GenerateContentConfig(tools=[WEATHER_TOOL], automatic_function_calling=NO_AFC)
    with gemini(chats.url) as sdk:
        asked = sdk.models.generate_content(
            model=MODEL, contents="Weather in Paris?", config=config
        )
        (call,) = asked.function_calls or []
        assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
        assert asked.candidates is not None
        assert asked.candidates[0].content is not None
        result = types.Part.from_function_response(
            name="get_weather", response={"result": get_weather(**(call.args or {}))}
        )
        contents: Any = [
            types.UserContent(parts=[types.Part(text="Weather in Paris?")]),
            asked.candidates[0].content,
            types.UserContent(parts=[result]),
        ]
        answered = sdk.models.generate_content(model=MODEL, contents=contents, config=config)
    assert answered.text == "Sunny, 21 °C."
    first, second = chats.requests
    assert first.json is not None
    assert first.json["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert (first.example, second.example) == (
        "weather tool/weather tool",
        "weather answer/weather answer",
    )
    # The tool's result is a tool message: the last user message is still the question.
    assert second.last_user_message == "Weather in Paris?"
    assert second.messages[-1] == {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C"}


@pytest.mark.parametrize("kind", ["v1", "vertex"])
def test_automatic_function_calling_runs_the_tool_and_sends_its_result(
    chats: LLMMockServer, kind: str
) -> None:
    with gemini(chats.url, kind) as sdk:
        chat = sdk.chats.create(
            model=MODEL, config=types.GenerateContentConfig(tools=[get_weather])
        )
        response = chat.send_message("Weather in Paris?")
    assert response.text == "Sunny, 21 °C."
    chats.assert_call_count(2, model=MODEL, last_user_message="Weather in Paris?")
    sent = chats.requests[-1].json
    assert sent is not None
    result = sent["contents"][-1]["parts"][0]["functionResponse"]
    assert result == {"name": "get_weather", "response": {"result": "21 °C"}}


def generate_path(kind: str, model: str = MODEL, *, stream: bool = False) -> str:
    """The path the client of `kind` ("v1", "v1beta" or "vertex") posts `model`'s turn to."""
    method = "streamGenerateContent" if stream else "generateContent"
    prefix = VERTEX_PATH if kind == "vertex" else f"/{kind}/models/"
    return f"{prefix}{model}:{method}"


@pytest.mark.parametrize("kind", ["v1beta", "vertex"])
def test_structured_output_parses_into_the_schema(chats: LLMMockServer, kind: str) -> None:
    with gemini(chats.url, kind) as sdk:
        response = sdk.models.generate_content(
            model=MODEL,
            contents="Weather in Paris as JSON",
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=Weather
            ),
        )
    assert response.parsed == Weather(city="Paris", celsius=21.5)
    request = chats.requests[-1]
    assert (request.path, request.example) == (generate_path(kind), "weather json/weather json")
    sent = request.json
    assert sent is not None
    assert sent["generationConfig"]["responseMimeType"] == "application/json"


def test_add_response_answers_gemini_requests(
    standalone: LLMMockServer, client: genai.Client
) -> None:
    standalone.add_response("From Python.", contains="anything", model=MODEL)
    response = client.models.generate_content(model=MODEL, contents="anything at all")
    assert response.text == "From Python."
    standalone.assert_called_once(
        example="add_response #1", path=f"/v1/models/{MODEL}:generateContent"
    )


def test_an_example_saved_for_gemini_is_served_as_saved(tmp_path: Path) -> None:
    saved = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Saved for Gemini"}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 3, "totalTokenCount": 5},
    }
    body = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
    }
    item = postman.item(
        "gemini",
        body,
        postman.example("saved", saved),
        path=f"v1beta/models/{MODEL}:generateContent",
    )
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    with (
        LLMMockServer(postman.write(tmp_path / "c.json", postman.collection(item))) as server,
        gemini(server.url) as sdk,
    ):
        (example,) = server.collection.examples
        assert example.model == MODEL  # the model its path names
        response = sdk.models.generate_content(model=MODEL, contents="Hi", config=config)
        streamed = sdk.models.generate_content_stream(model=MODEL, contents="Hi", config=config)
        assert "".join(chunk.text or "" for chunk in streamed) == "Saved for Gemini"
        with gemini(server.url, "vertex") as vertex:
            on_vertex = vertex.models.generate_content(model=MODEL, contents="Hi", config=config)
        # The model narrows: another model's request is not this example's.
        server.add_response("Any model.", contains="Hi")
        other = sdk.models.generate_content(model="gemini-other", contents="Hi", config=config)
    assert response.text == on_vertex.text == "Saved for Gemini"
    assert response.usage_metadata is not None
    assert response.usage_metadata.total_token_count == 5
    assert other.text == "Any model."


@pytest.mark.parametrize("kind", ["v1", "vertex"])
def test_a_google_shaped_error_example_is_the_clients_error(tmp_path: Path, kind: str) -> None:
    down = {"error": {"code": 503, "message": "Gemini is down.", "status": "UNAVAILABLE"}}
    item = postman.item(
        "down",
        {"contents": [{"role": "user", "parts": [{"text": "Are you there?"}]}]},
        postman.example("down", down, status=503),
        path=f"v1beta/models/{MODEL}:streamGenerateContent",
    )
    path = postman.write(tmp_path / "c.json", postman.collection(item))
    with LLMMockServer(path, strict=False) as server, gemini(server.url, kind) as sdk:
        for stream in (False, True):
            with pytest.raises(errors.ServerError) as raised:
                _generate(sdk, MODEL, "Are you there?", stream=stream)
            assert (raised.value.code, raised.value.status) == (503, "UNAVAILABLE")
            assert raised.value.message == "Gemini is down."
            request = server.requests[-1]
            assert (request.path, request.status, request.example) == (
                generate_path(kind, stream=stream),
                503,
                "down/down",
            )


def test_a_miss_is_captured_on_geminis_path_and_answers_once_filled(tmp_path: Path) -> None:
    path = postman.write(tmp_path / "collection.json", postman.collection())
    with LLMMockServer(path, strict=False) as server, gemini(server.url) as sdk:
        server._state.capturer = Capturer(path)
        with pytest.raises(errors.ClientError) as missed:
            _generate(sdk, MODEL, "Via Gemini", stream=True)
        assert "captured as draft 'Captured/Captured: Via Gemini'" in str(missed.value.message)
        assert str(missed.value.message).endswith(
            "The request came through the Google Gemini and Vertex AI door: "
            f"POST /v1/models/{MODEL}:streamGenerateContent."
        )
        data = json.loads(path.read_text(encoding="utf-8"))
        (draft,) = data["item"][0]["item"]
        assert (
            draft["request"]["url"]["raw"] == f"{{{{baseUrl}}}}/v1/models/{MODEL}:generateContent"
        )
        assert json.loads(draft["request"]["body"]["raw"])["contents"][0]["parts"] == [
            {"text": "Via Gemini"}
        ]
        text = path.read_text(encoding="utf-8").replace(json.dumps(DRAFT_PLACEHOLDER), '"filled"')
        path.write_text(text, encoding="utf-8")
        server.use(path)
        assert _generate(sdk, MODEL, "Via Gemini", stream=False) == "filled"
        (example,) = server.collection.examples
        assert example.model == MODEL


def openais_vector(server: LLMMockServer, text: str, dimensions: int) -> list[float]:
    """The vector `/v1/embeddings` gives the text, through the openai SDK."""
    with openai.OpenAI(base_url=server.base_url, api_key="k") as chat_client:
        response = chat_client.embeddings.create(
            model="text-embedding-3-small",
            input=text,
            dimensions=dimensions,
            encoding_format="float",
        )
    return response.data[0].embedding


def test_embeddings_are_the_same_vectors_as_openais(standalone: LLMMockServer) -> None:
    with gemini(standalone.url) as sdk, gemini(standalone.url, "vertex") as vertex:
        batch = sdk.models.embed_content(model="gemini-embedding-001", contents=["hello", "world"])
        one = vertex.models.embed_content(
            model="gemini-embedding-001",
            contents="hello",
            config=types.EmbedContentConfig(output_dimensionality=768),
        )
        again = sdk.models.embed_content(model="gemini-embedding-001", contents="hello")
    same = openais_vector(standalone, "hello", 768)
    assert batch.embeddings is not None
    assert one.embeddings is not None
    assert again.embeddings is not None
    vectors = [e.values for e in batch.embeddings]
    assert [len(v or ()) for v in vectors] == [3072, 3072]  # gemini-embedding-001's size
    assert vectors[0] != vectors[1]
    assert again.embeddings[0].values == vectors[0]  # same text, same vector
    assert one.embeddings[0].values == pytest.approx(same)
    paths = [r.path.rsplit(":", 1)[1] for r in standalone.requests[:3]]
    assert paths == ["batchEmbedContents", VERTEX_GEMINI_EMBED, "batchEmbedContents"]
    assert standalone.requests[0].model == "gemini-embedding-001"


def test_vertex_text_embeddings_come_through_predict(standalone: LLMMockServer) -> None:
    """google-genai embeds on Vertex AI through `:predict` for the models that are not Gemini
    embeddings (and for every model before google-genai 3): the same vectors again."""
    with gemini(standalone.url, "vertex") as vertex:
        both = vertex.models.embed_content(
            model="text-embedding-004",
            contents=["hello", "world"],
            config=types.EmbedContentConfig(output_dimensionality=256, task_type="RETRIEVAL_QUERY"),
        )
        full = vertex.models.embed_content(model="text-embedding-004", contents="hello")
    same = openais_vector(standalone, "hello", 256)
    assert both.embeddings is not None
    assert full.embeddings is not None
    assert [len(e.values or ()) for e in both.embeddings] == [256, 256]
    assert len(full.embeddings[0].values or ()) == 768  # text-embedding-004's size
    assert both.embeddings[0].values == pytest.approx(same)
    assert both.embeddings[0].values != both.embeddings[1].values
    statistics = both.embeddings[0].statistics
    assert statistics is not None
    assert statistics.token_count
    assert statistics.truncated is False
    first, second = standalone.requests[:2]
    assert first.path == f"{VERTEX_PATH}text-embedding-004:predict"
    assert (first.status, first.model, second.path) == (200, "text-embedding-004", first.path)
    assert first.json is not None
    assert first.json["instances"][0]["task_type"] == "RETRIEVAL_QUERY"


def test_predict_rejects_what_vertex_rejects(standalone: LLMMockServer) -> None:
    path = f"{VERTEX_PATH}text-embedding-004:predict"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"instances": []}, "instances"),
        ({"instances": [{"title": "no content"}]}, "content"),
        ({"instances": [{"content": "x"}], "parameters": {"outputDimensionality": 4096}}, "768"),
    ]
    for body, said in cases:
        answer = http.request(standalone.url, "POST", path, body)
        assert answer.status == 400, body
        error = answer.json()["error"]
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
        assert said in error["message"]
    # Imagen's generate_images posts to :predict too: not embeddings, not served.
    image = {"instances": [{"prompt": "a cat"}], "parameters": {"sampleCount": 1}}
    answer = http.request(standalone.url, "POST", f"{VERTEX_PATH}imagen-3.0:predict", image)
    error = answer.json()["error"]
    assert (answer.status, error["status"]) == (404, "NOT_FOUND")
    assert "image generation is not served" in error["message"]


def test_count_tokens_counts_the_prompt(standalone: LLMMockServer, client: genai.Client) -> None:
    short = client.models.count_tokens(model=MODEL, contents="Hello")
    long = client.models.count_tokens(model=MODEL, contents="Hello " * 100)
    assert short.total_tokens is not None
    assert long.total_tokens is not None
    assert 0 < short.total_tokens < long.total_tokens
    assert standalone.requests[0].last_user_message == "Hello"
    assert standalone.requests[0].path == f"/v1/models/{MODEL}:countTokens"


def test_models_list_is_googles_for_google_and_openais_for_openai(
    standalone: LLMMockServer, client: genai.Client
) -> None:
    client.models.generate_content(model=MODEL, contents="Hello")  # a model in use is listed
    names = [model.name for model in client.models.list()]
    assert "models/mock-llm-v1" in names
    assert f"models/{MODEL}" in names
    model = client.models.get(model=MODEL)
    assert (model.name, model.display_name) == (f"models/{MODEL}", MODEL)
    with gemini(standalone.url, "vertex") as vertex:
        listed = [m.name for m in vertex.models.list()]
        assert f"publishers/google/models/{MODEL}" in listed
    with openai.OpenAI(base_url=standalone.base_url, api_key="k") as chat_client:
        ids = [m.id for m in chat_client.models.list()]
        assert chat_client.models.retrieve(MODEL).id == MODEL
    assert ids == [str(name).removeprefix("models/") for name in names]
    with pytest.raises(errors.ClientError) as missing:
        client.models.get(model="no-such-model")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")


ERRORS: Any = [
    ("fail_next 429", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    ("fail_next 503", errors.ServerError, 503, "UNAVAILABLE"),
    ("rate_limit", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    ("error example", errors.ServerError, 503, "UNAVAILABLE"),
    ("no match", errors.ClientError, 404, "NOT_FOUND"),
    ("wrong key", errors.ClientError, 401, "UNAUTHENTICATED"),
    ("bad request", errors.ClientError, 400, "INVALID_ARGUMENT"),
]


def _generate(client: genai.Client, model: str, contents: Any, *, stream: bool) -> str:
    if stream:
        chunks = client.models.generate_content_stream(model=model, contents=contents)
        return "".join(chunk.text or "" for chunk in chunks)
    return client.models.generate_content(model=model, contents=contents).text or ""


@pytest.mark.parametrize("case", ERRORS, ids=[case[0] for case in ERRORS])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", ["v1", "vertex"])
def test_errors_are_the_clients_own_exceptions(
    standalone: LLMMockServer, kind: str, case: Any, stream: bool
) -> None:
    setup, exception, code, status = case
    model = MODEL
    contents: Any = "Hello"
    with gemini(standalone.url, kind) as client:
        if setup.startswith("fail_next"):
            standalone.fail_next(code, retry_after=2, model=MODEL)
        elif setup == "rate_limit":
            standalone.rate_limit(1)
            _generate(client, model, contents, stream=stream)  # the one request allowed
        elif setup == "error example":  # the default collection's 503 for this model
            model, contents = (
                "mock-claude-sonnet-4",
                "Summarize the quarterly report in one sentence.",
            )
        elif setup == "no match":
            contents = "nothing answers this"
        elif setup == "wrong key":
            standalone.require_api_key = "the-right-key"
        elif setup == "bad request":  # a turn of a role Gemini does not have
            contents = [types.Content(role="assistant", parts=[types.Part(text="Hi")])]
        with pytest.raises(exception) as raised:
            _generate(client, model, contents, stream=stream)
    error: errors.APIError = raised.value
    assert (error.code, error.status) == (code, status)
    assert error.message
    assert error.details["error"]["code"] == code
    assert set(error.details["error"]) <= {"code", "message", "status", "details"}
    request = standalone.requests[-1]
    # One attempt: no retry (the client's default); the one before is rate_limit's allowed one.
    assert len(standalone.requests) == (2 if setup == "rate_limit" else 1)
    # A request refused before it is read is journaled with its path's model, not as a stream.
    read = setup not in ("rate_limit", "wrong key", "bad request")
    assert (request.path, request.status, request.model, request.stream) == (
        generate_path(kind, model, stream=stream),
        code,
        model,
        stream and read,
    )
    if setup.startswith("fail_next"):
        assert error.response.headers["retry-after"] == "2"


def test_a_retrying_client_gets_the_answer_after_a_503(standalone: LLMMockServer) -> None:
    standalone.fail_next(503)
    retry = types.HttpRetryOptions(attempts=2, initial_delay=0.01, max_delay=0.01)
    with gemini(standalone.url, retry_options=retry) as sdk:
        assert sdk.models.generate_content(model=MODEL, contents="Hello").text == HELLO
    assert [r.status for r in standalone.requests] == [503, 200]


def test_an_error_event_in_a_stream_is_a_server_error(
    standalone: LLMMockServer, client: genai.Client
) -> None:
    standalone.break_next_stream(after=2, how="error")
    received: list[str] = []

    def read() -> None:
        for chunk in client.models.generate_content_stream(model=MODEL, contents="Hello"):
            received.append(chunk.text or "")

    with pytest.raises(errors.ServerError) as raised:
        read()
    assert (raised.value.code, raised.value.status) == (500, "INTERNAL")
    assert "".join(received) == HELLO[: 2 * standalone.chunk_size]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"/v1/models/{MODEL}:frobnicate", "NOT_FOUND"),  # OpenAI's GET has the path
        ("POST", f"/v1beta/models/{MODEL}", "NOT_FOUND"),
        ("POST", "/v1beta/tunedModels/x:generateContent", "NOT_FOUND"),
        ("POST", "/v1beta1/projects/p/locations/l/endpoints/e:predict", "NOT_FOUND"),
        ("GET", f"/v1beta/models/{MODEL}:generateContent", "NOT_FOUND"),  # no such model
        ("DELETE", "/v1beta/models", "UNIMPLEMENTED"),  # a method the path does not serve
    ],
)
def test_unknown_routes_under_googles_paths_get_googles_errors(
    standalone: LLMMockServer, method: str, path: str, status: str
) -> None:
    response = http.request(
        standalone.url, method, path, {"contents": []}, {"content-type": "application/json"}
    )
    code = 405 if status == "UNIMPLEMENTED" else 404
    assert response.status == code
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert set(error) == {"code", "message", "status"}
    assert standalone.requests[-1].status == code


@pytest.mark.parametrize("version", ["/v1", ""])  # none: LiteLLM's `gemini/` with api_base
def test_a_client_that_is_not_googles_still_reaches_the_gemini_doors(
    standalone: LLMMockServer, version: str
) -> None:
    body = {"contents": [{"parts": [{"text": "Hello"}]}]}
    response = http.request(
        standalone.url,
        "POST",
        f"{version}/models/{MODEL}:generateContent",
        body,
        {"content-type": "application/json"},
    )
    assert response.status == 200
    parsed = types.GenerateContentResponse.model_validate(response.json())
    assert parsed.text == HELLO
    # While GET /v1/models without Google's headers is OpenAI's list.
    listed = http.request(standalone.url, "GET", "/v1/models").json()
    assert listed["object"] == "list"


def test_bad_bodies_get_googles_invalid_argument(standalone: LLMMockServer) -> None:
    headers = {"content-type": "application/json", "x-goog-api-key": "k"}
    path = f"/v1beta/models/{MODEL}:generateContent"
    cases: list[Any] = [
        {"contents": [{"role": "assistant", "parts": [{"text": "Hi"}]}]},
        {"contents": "Hello"},
        "not JSON",
    ]
    for body in cases:
        response = http.request(standalone.url, "POST", path, body, headers)
        assert response.status == 400, body
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    embed = http.request(
        standalone.url,
        "POST",
        "/v1beta/models/text-embedding-004:embedContent",
        {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 4096},
        headers,
    )
    assert embed.status == 400
    assert "outputDimensionality" in embed.json()["error"]["message"]


def test_the_fixture_serves_gemini_in_a_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from google import genai
        from google.genai import types


        def test_gemini(llm_mock_server):
            options = types.HttpOptions(base_url=llm_mock_server.url)
            with genai.Client(api_key="test-key", http_options=options) as client:
                response = client.models.generate_content(
                    model="gemini-2.0-flash", contents="Hello"
                )
            assert response.text == "Hello! How can I help you today?"
            llm_mock_server.assert_called_once(
                model="gemini-2.0-flash", last_user_message="Hello", stream=False
            )
        """
    )
    pytester.makefile(".json", collection=DEFAULT_COLLECTION.read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
