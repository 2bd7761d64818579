"""LiteLLM's native provider routes against the mock: `azure/`, `ollama_chat/`, `ollama/`,
`cohere_chat/`, `gemini/` and `bedrock/` models, each through its provider's door, answered
from the same collection example as a chat completion ('Small talk/Hello')."""

import os

# LiteLLM fetches its model price list from the internet at import unless told to use the copy
# it ships; a test suite must not reach the internet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import pytest

HELLO = [{"role": "user", "content": "Hello"}]
GREETING = "Hello! How can I help you today?"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def complete(stream, **options):
    response = litellm.completion(messages=HELLO, stream=stream, **options)
    if stream:
        return "".join(chunk.choices[0].delta.content or "" for chunk in response)
    return response.choices[0].message.content


@pytest.mark.parametrize("stream", [False, True])
def test_azure(llm_mock_server, stream):
    answer = complete(
        stream,
        model="azure/gpt-4o",  # the deployment
        api_base=llm_mock_server.url,  # the root: LiteLLM adds /openai/deployments/...
        api_version="2024-10-21",
        api_key="test-key",
    )

    assert answer == GREETING
    llm_mock_server.assert_called_once(
        path="/openai/deployments/gpt-4o/chat/completions", model="gpt-4o", stream=stream
    )


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_chat(llm_mock_server, stream):
    answer = complete(stream, model="ollama_chat/llama3.2", api_base=llm_mock_server.url)

    assert answer == GREETING
    llm_mock_server.assert_called_once(path="/api/chat", model="llama3.2", stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_generate(llm_mock_server, stream):
    # ollama/ models go to /api/generate. text_completion() sends the prompt as it is, which the
    # chat example's user message matches (completion() would send the messages flattened into
    # one "### User:" prompt, which only contains= matches).
    response = litellm.text_completion(
        model="ollama/llama3.2", prompt="Hello", api_base=llm_mock_server.url, stream=stream
    )
    if stream:
        answer = "".join(chunk.choices[0].text or "" for chunk in response)
    else:
        answer = response.choices[0].text

    assert answer == GREETING
    llm_mock_server.assert_called_once(path="/api/generate", model="llama3.2", stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_cohere_chat(llm_mock_server, stream):
    answer = complete(
        stream,
        model="cohere_chat/command-a-03-2025",
        api_base=llm_mock_server.url + "/v2/chat",  # LiteLLM posts to api_base as given
        api_key="test-key",
    )

    assert answer == GREETING
    llm_mock_server.assert_called_once(path="/v2/chat", model="command-a-03-2025", stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_gemini(llm_mock_server, stream):
    answer = complete(
        stream,
        model="gemini/gemini-2.0-flash",
        api_base=llm_mock_server.url + "/v1beta",  # LiteLLM adds /models/{model}:generateContent
        api_key="test-key",  # sent as x-goog-api-key
    )

    path = "streamGenerateContent" if stream else "generateContent"
    assert answer == GREETING
    llm_mock_server.assert_called_once(
        path=f"/v1beta/models/gemini-2.0-flash:{path}", model="gemini-2.0-flash", stream=stream
    )


AWS = {  # explicit keys and region: LiteLLM never looks for AWS credentials of its own
    "aws_access_key_id": "test-key",
    "aws_secret_access_key": "test-secret",
    "aws_region_name": "us-east-1",
}


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_converse(llm_mock_server, stream):
    answer = complete(
        stream,
        model=f"bedrock/{CLAUDE}",
        api_base=llm_mock_server.url,  # LiteLLM adds /model/{modelId}/converse
        **AWS,
    )

    path = "converse-stream" if stream else "converse"
    assert answer == GREETING
    llm_mock_server.assert_called_once(path=f"/model/{CLAUDE}/{path}", model=CLAUDE, stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_invoke(llm_mock_server, stream):
    # bedrock/invoke/ sends Anthropic's Messages body to /invoke (and to
    # /invoke-with-response-stream when streaming).
    answer = complete(stream, model=f"bedrock/invoke/{CLAUDE}", api_base=llm_mock_server.url, **AWS)

    path = "invoke-with-response-stream" if stream else "invoke"
    assert answer == GREETING
    llm_mock_server.assert_called_once(path=f"/model/{CLAUDE}/{path}", model=CLAUDE, stream=stream)
