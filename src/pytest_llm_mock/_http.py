"""HTTP-level facts about a request, independent of the web framework: its parts, the API key
it carries, Postman's selection headers, and the replies to requests that are not JSON.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._openai import error_object

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request the state needs, independent of the web framework.

    Header names are lowercased once, here (ASGI servers already send them so)."""

    method: str
    path: str
    headers: Headers
    body: bytes
    received_at: float = 0.0  # time.monotonic() when the request arrived
    client: str = ""  # the client's address
    first: dict[str, str] = field(init=False, repr=False, compare=False)  # name: first value

    def __post_init__(self) -> None:
        # Built from the end, so that the first value of a repeated header stays.
        first = dict(reversed(self.headers))
        names = "".join(first)
        if names != names.lower():
            headers = tuple((k.lower(), v) for k, v in self.headers)
            object.__setattr__(self, "headers", headers)
            first = dict(reversed(headers))
        object.__setattr__(self, "first", first)

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        return self.first.get(name.lower())


@dataclass(frozen=True, slots=True)
class Selection:
    """Postman's example selection headers: a name (or id), and a status to keep."""

    name: str | None = None
    status: int | None = None


_SELECTION_HEADERS = ("x-mock-response-name", "x-mock-response-id", "x-mock-response-code")
_NO_SELECTION = Selection()


def postman_selection(http: HttpRequest) -> Selection:
    if not any(name in http.first for name in _SELECTION_HEADERS):
        return _NO_SELECTION
    name = status = None
    for key, value in http.headers:
        if key in ("x-mock-response-name", "x-mock-response-id"):
            name = value
        elif key == "x-mock-response-code" and value.strip().isdigit():
            status = int(value)
    return Selection(name, status)


def api_key(http: HttpRequest) -> str | None:
    for name, value in http.headers:
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else value
        if name in ("api-key", "x-api-key"):
            return value
    return None


def content_type_error(http: HttpRequest) -> dict[str, Any] | None:
    """A 415 for a body declared as something other than JSON (curl -d sends a form type)."""
    declared = http.first.get("content-type")
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
