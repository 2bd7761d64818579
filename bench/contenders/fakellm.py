"""fakellm: `fakellm serve --config fakellm.yaml` (pytest-fakellm starts the same command).

Its streams sleep 10 ms after every chunk, in its code, with no setting to turn it off: a
100-chunk stream takes over a second whatever the machine. It has no embeddings endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from . import ANSWER, STREAM_TEXT, TOOL_ANSWER, TOOL_RESULT, ProcessContender, installed

HOW = "a fakellm.yaml of four rules (first match wins)"


def write_config(path: Path) -> Path:
    """Its YAML config (written as JSON, which is YAML)."""
    rules = [
        {
            "name": "weather_result",
            "when": {"tool_result_contains": TOOL_RESULT},
            "respond": {"content": TOOL_ANSWER},
        },
        {
            "name": "weather",
            "when": {"tools_include": "get_weather"},
            "respond": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
        },
        {
            "name": "stream",
            "when": {"messages_contain": "stream"},
            "respond": {"content": STREAM_TEXT},
        },
        {"name": "hello", "when": {"messages_contain": "hello"}, "respond": {"content": ANSWER}},
    ]
    path.write_text(json.dumps({"version": 1, "rules": rules}, indent=1))
    return path


class Fakellm(ProcessContender):
    name = "fakellm"
    embeddings = False
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.config = write_config(folder / "fakellm.yaml")

    def argv(self) -> list[str]:
        port, config = str(self.port), str(self.config)
        return [installed("fakellm"), "serve", "--port", port, "--config", config]
