"""LangChain's chat models for the other providers' doors: AzureChatOpenAI (langchain-openai),
ChatOllama (langchain-ollama) and ChatBedrockConverse (langchain-aws), answered from the same
collection example as a chat completion ('Small talk/Hello')."""

from langchain_aws import ChatBedrockConverse
from langchain_ollama import ChatOllama
from langchain_openai import AzureChatOpenAI

GREETING = "Hello! How can I help you today?"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_azure_chat_openai(llm_mock_server):
    llm = AzureChatOpenAI(
        azure_endpoint=llm_mock_server.url,  # the root: the SDK adds /openai/deployments/...
        azure_deployment="gpt-4o",
        api_version="2024-10-21",
        api_key="test-key",
    )

    answer = llm.invoke("Hello")
    streamed = "".join(chunk.text for chunk in llm.stream("Hello"))

    assert answer.content == GREETING
    assert streamed == GREETING
    path = "/openai/deployments/gpt-4o/chat/completions"
    llm_mock_server.assert_called_once(path=path, model="gpt-4o", stream=False)
    llm_mock_server.assert_called_once(path=path, model="gpt-4o", stream=True)


def test_chat_ollama(llm_mock_server):
    llm = ChatOllama(model="llama3.2", base_url=llm_mock_server.url)  # the client adds /api/chat

    answer = llm.invoke("Hello")
    streamed = "".join(chunk.text for chunk in llm.stream("Hello"))

    assert answer.content == GREETING
    assert streamed == GREETING
    # ChatOllama streams invoke() too, as Ollama answers by default.
    llm_mock_server.assert_call_count(2, path="/api/chat", model="llama3.2", stream=True)


def test_chat_bedrock_converse(llm_mock_server):
    llm = ChatBedrockConverse(
        model=CLAUDE,
        endpoint_url=llm_mock_server.url,  # boto3 adds /model/{modelId}/converse
        region_name="us-east-1",
        aws_access_key_id="test-key",  # explicit keys: boto3 looks for no AWS credentials
        aws_secret_access_key="test-secret",
    )

    answer = llm.invoke("Hello")
    streamed = "".join(chunk.text for chunk in llm.stream("Hello"))

    assert answer.text == GREETING  # Converse answers in content blocks
    assert streamed == GREETING
    llm_mock_server.assert_called_once(path=f"/model/{CLAUDE}/converse", model=CLAUDE)
    llm_mock_server.assert_called_once(
        path=f"/model/{CLAUDE}/converse-stream", model=CLAUDE, stream=True
    )
