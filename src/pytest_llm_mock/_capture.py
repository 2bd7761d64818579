"""Capture: a request that nothing answered becomes a draft item in the collection file.

The draft holds the exact request, as Postman saves one, and one example whose body is a
placeholder. A draft never answers (the reader leaves it out); replacing the placeholder, in
Postman or any editor, makes it answer. The file is rewritten atomically, keeps the order of
keys and every field it does not know, and is locked while it is read and written, so that
xdist workers capturing at the same time lose none of each other's drafts.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._collection import DRAFT_PLACEHOLDER
from ._journal import shorten
from ._record import Upstream, host_variable, new_item, unique_name

FOLDER = "Captured"
_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


class Capturer:
    """Appends drafts to `path`; when it does not exist yet, it starts as a copy of `seed`."""

    def __init__(self, path: Path, seed: Path | None = None) -> None:
        self.path = path
        self.seed = seed
        self._lock = threading.Lock()

    def capture(self, body: Mapping[str, Any], api_path: str, hint: str) -> tuple[str, bool]:
        """The draft's `Folder/Item` name for this request, and whether it is new (a request
        captured before, by this process or another, is not captured twice)."""
        with self._lock, _file_lock(self.path):
            data, text = self._read()
            folder = _folder(data)
            for item in folder["item"]:
                if _same_request(item, body, api_path):
                    return f"{FOLDER}/{item.get('name')}", False
            taken = {i.get("name") for i in folder["item"]}
            name = unique_name(f"Captured: {shorten(hint, 40)}", taken)
            placeholder = Upstream(
                200, (("Content-Type", "text/plain"),), DRAFT_PLACEHOLDER.encode()
            )
            item = new_item(name, body, placeholder, host_variable(data), api_path)
            item["response"][0]["name"] = "draft"
            folder["item"].append(item)
            self._write(data, text)
        return f"{FOLDER}/{name}", True

    def answer(self, body: Mapping[str, Any], api_path: str, hint: str, answer: Upstream) -> str:
        """Save this request with `answer` as its one example: the draft `capture` writes,
        filled in (a draft of the same request, captured before, gets the answer). The
        item's `Folder/Item` name."""
        with self._lock, _file_lock(self.path):
            data, text = self._read()
            folder = _folder(data)
            variable = host_variable(data)
            item = next((i for i in folder["item"] if _same_request(i, body, api_path)), None)
            if item is None:
                taken = {i.get("name") for i in folder["item"]}
                name = unique_name(f"Captured: {shorten(hint, 40)}", taken)
                item = new_item(name, body, answer, variable, api_path)
                folder["item"].append(item)
            else:
                name = str(item.get("name"))
                item["response"] = new_item(name, body, answer, variable, api_path)["response"]
            item["response"][0]["name"] = "answer"
            self._write(data, text)
        return f"{FOLDER}/{name}"

    def _read(self) -> tuple[dict[str, Any], str]:
        """The file's data and text (the seed's, when the file does not exist yet)."""
        source = self.path if self.path.exists() else self.seed
        if source is None:
            return {"info": {"name": self.path.stem, "schema": _SCHEMA}, "item": []}, ""
        text = source.read_text(encoding="utf-8-sig")
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("item"), list):
            raise ValueError(f"{source} is not a Postman collection to capture into")
        return data, text

    def _write(self, data: dict[str, Any], text: str) -> None:
        """Replace the file atomically, indented as it was."""
        out = json.dumps(data, indent=_indent(text), ensure_ascii=False)
        if not text or text.endswith("\n"):
            out += "\n"
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.capture.tmp")
        temporary.write_text(out, encoding="utf-8")
        os.replace(temporary, self.path)


def _folder(data: dict[str, Any]) -> dict[str, Any]:
    for node in data["item"]:
        if (
            isinstance(node, dict)
            and node.get("name") == FOLDER
            and isinstance(node.get("item"), list)
        ):
            return node
    folder: dict[str, Any] = {"name": FOLDER, "item": []}
    data["item"].append(folder)
    return folder


def _same_request(item: object, body: Mapping[str, Any], api_path: str) -> bool:
    if not isinstance(item, dict):
        return False
    request = item.get("request")
    if not isinstance(request, dict):
        return False
    url = request.get("url")
    raw_url = url.get("raw") if isinstance(url, dict) else url
    if not isinstance(raw_url, str) or not raw_url.endswith(api_path):
        return False
    saved = request.get("body")
    raw = saved.get("raw") if isinstance(saved, dict) else None
    try:
        return isinstance(raw, str) and json.loads(raw) == dict(body)
    except ValueError:
        return False


def _indent(text: str) -> str | int:
    """The indentation of a JSON file as written (Postman exports with tabs)."""
    found = re.search(r"\n([ \t]+)\S", text)
    if found is None:
        return "\t"
    unit = found.group(1)
    return "\t" if unit.startswith("\t") else len(unit)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `path` (POSIX; elsewhere the thread lock alone)."""
    try:
        import fcntl
    except ImportError:  # Windows: xdist workers there may race; one process is safe
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
