"""pytest-httpserver: werkzeug in a thread, answering canned bytes per expected request.

As its docs show: `expect_request(uri, json=...)` then `respond_with_data(...)`. It has no
command line; its process form is a short host script, for start, stop and memory.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from . import HELLO, MODEL, STREAM, Contender, ProcessContender
from .wire import embedding_bytes, ours, save

HOW = "expect_request(json=...).respond_with_data(...) with the bytes ours sends"


def configure(server: Any, answers: Mapping[str, bytes]) -> None:
    """The expectations of the benchmark: the chat answer, the stream (`answers`: the bytes
    ours sends), an embedding."""
    chat = "/v1/chat/completions"
    server.expect_request(chat, json={"messages": HELLO, "model": MODEL}).respond_with_data(
        answers["answer"], content_type="application/json"
    )
    server.expect_request(
        chat, json={"messages": STREAM, "model": MODEL, "stream": True}
    ).respond_with_data(answers["stream"], content_type="text/event-stream")
    server.expect_request("/v1/embeddings").respond_with_data(
        embedding_bytes(), content_type="application/json"
    )


class HttpserverThread(Contender):
    name = "pytest-httpserver"
    form = "thread"
    how: ClassVar[str] = HOW

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        from pytest_httpserver import HTTPServer

        self.server = HTTPServer(host="127.0.0.1", port=0)
        configure(self.server, ours())

    def start(self) -> None:
        self.server.start()
        self.port = self.server.port

    def stop(self) -> None:
        self.server.stop()


HOST_SCRIPT = f"""
import logging, sys, threading
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from contenders.httpserver import configure
from contenders.wire import load
from pytest_httpserver import HTTPServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = HTTPServer(host="127.0.0.1", port=int(sys.argv[1]))
configure(server, load(Path(sys.argv[2])))
server.start()
threading.Event().wait()
"""


class HttpserverProcess(ProcessContender):
    name = "pytest-httpserver"
    how: ClassVar[str] = "no command line: a host script starts HTTPServer as above"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.answers = save(folder / "answers.json")  # written here: the script only reads

    def argv(self) -> list[str]:
        return [sys.executable, "-c", HOST_SCRIPT, str(self.port), str(self.answers)]
