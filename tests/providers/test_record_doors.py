"""Record mode through each provider's door: a miss is forwarded to the provider's upstream
(here a second local server answering on that provider's door), authenticated as the
provider wants, its answer returned and saved on the provider's path, and the file then
passes `check` and answers the same requests without the upstream (Ollama's is in
test_ollama.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import cohere
import openai
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pytest_httpserver import HTTPServer

from pytest_llm_mock import LLMMockServer, load_collection
from pytest_llm_mock._record import Recorder
from pytest_llm_mock.cli import main
from pytest_llm_mock.providers import bedrock_sign

from .. import http
from .test_bedrock import claude_body, make_client, text_of
from .test_gemini import gemini

UPSTREAM_KEY = "upstream-secret"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
GEMINI = "gemini-2.0-flash"


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMMockServer]:
    """The provider's upstream: a server of its own, which requires the key record mode
    takes from `LLM_MOCK_UPSTREAM_API_KEY` (never the client's)."""
    monkeypatch.setenv("LLM_MOCK_UPSTREAM_API_KEY", UPSTREAM_KEY)
    with LLMMockServer() as server:
        server.require_api_key = UPSTREAM_KEY
        yield server


def recording(upstream: str, path: Path, *, strict: bool = True) -> LLMMockServer:
    """A server in record mode: its misses go to `upstream` and are saved in `path`."""
    server = LLMMockServer(strict=strict)
    server._state.recorder = Recorder(upstream, path)
    return server


def saved_urls(path: Path) -> list[str]:
    """The URL each recorded request is saved on, as Postman shows it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    (folder,) = data["item"]
    return [item["request"]["url"]["raw"] for item in folder["item"]]


def replays(path: Path, ask: Callable[[LLMMockServer], list[str]], expected: list[str]) -> None:
    """`check` accepts the recordings, and they answer the same requests, upstream gone."""
    assert main(["check", str(path)]) == 0
    with LLMMockServer(path) as replay:
        assert ask(replay) == expected
        examples = [e.full_name for e in load_collection(path).examples]
        assert [r.example for r in replay.requests] == examples
        assert not replay.unmatched


def test_gemini_misses_are_asked_at_the_same_path_with_googles_key_header(
    upstream: LLMMockServer, tmp_path: Path
) -> None:
    path = tmp_path / "recorded.json"

    def ask(server: LLMMockServer) -> list[str]:
        with gemini(server.url, "v1beta") as sdk:
            plain = sdk.models.generate_content(model=GEMINI, contents="Plain?")
            chunks = sdk.models.generate_content_stream(model=GEMINI, contents="Streamed?")
            return [plain.text or "", "".join(c.text or "" for c in chunks)]

    upstream.add_response("from gemini", last_user_message="Plain?")
    upstream.add_response("streamed from gemini", last_user_message="Streamed?")
    with recording(upstream.url, path) as recorder:
        assert ask(recorder) == ["from gemini", "streamed from gemini"]
    # A stream is asked for as JSON (the stream is the mock's own); x-goog-api-key carried
    # the upstream's key, which it requires.
    generate = f"/v1beta/models/{GEMINI}:generateContent"
    assert [(r.path, r.status) for r in upstream.requests] == [(generate, 200), (generate, 200)]
    assert [r.headers.get("x-goog-api-key") for r in upstream.requests] == ["<redacted>"] * 2
    assert saved_urls(path) == [f"{{{{baseUrl}}}}{generate}"] * 2
    recorded = load_collection(path)
    assert [e.model for e in recorded.examples] == [GEMINI, GEMINI]
    saved = json.loads(path.read_text(encoding="utf-8"))["item"][0]["item"][0]
    assert json.loads(saved["response"][0]["body"])["candidates"][0]["content"]["parts"] == [
        {"text": "from gemini"}
    ]
    assert UPSTREAM_KEY not in path.read_text(encoding="utf-8")
    replays(path, ask, ["from gemini", "streamed from gemini"])


def test_vertex_ai_misses_carry_the_key_as_an_access_token(
    upstream: LLMMockServer, tmp_path: Path
) -> None:
    path = tmp_path / "recorded.json"

    def ask(server: LLMMockServer) -> list[str]:
        with gemini(server.url, "vertex", api_version="v1") as sdk:
            return [sdk.models.generate_content(model=GEMINI, contents="Vertex?").text or ""]

    upstream.add_response("from vertex", last_user_message="Vertex?")
    with recording(upstream.url, path) as recorder:
        assert ask(recorder) == ["from vertex"]
    vertex = f"/v1/projects/p/locations/us-central1/publishers/google/models/{GEMINI}"
    (asked,) = upstream.requests
    assert (asked.path, asked.status) == (f"{vertex}:generateContent", 200)
    assert "x-goog-api-key" not in asked.headers
    assert saved_urls(path) == [f"{{{{baseUrl}}}}{vertex}:generateContent"]
    replays(path, ask, ["from vertex"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials record mode signs with; the region, for an upstream whose host
    names none."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRECORDER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "recorder-secret")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


@pytest.mark.usefixtures("aws")
def test_bedrock_misses_are_signed_with_the_environments_aws_credentials(
    upstream: LLMMockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recorded.json"
    # What the upstream requires: SigV4 by the recorder's access key, not the client's "x".
    upstream.require_api_key = "AKIDRECORDER"

    def ask(server: LLMMockServer) -> list[str]:
        with closing(make_client(server.url, monkeypatch, tmp_path)) as client:
            messages: Any = [{"role": "user", "content": [{"text": "Converse?"}]}]
            converse = text_of(client.converse(modelId=CLAUDE, messages=messages))
            messages[0]["content"][0]["text"] = "Stream?"
            events = client.converse_stream(modelId=CLAUDE, messages=messages)["stream"]
            streamed = "".join(
                e["contentBlockDelta"]["delta"].get("text", "")
                for e in events
                if "contentBlockDelta" in e
            )
            body = claude_body([{"role": "user", "content": "Invoke?"}])
            invoked = json.loads(client.invoke_model(modelId=CLAUDE, body=body)["body"].read())
            return [converse, streamed, invoked["content"][0]["text"]]

    answers = ["from converse", "streamed from converse", "from invoke"]
    for text, question in zip(answers, ["Converse?", "Stream?", "Invoke?"], strict=True):
        upstream.add_response(text, last_user_message=question)
    with recording(upstream.url, path) as recorder:
        assert ask(recorder) == answers
    converse, invoke = f"/model/{CLAUDE}/converse", f"/model/{CLAUDE}/invoke"
    assert [(r.path, r.status) for r in upstream.requests] == [
        (converse, 200),
        (converse, 200),
        (invoke, 200),
    ]
    assert saved_urls(path) == [f"{{{{baseUrl}}}}{p}" for p in (converse, converse, invoke)]
    assert [e.model for e in load_collection(path).examples] == [CLAUDE] * 3
    text = path.read_text(encoding="utf-8")
    assert "recorder-secret" not in text
    assert "AKIDRECORDER" not in text
    replays(path, ask, answers)


@pytest.mark.usefixtures("aws")
def test_a_bedrock_signature_covers_the_request_as_sent(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the wire: the modelId percent-encoded as botocore sends it, the credential scope,
    the session token, and a signature that botocore computes again from the request as
    received."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "signed"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    }
    httpserver.expect_request(f"/model/{CLAUDE}/converse", method="POST").respond_with_json(answer)
    with recording(httpserver.url_for("/"), tmp_path / "recorded.json") as recorder:
        reply = http.request(
            recorder.url,
            "POST",
            f"/model/{CLAUDE}/converse",
            {"messages": [{"role": "user", "content": [{"text": "Sign?"}]}]},
            {"Content-Type": "application/json"},
        )
    assert reply.status == 200, reply.body
    assert text_of(reply.json()) == "signed"
    ((received, _),) = httpserver.log
    raw_path = received.environ["RAW_URI"]
    assert raw_path == f"/model/{CLAUDE.replace(':', '%3A')}/converse"
    headers = {k.lower(): v for k, v in received.headers.items()}
    authorization, date = headers["authorization"], headers["x-amz-date"]
    signed = "accept;content-type;host;x-amz-date;x-amz-security-token"
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDRECORDER/{date[:8]}/eu-west-3/bedrock/aws4_request, "
        f"SignedHeaders={signed}, "
    )
    assert headers["x-amz-security-token"] == "session-token"
    again = AWSRequest(
        method="POST",
        url=f"http://{headers['host']}{raw_path}",
        data=received.get_data(),
        headers={name: headers[name] for name in signed.split(";")},
    )
    again.context["timestamp"] = date
    signer = SigV4Auth(
        Credentials("AKIDRECORDER", "recorder-secret", "session-token"), "bedrock", "eu-west-3"
    )
    signature = signer.signature(
        signer.string_to_sign(again, signer.canonical_request(again)), again
    )
    assert authorization.endswith(f", Signature={signature}")


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://bedrock-runtime.us-east-1.amazonaws.com", "us-east-1"),
        ("https://bedrock-runtime-fips.ca-central-1.amazonaws.com", "ca-central-1"),
        ("https://vpce-0a1b.bedrock-runtime.ap-south-1.vpce.amazonaws.com", "ap-south-1"),
        ("http://127.0.0.1:8080", "eu-west-3"),
    ],
)
@pytest.mark.usefixtures("aws")
def test_a_bedrock_upstreams_host_names_the_region_it_is_signed_for(url: str, region: str) -> None:
    assert bedrock_sign.region(url) == region


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("missing", "said"),
    [
        ("AWS_SECRET_ACCESS_KEY", "needs AWS credentials to sign it: set AWS_ACCESS_KEY_ID and"),
        ("AWS_REGION", "names none (bedrock-runtime.<region>.amazonaws.com); set AWS_REGION"),
        ("botocore", "needs botocore to sign it (AWS Signature Version 4)"),
    ],
)
def test_a_bedrock_miss_that_cannot_be_signed_is_a_502_saying_why(
    missing: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if missing == "botocore":
        monkeypatch.setitem(sys.modules, "botocore.auth", None)  # as if not installed
    else:
        monkeypatch.delenv(missing)
    path = tmp_path / "recorded.json"
    with recording("http://127.0.0.1:9", path, strict=False) as recorder:
        reply = http.request(
            recorder.url,
            "POST",
            f"/model/{CLAUDE}/converse",
            {"messages": [{"role": "user", "content": [{"text": "Sign?"}]}]},
            {"Content-Type": "application/json"},
        )
        (entry,) = recorder.requests
    assert reply.status == 502
    assert reply.headers["x-amzn-errortype"] == "InternalServerException"
    message = reply.json()["message"]
    assert message.startswith("record mode: forwarding a Bedrock request ")
    assert said in message
    assert entry.miss == message
    assert not path.exists()


def test_azure_misses_are_asked_at_the_openai_path_of_azures_v1_api(
    upstream: LLMMockServer, tmp_path: Path
) -> None:
    """The upstream is Azure's v1 API (`https://RESOURCE.openai.azure.com/openai/v1`, which
    takes the key as a bearer token); the deployment is the saved example's model."""
    path = tmp_path / "recorded.json"

    def ask(server: LLMMockServer) -> list[str]:
        with openai.AzureOpenAI(
            azure_endpoint=server.url, api_version="2024-10-21", api_key="k", max_retries=0
        ) as client:
            plain = client.chat.completions.create(
                model="my-gpt", messages=[{"role": "user", "content": "Azure?"}]
            )
            chunks = client.chat.completions.create(
                model="my-gpt", messages=[{"role": "user", "content": "Streamed?"}], stream=True
            )
            streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            return [plain.choices[0].message.content or "", streamed]

    upstream.add_response("from azure", last_user_message="Azure?")
    upstream.add_response("streamed from azure", last_user_message="Streamed?")
    with recording(upstream.url + "/openai/v1", path) as recorder:
        assert ask(recorder) == ["from azure", "streamed from azure"]
    assert [(r.path, r.model, r.status) for r in upstream.requests] == [
        ("/openai/v1/chat/completions", "my-gpt", 200),
        ("/openai/v1/chat/completions", "my-gpt", 200),
    ]
    assert saved_urls(path) == ["{{baseUrl}}/v1/chat/completions"] * 2
    assert [e.model for e in load_collection(path).examples] == ["my-gpt", "my-gpt"]
    replays(path, ask, ["from azure", "streamed from azure"])


def test_cohere_misses_are_asked_at_v2_chat_for_json(
    upstream: LLMMockServer, tmp_path: Path
) -> None:
    path = tmp_path / "recorded.json"

    def ask(server: LLMMockServer) -> list[str]:
        with cohere.ClientV2(api_key="k", base_url=server.url, max_retries=0) as client:
            reply = client.chat(model="command-a", messages=[{"role": "user", "content": "Co?"}])
            events = client.chat_stream(
                model="command-a", messages=[{"role": "user", "content": "Streamed?"}]
            )
            streamed = "".join(
                e.delta.message.content.text for e in events if e.type == "content-delta"
            )
            (part,) = reply.message.content or []
            return [part.text, streamed]

    upstream.add_response("from cohere", last_user_message="Co?")
    upstream.add_response("streamed from cohere", last_user_message="Streamed?")
    with recording(upstream.url, path) as recorder:
        assert ask(recorder) == ["from cohere", "streamed from cohere"]
    assert [(r.path, r.stream, r.status) for r in upstream.requests] == [
        ("/v2/chat", False, 200),
        ("/v2/chat", False, 200),
    ]
    assert saved_urls(path) == ["{{baseUrl}}/v2/chat"] * 2
    saved = json.loads(path.read_text(encoding="utf-8"))["item"][0]["item"][1]
    assert json.loads(saved["response"][0]["body"])["message"]["content"] == [
        {"type": "text", "text": "streamed from cohere"}
    ]
    replays(path, ask, ["from cohere", "streamed from cohere"])
