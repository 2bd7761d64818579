"""Postman collections in: a v2.0/v2.1 export read into a `Collection`.

Everything that can be wrong in a file is found here, once, and reported with the file, the
item's folder path and name, and the field, so the rest of the code can trust what it gets.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import providers
from ._collection import (
    CHAT_PATH,
    DRAFT_PLACEHOLDER,
    Answer,
    Collection,
    CollectionError,
    Example,
    ObjectAnswer,
    ResponseHeaders,
    SavedSelection,
    StreamAnswer,
    TextAnswer,
    canonical_path,
    sort_headers,
    status_problem,
)
from ._conversion import (
    COMPLETIONS_PATH,
    MESSAGES_PATH,
    RESPONSES_PATH,
    anthropic_messages,
    responses_messages,
)
from ._depth import MAX_DEPTH, TooDeep, loads
from ._openai import completion_problem
from ._request import ChatRequest, RequestError, parse_chat_request

_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_DEEP = f" (more than {MAX_DEPTH} levels of arrays and objects)"


def load_collection(
    path: str | os.PathLike[str], *, errors: list[CollectionError] | None = None
) -> Collection:
    """Read and check a Postman collection file. Raises `CollectionError` naming what is wrong;
    given `errors`, an item that cannot be read is added there and left out instead."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise CollectionError(str(file), "no such file") from None
    except IsADirectoryError:
        raise CollectionError(str(file), "is a directory, not a collection file") from None
    except OSError as exc:
        raise CollectionError(str(file), f"cannot be read ({exc.strerror})") from None
    return decode_collection(raw, file, errors=errors)


def decode_collection(
    raw: bytes, file: Path, *, errors: list[CollectionError] | None = None
) -> Collection:
    """The bytes of collection file `file`, read by the caller, checked as by `load_collection`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CollectionError(
            str(file), f"is not UTF-8 text (invalid byte at offset {exc.start})"
        ) from None
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise CollectionError(
            str(file),
            f"is not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} "
            f"column {exc.colno}",
        ) from None
    except TooDeep:
        raise CollectionError(
            str(file), f"is nested too deeply to be a collection{_DEEP}"
        ) from None
    return parse_collection(data, source=str(file), path=file.resolve(), errors=errors)


_CACHED_FILES = 32  # the files whose last load is kept, the most recently used
_cache: dict[str, tuple[tuple[int, int, int, int], Collection]] = {}


def load_cached(path: str | os.PathLike[str]) -> Collection:
    """`load_collection`, parsed once per file until it changes: its size, modification time,
    or which file it is (a symlink pointed elsewhere, a file replaced by a rename). Only the last
    load of each of the `_CACHED_FILES` most recently used paths is kept."""
    file = os.path.abspath(path)  # no symlink resolved: each test asks, and stat follows them
    try:
        stat = os.stat(file)
    except OSError:
        return load_collection(path)
    stamp = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _cache.pop(file, None)  # put back last: the most recently used
    if cached is not None and cached[0] == stamp:
        collection = cached[1]
    else:
        cached = None  # the old load can go while the new one is parsed
        collection = load_collection(path)
    _cache[file] = (stamp, collection)
    while len(_cache) > _CACHED_FILES:
        del _cache[next(iter(_cache))]
    return collection


def parse_collection(
    data: object,
    *,
    source: str,
    path: Path | None = None,
    errors: list[CollectionError] | None = None,
) -> Collection:
    """Turn a decoded Postman export into a `Collection` (`errors`: see `load_collection`)."""
    if not isinstance(data, dict):
        raise CollectionError(source, "expected a Postman collection (a JSON object)")
    items = data.get("item")
    if not isinstance(items, list):
        raise CollectionError(
            source,
            "missing or not a list; expected a Postman collection v2.0/v2.1 export "
            "(File > Export in Postman)",
            field="item",
        )
    info = data.get("info")
    name = info.get("name") if isinstance(info, dict) else None
    variables = _variables(data.get("variable"), source)
    reader = _Reader(source, variables, errors)
    examples = tuple(reader.walk(items, ()))
    return Collection(
        name=name if isinstance(name, str) else source,
        examples=examples,
        path=path,
        variables=variables,
        items_without_examples=tuple(reader.without_examples),
        selections=tuple(reader.selections),
        drafts=tuple(reader.drafts),
    )


def _variables(raw: object, source: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise CollectionError(source, "expected a list of {key, value}", field="variable")
    out: dict[str, str] = {}
    for i, var in enumerate(raw):
        if not isinstance(var, dict) or not isinstance(var.get("key"), str):
            raise CollectionError(
                source, "expected an object with a string 'key'", field=f"variable[{i}]"
            )
        if var.get("disabled") is True:
            continue
        value = var.get("value")
        out[var["key"]] = "" if value is None else str(value)
    return out


def _selection_headers(raw: object) -> Iterator[tuple[str, str]]:
    """The saved request's enabled `x-mock-response-name`/`-id` headers: Postman's runner
    sends them, and they choose the answer."""
    if not isinstance(raw, list):
        return
    for header in raw:
        if not isinstance(header, dict) or header.get("disabled") is True:
            continue
        key, value = header.get("key"), header.get("value")
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if key.strip().lower() in ("x-mock-response-name", "x-mock-response-id"):
            yield key.strip().lower(), value


class _Reader:
    def __init__(
        self,
        source: str,
        variables: Mapping[str, str],
        errors: list[CollectionError] | None = None,
    ) -> None:
        self.source = source
        self.errors = errors  # None: the first error is raised
        self.variables = variables
        self.position = 0
        self.without_examples: list[str] = []
        self.selections: list[SavedSelection] = []
        self.drafts: list[str] = []

    def substitute(self, text: str) -> str:
        if "{{" not in text:
            return text
        return _VARIABLE.sub(lambda m: self.variables.get(m.group(1), m.group(0)), text)

    def error(self, reason: str, item: str, field: str) -> CollectionError:
        return CollectionError(self.source, reason, item=item, field=field)

    def walk(self, items: list[Any], folders: tuple[str, ...]) -> Iterator[Example]:
        for i, node in enumerate(items):
            try:
                yield from self._node(node, i, folders)
            except CollectionError as exc:
                if self.errors is None:
                    raise
                self.errors.append(exc)  # the rest of the file is still read

    def _node(self, node: object, i: int, folders: tuple[str, ...]) -> Iterator[Example]:
        where = "/".join((*folders, f"#{i + 1}"))
        if not isinstance(node, dict):
            raise self.error("expected an object (a request or a folder)", where, "item")
        name = node.get("name")
        if not isinstance(name, str):
            name = f"#{i + 1}"
        if "item" in node:
            children = node["item"]
            if not isinstance(children, list):
                raise self.error(
                    "a folder's items must be a list", "/".join((*folders, name)), "item"
                )
            yield from self.walk(children, (*folders, name))
        else:
            yield from self.read_item(node, folders, name)

    def read_item(
        self, node: dict[str, Any], folders: tuple[str, ...], name: str
    ) -> Iterator[Example]:
        item_path = "/".join((*folders, name))
        request = node.get("request")
        if isinstance(request, str):
            request = {"url": request}
        if not isinstance(request, dict):
            raise self.error("missing or not an object", item_path, "request")
        responses = node.get("response")
        if responses is None:
            responses = []
        if not isinstance(responses, list):
            raise self.error("expected a list of saved examples", item_path, "response")
        if not responses:
            self.without_examples.append(item_path)
        examples = []
        for j, response in enumerate(responses):
            field_name = f"response[{j}]"
            if not isinstance(response, dict):
                raise self.error("expected an object", item_path, field_name)
            example_name = response.get("name")
            if not isinstance(example_name, str) or not example_name:
                example_name = f"example {j + 1}"
            if response.get("body") == DRAFT_PLACEHOLDER:
                self.drafts.append(item_path)  # captured, not filled in: it answers nothing
                continue
            where = f"{item_path}/{example_name}"
            example = self.read_example(
                request=request,
                response=response,
                folders=folders,
                item_name=name,
                example_name=example_name,
                where=where,
                index=j,
            )
            examples.append(example)
            yield example
        for header, value in _selection_headers(request.get("header")):
            own = tuple(e.name for e in examples)
            self.selections.append(SavedSelection(item_path, own, header, value))

    def read_example(
        self,
        *,
        request: dict[str, Any],
        response: dict[str, Any],
        folders: tuple[str, ...],
        item_name: str,
        example_name: str,
        where: str,
        index: int,
    ) -> Example:
        original = response.get("originalRequest")
        if isinstance(original, str):
            original = {"url": original}
        if not isinstance(original, dict):
            original = {}
        prefix = f"response[{index}]."
        pattern_source = original if original.get("body") else request
        body_field = (prefix + "originalRequest" if pattern_source is original else "request") + (
            ".body"
        )
        url = original.get("url") or request.get("url")
        url_field = (prefix + "originalRequest" if original.get("url") else "request") + ".url"
        path = canonical_path(self.url_path(url, where, url_field))
        door = providers.example_key(path)
        saved_model = None
        if door is not None:  # a provider's own path: indexed under its key
            saved_model = door[1].example_model(path)
            path = door[0]
        method = original.get("method") or request.get("method") or "GET"
        if not isinstance(method, str):
            raise self.error("expected an HTTP method name", where, url_field[:-4] + ".method")
        pattern, pattern_body = self.pattern(pattern_source.get("body"), path, where, body_field)
        if saved_model is not None:  # the model its path names (Azure's deployment)
            if pattern is not None:
                pattern = replace(pattern, model=saved_model)
            if pattern_body is not None:
                pattern_body = {**pattern_body, "model": saved_model}
        status = response.get("code", 200)
        if status is None:
            status = 200
        problem = status_problem(status)
        if problem is not None:
            raise self.error(problem, where, prefix + "code")
        headers = self.headers(response.get("header"), where, prefix + "header")
        answer = self.answer(response.get("body"), headers.content_type, where, prefix + "body")
        if isinstance(answer, ObjectAnswer) and path == CHAT_PATH and status < 400:
            obj = answer.obj
            problem = completion_problem(obj) if "choices" in obj else None
            if problem is not None:
                raise self.error(f"not a valid chat.completion: {problem}", where, prefix + "body")
            if "choices" not in obj and obj.get("object") != "chat.completion":
                # JSON that is not a completion is the assistant's text: structured output.
                answer = TextAnswer(
                    response["body"] if isinstance(response["body"], str) else json.dumps(obj)
                )
        self.position += 1
        # Relative to the collection only: the same file gives the same ids on every machine.
        uid = hashlib.sha256(
            "\x1f".join((*folders, item_name, example_name, str(self.position))).encode()
        ).hexdigest()
        return Example(
            name=example_name,
            item=item_name,
            folders=folders,
            method=method.upper(),
            path=path,
            request=pattern,
            status=status,
            headers=headers.kept,
            controls=headers.controls,
            answer=answer,
            position=self.position - 1,
            uid=uid,
            postman_id=response["id"] if isinstance(response.get("id"), str) else None,
            body=pattern_body,
        )

    def url_path(self, url: object, where: str, field: str) -> str:
        if url is None:
            raise self.error(
                "missing; the request needs a URL such as {{baseUrl}}/v1/...", where, field
            )
        if isinstance(url, dict):
            segments = url.get("path")
            if isinstance(segments, str):
                return self.substitute(segments)
            if isinstance(segments, list):
                parts = [s.get("value") if isinstance(s, dict) else s for s in segments]
                return "/".join(self.substitute(str(p)) for p in parts if p is not None)
            url = url.get("raw")
            if not isinstance(url, str):
                raise self.error("has neither 'path' nor 'raw'", where, field)
        if not isinstance(url, str):
            raise self.error("expected a string or a URL object", where, field)
        raw = self.substitute(url.strip())
        if "://" in raw:
            return urlsplit(raw).path
        if raw.startswith("{{"):
            # An unresolved host variable: everything up to the first slash is the host.
            closing = raw.find("}}")
            raw = raw[closing + 2 :]
        slash = raw.find("/")
        return raw[slash:] if slash >= 0 else ""

    def pattern(
        self, body: object, path: str, where: str, field: str
    ) -> tuple[ChatRequest | None, dict[str, Any] | None]:
        """The request pattern: parsed as a chat request on the chat path, and decoded JSON
        on any path (other routes match on it). Only chat patterns must be valid."""
        provider = providers.provider_of_key(path)
        if provider is not None and provider.to_chat is not None:
            decoded = self.decode(body, where, field)
            if decoded is None:
                return None, None
            try:
                chat = provider.to_chat(decoded, path)
                return parse_chat_request(chat, require_model=False), decoded
            except RequestError as exc:
                param = f" ({exc.param})" if exc.param else ""
                raise self.error(
                    f"not a valid {provider.name} request{param}: {exc.message}",
                    where,
                    field + ".raw",
                ) from None
        if path in (CHAT_PATH, RESPONSES_PATH, COMPLETIONS_PATH, MESSAGES_PATH):
            decoded = self.decode(body, where, field)
            if decoded is None:
                return None, None
            try:
                chat = decoded
                if path == RESPONSES_PATH:  # matched like a chat request with these messages
                    chat = {"model": decoded.get("model"), "messages": responses_messages(decoded)}
                elif path == MESSAGES_PATH:  # Anthropic: system + messages
                    chat = {"model": decoded.get("model"), "messages": anthropic_messages(decoded)}
                elif path == COMPLETIONS_PATH:  # the (first) prompt is one user message
                    prompt = decoded.get("prompt")
                    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
                        prompt = prompt[0]
                    chat = {
                        "model": decoded.get("model"),
                        "messages": [{"role": "user", "content": prompt}],
                    }
                return parse_chat_request(chat, require_model=False), decoded
            except RequestError as exc:
                param = f" ({exc.param})" if exc.param else ""
                raise self.error(
                    f"not a chat-completion request{param}: {exc.message}", where, field + ".raw"
                ) from None
        try:
            return None, self.decode(body, where, field)
        except CollectionError:
            return None, None

    def decode(self, body: object, where: str, field: str) -> dict[str, Any] | None:
        if body is None:
            return None
        if not isinstance(body, dict):
            raise self.error("expected a body object", where, field)
        mode = body.get("mode", "raw")
        if mode != "raw":
            raise self.error(
                f"body mode {mode!r} is not supported; save the request body as raw JSON",
                where,
                field + ".mode",
            )
        raw = body.get("raw")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if not isinstance(raw, str):
            raise self.error("expected the raw body as a string", where, field + ".raw")
        try:
            decoded = loads(self.substitute(raw))
        except json.JSONDecodeError as exc:
            raise self.error(
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                where,
                field + ".raw",
            ) from None
        except TooDeep:
            raise self.error(f"nested too deeply{_DEEP}", where, field + ".raw") from None
        if not isinstance(decoded, dict):
            raise self.error("expected a JSON object", where, field + ".raw")
        return decoded

    def headers(self, raw: object, where: str, field: str) -> ResponseHeaders:
        if raw is None:
            return ResponseHeaders()
        if isinstance(raw, str):
            # Postman v2.0 wrote headers as "Key: Value" lines.
            lines = [line.split(":", 1) for line in raw.splitlines() if ":" in line]
            entries: list[Any] = [{"key": k.strip(), "value": v.strip()} for k, v in lines]
        elif isinstance(raw, list):
            entries = raw
        else:
            raise self.error("expected a list of {key, value}", where, field)
        pairs: list[tuple[str, str]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise self.error("expected an object with a string 'key'", where, f"{field}[{i}]")
            if entry.get("disabled") is True:
                continue
            value = entry.get("value")
            pair = (entry["key"].strip(), "" if value is None else str(value))
            try:
                sort_headers([pair])
            except ValueError as exc:
                raise self.error(str(exc), where, f"{field}[{i}]") from None
            pairs.append(pair)
        return sort_headers(pairs)

    def recording(self, body: str, where: str, field: str) -> StreamAnswer:
        chunks: list[Mapping[str, Any]] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                break
            try:
                chunk = loads(data)
            except json.JSONDecodeError as exc:
                raise self.error(
                    f"line {number} of the recorded stream is not JSON: {exc.msg}", where, field
                ) from None
            except TooDeep:
                raise self.error(
                    f"line {number} of the recorded stream is nested too deeply{_DEEP}",
                    where,
                    field,
                ) from None
            if not isinstance(chunk, dict):
                raise self.error(
                    f"line {number} of the recorded stream is not a JSON object", where, field
                )
            chunks.append(chunk)
        if not chunks:
            raise self.error("the recorded stream has no 'data:' events", where, field)
        return StreamAnswer(body, tuple(chunks))

    def answer(self, body: object, content_type: str, where: str, field: str) -> Answer:
        if body is None:
            return TextAnswer("")
        if isinstance(body, dict):
            return ObjectAnswer(body)
        if not isinstance(body, str):
            raise self.error("expected the response body as a string", where, field)
        if "text/event-stream" in content_type.lower():
            return self.recording(body, where, field)
        stripped = body.lstrip()
        looks_like_json = stripped.startswith("{") or "json" in content_type.lower()
        if not looks_like_json:
            return TextAnswer(body)
        try:
            decoded = loads(body)
        except json.JSONDecodeError as exc:
            if not stripped.startswith("{"):
                return TextAnswer(body)
            raise self.error(
                f"looks like JSON but does not parse: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}",
                where,
                field,
            ) from None
        except TooDeep:
            raise self.error(f"nested too deeply{_DEEP}", where, field) from None
        if isinstance(decoded, dict):
            return ObjectAnswer(decoded)
        return TextAnswer(body)
