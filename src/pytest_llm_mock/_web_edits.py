"""Answering a miss from the web page: the request saved into the collection file with the
answer typed on the page, as capture mode saves a draft, filled in (`Capturer.answer`).

Saving changes a file on the machine, so it is refused (403, saying why) unless all hold:
`serve --allow-edits` was given; the request comes from 127.0.0.1 (or ::1), names this
machine in its Host header (no DNS rebinding) and, if it has an Origin, this server's; it
carries the page's CSRF token; and the collection is a file of the user's that may be
written, not the embedded default.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._capture import Capturer
from ._collection import CHAT_PATH, canonical_path, default_collection_path
from ._journal import RecordedRequest
from ._record import Upstream
from ._web_json import ANSWERABLE

TOKEN_HEADER = "x-llm-mock-csrf"
LOOPBACK = frozenset({"127.0.0.1", "::1"})
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass
class Edits:
    """`serve --allow-edits`: the page may save answers into the collection at `path`."""

    path: Path
    watching: bool = False  # serve --watch: a saved answer is served from the next request
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        self.capturer = Capturer(self.path)


class Refused(Exception):
    """A save that is not allowed (403) or not understood (400), and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def refusal(edits: Edits | None, client: str, headers: Mapping[str, str]) -> str | None:
    """Why this client may not save answers, or `None` if it may (the token aside)."""
    if client not in LOOPBACK:
        where = client or "an unknown address"
        return f"Saving answers is allowed only from 127.0.0.1; this request came from {where}."
    if edits is None:
        return (
            "Saving answers is off: start the server with `pytest-llm-mock serve COLLECTION "
            "--allow-edits` (add --watch to serve them at once)."
        )
    host = headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in _LOOPBACK_NAMES:
        return f"Saving answers needs the page opened at 127.0.0.1 or localhost, not {host!r}."
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return f"Saving answers is refused from another site's page (Origin {origin!r})."
    path = edits.path
    if _same_file(path, default_collection_path()):
        return (
            "The collection is the embedded default, inside the installed package: serve a "
            "collection file of yours (`pytest-llm-mock init` writes one) to save answers into."
        )
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return f"{path} (or its folder) may not be written by this server."
    return None


def check_token(edits: Edits, headers: Mapping[str, str]) -> None:
    given = headers.get(TOKEN_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), edits.token.encode()):
        raise Refused(
            403,
            f"The request has no valid CSRF token (header {TOKEN_HEADER}): save from the "
            "page, reloaded if the server was restarted.",
        )


def save(edits: Edits, entry: RecordedRequest, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Write the miss `entry` with the answer of `payload` (`text`, and for chat
    completions `tool_calls`) into the collection; what the page says about it."""
    path = canonical_path(entry.path)
    if entry.miss is None:
        raise Refused(400, "This request was answered: only a miss can be answered here.")
    if path not in ANSWERABLE or not isinstance(entry.json, dict):
        doors = ", ".join(f"/v1{p}" for p in ANSWERABLE)
        raise Refused(
            400, f"Answers can be saved here for requests to {doors}; save this one in Postman."
        )
    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        raise Refused(400, "`text` must be a string.")
    calls = tool_calls(payload.get("tool_calls"))
    if calls and path != CHAT_PATH:
        raise Refused(400, "Tool calls can be saved for chat completions requests only.")
    if not calls and not (text or "").strip():
        raise Refused(400, "Type the answer's text (or tool calls as JSON) before saving.")
    if calls:
        message = {"role": "assistant", "content": text or None, "tool_calls": calls}
        body = json.dumps({"choices": [{"message": message}]}, indent=4, ensure_ascii=False)
        answer = Upstream(200, (("Content-Type", "application/json"),), body.encode())
    else:
        assert text is not None
        answer = Upstream(200, (("Content-Type", "text/plain"),), text.encode())
    hint = entry.last_user_message or entry.model or "request"
    try:
        name = edits.capturer.answer(entry.json, path, hint, answer)
    except (OSError, ValueError) as exc:
        raise Refused(500, f"The answer could not be written to {edits.path}: {exc}") from None
    then = (
        "serve --watch reloads it: the next identical request is answered."
        if edits.watching
        else "Restart serve (or run it with --watch) to answer with it."
    )
    return {
        "saved": name,
        "path": str(edits.path),
        "message": f"Saved {name!r} in {edits.path}. {then}",
    }


def tool_calls(raw: object) -> list[dict[str, Any]]:
    """Tool calls typed on the page: a list of `{"name", "arguments"}` (or of OpenAI's own
    `{"id", "type", "function": {...}}`), as a chat.completion message holds them."""
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        raise Refused(
            400, 'Tool calls must be a JSON list, such as [{"name": "f", "arguments": {}}].'
        )
    calls = []
    for i, call in enumerate(raw):
        function = call.get("function", call) if isinstance(call, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not name:
            raise Refused(400, f'Tool call {i + 1} needs a "name" (a non-empty string).')
        assert isinstance(function, Mapping)
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                json.loads(arguments)
            except ValueError:
                raise Refused(
                    400, f"The arguments of tool call {i + 1} ({name}) are not JSON."
                ) from None
        else:
            arguments = json.dumps(arguments, ensure_ascii=False)
        out: dict[str, Any] = {
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        if isinstance(call, Mapping) and isinstance(call.get("id"), str):
            out = {"id": call["id"], **out}
        calls.append(out)
    return calls


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
