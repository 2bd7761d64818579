"""HTTP-level facts about a request, independent of the web framework: its parts, the API key
it carries, Postman's selection headers, and the replies to requests that are not JSON.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._openai import error_object

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request the state needs, independent of the web framework."""

    method: str
    path: str
    headers: Headers
    body: bytes
    received_at: float = 0.0  # time.monotonic() when the request arrived
    client: str = ""  # the client's address

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class Selection:
    """Postman's example selection headers: a name (or id), and a status to keep."""

    name: str | None = None
    status: int | None = None


def postman_selection(headers: Headers) -> Selection:
    name = status = None
    for key, value in headers:
        lower = key.lower()
        if lower in ("x-mock-response-name", "x-mock-response-id"):
            name = value
        elif lower == "x-mock-response-code" and value.strip().isdigit():
            status = int(value)
    return Selection(name, status)


def api_key(headers: Headers) -> str | None:
    for key, value in headers:
        name = key.lower()
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else value
        if name in ("api-key", "x-api-key"):
            return value
    return None


def content_type_error(http: HttpRequest) -> dict[str, Any] | None:
    """A 415 for a body declared as something other than JSON (curl -d sends a form type)."""
    declared = next((v for k, v in http.headers if k.lower() == "content-type"), None)
    if declared is None:
        return None
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    return error_object(
        f"Invalid Content-Type header ({declared}): the API expects application/json. "
        "With curl, add -H 'Content-Type: application/json'.",
        "invalid_request_error",
        code="unsupported_content_type",
    )


def json_error(detail: str) -> dict[str, Any]:
    return error_object(
        "We could not parse the JSON body of your request: "
        f"{detail}. The API expects a JSON object with 'model' and 'messages'.",
        "invalid_request_error",
    )


def dedupe(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Keep the first value of each header name: recorded headers win over built ones."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for key, value in headers:
        if key.lower() not in seen:
            seen.add(key.lower())
            out.append((key, value))
    return tuple(out)
