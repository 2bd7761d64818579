"""aimock (`@copilotkit/aimock` from npm): its CLI on Node, `llmock -p PORT -f fixtures.json`
(the server bin; aimock-pytest runs the same `dist/cli.js`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from . import (
    ANSWER,
    NODE_MODULES,
    STREAM_TEXT,
    TOOL_ANSWER,
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    ProcessContender,
)

CLI = NODE_MODULES / "@copilotkit" / "aimock" / "dist" / "cli.js"
HOW = "a fixtures.json of four fixtures; the stream's with chunkSize: 4"


def fixtures() -> list[dict[str, Any]]:
    call = {"id": TOOL_CALL_ID, "name": "get_weather", "arguments": TOOL_ARGUMENTS}
    return [
        {"match": {"userMessage": "Hello"}, "response": {"content": ANSWER}},
        {"match": {"userMessage": "Stream"}, "response": {"content": STREAM_TEXT}, "chunkSize": 4},
        {
            "match": {"userMessage": "Weather?", "hasToolResult": True},
            "response": {"content": TOOL_ANSWER},
        },
        {
            "match": {"userMessage": "Weather?", "hasToolResult": False},
            "response": {"toolCalls": [call]},
        },
    ]


def write_fixtures(path: Path) -> Path:
    path.write_text(json.dumps({"fixtures": fixtures()}, indent=1))
    return path


def version() -> str:
    package = json.loads((CLI.parents[1] / "package.json").read_text())
    return str(package["version"])


class Aimock(ProcessContender):
    name = "aimock"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.fixtures = write_fixtures(folder / "fixtures.json")

    def argv(self) -> list[str]:
        return ["node", str(CLI), "-p", str(self.port), "-f", str(self.fixtures)]
