"""SDK clients pointed at the mock server, built without the TLS set-up they never use.

An `openai` client builds its HTTP client's TLS context when it is made, whatever its URL:
the system's CA bundle is read and parsed, about 20 ms per client, most of what making one
costs. The server speaks plain HTTP on 127.0.0.1, so the helpers give their clients one
shared context that is never used instead; it trusts no certificate, so were it ever used
it would refuse a connection rather than accept one unchecked. A client given its own
`http_client`, or a `base_url` that is not plain HTTP, is built as the SDK builds it.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import ssl
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

API_KEY = "test-key"


def openai_client(base_url: str, kwargs: dict[str, Any]) -> OpenAI:
    """An `openai.OpenAI` client for `base_url`; `kwargs` win over the defaults."""
    from openai import DefaultHttpxClient, OpenAI

    options = {"base_url": base_url, "api_key": API_KEY, **kwargs}
    if "http_client" not in options and _plain_http(options):
        options["http_client"] = DefaultHttpxClient(verify=_unused_tls_context())
    return OpenAI(**options)


def async_openai_client(base_url: str, kwargs: dict[str, Any]) -> AsyncOpenAI:
    """An `openai.AsyncOpenAI` client for `base_url`; `kwargs` win over the defaults. Unless
    given an `http_client`, it keeps no connection alive (`LLMMockServer.async_openai_client`
    says why)."""
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    options = {"base_url": base_url, "api_key": API_KEY, **kwargs}
    if "http_client" not in options:
        # openai 3.x sends through httpx2, 1.x and 2.x through httpx: use the one it uses.
        transport = import_module(DefaultAsyncHttpxClient.__mro__[1].__module__.split(".")[0])
        limits = transport.Limits(max_connections=100, max_keepalive_connections=0)
        verify = _unused_tls_context() if _plain_http(options) else True  # True: the default
        options["http_client"] = DefaultAsyncHttpxClient(limits=limits, verify=verify)
    return AsyncOpenAI(**options)


def _plain_http(options: dict[str, Any]) -> bool:
    return str(options["base_url"]).startswith("http://")


@cache
def _unused_tls_context() -> ssl.SSLContext:
    """A client-side TLS context with no trusted certificate: it verifies hostnames and
    certificates as the default does, and so accepts none."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
