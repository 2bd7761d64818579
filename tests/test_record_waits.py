"""Record mode waits for its upstream without holding up the server: other requests are
answered while an upstream call is in flight."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from pytest_llm_mock import LLMMockServer
from pytest_llm_mock._record import Recorder

from .conftest import DEFAULT_COLLECTION
from .served import serving

UPSTREAM_DELAY = 3.0


def test_a_slow_upstream_does_not_hold_up_other_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_MOCK_UPSTREAM_API_KEY", "sk-upstream")
    arrived = threading.Event()
    with LLMMockServer() as upstream, LLMMockServer(DEFAULT_COLLECTION, strict=False) as mock:
        upstream.add_response("from upstream")
        upstream.latency = UPSTREAM_DELAY
        upstream._state.journal.listen(lambda _: arrived.set())
        mock._state.recorder = Recorder(upstream.base_url, tmp_path / "recorded.json")
        recorded: list[str | None] = []

        def record() -> None:
            with mock.openai_client(max_retries=0, timeout=30) as client:
                completion = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "Not in the collection"}]
                )
                recorded.append(completion.choices[0].message.content)

        recording = threading.Thread(target=record)
        recording.start()
        assert arrived.wait(10), "the upstream was asked"
        started = time.perf_counter()
        with urllib.request.urlopen(mock.url + "/health", timeout=10) as probe:
            assert probe.status == 200
        with mock.openai_client(max_retries=0) as client:
            hello = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "Hello"}]
            )
        waited = time.perf_counter() - started
        recording.join(30)
    assert hello.choices[0].message.content == "Hello! How can I help you today?"
    assert recorded == ["from upstream"]
    # Behind the upstream call the probe would wait its whole 3 s; free, it takes milliseconds.
    assert waited < UPSTREAM_DELAY / 3, f"a probe waited {waited:.3f} s behind the upstream"


def test_the_recorded_example_answers_the_next_request_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_MOCK_UPSTREAM_API_KEY", "sk-upstream")
    path = tmp_path / "recorded.json"
    with LLMMockServer() as upstream, LLMMockServer(strict=False) as mock:
        upstream.add_response("recorded once")
        mock._state.recorder = Recorder(upstream.base_url, path)
        with mock.openai_client(max_retries=0) as client:
            for _ in range(2):
                completion = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "Ask once"}]
                )
                assert completion.choices[0].message.content == "recorded once"
        assert len(upstream.requests) == 1, "the second request is answered by the recording"


def test_serve_stopped_during_a_slow_recording_still_saves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upstream answer slower than serve's grace period at stop (5 s) is still saved: once
    stopped, serve waits for the recording before it exits."""
    monkeypatch.setenv("LLM_MOCK_UPSTREAM_API_KEY", "sk-upstream")  # serve inherits it
    collection = tmp_path / "collection.json"
    collection.write_bytes(DEFAULT_COLLECTION.read_bytes())
    arrived = threading.Event()
    with LLMMockServer() as upstream:
        upstream.add_response("from the slow upstream")
        upstream.latency = 7.0
        upstream._state.journal.listen(lambda _: arrived.set())
        with serving(str(collection), "--record", upstream.base_url, cwd=tmp_path) as served:
            body = b'{"model": "m", "messages": [{"role": "user", "content": "Not in it"}]}'
            request = urllib.request.Request(
                served.base_url + "/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            )

            def ask() -> None:
                with contextlib.suppress(OSError):  # serve cuts it as it stops
                    urllib.request.urlopen(request, timeout=30).read()

            threading.Thread(target=ask, daemon=True).start()
            assert arrived.wait(10), "the upstream was asked"
            served.process.send_signal(signal.SIGTERM)
            served.process.wait(30)
    assert "from the slow upstream" in collection.read_text(encoding="utf-8")
