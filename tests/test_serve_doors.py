"""`pytest-llm-mock serve` answers the providers' doors as the fixture's server does: the
providers' own clients against the subprocess, one log line per request ending with the
model, and the exit code that counts their misses."""

from __future__ import annotations

import signal
from contextlib import closing
from pathlib import Path
from typing import Any

import cohere
import ollama
import openai
import pytest

from . import http
from .conftest import DEFAULT_COLLECTION
from .providers.test_azure import API_VERSION
from .providers.test_bedrock import make_client, text_of
from .providers.test_gemini import _ENVIRONMENT, VERTEX_PATH, gemini
from .served import serving

GREETING = "Hello! How can I help you today?"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
GEMINI = "gemini-2.0-flash"


def test_serve_answers_the_providers_clients_and_logs_each_with_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as served:
        url = served.base_url.removesuffix("/v1")
        with ollama.Client(host=url) as client:
            chat = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello"}])
        assert chat.message.content == GREETING
        with gemini(url, "v1beta") as sdk:
            chunks = sdk.models.generate_content_stream(model=GEMINI, contents="Hello")
            assert "".join(chunk.text or "" for chunk in chunks) == GREETING
        with gemini(url, "vertex") as vertex:
            assert vertex.models.generate_content(model=GEMINI, contents="Hello").text == GREETING
        with openai.AzureOpenAI(
            azure_endpoint=url, api_version=API_VERSION, api_key="k", max_retries=0
        ) as azure:
            completion = azure.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Hello"}]
            )
            assert completion.choices[0].message.content == GREETING
        hello: Any = [{"role": "user", "content": [{"text": "Hello"}]}]
        with closing(make_client(url, monkeypatch, tmp_path)) as bedrock:
            assert text_of(bedrock.converse(modelId=CLAUDE, messages=hello)) == GREETING
            with pytest.raises(bedrock.exceptions.ResourceNotFoundException) as missed:
                bedrock.converse(
                    modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "Hello?"}]}]
                )
        with cohere.ClientV2(api_key="k", base_url=url, max_retries=0) as co:
            reply = co.chat(model="command-a", messages=[{"role": "user", "content": "Hello"}])
            assert reply.message.content[0].text == GREETING

        answered = "200 Small talk/Hello/Greeting "
        for line_start, model in (
            ("POST /api/chat ", "llama3.2"),
            (f"POST /v1beta/models/{GEMINI}:streamGenerateContent ", GEMINI),
            (f"POST {VERTEX_PATH}{GEMINI}:generateContent ", GEMINI),
            ("POST /openai/deployments/gpt-4o/chat/completions ", "gpt-4o"),
            (f"POST /model/{CLAUDE}/converse ", CLAUDE),
            ("POST /v2/chat ", "command-a"),
        ):
            line = served.wait_for(line_start + answered)
            assert line.endswith(f"ms ({model})"), line
        line = served.wait_for(f"POST /model/{CLAUDE}/converse 404")
        assert "not answered; closest: 'Greeting' of item 'Small talk/Hello'" in line
        assert line.endswith(f"({CLAUDE})")
        assert str(missed.value).endswith(
            f"The request came through the AWS Bedrock door: POST /model/{CLAUDE}/converse."
        )

        journal = {r["path"]: r for r in http.request(url, "GET", "/_llm_mock/requests").json()}
        # Azure's key and Vertex AI's access token came in the headers those clients send them in.
        azure_headers = journal["/openai/deployments/gpt-4o/chat/completions"]["headers"]
        assert azure_headers["api-key"] == "<redacted>"
        vertex_headers = journal[f"{VERTEX_PATH}{GEMINI}:generateContent"]["headers"]
        assert vertex_headers["authorization"] == "<redacted>"
        listed = http.request(url, "GET", "/_llm_mock/collection").json()
        doors = {e["name"]: e["door"] for e in listed["examples"]}
        assert doors["Small talk/Hello/Greeting"] == "OpenAI chat"
        assert doors["Models/List models/Mock models"] == "OpenAI models"
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(10) == 1, "a miss makes serve exit 1"
        served.wait_for("pytest-llm-mock stopped: 7 requests, 1 not answered")
