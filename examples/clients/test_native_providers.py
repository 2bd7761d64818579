"""The providers' own clients against their doors: ollama's Client, google-genai's Client (the
Gemini Developer API and Vertex AI), boto3's bedrock-runtime client and cohere's ClientV2, each
answered from the same collection example as a chat completion ('Small talk/Hello')."""

import boto3
import cohere
import google.oauth2.credentials
import ollama
import pytest
from google import genai
from google.genai import types

HELLO = [{"role": "user", "content": "Hello"}]
GREETING = "Hello! How can I help you today?"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_ollama(llm_mock_server):
    with ollama.Client(host=llm_mock_server.url) as client:  # the client adds /api/chat
        reply = client.chat(model="llama3.2", messages=HELLO)
        parts = client.chat(model="llama3.2", messages=HELLO, stream=True)
        streamed = "".join(part.message.content for part in parts)

    assert reply.message.content == GREETING
    assert streamed == GREETING
    llm_mock_server.assert_called_once(path="/api/chat", model="llama3.2", stream=False)
    llm_mock_server.assert_called_once(path="/api/chat", model="llama3.2", stream=True)


@pytest.fixture
def no_google_environment(monkeypatch):
    # google-genai reads these: a developer's own settings must not reach the tests.
    for name in (
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
    ):
        monkeypatch.delenv(name, raising=False)


def test_gemini(llm_mock_server, no_google_environment):
    client = genai.Client(
        api_key="test-key",  # sent as x-goog-api-key
        http_options=types.HttpOptions(base_url=llm_mock_server.url),  # the SDK adds /v1/models/...
    )

    reply = client.models.generate_content(model="gemini-2.0-flash", contents="Hello")

    assert reply.text == GREETING
    llm_mock_server.assert_called_once(
        path="/v1/models/gemini-2.0-flash:generateContent", model="gemini-2.0-flash"
    )


def test_vertex_ai(llm_mock_server, no_google_environment):
    client = genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials("test-token"),  # never asks Google
        http_options=types.HttpOptions(base_url=llm_mock_server.url),
    )

    reply = client.models.generate_content(model="gemini-2.0-flash", contents="Hello")

    assert reply.text == GREETING
    llm_mock_server.assert_called_once(
        path="/v1beta1/projects/my-project/locations/us-central1"
        "/publishers/google/models/gemini-2.0-flash:generateContent",
        model="gemini-2.0-flash",
    )


def test_bedrock(llm_mock_server, monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)  # a profile missing here would raise
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=llm_mock_server.url,  # the root: botocore adds /model/{modelId}/converse
        region_name="us-east-1",
        aws_access_key_id="test-key",  # explicit keys: boto3 looks for no AWS credentials
        aws_secret_access_key="test-secret",
    )
    messages = [{"role": "user", "content": [{"text": "Hello"}]}]

    reply = client.converse(modelId=CLAUDE, messages=messages)
    events = client.converse_stream(modelId=CLAUDE, messages=messages)["stream"]
    streamed = "".join(
        event["contentBlockDelta"]["delta"]["text"]
        for event in events
        if "contentBlockDelta" in event
    )

    assert reply["output"]["message"]["content"][0]["text"] == GREETING
    assert streamed == GREETING
    llm_mock_server.assert_called_once(path=f"/model/{CLAUDE}/converse", model=CLAUDE)
    llm_mock_server.assert_called_once(
        path=f"/model/{CLAUDE}/converse-stream", model=CLAUDE, stream=True
    )


def test_cohere(llm_mock_server):
    # The root: the SDK adds /v2/chat.
    with cohere.ClientV2(api_key="test-key", base_url=llm_mock_server.url) as client:
        reply = client.chat(model="command-a-03-2025", messages=HELLO)

    assert reply.message.content[0].text == GREETING
    llm_mock_server.assert_called_once(path="/v2/chat", model="command-a-03-2025")
