"""The bytes of OpenAI answers, for the servers that send canned bytes and for the floor:
the very bytes ours sends for the benchmark's requests, so that the SDK parses the same answer
from every one of them (performance.md: the floor answers "the same bytes"), and embeddings.
"""

from __future__ import annotations

import base64
import http.client
import json
import struct
import tempfile
from functools import cache
from pathlib import Path

from . import HELLO, MODEL, STREAM, TOOL, WEATHER, WEATHER_RESULT

# The benchmark's requests, by the name of their answer.
REQUESTS = {
    "answer": {"model": MODEL, "messages": HELLO},
    "stream": {"model": MODEL, "messages": STREAM, "stream": True},
    "tool_call": {"model": MODEL, "messages": WEATHER, "tools": [TOOL]},
    "tool_answer": {"model": MODEL, "messages": WEATHER_RESULT, "tools": [TOOL]},
}


@cache
def ours() -> dict[str, bytes]:
    """What our server answers each of `REQUESTS` with (the bench's collection)."""
    from pytest_llm_mock import LLMMockServer

    from .ours import write_collection

    with tempfile.TemporaryDirectory() as folder:
        collection = write_collection(Path(folder) / "collection.json")
        with LLMMockServer(collection) as server:
            port = int(server.url.rsplit(":", 1)[1])
            return {name: _post(port, body) for name, body in REQUESTS.items()}


def _post(port: int, body: object) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"ours answered {response.status} to {body}: {answer[:300]!r}")
    return answer


def completion_bytes() -> bytes:
    return ours()["answer"]


def tool_call_bytes() -> bytes:
    return ours()["tool_call"]


def tool_answer_bytes() -> bytes:
    return ours()["tool_answer"]


def sse_bytes() -> bytes:
    """The 100-chunk stream: a role chunk, the text 4 characters a chunk, a finish chunk."""
    return ours()["stream"]


def save(path: Path) -> Path:
    """Ours' answers in a file, for a process that must not start a server to learn them."""
    path.write_text(json.dumps({name: answer.decode() for name, answer in ours().items()}))
    return path


def load(path: Path) -> dict[str, bytes]:
    return {name: text.encode() for name, text in json.loads(path.read_text()).items()}


def embedding_bytes(dimensions: int = 1536) -> bytes:
    """One embedding, base64 float32 as the SDK asks for by default."""
    vector = struct.pack(f"<{dimensions}f", *([1 / dimensions**0.5] * dimensions))
    data = [{"object": "embedding", "index": 0, "embedding": base64.b64encode(vector).decode()}]
    answer = {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    return json.dumps(answer).encode()
