"""LangChain's ChatOpenAI against the mock: invoke, stream, a tool loop, structured output."""

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

FIBONACCI = "Write a Python function to calculate fibonacci numbers"


def chat_model(llm_mock_server, **options):
    return ChatOpenAI(
        model="mock-llm-v1", base_url=llm_mock_server.base_url, api_key="test-key", **options
    )


def test_invoke_and_stream(llm_mock_server):
    llm = chat_model(llm_mock_server)

    answer = llm.invoke(FIBONACCI)
    streamed = "".join(chunk.content for chunk in llm.stream(FIBONACCI))

    assert "def fibonacci" in answer.content
    assert streamed == answer.content
    llm_mock_server.assert_called_once(stream=True)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"21 °C and sunny in {city}"


def test_bind_tools_agent_loop(llm_mock_server):
    question = "What is the weather in Paris?"
    llm_mock_server.add_response(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message=question,
        times=1,
    )
    llm_mock_server.add_response("It is 21 °C and sunny in Paris.", contains="21 °C and sunny")
    llm = chat_model(llm_mock_server).bind_tools([get_weather])

    messages = [HumanMessage(question)]
    for _ in range(3):  # bounded agent loop
        reply = llm.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))

    assert messages[-1].content == "It is 21 °C and sunny in Paris."
    llm_mock_server.assert_call_count(2)


class Weather(BaseModel):
    city: str
    celsius: float


def test_with_structured_output(llm_mock_server):
    llm_mock_server.add_response('{"city": "Paris", "celsius": 21.5}', contains="as JSON")
    structured = chat_model(llm_mock_server).with_structured_output(Weather)

    weather = structured.invoke("Weather in Paris as JSON")

    assert weather == Weather(city="Paris", celsius=21.5)
    assert llm_mock_server.last_request.json["response_format"]["type"] == "json_schema"


def test_openai_embeddings(llm_mock_server):
    from langchain_openai import OpenAIEmbeddings

    # LangChain counts tokens with tiktoken, which downloads its encodings at run time;
    # check_embedding_ctx_length=False sends the text as it is, offline.
    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=llm_mock_server.base_url,
        api_key="test-key",
        check_embedding_ctx_length=False,
    )

    query = embeddings.embed_query("hello world")
    documents = embeddings.embed_documents(["hello world", "goodbye"])

    assert len(query) == 1536
    assert documents[0] == query
    assert documents[1] != query
    llm_mock_server.assert_call_count(2, path="/v1/embeddings")
