"""SDK clients pointed at the mock server, built without the TLS set-up they never use.

An `openai` client builds its HTTP client's TLS context when it is made, whatever its URL:
the system's CA bundle is read and parsed, about 20 ms per client, most of what making one
costs. The server speaks plain HTTP on 127.0.0.1, so the helpers give their clients one
shared context that is never used instead; it trusts no certificate, so were it ever used
it would refuse a connection rather than accept one unchecked. A client given its own
`http_client`, or a `base_url` that is not plain HTTP, is built as the SDK builds it.

The sync clients one server's helpers make share its keep-alive connections (`Connections`):
a suite that makes a client in each test would otherwise open and close a connection per
test, which costs the client more than the request it sends. No helper client goes through a
proxy named in the environment (`HTTP_PROXY`, `ALL_PROXY`): none could reach the test's own
127.0.0.1.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import ssl
import threading
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

API_KEY = "test-key"


class Connections:
    """The keep-alive connections shared by the sync clients of one server.

    Each client has an HTTP client of its own, closed when its test ends as before, but they
    all send through one transport, whose close is left to this object. After a test,
    `release()` keeps the connections only if none is still in use: a streamed response never
    read to its end or closed holds one, and closes with the transport as it would have with
    its client, so nothing a test left open outlives it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transport: Any = None  # a `_shared_transport()`, once a client needs it

    def http_client(self) -> Any:
        from openai import DefaultHttpxClient

        with self._lock:
            if self._transport is None:
                self._transport = _shared_transport()()
            return DefaultHttpxClient(transport=self._transport)

    def release(self) -> None:
        """Close the connections if a response still holds one (a test has ended)."""
        with self._lock:
            transport = self._transport
            if transport is None or not transport.in_use():
                return
            self._transport = None
        transport.shut()

    def close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.shut()


@cache
def _shared_transport() -> Any:
    """The class of a transport that clients share: the HTTP module the SDK sends through
    (httpx2 for openai 3.x, httpx before), its defaults, and a `close()` that leaves the
    connections to `Connections`."""
    from openai import DefaultHttpxClient
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    module = import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])

    class SharedTransport(module.HTTPTransport):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__(verify=_unused_tls_context(), limits=DEFAULT_CONNECTION_LIMITS)

        def close(self) -> None:  # a client's close: the connections stay for the next
            pass

        def shut(self) -> None:
            super().close()

        def in_use(self) -> bool:
            connections = getattr(getattr(self, "_pool", None), "connections", None)
            if connections is None:  # a transport unlike httpx's: assume the worst
                return True
            return any(not c.is_idle() and not c.is_closed() for c in connections)

    return SharedTransport


def openai_client(
    base_url: str, kwargs: dict[str, Any], connections: Connections | None = None
) -> OpenAI:
    """An `openai.OpenAI` client for `base_url`; `kwargs` win over the defaults. Unless given
    an `http_client`, it sends through `connections` when given."""
    from openai import DefaultHttpxClient, OpenAI

    options = {"base_url": base_url, "api_key": API_KEY, **kwargs}
    if "http_client" not in options and _plain_http(options):
        if connections is not None:
            options["http_client"] = connections.http_client()
        else:
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
        plain = _plain_http(options)
        verify = _unused_tls_context() if plain else True  # True: the default
        # A proxy from the environment cannot reach the test's own 127.0.0.1: none is used.
        options["http_client"] = DefaultAsyncHttpxClient(
            limits=limits, verify=verify, trust_env=not plain
        )
    return AsyncOpenAI(**options)


def _plain_http(options: dict[str, Any]) -> bool:
    return str(options["base_url"]).startswith("http://")


@cache
def _unused_tls_context() -> ssl.SSLContext:
    """A client-side TLS context with no trusted certificate: it verifies hostnames and
    certificates as the default does, and so accepts none."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
