"""Plain HTTP against a local server, for what an SDK cannot send (bad JSON, wrong methods)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> HttpResponse:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "tests only talk to loopback"
    if isinstance(body, dict):
        body = json.dumps(body)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        if chunked and body is not None:
            data = body.encode() if isinstance(body, str) else body
            connection.request(
                method, path, body=iter([data]), headers=headers or {}, encode_chunked=True
            )
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return HttpResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()
