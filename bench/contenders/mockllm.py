"""mockllm: `mockllm start --responses responses.yml` (no pytest integration).

Its `start` always runs uvicorn with `reload=True` (the flag defaults to on and has no way
off), so it is a reloader process and a worker; it re-reads its YAML on every request (the
modification time it compares with is truncated to whole seconds). It streams one character
per chunk, so its 100-chunk stream is the first 100 characters of the others'; and it streams
its `unknown_response` whatever the prompt (its stream handler looks the answer up again as if
it were a prompt), so the stream's text is set there. No embeddings, no tool calls.

It counts tokens with tiktoken, which for a model name it knows (`gpt-4o-mini`) fetches the
encoding from the internet on first use and, where there is none (this machine), tries again on
every request, stalling its event loop for seconds every dozen requests. The bench's model is
`mock-llm`, the name of mockllm's own docs, for which tiktoken fails at once and mockllm
counts words instead, as it would once the encoding is cached on a connected machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from . import ANSWER, STREAM_TEXT, ProcessContender, installed


class Mockllm(ProcessContender):
    name = "mockllm"
    embeddings = False
    stream_text: ClassVar[str] = STREAM_TEXT[:100]
    how: ClassVar[str] = "a responses.yml: prompts to answers; the stream in unknown_response"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.responses = folder / "responses.yml"
        answers = {
            "responses": {"Hello": ANSWER, "Stream": self.stream_text},
            "defaults": {"unknown_response": self.stream_text},
        }
        self.responses.write_text(json.dumps(answers, indent=1))

    def argv(self) -> list[str]:
        argv = [installed("mockllm"), "start", "--responses", str(self.responses)]
        return [*argv, "--host", "127.0.0.1", "--port", str(self.port)]
