"""The plugin's command-line options, ini keys and marker text, and the check of the ini keys'
numbers. Imports nothing: pytest loads this for every run of a project that installs the
plugin.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import pytest

MARKER_HELP = (
    "llm_collection(path, *, match=None, strict=None, require_api_key=None): the Postman "
    "collection, match strategy, strictness and required API key of pytest-llm-mock for this "
    "test; each argument comes from the closest marker that sets it"
)

# The ini keys that hold a whole number of 1 or more. Unset, the two sizes are None: the
# server's own defaults apply (their values are in the help text).
INT_KEYS = ("llm_chunk_size", "llm_journal_limit", "llm_max_body_size", "llm_journal_max_size")

_STRATEGIES = "conversation, dialogue, last_user_message, rasa or regex:PATTERN"


def add_options(parser: pytest.Parser) -> None:
    # Help texts are one phrase each, stating the default, as pytest's own are.
    group = parser.getgroup("llm-mock", "pytest-llm-mock: deterministic OpenAI-compatible server")
    group.addoption(
        "--llm-collection",
        metavar="PATH",
        help="Postman collection to answer from, relative to the current folder (default: "
        "the ini's llm_collection, else the rootdir's collection.json, else the embedded one)",
    )
    group.addoption(
        "--llm-match",
        metavar="STRATEGY",
        help=f"Match strategy: {_STRATEGIES} (default: the ini's llm_match, else conversation)",
    )
    group.addoption(
        "--llm-record",
        metavar="UPSTREAM_BASE_URL",
        help="Record mode: send requests nothing answered upstream and save the answers in the "
        "collection, with the key in LLM_MOCK_UPSTREAM_API_KEY (default: off)",
    )
    group.addoption(
        "--llm-require-api-key",
        metavar="KEY",
        help="Answer 401 to requests that do not carry this API key (default: any key or none)",
    )
    group.addoption(
        "--llm-capture",
        action="store_true",
        help="Save each request nothing answered as a draft item of the collection file "
        "(default: the ini's llm_capture, else off)",
    )
    group.addoption(
        "--llm-lenient",
        action="store_true",
        help="Do not fail tests whose requests no example answered (default: off, so strict "
        "unless the ini's llm_strict is false)",
    )
    group.addoption(
        "--llm-report",
        metavar="PATH",
        help="Write a self-contained HTML report of each test's requests and the examples that "
        "answered them to PATH, relative to the current folder (default: the ini's "
        "llm_report, else none)",
    )
    parser.addini(
        "llm_collection",
        "Postman collection to answer from, relative to the ini file (default: the rootdir's "
        "collection.json, else the embedded one)",
    )
    parser.addini("llm_match", f"Match strategy: {_STRATEGIES} (default: conversation)")
    parser.addini(
        "llm_strict",
        "Fail tests whose requests no example answered (default: true)",
        type="bool",
        default=True,
    )
    parser.addini(
        "llm_capture",
        "Save requests nothing answered as draft items of the collection (default: false)",
        type="bool",
        default=False,
    )
    parser.addini(
        "llm_report",
        "Self-contained HTML report of each test's requests to write, relative to the ini "
        "file (default: none)",
    )
    parser.addini(
        "llm_chunk_size",
        "Characters per content piece of a synthesized stream (default: 8)",
        type="int",
        default=8,
    )
    parser.addini(
        "llm_journal_limit",
        "Requests kept per test; past it the oldest are dropped (default: 10000)",
        type="int",
        default=10000,
    )
    parser.addini(
        "llm_max_body_size",
        "Largest request body in bytes; larger ones get a 413 (default: 33554432, 32 MiB)",
        type="int",
        default=None,
    )
    parser.addini(
        "llm_journal_max_size",
        "Bytes of requests kept per test; past it the oldest are dropped (default: 67108864, "
        "64 MiB)",
        type="int",
        default=None,
    )


def check_ini(config: pytest.Config) -> None:
    """Stop the run with a one-line usage error naming the key if a number key does not hold
    a whole number of 1 or more (pytest's own error for a value that is not a number names no
    key)."""
    for key in INT_KEYS:
        try:
            value = config.getini(key)
        except (pytest.UsageError, TypeError, ValueError) as exc:
            raise pytest.UsageError(
                f"pytest-llm-mock: ini option {key} must be a whole number, 1 or more ({exc})"
            ) from None
        if value is not None and value < 1:
            raise pytest.UsageError(
                f"pytest-llm-mock: ini option {key} must be 1 or more, got {value!r}"
            )
