"""stubllm: a fixtures file; in a thread (`MockLLMServer`, its pytest fixture's server) or
`stubllm serve --fixture-file`. Its streams wait 20 ms between chunks unless a fixture says
otherwise (`stream_chunk_delay_ms`, documented): set to 0 here, as for every other server."""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

from . import (
    ANSWER,
    STREAM_TEXT,
    TOOL_ANSWER,
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_RESULT,
    Contender,
    ProcessContender,
    installed,
)

HOW = "a fixtures file (YAML) of four fixtures; stream_chunk_delay_ms: 0"


def user(contains: str) -> dict[str, Any]:
    return {"role": "user", "content": {"contains": contains}}


def write_fixtures(path: Path) -> Path:
    """Its YAML fixtures (written as JSON, which is YAML)."""
    call = {
        "id": TOOL_CALL_ID,
        "type": "function",
        "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
    }
    fixtures = [
        {"name": "hello", "match": {"messages": [user("Hello")]}, "response": {"content": ANSWER}},
        {
            "name": "stream",
            "match": {"messages": [user("Stream")]},
            "response": {"content": STREAM_TEXT, "stream_chunk_delay_ms": 0},
        },
        {
            "name": "weather",
            "match": {"messages": [user("Weather")], "tools_present": True},
            "response": {"tool_calls": [call]},
        },
        {
            "name": "weather_result",
            "match": {
                "messages": [
                    user("Weather"),
                    {"role": "tool", "content": {"contains": TOOL_RESULT}},
                ]
            },
            "response": {"content": TOOL_ANSWER},
        },
    ]
    path.write_text(json.dumps({"fixtures": fixtures}, indent=1))
    return path


class StubllmThread(Contender):
    name = "stubllm"
    form = "thread"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        fixtures = write_fixtures(folder / "fixtures.yaml")
        server = import_module("stubllm.server").MockLLMServer
        self.server = server(host="127.0.0.1", port=0, fixture_files=[fixtures])

    def start(self) -> None:
        self.server.start()
        self.port = int(self.server.url.rsplit(":", 1)[1])

    def reset(self) -> None:
        self.server.reset_calls()

    def stop(self) -> None:
        self.server.stop()


class StubllmProcess(ProcessContender):
    name = "stubllm"
    how: ClassVar[str] = "stubllm serve --fixture-file with the same fixtures"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.fixtures = write_fixtures(folder / "fixtures.yaml")

    def argv(self) -> list[str]:
        port, fixtures = str(self.port), str(self.fixtures)
        return [installed("stubllm"), "serve", "--port", port, "--fixture-file", fixtures]
