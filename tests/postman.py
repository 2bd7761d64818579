"""Builders for small Postman v2.1 collections written by the tests themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
Json = dict[str, Any]


def chat_body(*messages: tuple[str, str], model: str | None = "gpt-4o-mini", **extra: Any) -> Json:
    body: Json = {"messages": [{"role": role, "content": text} for role, text in messages]}
    if model is not None:
        body["model"] = model
    body.update(extra)
    return body


def example(
    name: str,
    answer: str | Json,
    *,
    status: int = 200,
    headers: list[Json] | None = None,
    original_body: Json | None = None,
) -> Json:
    """A saved example. A dict answer is saved as JSON text, as Postman does."""
    out: Json = {
        "name": name,
        "status": "OK" if status == 200 else "Error",
        "code": status,
        "_postman_previewlanguage": "json" if isinstance(answer, dict) else "text",
        "header": headers if headers is not None else [],
        "cookie": [],
        "body": json.dumps(answer, indent=4) if isinstance(answer, dict) else answer,
    }
    if original_body is not None:
        out["originalRequest"] = request(original_body)
    return out


def request(body: Json | None, path: str = "v1/chat/completions", method: str = "POST") -> Json:
    req: Json = {
        "method": method,
        "header": [{"key": "Content-Type", "value": "application/json"}],
        "url": {
            "raw": "{{baseUrl}}/" + path,
            "host": ["{{baseUrl}}"],
            "path": path.split("/"),
        },
    }
    if body is not None:
        req["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2)}
    return req


def item(name: str, body: Json | None, *examples: Json, path: str = "v1/chat/completions") -> Json:
    return {"name": name, "request": request(body, path), "response": list(examples)}


def chat_item(
    name: str, body: Json, answer: str | Json, *, example_name: str | None = None, status: int = 200
) -> Json:
    """A request item with one example answering `body` with `answer`."""
    return item(name, body, example(example_name or name, answer, status=status))


def folder(name: str, *items: Json) -> Json:
    return {"name": name, "item": list(items)}


def collection(*items: Json, name: str = "test collection", variables: Json | None = None) -> Json:
    out: Json = {"info": {"name": name, "schema": SCHEMA}, "item": list(items)}
    variables = {"baseUrl": "http://localhost:8080"} if variables is None else variables
    out["variable"] = [{"key": k, "value": v} for k, v in variables.items()]
    return out


def write(path: Path, data: Json) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
