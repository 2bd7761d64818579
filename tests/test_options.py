"""The command-line options and ini keys: their help, and the ini keys that hold numbers
(real pytest runs)."""

from __future__ import annotations

import re

import pytest

from pytest_llm_mock._journal import DEFAULT_LIMIT, DEFAULT_MAX_SIZE
from pytest_llm_mock._state import DEFAULT_MAX_BODY_BYTES
from pytest_llm_mock._stream import DEFAULT_CHUNK_SIZE

DEFAULTS = {
    "llm_collection (string)": "the rootdir's collection.json, else the embedded one",
    "llm_match (string)": "conversation",
    "llm_strict (bool)": "true",
    "llm_capture (bool)": "false",
    "llm_report (string)": "none",
    "llm_chunk_size (int)": f"{DEFAULT_CHUNK_SIZE}",
    "llm_journal_limit (int)": f"{DEFAULT_LIMIT}",
    "llm_max_body_size (int)": f"{DEFAULT_MAX_BODY_BYTES}, 32 MiB",
    "llm_journal_max_size (int)": f"{DEFAULT_MAX_SIZE}, 64 MiB",
}
FLAGS = (
    "--llm-collection=PATH",
    "--llm-match=STRATEGY",
    "--llm-record=UPSTREAM_BASE_URL",
    "--llm-require-api-key=KEY",
    "--llm-capture",
    "--llm-lenient",
    "--llm-report=PATH",
)


def help_entries(text: str) -> dict[str, str]:
    """`pytest --help`'s entries: each option or `key (type)` and its help, unwrapped."""
    entries: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        entry = re.match(r"  (-\S+|\w+ \([^)]*\)):?(?: +(.*))?$", line)
        if entry:  # a new entry: its name, and its help on the same line or the next ones
            name = entry[1]
            entries[name] = entry[2] or ""
        elif name and line.startswith(" " * 24) and line.strip():
            entries[name] = f"{entries[name]} {line.strip()}".strip()
        else:
            name = ""
    return entries


def test_help_describes_each_option_and_ini_key_in_one_phrase_with_its_default(
    pytester: pytest.Pytester,
) -> None:
    entries = help_entries(pytester.runpytest("--help").stdout.str())
    ours = {name: text for name, text in entries.items() if "llm" in name.split()[0]}
    assert sorted(ours) == sorted([*DEFAULTS, *FLAGS])
    for key, default in DEFAULTS.items():
        assert ours[key].endswith(f"(default: {default})"), (key, ours[key])
    for flag in FLAGS:
        assert re.search(r"\(default: [^)]+\)$", ours[flag]), (flag, ours[flag])
    for name, text in ours.items():
        assert text[0].isupper(), (name, text)  # as pytest's own help is written
        assert ". " not in text, (name, text)  # one phrase, not sentences
    assert "(default: the ini's llm_match, else conversation)" in ours["--llm-match=STRATEGY"]


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            [],
            "llm_chunk_size = none",
            "ERROR: pytest-llm-mock: ini option llm_chunk_size must be a whole number, 1 or more "
            "(*'none'*)",
        ),
        (
            ["-o", "llm_journal_limit=ten"],
            "",
            "ERROR: pytest-llm-mock: ini option llm_journal_limit must be a whole number, "
            "1 or more (*'ten'*)",
        ),
        (
            [],
            "llm_max_body_size = 1.5",
            "ERROR: pytest-llm-mock: ini option llm_max_body_size must be a whole number, "
            "1 or more (*'1.5'*)",
        ),
        (
            [],
            "llm_journal_max_size = 0",
            "ERROR: pytest-llm-mock: ini option llm_journal_max_size must be 1 or more, got 0",
        ),
        (
            ["-o", "llm_chunk_size=-3"],
            "",
            "ERROR: pytest-llm-mock: ini option llm_chunk_size must be 1 or more, got -3",
        ),
    ],
    ids=["not-a-number", "override-not-a-number", "not-whole", "zero", "negative-override"],
)
def test_a_bad_number_is_a_one_line_usage_error_naming_the_key(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, lines
    result.stderr.fnmatch_lines([message])


def test_the_number_keys_are_ints_from_an_ini_file_or_pyproject(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        llm_chunk_size = 3
        llm_journal_limit = 2
        llm_journal_max_size = 100000
        llm_max_body_size = "5000"
        """
    )
    pytester.makepyfile(
        """
        def test_ints(request):
            got = {
                key: request.config.getini(key)
                for key in (
                    "llm_chunk_size",
                    "llm_journal_limit",
                    "llm_journal_max_size",
                    "llm_max_body_size",
                )
            }
            assert got == {
                "llm_chunk_size": 3,
                "llm_journal_limit": 2,
                "llm_journal_max_size": 100000,
                "llm_max_body_size": 5000,
            }

        def test_the_server_uses_them(llm_mock_server):
            assert llm_mock_server.chunk_size == 3
            llm_mock_server.add_response("ok")
            client = llm_mock_server.openai_client()
            for text in ("one", "two", "three"):
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": text}]
                )
            assert [r.last_user_message for r in llm_mock_server.requests] == ["two", "three"]
            assert llm_mock_server.dropped_requests == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_unset_sizes_leave_the_server_defaults(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        f"""
        def test_defaults(request, llm_mock_server):
            assert request.config.getini("llm_max_body_size") is None
            assert request.config.getini("llm_journal_max_size") is None
            assert request.config.getini("llm_chunk_size") == {DEFAULT_CHUNK_SIZE}
            assert llm_mock_server.chunk_size == {DEFAULT_CHUNK_SIZE}
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
