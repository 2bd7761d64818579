"""What uvicorn's HTTP protocol answers itself, in OpenAI's error shape.

uvicorn answers a request it cannot parse as HTTP/1.1 before any app sees it, with a
plain-text 400 ("Invalid HTTP request received."). A URL of more than `MAX_URL` bytes is one
such request: httptools' URL parser keeps offsets in 16 bits. Clients of this server read
errors as OpenAI's JSON envelope, so `OpenAIErrors`, mixed into uvicorn's protocol class,
writes that instead: the same status, then the connection closes, as uvicorn does.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._openai import dumps, error_object

if TYPE_CHECKING:
    import asyncio

    from uvicorn.server import ServerState

MAX_URL = 65_535  # bytes: the longest URL (path and query) httptools parses


class OpenAIErrors:
    """Put before uvicorn's protocol (httptools or h11: both answer an unparsable request
    with `send_400_response`) in a subclass's bases."""

    transport: asyncio.Transport
    server_state: ServerState

    def send_400_response(self, msg: str) -> None:
        url: bytes = getattr(self, "url", b"")  # httptools' protocol keeps the URL as it comes
        if len(url) > MAX_URL:
            message = (
                f"The request's URL is {len(url):,} bytes long; this server reads URLs of at "
                f"most {MAX_URL:,} bytes. Send long input in the request body instead."
            )
        else:
            message = f"The request is not valid HTTP/1.1, so it could not be read ({msg})."
        body = dumps(error_object(message, "invalid_request_error", code="invalid_http_request"))
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            b"\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
