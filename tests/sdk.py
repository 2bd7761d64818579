"""What differs between openai SDK generations, in one place for the tests.

openai 3.x sends through httpx2 and wraps transport errors met while iterating a stream in
`APIConnectionError`/`APITimeoutError`; 1.x and 2.x send through httpx and let those errors
through. Exception messages differ too; the error body does not.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import openai

_transport = import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])

# Its connection layer (httpcore for httpx, httpcore2 for httpx2): a stream cut while the
# machine is busy can surface from there, unwrapped.
_connections = import_module(_transport.__name__.replace("httpx", "httpcore"))
CUT: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,
    _transport.RemoteProtocolError,
    _transport.ReadError,
    _connections.RemoteProtocolError,
    _connections.ReadError,
)
TIMEOUT: tuple[type[BaseException], ...] = (openai.APITimeoutError, _transport.ReadTimeout)


def message(error: Any) -> str:
    """The API's error message, without the SDK's `Error code: ...` prefix."""
    body = getattr(error, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(error)
