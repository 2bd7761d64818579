"""The face the `llm_mock_session` fixture shows: the session's server, for clients and apps
that live longer than one test.

It is the same server as every test's `llm_mock_server` (the same object state, not a copy),
but it offers only where the server is and clients for it. Its URLs carry no test prefix, so
a request is charged to the test running when it is sent. What belongs to one test (its
requests, added responses, faults, settings, assertions) raises here, inside a test as well
as outside: the object is shared by every test and by long-lived fixtures, so were it to
stand for "the test running now", a call from a fixture or a thread that outlives its test
would act on whichever test runs at that moment, without a word.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from typing import Any

from ._fixture import LLMMockServer

SESSION_MEMBERS = frozenset({"async_openai_client", "base_url", "env", "openai_client", "url"})


class SessionServer(LLMMockServer):
    """The session's server: `url`, `base_url`, `env`, `openai_client()`,
    `async_openai_client()`; every other public member raises `AttributeError`."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name not in SESSION_MEMBERS:
            raise AttributeError(_per_test(name))
        return super().__getattribute__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and name not in SESSION_MEMBERS:
            raise AttributeError(_per_test(name))
        super().__setattr__(name, value)


def session_face(server: LLMMockServer) -> LLMMockServer:
    """`server` as `llm_mock_session` shows it; it shares `server`'s state (the clients it
    makes are closed when `server` stops)."""
    face = object.__new__(SessionServer)
    face.__dict__ = server.__dict__
    return face


def _per_test(name: str) -> str:
    return (
        f"llm_mock_session.{name} belongs to a test: llm_mock_session is the server every test "
        "shares, for long-lived clients and apps (url, base_url, env, openai_client(), "
        "async_openai_client()); each test's requests, added responses, faults, settings and "
        "assertions are on its own view. Request the llm_mock_server fixture in the test and "
        f"use llm_mock_server.{name}."
    )
