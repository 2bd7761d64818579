"""llmock (PyPI): scripted replies; in a thread (`llmock.testing.LLMockServer`, its fixture's
server) or `llmock serve` driven over its admin API. Tool requests are left to its default
`tool_mode="auto"` in the load, and scripted with `call_tool` in the suite."""

from __future__ import annotations

import http.client
import json
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

from . import ANSWER, STREAM_TEXT, Contender, ProcessContender, installed

HOW = "two permanent replies (times=None), for streams and not; tool calls its auto mode's"
CHAT = "*/chat/completions"


def chat(*, stream: bool) -> dict[str, Any]:
    """Chat requests that offer no tools (those get its automatic tool call)."""
    return {"path": CHAT, "stream": stream, "tools": False}


def behaviours() -> list[dict[str, Any]]:
    return [
        {"type": "reply", "text": ANSWER, "times": None, "match": chat(stream=False)},
        {"type": "reply", "text": STREAM_TEXT, "times": None, "match": chat(stream=True)},
    ]


class LlmockThread(Contender):
    name = "llmock"
    form = "thread"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.server = import_module("llmock.testing").LLMockServer()

    def start(self) -> None:
        self.server.start()
        self.port = self.server.port
        self.reset()

    def reset(self) -> None:
        handle = import_module("llmock.pytest_plugin").LLMock(self.server)
        parse = import_module("llmock.scenarios").behavior_from_dict
        handle.reset().add(*(parse(b) for b in behaviours()))

    def stop(self) -> None:
        self.server.stop()


class LlmockProcess(ProcessContender):
    name = "llmock"
    how: ClassVar[str] = "llmock serve; the same replies POSTed to /_llmock/scenario"

    def argv(self) -> list[str]:
        return [installed("llmock"), "serve", "--port", str(self.port)]

    def configure(self) -> None:
        """Once it answers: the scripted replies (before, it answers its own default text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = json.dumps({"behaviors": behaviours()})
        connection.request("POST", "/_llmock/scenario", body, {"content-type": "application/json"})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status < 300, response.status
