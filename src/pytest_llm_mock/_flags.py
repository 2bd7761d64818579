"""The plugin's command-line options, ini keys and marker text. Imports nothing: pytest loads
this for every run of a project that installs the plugin.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import pytest

MARKER_HELP = (
    "llm_collection(path, *, match=None, strict=None, require_api_key=None): the Postman "
    "collection, match strategy, strictness and required API key of pytest-llm-mock for this test"
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("llm-mock", "pytest-llm-mock: deterministic OpenAI-compatible server")
    group.addoption(
        "--llm-collection",
        metavar="PATH",
        help="Postman collection to answer from (relative to the current directory)",
    )
    group.addoption(
        "--llm-match",
        metavar="STRATEGY",
        help="match strategy: conversation (default), dialogue, last_user_message, rasa, "
        "regex:PATTERN",
    )
    group.addoption(
        "--llm-record",
        metavar="UPSTREAM_BASE_URL",
        help="record mode: send unanswered requests upstream and save the answers in the "
        "collection (key from LLM_MOCK_UPSTREAM_API_KEY)",
    )
    group.addoption(
        "--llm-require-api-key",
        metavar="KEY",
        help="answer 401 to requests that do not carry this API key (to test auth handling)",
    )
    group.addoption(
        "--llm-capture",
        action="store_true",
        help="save each request nothing answered as a draft item of the collection file",
    )
    group.addoption(
        "--llm-lenient",
        action="store_true",
        help="do not fail tests whose requests no example answered",
    )
    parser.addini("llm_collection", "Postman collection to answer from (relative to the ini file)")
    parser.addini("llm_match", "match strategy (default: conversation)")
    parser.addini("llm_strict", "fail tests with unmatched requests", type="bool", default=True)
    parser.addini(
        "llm_capture", "save unanswered requests as draft items", type="bool", default=False
    )
    parser.addini("llm_chunk_size", "characters per stream chunk (default 8)", default="8")
    parser.addini("llm_journal_limit", "requests kept per test (default 10000)", default="10000")
    parser.addini(
        "llm_max_body_size", "larger request bodies get a 413 (default 32 MiB)", default=""
    )
    parser.addini(
        "llm_journal_max_size",
        "bytes of requests kept per test; older ones are dropped (default 64 MiB)",
        default="",
    )
