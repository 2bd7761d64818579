"""AWS Bedrock Runtime (`/model/{modelId}/...`) through the real `boto3` `bedrock-runtime`
client, answered from the default collection's chat examples: Converse, its event stream,
Claude's Anthropic bodies on `invoke`, faults raised as botocore's own exception classes.
Raw HTTP only for what the client hides (an unknown route)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import anthropic
import boto3
import botocore.config
import botocore.exceptions
import pytest
from pydantic import TypeAdapter

from pytest_llm_mock import LLMMockServer

from .. import http, postman
from ..conftest import DEFAULT_COLLECTION
from ..scenarios import GREETING

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
HELLO: Any = [{"role": "user", "content": [{"text": "Hello"}]}]
QUESTION: Any = [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]
TOOL_CONFIG: Any = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "inputSchema": {
                    "json": {"type": "object", "properties": {"city": {"type": "string"}}}
                },
            }
        }
    ]
}
STREAM_EVENTS: TypeAdapter[anthropic.types.RawMessageStreamEvent] = TypeAdapter(
    anthropic.types.RawMessageStreamEvent
)


@pytest.fixture
def bedrock(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Any]:
    """A `bedrock-runtime` client pointed at the server: explicit keys and region, no AWS
    config file, no instance metadata, one attempt (botocore's `max_attempts: 1` still
    makes two, providers.md section 3)."""
    with closing(make_client(standalone.url, monkeypatch, tmp_path)) as client:
        yield client


def make_client(
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    key: str = "x",
    token: str | None = None,
) -> Any:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key="y",
        aws_session_token=token,
        region_name="us-east-1",
    )
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    return session.client("bedrock-runtime", endpoint_url=url, config=config)


def text_of(response: Any) -> str:
    return "".join(block.get("text", "") for block in response["output"]["message"]["content"])


def claude_body(messages: Any, **extra: Any) -> str:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": messages}
    return json.dumps({**body, **extra})


def weather_round_trip(server: LLMMockServer) -> None:
    """The chat conversation chat clients see: `call_paris` asked for, then answered (that
    answer added first: the question alone is still the last user message then)."""
    call = {
        "id": "call_paris",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    server.add_response(
        "Sunny, 21 °C.",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "21 °C"},
        ],
    )
    server.add_response(
        tool_calls=[{"id": "call_paris", "name": "get_weather", "arguments": {"city": "Paris"}}],
        last_user_message="Weather in Paris?",
    )


def test_converse_answers_from_the_chat_examples(standalone: LLMMockServer, bedrock: Any) -> None:
    hello = bedrock.converse(modelId="mock-llm-v1", messages=HELLO)
    assert text_of(hello) == GREETING
    assert hello["output"]["message"]["role"] == "assistant"
    assert hello["stopReason"] == "end_turn"
    usage = hello["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0
    assert hello["ResponseMetadata"]["RequestId"]  # x-amzn-requestid, read by botocore
    with_system = bedrock.converse(
        modelId="mock-gpt-4",
        system=[{"text": "You are an AI assistant with MCP protocol capabilities"}],
        messages=[
            {"role": "user", "content": [{"text": "Help me integrate MCP with AutoGen agents"}]}
        ],
        inferenceConfig={"maxTokens": 500, "temperature": 0.2},
    )
    assert "mcp_server_tools" in text_of(with_system)
    assert [r.example for r in standalone.requests] == [
        "Small talk/Hello/Greeting",
        "Agents/MCP with AutoGen/Integration steps",
    ]


def test_converse_stream_sends_the_event_stream_botocore_parses(
    standalone: LLMMockServer, bedrock: Any
) -> None:
    response = bedrock.converse_stream(modelId=CLAUDE, messages=HELLO)
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    events = list(response["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart"
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert "contentBlockStart" not in kinds  # a text block has none: botocore rejects it empty
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert len(deltas) > 1
    assert "".join(deltas) == GREETING
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_a_tool_round_trip_through_converse(standalone: LLMMockServer, bedrock: Any) -> None:
    weather_round_trip(standalone)
    asked = bedrock.converse(modelId=CLAUDE, messages=QUESTION, toolConfig=TOOL_CONFIG)
    assert asked["stopReason"] == "tool_use"
    (block,) = asked["output"]["message"]["content"]
    call = block["toolUse"]
    assert call == {"toolUseId": "tooluse_paris", "name": "get_weather", "input": {"city": "Paris"}}
    streamed = list(
        bedrock.converse_stream(modelId=CLAUDE, messages=QUESTION, toolConfig=TOOL_CONFIG)["stream"]
    )
    (start,) = [e["contentBlockStart"] for e in streamed if "contentBlockStart" in e]
    assert start["start"]["toolUse"] == {"toolUseId": "tooluse_paris", "name": "get_weather"}
    pieces = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in streamed
        if "contentBlockDelta" in e
    ]
    assert json.loads("".join(pieces)) == {"city": "Paris"}
    assert streamed[-2]["messageStop"]["stopReason"] == "tool_use"
    result = {
        "toolResult": {
            "toolUseId": call["toolUseId"],
            "content": [{"text": "21 °C"}],
            "status": "success",
        }
    }
    answered = bedrock.converse(
        modelId=CLAUDE,
        messages=[*QUESTION, asked["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig=TOOL_CONFIG,
    )
    assert text_of(answered) == "Sunny, 21 °C."
    # A tool result is a tool message: the last user message is still the question.
    assert standalone.requests[-1].last_user_message == "Weather in Paris?"
    assert standalone.requests[-1].example == "add_response #1"


def test_structured_output_answers_the_saved_json(standalone: LLMMockServer, bedrock: Any) -> None:
    standalone.add_response(
        '{"city": "Paris", "celsius": 21.5}', last_user_message="Weather as JSON"
    )
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    }
    answer = bedrock.converse(
        modelId=CLAUDE,
        messages=[{"role": "user", "content": [{"text": "Weather as JSON"}]}],
        outputConfig={
            "textFormat": {
                "type": "json_schema",
                "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "weather"}},
            }
        },
    )
    assert json.loads(text_of(answer)) == {"city": "Paris", "celsius": 21.5}


def test_invoke_model_answers_claude_bodies_as_anthropic_messages(
    standalone: LLMMockServer, bedrock: Any
) -> None:
    response = bedrock.invoke_model(
        modelId=CLAUDE, body=claude_body([{"role": "user", "content": "Hello"}])
    )
    assert response["contentType"] == "application/json"
    message = anthropic.types.Message.model_validate_json(response["body"].read())
    assert message.content[0].type == "text"
    assert message.content[0].text == GREETING
    assert (message.model, message.stop_reason, message.role) == (CLAUDE, "end_turn", "assistant")
    assert message.usage.input_tokens > 0
    mcp = [{"role": "user", "content": "Help me integrate MCP with AutoGen agents"}]
    system = "You are an AI assistant with MCP protocol capabilities"
    with_system = bedrock.invoke_model(modelId=CLAUDE, body=claude_body(mcp, system=system))
    assert "mcp_server_tools" in json.loads(with_system["body"].read())["content"][0]["text"]
    with pytest.raises(bedrock.exceptions.ValidationException, match="max_tokens"):
        bedrock.invoke_model(
            modelId=CLAUDE, body=json.dumps({"messages": HELLO, "anthropic_version": "x"})
        )
    assert standalone.requests[0].path == f"/model/{CLAUDE}/invoke"


def test_invoke_with_response_stream_sends_anthropic_events_as_chunks(
    standalone: LLMMockServer, bedrock: Any
) -> None:
    weather_round_trip(standalone)
    response = bedrock.invoke_model_with_response_stream(
        modelId=CLAUDE, body=claude_body([{"role": "user", "content": "Weather in Paris?"}])
    )
    assert response["contentType"] == "application/json"
    events = [STREAM_EVENTS.validate_json(event["chunk"]["bytes"]) for event in response["body"]]
    assert [e.type for e in events[:2]] == ["message_start", "content_block_start"]
    assert [e.type for e in events[-2:]] == ["message_delta", "message_stop"]
    (started,) = [e.content_block for e in events if e.type == "content_block_start"]
    assert started.type == "tool_use"
    assert (started.id, started.name) == ("toolu_paris", "get_weather")
    arguments = "".join(
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert json.loads(arguments) == {"city": "Paris"}
    follow_up = claude_body(
        [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [started.model_dump() | {"input": {"city": "Paris"}}]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": started.id, "content": "21 °C"}],
            },
        ]
    )
    answered = bedrock.invoke_model(modelId=CLAUDE, body=follow_up)
    assert json.loads(answered["body"].read())["content"][0]["text"] == "Sunny, 21 °C."
    assert [(r.stream, r.model) for r in standalone.requests] == [(True, CLAUDE), (False, CLAUDE)]


@pytest.mark.parametrize(
    ("setup", "error_type", "status"),
    [
        ("fail_next_429", "ThrottlingException", 429),
        ("fail_next_503", "ServiceUnavailableException", 503),
        ("error_example", "ServiceUnavailableException", 503),
        ("rate_limit", "ThrottlingException", 429),
        ("miss", "ResourceNotFoundException", 404),
    ],
)
def test_faults_raise_botocores_own_exception_classes(
    standalone: LLMMockServer, bedrock: Any, setup: str, error_type: str, status: int
) -> None:
    model, messages = "mock-llm-v1", HELLO
    if setup == "fail_next_429":
        standalone.fail_next(429, retry_after=1)
    elif setup == "fail_next_503":
        standalone.fail_next(503, model=CLAUDE)
        model = CLAUDE
    elif setup == "error_example":  # Failover/Quarterly summary: this model's example is a 503
        model = "mock-claude-sonnet-4"
        messages = [
            {
                "role": "user",
                "content": [{"text": "Summarize the quarterly report in one sentence."}],
            }
        ]
    elif setup == "rate_limit":
        standalone.rate_limit(1)  # per key: the access key id, whatever the signature
        bedrock.converse(modelId=model, messages=messages)
    elif setup == "miss":
        messages = [{"role": "user", "content": [{"text": "nothing answers this"}]}]
    expected = getattr(bedrock.exceptions, error_type)
    with pytest.raises(expected) as raised:
        bedrock.converse(modelId=model, messages=messages)
    error = raised.value.response
    assert error["Error"]["Code"] == error_type
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == error_type
    assert error["Error"]["Message"]
    if setup == "error_example":
        assert (
            error["Error"]["Message"]
            == "The engine is currently overloaded, please try again later."
        )
    if setup == "miss":
        assert "nothing answers this" in error["Error"]["Message"]
    if setup.startswith("fail_next"):
        standalone.fail_next(status)
    body = claude_body([{"role": "user", "content": messages[0]["content"][0]["text"]}])
    with pytest.raises(expected):  # the same error on invoke_model
        bedrock.invoke_model(modelId=model, body=body)


def test_a_stream_broken_with_an_error_raises_botocores_event_stream_error(
    standalone: LLMMockServer, bedrock: Any
) -> None:
    standalone.break_next_stream(after=2, how="error")
    received: list[Any] = []
    with (
        closing(bedrock.converse_stream(modelId=CLAUDE, messages=HELLO)["stream"]) as stream,
        pytest.raises(botocore.exceptions.EventStreamError) as raised,
    ):
        received.extend(stream)
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert [next(iter(e)) for e in received] == ["messageStart", "contentBlockDelta"]


def test_the_journal_has_the_model_the_stream_flag_and_no_signature(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + CLAUDE
    with closing(make_client(standalone.url, monkeypatch, tmp_path, token="secret")) as bedrock:
        bedrock.converse(modelId=arn, messages=HELLO)
        list(bedrock.converse_stream(modelId="mock-llm-v1", messages=HELLO)["stream"])
    first, second = standalone.requests
    assert (first.path, first.model, first.stream) == (f"/model/{arn}/converse", arn, False)
    assert (second.path, second.model, second.stream) == (
        "/model/mock-llm-v1/converse-stream",
        "mock-llm-v1",
        True,
    )
    assert first.last_user_message == second.last_user_message == "Hello"
    assert first.headers["authorization"] == "<redacted>"  # the SigV4 signature
    assert first.headers["x-amz-security-token"] == "<redacted>"
    assert "x-amz-date" in first.headers
    standalone.assert_called_once(model=arn, path=f"/model/{arn}/converse", stream=False)


def test_a_key_required_is_the_access_key_id(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    standalone.require_api_key = "AKIDMOCK"
    with (
        closing(make_client(standalone.url, monkeypatch, tmp_path, key="AKIDMOCK")) as right,
        closing(make_client(standalone.url, monkeypatch, tmp_path, key="AKIDOTHER")) as wrong,
    ):
        assert text_of(right.converse(modelId="m", messages=HELLO)) == GREETING
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            wrong.converse(modelId="m", messages=HELLO)
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_examples_saved_on_bedrock_paths_are_served_as_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "system": [{"text": "Be brief."}],
    }
    saved = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Saved for Bedrock"}]}},
        "stopReason": "max_tokens",
        "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7},
    }
    other = {
        **saved,
        "output": {"message": {"role": "assistant", "content": [{"text": "Other model"}]}},
    }
    claude = {"content": [{"type": "text", "text": "Saved for Claude"}], "stop_reason": "end_turn"}
    items = [
        postman.item(
            "converse",
            asked,
            postman.example("saved", saved),
            path="model/anthropic.claude-x%3A0/converse",
        ),
        postman.item(
            "other",
            asked,
            postman.example("other", other),
            path="model/amazon.nova-pro-v1:0/converse-stream",
        ),
        postman.item(
            "invoke",
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "Hi"}],
            },
            postman.example("claude", claude),
            path="model/anthropic.claude-x:0/invoke",
        ),
    ]
    path = postman.write(tmp_path / "bedrock.json", postman.collection(*items))
    with (
        LLMMockServer(path) as server,
        closing(make_client(server.url, monkeypatch, tmp_path)) as client,
    ):
        answer = client.converse(modelId="anthropic.claude-x:0", **asked)
        streamed = list(client.converse_stream(modelId="amazon.nova-pro-v1:0", **asked)["stream"])
        invoked = client.invoke_model(
            modelId="anthropic.claude-x:0",
            body=claude_body([{"role": "user", "content": "Hi"}], max_tokens=10),
        )
        described = http.request(server.url, "GET", "/_llm_mock/collection").json()
    assert text_of(answer) == "Saved for Bedrock"
    assert (answer["stopReason"], answer["usage"]["totalTokens"]) == ("max_tokens", 7)
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in streamed if "contentBlockDelta" in e
    )
    assert text == "Other model"  # the modelId in the saved path narrows
    assert json.loads(invoked["body"].read())["content"][0]["text"] == "Saved for Claude"
    models = {e["name"]: (e["path"], e["model"]) for e in described["examples"]}
    assert models["converse/saved"] == ("/model/{modelId}/converse", "anthropic.claude-x:0")


def test_titan_embeddings_are_the_vectors_of_v1_embeddings(
    standalone: LLMMockServer, bedrock: Any
) -> None:
    response = bedrock.invoke_model(
        modelId="amazon.titan-embed-text-v2:0",
        body=json.dumps({"inputText": "The same text", "dimensions": 256}),
        contentType="application/json",
        accept="application/json",
    )
    titan = json.loads(response["body"].read())
    openai_vector = standalone.openai_client().embeddings.create(
        model="text-embedding-3-small", input="The same text", dimensions=256
    )
    assert len(titan["embedding"]) == 256
    assert titan["embedding"] == pytest.approx(openai_vector.data[0].embedding, abs=1e-6)
    assert titan["inputTextTokenCount"] > 0
    assert standalone.requests[0].model == "amazon.titan-embed-text-v2:0"


def test_count_tokens_gives_the_input_tokens_converse_reports(bedrock: Any) -> None:
    counted = bedrock.count_tokens(modelId=CLAUDE, input={"converse": {"messages": HELLO}})
    answer = bedrock.converse(modelId=CLAUDE, messages=HELLO)
    assert counted["inputTokens"] == answer["usage"]["inputTokens"] > 0
    body = claude_body([{"role": "user", "content": "Hello"}]).encode()
    by_body = bedrock.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": body}})
    assert by_body["inputTokens"] == counted["inputTokens"]


def test_an_unknown_route_under_model_gets_bedrocks_404(standalone: LLMMockServer) -> None:
    response = http.request(standalone.url, "POST", "/model/m/unknown-operation", {"messages": []})
    assert response.status == 404
    assert response.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert "Unknown route" in response.json()["message"]
    bad = http.request(standalone.url, "POST", "/model/m/converse", {"messages": "not a list"})
    assert (bad.status, bad.headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert bad.json() == {"message": "messages: expected a non-empty list of messages."}


def test_the_fixture_serves_bedrock_under_the_tests_prefix(pytester: pytest.Pytester) -> None:
    shutil.copy(DEFAULT_COLLECTION, pytester.path / "collection.json")
    pytester.makepyfile(
        """
        import boto3, botocore.config

        def test_bedrock(llm_mock_server, monkeypatch, tmp_path):
            monkeypatch.delenv("AWS_PROFILE", raising=False)
            monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
            monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
            client = boto3.client(
                "bedrock-runtime",
                endpoint_url=llm_mock_server.url,
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="y",
                config=botocore.config.Config(retries={"total_max_attempts": 1}),
            )
            answer = client.converse(
                modelId="anthropic.claude-3-haiku-20240307-v1:0",
                messages=[{"role": "user", "content": [{"text": "Hello"}]}],
            )
            text = answer["output"]["message"]["content"][0]["text"]
            assert text == "Hello! How can I help you today?"
            llm_mock_server.assert_called_once(
                path="/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
                model="anthropic.claude-3-haiku-20240307-v1:0",
                last_user_message="Hello",
                stream=False,
            )
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
