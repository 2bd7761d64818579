"""`openai_client()` and `async_openai_client()`: built without TLS set-up for the server's
plain-HTTP URL; what the caller passes wins."""

from __future__ import annotations

import asyncio
import ssl
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from openai import DefaultHttpxClient, OpenAI

from pytest_llm_mock import LLMMockServer

HELLO: Any = [{"role": "user", "content": "Hello"}]
# httpx2 for openai 3.x, httpx for 1.x and 2.x: the module the SDK sends through.
TRANSPORT = import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def test_helper_clients_skip_the_tls_set_up_a_plain_client_does(
    standalone: LLMMockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loads: list[str] = []
    for method in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
        # Counted, not run: a plain client then reads no file (the one named below is not there).
        monkeypatch.setattr(
            ssl.SSLContext, method, lambda *args, method=method, **kwargs: loads.append(method)
        )
    # Every TLS set-up the SDK may do reads the bundle named here, on any platform.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "bundle.pem"))

    sync_client = standalone.openai_client(max_retries=0)
    async_client = standalone.async_openai_client(max_retries=0)
    assert loads == []
    answer = sync_client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
    assert answer.choices[0].message.content == "Hello! How can I help you today?"

    async def ask() -> str | None:
        reply = await async_client.chat.completions.create(model="mock-llm-v1", messages=HELLO)
        return reply.choices[0].message.content

    assert asyncio.run(ask()) == "Hello! How can I help you today?"
    OpenAI(base_url=standalone.base_url, api_key="key").close()
    assert loads != [], "the count sees the TLS set-up of a plain client"


def test_a_given_http_client_wins_over_the_helpers_own(standalone: LLMMockServer) -> None:
    seen: list[str] = []

    def answer(request: Any) -> Any:
        seen.append(str(request.url))
        return TRANSPORT.Response(200, json={"object": "list", "data": []})

    http_client = TRANSPORT.Client(transport=TRANSPORT.MockTransport(answer))
    client = standalone.openai_client(http_client=http_client, max_retries=0)

    assert client.models.list().data == []
    assert seen == [f"{standalone.base_url}/models"]
    assert standalone.requests == []
