"""pytest-llm-mock: a Postman collection, served in a thread (the fixture's form) or by `serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from . import (
    ANSWER,
    HELLO,
    MODEL,
    STREAM,
    STREAM_TEXT,
    TOOL_ANSWER,
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    WEATHER,
    WEATHER_RESULT,
    Contender,
    ProcessContender,
    installed,
)

HOW = "a Postman collection of four examples; the stream's with x-llm-mock-chunk-size: 4"


def item(name: str, messages: list[dict[str, Any]], body: str, chunk_size: int = 0) -> Any:
    headers = [{"key": "x-llm-mock-chunk-size", "value": str(chunk_size)}] if chunk_size else []
    raw = json.dumps({"model": MODEL, "messages": messages})
    return {
        "name": name,
        "request": {
            "method": "POST",
            "url": "{{baseUrl}}/v1/chat/completions",
            "body": {"mode": "raw", "raw": raw},
        },
        "response": [{"name": name, "code": 200, "header": headers, "body": body}],
    }


def write_collection(path: Path) -> Path:
    """The collection the bench serves: answers as plain text, the tool call as a completion."""
    tool_call = {
        "id": "chatcmpl-weather",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": TOOL_CALL_ID,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    items = [
        item("Hello", HELLO, ANSWER),
        item("Stream", STREAM, STREAM_TEXT, chunk_size=4),
        item("Weather", WEATHER, json.dumps(tool_call)),
        item("Weather result", WEATHER_RESULT, TOOL_ANSWER),
    ]
    # Written once (the bench's folders are new each run): the collection is the user's file,
    # there before any server starts; one rewritten before each start would be parsed anew by
    # each, as an edited one is.
    if not path.is_file():
        path.write_text(json.dumps({"info": {"name": "bench"}, "item": items}))
    return path


class OursThread(Contender):
    name = "pytest-llm-mock"
    form = "thread"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        from pytest_llm_mock import LLMMockServer

        self.server = LLMMockServer(write_collection(folder / "collection.json"), strict=False)

    def start(self) -> None:
        self.server.start()
        self.port = int(self.server.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        self.server.reset()


class OursProcess(ProcessContender):
    name = "pytest-llm-mock serve"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.collection = write_collection(folder / "collection.json")

    def argv(self) -> list[str]:
        command = installed("pytest-llm-mock")
        return [command, "serve", str(self.collection), "--port", str(self.port)]
