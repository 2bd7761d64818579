"""Record mode: a request no example answers goes to an upstream OpenAI-compatible server; its
answer is returned and saved in the collection as a new request with an example.

Credentials are never written: the incoming request's key is not forwarded, the upstream key
comes from the environment, and only a short list of response headers is kept: never a
credential or a cookie (`is_credential`), nor the account the upstream answered for. The file is
replaced atomically, so a crash never leaves half a collection.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._collection import CHAT_PATH, Collection
from ._journal import is_credential, shorten
from ._postman import load_collection

API_KEY_VARIABLE = "LLM_MOCK_UPSTREAM_API_KEY"
FOLDER = "Recorded"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_KEPT_HEADERS = ("content-type", "openai-", "x-request-id", "x-ratelimit-", "retry-after")
_ACCOUNT_HEADERS = frozenset({"openai-organization", "openai-project"})
_TIMEOUT = 120.0


@dataclass(frozen=True)
class Upstream:
    """What the upstream server answered."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class RecordError(Exception):
    """The upstream could not be asked, or the collection could not be written."""


class Recorder:
    """Forwards unanswered chat requests to `upstream` and saves the answers in `path`."""

    def __init__(self, upstream: str, path: Path) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream must be an http(s) base URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self.path = path

    def forward(self, body: bytes, path: str = CHAT_PATH) -> Upstream:
        """POST `body` to the upstream's `path` (`/chat/completions`, `/responses`, ...)."""
        parts = urlsplit(self.upstream)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname or "", parts.port, timeout=_TIMEOUT)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(API_KEY_VARIABLE)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            connection.request("POST", f"{parts.path}{path}", body=body, headers=headers)
            response = connection.getresponse()
            return Upstream(response.status, tuple(response.getheaders()), response.read())
        except OSError as exc:
            raise RecordError(f"the upstream {self.upstream} could not be reached ({exc})") from exc
        finally:
            connection.close()

    def save(
        self, body: Mapping[str, Any], answer: Upstream, *, hint: str, path: str = CHAT_PATH
    ) -> tuple[Collection, str]:
        """Append the request and its answer to the collection file; the reloaded collection
        and the new example's full name."""
        data = self._read()
        variable = host_variable(data)
        folder = next(
            (
                i
                for i in data["item"]
                if i.get("name") == FOLDER and isinstance(i.get("item"), list)
            ),
            None,
        )
        if folder is None:
            folder = {"name": FOLDER, "item": []}
            data["item"].append(folder)
        taken = {i.get("name") for i in folder["item"]}
        base = f"Recorded: {shorten(hint, 40)}"
        name = unique_name(base, taken)
        folder["item"].append(new_item(name, body, answer, variable, path))
        self._write(data)
        return load_collection(self.path), f"{FOLDER}/{name}/recorded"

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"info": {"name": self.path.stem, "schema": SCHEMA}, "item": []}
        data = json.loads(self.path.read_text(encoding="utf-8-sig"))
        if not isinstance(data, dict) or not isinstance(data.get("item"), list):
            raise RecordError(f"{self.path} is not a Postman collection to record into")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent="\t", ensure_ascii=False) + "\n", "utf-8")
        os.replace(temporary, self.path)


def _kept(header: str) -> bool:
    """Whether an upstream response header is written with the recording."""
    name = header.lower()
    return (
        name.startswith(_KEPT_HEADERS) and name not in _ACCOUNT_HEADERS and not is_credential(name)
    )


def unique_name(base: str, taken: set[object]) -> str:
    """`base`, or `base (2)`, `base (3)`, ... : the first that is not taken."""
    return next(n for n in (base, *(f"{base} ({n})" for n in range(2, 10_000))) if n not in taken)


def host_variable(data: dict[str, Any]) -> str:
    """The collection's host variable (`baseUrl`, `url`, ...), added if it has none."""
    variables = data.setdefault("variable", [])
    for variable in variables:
        if isinstance(variable, dict) and variable.get("key") in ("baseUrl", "url", "base_url"):
            return str(variable["key"])
    variables.append({"key": "baseUrl", "value": "http://127.0.0.1:8080", "type": "string"})
    return "baseUrl"


def new_item(
    name: str, body: Mapping[str, Any], answer: Upstream, variable: str, path: str
) -> dict[str, Any]:
    """A Postman request item saving `body` on `path`, with `answer` as its one example."""
    saved_request = {
        "method": "POST",
        "header": [{"key": "Content-Type", "value": "application/json"}],
        "body": {
            "mode": "raw",
            "raw": json.dumps(dict(body), indent=4, ensure_ascii=False),
            "options": {"raw": {"language": "json"}},
        },
        "url": {
            "raw": f"{{{{{variable}}}}}/v1{path}",
            "host": [f"{{{{{variable}}}}}"],
            "path": ["v1", *path.strip("/").split("/")],
        },
    }
    headers = [{"key": k, "value": v} for k, v in answer.headers if _kept(k)]
    streamed = any(k.lower() == "content-type" and "event-stream" in v for k, v in answer.headers)
    try:
        phrase = HTTPStatus(answer.status).phrase
    except ValueError:
        phrase = ""
    example = {
        "name": "recorded",
        "originalRequest": saved_request,
        "status": phrase,
        "code": answer.status,
        "_postman_previewlanguage": "text" if streamed else "json",
        "header": headers,
        "cookie": [],
        "body": answer.body.decode("utf-8", "replace"),
    }
    return {"name": name, "request": saved_request, "response": [example]}
