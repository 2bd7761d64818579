"""The openai SDK's AzureOpenAI client, and OpenAI() on Azure's v1 API, against the mock."""

import openai

HELLO = [{"role": "user", "content": "Hello"}]


def test_azure_openai(llm_mock_server):
    client = openai.AzureOpenAI(
        azure_endpoint=llm_mock_server.url,  # the root: the SDK adds /openai/deployments/...
        api_version="2024-10-21",
        api_key="test-key",  # sent as the api-key header
    )

    reply = client.chat.completions.create(model="gpt-4o", messages=HELLO)  # the deployment

    assert reply.choices[0].message.content == "Hello! How can I help you today?"
    llm_mock_server.assert_called_once(
        path="/openai/deployments/gpt-4o/chat/completions", model="gpt-4o"
    )


def test_azure_v1_api(llm_mock_server):
    client = openai.OpenAI(base_url=llm_mock_server.url + "/openai/v1/", api_key="test-key")

    response = client.responses.create(model="gpt-4o", input="Hello")

    assert response.output_text == "Hello! How can I help you today?"
    llm_mock_server.assert_called_once(path="/openai/v1/responses")
