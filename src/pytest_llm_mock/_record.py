"""Record mode: a request no example answers goes to an upstream server (OpenAI's, or the
provider whose door it came through); its answer is returned and saved in the collection as a
new request with an example, on the path the upstream was asked at.

Credentials are never written: the incoming request's key is not forwarded, the upstream's
credentials come from the environment (`Credentials`: a bearer key by default; each door may
authenticate as its provider does), and only a short list of response headers is kept: never a
credential or a cookie (`is_credential`), nor the account the upstream answered for. The file is
replaced atomically, so a crash never leaves half a collection.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._collection import CHAT_PATH, Collection
from ._conversion import COMPLETIONS_PATH, MESSAGES_PATH, RESPONSES_PATH
from ._journal import is_credential, shorten
from ._postman import load_collection

API_KEY_VARIABLE = "LLM_MOCK_UPSTREAM_API_KEY"
FOLDER = "Recorded"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_KEPT_HEADERS = ("content-type", "openai-", "x-request-id", "x-ratelimit-", "retry-after")
_ACCOUNT_HEADERS = frozenset({"openai-organization", "openai-project"})
_TIMEOUT = 120.0
# The APIs whose paths are relative to a base URL that ends in `/v1` (the upstream's, and the
# one a Postman example is saved under); a provider's paths start at the host.
_UNDER_V1 = frozenset({CHAT_PATH, RESPONSES_PATH, COMPLETIONS_PATH, MESSAGES_PATH})

# The headers that authenticate a request forwarded upstream: (its URL, the headers it
# carries, its body) -> the headers to add. Raises `RecordError` when it cannot.
Credentials = Callable[[str, Mapping[str, str], bytes], dict[str, str]]


def upstream_key() -> str | None:
    """The upstream's key, from `LLM_MOCK_UPSTREAM_API_KEY`."""
    return os.environ.get(API_KEY_VARIABLE) or None


def bearer(url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """`Authorization: Bearer <key>`: OpenAI's, Azure's v1 API's, Cohere's and Ollama's."""
    key = upstream_key()
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass(frozen=True)
class Forward:
    """How record mode asks the upstream: a POST to `path` (after the upstream's base URL),
    authenticated by `credentials`."""

    path: str
    credentials: Credentials = bearer


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

    def forward(
        self, body: bytes, path: str = CHAT_PATH, credentials: Credentials = bearer
    ) -> Upstream:
        """POST `body` to the upstream's `path` (`/chat/completions`, `/api/chat`, ...),
        with the headers `credentials` adds."""
        import http.client  # on first use: serve and the plugin start without it (10 ms)

        parts = urlsplit(self.upstream)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(credentials(f"{self.upstream}{path}", headers, body))
        connection = kind(parts.hostname or "", parts.port, timeout=_TIMEOUT)
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
    """A Postman request item saving `body` on `path`, with `answer` as its one example. An
    OpenAI or Anthropic path is saved under `/v1`, a provider's (`/api/chat`,
    `/v1beta/models/...`) as it is."""
    url_path = f"/v1{path}" if path in _UNDER_V1 else path
    saved_request = {
        "method": "POST",
        "header": [{"key": "Content-Type", "value": "application/json"}],
        "body": {
            "mode": "raw",
            "raw": json.dumps(dict(body), indent=4, ensure_ascii=False),
            "options": {"raw": {"language": "json"}},
        },
        "url": {
            "raw": f"{{{{{variable}}}}}{url_path}",
            "host": [f"{{{{{variable}}}}}"],
            "path": url_path.strip("/").split("/"),
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
