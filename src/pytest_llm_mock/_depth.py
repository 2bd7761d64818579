"""JSON nesting depth: one limit for request bodies and collection files, on every Python.

`json.loads` gives up on deep nesting with `RecursionError` at a depth that depends on the
Python version and on the stack in use (near 1,000 on 3.10 to 3.12, near 10,000 on 3.13), and
what it lets through, the code that walks the result afterwards may not survive. So JSON that
enters (a request body, a collection file, a body saved in one) is parsed by `loads`, which
refuses anything nested deeper than `MAX_DEPTH` the same way on every Python.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import json
from typing import Any

# Arrays and objects inside each other. A folder of a Postman collection costs two levels
# (`item: [{...}]`), so this leaves room for 250 nested folders; no API body comes close.
MAX_DEPTH = 512


class TooDeep(ValueError):
    """A JSON document nested deeper than `MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")


def loads(text: str | bytes) -> Any:
    """`json.loads`, raising `TooDeep` for a document nested deeper than `MAX_DEPTH`
    (and `json.JSONDecodeError`, as ever, for one that is not JSON)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep from None
    # Every level opens a bracket: a document with few of them needs no walk.
    if _brackets(text) > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise TooDeep
    return value


def _brackets(text: str | bytes) -> int:
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


def _deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep in `value`: a level at a time,
    without recursion. (`json.loads` makes plain dicts and lists, hence the exact types.)"""
    level: list[dict[str, Any] | list[Any]] = []
    if type(value) is dict or type(value) is list:
        level.append(value)
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[dict[str, Any] | list[Any]] = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return False
