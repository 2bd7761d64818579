"""HTTP-level facts about a request, independent of the web framework: its parts, the API key
it carries, Postman's selection headers, and the replies to requests that are not JSON.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._openai import error_object

if TYPE_CHECKING:
    from ._journal import Sending

Headers = Sequence[tuple[str, str]]
RawHeaders = Sequence[tuple[bytes, bytes]]  # as ASGI gives them: names in lowercase


class HttpRequest:
    """The parts of an HTTP request the state needs, independent of the web framework.

    Headers are kept as the ASGI server gave them (names lowercased if they were not) and
    decoded when first read: most requests only need two or three. Not changed once made;
    `sending`, when the app sends the answer, follows that answer on its way out."""

    __slots__ = (
        "_decoded",
        "_first",
        "body",
        "client",
        "method",
        "path",
        "raw_headers",
        "received_at",
        "sending",
    )

    def __init__(
        self,
        method: str,
        path: str,
        raw_headers: RawHeaders,
        body: bytes,
        *,
        received_at: float = 0.0,  # time.monotonic() when the request arrived
        client: str = "",  # the client's address
        sending: Sending | None = None,
    ) -> None:
        first = dict(raw_headers)
        if not b"".join(first).islower():  # ASGI servers send lowercase names; others may not
            raw_headers = [(name.lower(), value) for name, value in raw_headers]
            first = dict(raw_headers)
        self.method = method
        self.path = path
        self.raw_headers = raw_headers
        self.body = body
        self.received_at = received_at
        self.client = client
        self.sending = sending
        if len(first) < len(raw_headers):  # a repeated header: its first value counts
            first = {}
            for name, value in raw_headers:
                first.setdefault(name, value)
        self._first = first
        self._decoded: tuple[tuple[str, str], ...] | None = None

    def without_body(self) -> HttpRequest:
        """The same request with an empty body: what a journal entry needs of it."""
        copy = object.__new__(HttpRequest)
        copy.method, copy.path, copy.raw_headers = self.method, self.path, self.raw_headers
        copy.body, copy.received_at, copy.client = b"", self.received_at, self.client
        copy.sending = self.sending
        copy._first, copy._decoded = self._first, self._decoded
        return copy

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """All headers, decoded, in the order they came."""
        if self._decoded is None:
            self._decoded = tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers
            )
        return self._decoded

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        value = self._first.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    def has_any(self, names: frozenset[bytes]) -> bool:
        """Whether any of these (lowercase) header names was sent."""
        return not self._first.keys().isdisjoint(names)


@dataclass(frozen=True, slots=True)
class Selection:
    """Postman's example selection headers: a name (or id), and a status to keep."""

    name: str | None = None
    status: int | None = None


_SELECTION_HEADERS = frozenset(
    {b"x-mock-response-name", b"x-mock-response-id", b"x-mock-response-code"}
)
_NO_SELECTION = Selection()


def postman_selection(http: HttpRequest) -> Selection:
    if not http.has_any(_SELECTION_HEADERS):
        return _NO_SELECTION
    name = status = None
    for key, value in http.headers:
        if key in ("x-mock-response-name", "x-mock-response-id"):
            name = value
        elif key == "x-mock-response-code" and value.strip().isascii() and value.strip().isdigit():
            status = int(value)  # isascii: "²" is a digit to isdigit(), not to int()
    return Selection(name, status)


def api_key(http: HttpRequest) -> str | None:
    for name, value in http.headers:
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme == "AWS4-HMAC-SHA256":
                # SigV4 signs each request anew: the access key id is what stays the same.
                credential = token.partition("Credential=")[2].split("/", 1)[0]
                return credential or value
            return token.strip() if scheme.lower() == "bearer" else value
        if name in ("api-key", "x-api-key", "x-goog-api-key"):
            return value
    return None


def content_type_error(http: HttpRequest) -> dict[str, Any] | None:
    """A 415 for a body declared as something other than JSON (curl -d sends a form type)."""
    declared = http.header("content-type")
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
