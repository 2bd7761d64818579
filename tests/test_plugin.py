"""The pytest plugin, exercised through real pytest runs (`pytester`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import postman
from .conftest import ROOT

QUESTION = "Which collection answers?"

ASKS = f"""
def ask(server):
    client = server.openai_client(max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{{"role": "user", "content": {QUESTION!r}}}]
    )
    return completion.choices[0].message.content
"""


def answering(path: Path, answer: str) -> Path:
    """Write a collection at `path` that answers QUESTION with `answer`."""
    body = postman.chat_body(("user", QUESTION))
    return postman.write(path, postman.collection(postman.chat_item("which", body, answer)))


@pytest.fixture
def four_sources(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project where a marker, the flag, the ini and the rootdir each name a collection."""
    tests = pytester.mkpydir("suite")
    answering(tests / "marked.json", "marker")
    answering(pytester.path / "flagged.json", "flag")
    answering(pytester.path / "conf" / "ini.json", "ini")
    answering(pytester.path / "collection.json", "rootdir")
    pytester.makeini("[pytest]\nllm_collection = conf/ini.json\n")
    (tests / "test_sources.py").write_text(
        ASKS
        + """
import pytest

@pytest.mark.llm_collection("marked.json")
def test_marker(llm_mock_server):
    assert ask(llm_mock_server) == "marker"

def test_unmarked(llm_mock_server, request):
    assert ask(llm_mock_server) == request.config.getoption("expected")
"""
    )
    pytester.makeconftest("def pytest_addoption(parser):\n    parser.addoption('--expected')\n")
    return pytester


def test_marker_beats_flag(four_sources: pytest.Pytester) -> None:
    result = four_sources.runpytest("--llm-collection=flagged.json", "--expected=flag")
    result.assert_outcomes(passed=2)


def test_flag_beats_ini_which_beats_rootdir_collection(four_sources: pytest.Pytester) -> None:
    four_sources.runpytest("--llm-collection=flagged.json", "--expected=flag").assert_outcomes(
        passed=2
    )
    four_sources.runpytest("--expected=ini").assert_outcomes(passed=2)


def test_rootdir_collection_when_nothing_else_is_set(four_sources: pytest.Pytester) -> None:
    (four_sources.path / "tox.ini").unlink()
    four_sources.makeini("[pytest]\n")
    result = four_sources.runpytest("--expected=rootdir")
    result.assert_outcomes(passed=2)


def test_the_quickstart_passes_in_a_project_without_a_collection(
    pytester: pytest.Pytester,
) -> None:
    """Zero configuration: with no collection.json in the rootdir, the embedded default
    answers, as `serve` does."""
    pytester.makepyfile(test_quickstart=(ROOT / "examples" / "test_quickstart.py").read_text())
    pytester.runpytest().assert_outcomes(passed=1)


def expects_a_404(text: str) -> str:
    """A test module whose one test sends `text`, expecting nothing to answer it."""
    return f"""
import openai, pytest

def test_expects_a_404(llm_mock_server):
    client = llm_mock_server.openai_client(max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="m", messages=[{{"role": "user", "content": {text!r}}}]
        )
"""


def test_a_miss_from_the_embedded_default_says_where_it_looked_and_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(expects_a_404("not in the default"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*The embedded default collection answered: no collection.json was found in "
            f"{pytester.path} (pytest's rootdir). To answer your own requests, run "
            "`pytest-llm-mock init` there*",
        ]
    )
    assert "site-packages" not in result.stdout.str()


def test_the_embedded_default_answers_when_there_is_no_collection(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_default(llm_mock_server):
            assert len(llm_mock_server.collection.examples) == 15
            llm_mock_server.add_response("from python")
            client = llm_mock_server.openai_client()
            completion = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "anything"}]
            )
            assert completion.choices[0].message.content == "from python"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_path_is_relative_to_the_test_module(pytester: pytest.Pytester) -> None:
    answering(pytester.path / "deep" / "down" / "data" / "c.json", "module-relative")
    pkg = pytester.path / "deep" / "down"
    (pkg / "test_rel.py").write_text(
        ASKS
        + """
import pytest

@pytest.mark.llm_collection("data/c.json")
def test_it(llm_mock_server):
    assert ask(llm_mock_server) == "module-relative"
"""
    )
    pytester.runpytest("deep").assert_outcomes(passed=1)


def test_flag_path_is_relative_to_the_invocation_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(pytester.path / "work" / "c.json", "invocation-relative")
    pytester.makeini("[pytest]\n")
    (pytester.path / "test_flag.py").write_text(
        ASKS
        + "\ndef test_it(llm_mock_server):\n"
        + "    assert ask(llm_mock_server) == 'invocation-relative'\n"
    )
    monkeypatch.chdir(pytester.path / "work")
    result = pytester.runpytest("--llm-collection=c.json", str(pytester.path / "test_flag.py"))
    result.assert_outcomes(passed=1)


def test_ini_path_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(pytester.path / "colls" / "c.json", "ini-relative")
    pytester.makeini("[pytest]\nllm_collection = colls/c.json\n")
    sub = pytester.mkpydir("sub")
    (sub / "test_ini.py").write_text(
        ASKS
        + "\ndef test_it(llm_mock_server):\n    assert ask(llm_mock_server) == 'ini-relative'\n"
    )
    monkeypatch.chdir(sub)
    pytester.runpytest("test_ini.py").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--llm-collection=missing.json"],
            "",
            "*pytest-llm-mock: collection from --llm-collection: *missing.json: no such file*",
        ),
        (
            [],
            "llm_collection = nowhere.json",
            "*pytest-llm-mock: collection from ini option llm_collection in *: "
            "*nowhere.json: no such file*",
        ),
        (
            ["--llm-collection=broken.json"],
            "",
            "*broken.json: is not valid JSON: Expecting value at line 1 column 11",
        ),
        (
            ["--llm-collection=bad_item.json"],
            "",
            "*bad_item.json, item 'Folder/Chat/ex', field 'response[[]0].code': "
            "expected an HTTP status code (200-599), got 'two hundred'*",
        ),
        (
            ["--llm-match=fuzzy"],
            "",
            "*--llm-match: unknown match strategy 'fuzzy'; valid strategies are: conversation, "
            "dialogue, last_user_message, rasa, regex:PATTERN*",
        ),
    ],
    ids=["missing-flag", "missing-ini", "broken-json", "bad-field", "bad-strategy"],
)
def test_bad_configuration_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    (pytester.path / "broken.json").write_text('{"item": [} ')
    bad = postman.collection(
        postman.folder(
            "Folder",
            postman.item("Chat", postman.chat_body(("user", "x")), postman.example("ex", "y")),
        )
    )
    bad["item"][0]["item"][0]["response"][0]["code"] = "two hundred"
    postman.write(pytester.path / "bad_item.json", bad)
    pytester.makepyfile("def test_it(llm_mock_server):\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_broken_marker_collection_names_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm_collection("nope.json")
        def test_it(llm_mock_server):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*collection from llm_collection marker of test_a_broken_marker*.py::test_it: "
            "*nope.json: no such file*"
        ]
    )


def test_a_broken_collection_under_xdist_reports_its_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm_collection("nope.json")
        def test_it(llm_mock_server):
            pass

        def test_other():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(
        ["*collection from llm_collection marker of *::test_it: *nope.json: no such file*"]
    )


def test_requests_made_while_fixtures_are_torn_down_are_checked(
    hello_project: pytest.Pytester,
) -> None:
    hello_project.makepyfile(
        """
        import openai
        import pytest

        @pytest.fixture
        def app(llm_mock_server):
            yield
            client = llm_mock_server.openai_client(max_retries=0)
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "goodbye"}]
                )

        def test_it(app):
            pass
        """
    )
    result = hello_project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*pytest-llm-mock (at teardown): 1 request(s) were not answered by any example:*"]
    )


def test_tests_that_do_not_use_the_fixture_never_load_a_collection(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    pytester.runpytest("--llm-collection=missing.json").assert_outcomes(passed=1)


UNMATCHED = """
import openai
import pytest

def test_typo(llm_mock_server):
    client = llm_mock_server.openai_client()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello wrold"}]
        )
"""


@pytest.fixture
def hello_project(pytester: pytest.Pytester) -> pytest.Pytester:
    body = postman.chat_body(("user", "Hello world"))
    postman.write(
        pytester.path / "collection.json",
        postman.collection(postman.folder("Greetings", postman.chat_item("Hello", body, "Hi!"))),
    )
    return pytester


def test_an_unmatched_request_fails_the_test_with_the_closest_examples(
    hello_project: pytest.Pytester,
) -> None:
    hello = postman.chat_body(("user", "Hello world"))
    bye = postman.chat_body(("system", "Be nice."), ("user", "Help me, world"))
    weather = postman.chat_body(("user", "What is the weather?"))
    data = postman.collection(
        postman.folder("Greetings", postman.chat_item("Hello", hello, "Hi!")),
        postman.folder("Greetings", postman.chat_item("Help", bye, "Sure.")),
        postman.folder("Other", postman.chat_item("Weather", weather, "Sunny.")),
    )
    postman.write(hello_project.path / "collection.json", data)
    hello_project.makepyfile(UNMATCHED)
    result = hello_project.runpytest()
    result.assert_outcomes(failed=1)
    path = hello_project.path / "collection.json"
    result.stdout.fnmatch_lines(
        [
            "pytest-llm-mock: 1 request(s) were not answered by any example:",
            "1. POST /v1/chat/completions",
            f"   No example in {path} matches this request (strategy: conversation, "
            "model: gpt-4o-mini).",
            "   The request: 1 message, last user message 'Hello wrold'.",
            "   Closest example 1: 'Hello' of item 'Greetings/Hello'",
            "       first difference in messages[0] (user):",
            "         expected: Hello world",
            "         received: Hello wrold",
            "                          ^ (character 7)",
            "   Closest example 2: 'Weather' of item 'Other/Weather'",
            "       first difference in messages[0] (user):",
            "         expected: What is the weather?",
            "         received: Hello wrold",
            "                   ^ (character 0)",
            "   Closest example 3: 'Help' of item 'Greetings/Help'",
            "       expected messages[0] (system), received messages[0] (user)",
            "         expected: Be nice.",
            "         received: Hello wrold",
            "                   ^ (character 0)",
            f"   To fix it: edit item 'Greetings/Hello' in {path} if the request is right, or "
            "save a new example for it; or answer it from the test with "
            "llm_mock_server.add_response(...).",
            "   The request came through the OpenAI chat door: POST /v1/chat/completions.",
        ],
        consecutive=True,
    )


def test_lenient_flag_lets_unmatched_requests_pass(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(UNMATCHED)
    hello_project.runpytest("--llm-lenient").assert_outcomes(passed=1)


def test_lenient_ini_and_strict_marker(hello_project: pytest.Pytester) -> None:
    hello_project.makeini("[pytest]\nllm_strict = false\n")
    hello_project.makepyfile(
        UNMATCHED
        + """
@pytest.mark.llm_collection("collection.json", strict=True)
def test_strict_again(llm_mock_server):
    test_typo(llm_mock_server)
"""
    )
    result = hello_project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_strict_again - *"])


def test_a_failing_test_shows_its_misses_in_a_report_section(
    hello_project: pytest.Pytester,
) -> None:
    hello_project.makepyfile(
        """
        def test_unaware(llm_mock_server):
            client = llm_mock_server.openai_client(max_retries=0)
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello wrold"}]
            )
        """
    )
    result = hello_project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*NotFoundError*", "*- Captured llm-mock call -*", "*were not answered by any example*"]
    )


def test_each_test_sees_only_its_own_requests(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import pytest

        def ask(server):
            client = server.openai_client()
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello world"}]
            )

        def test_first(llm_mock_server):
            ask(llm_mock_server)
            ask(llm_mock_server)
            llm_mock_server.add_response("added", last_user_message="other")
            assert len(llm_mock_server.requests) == 2
            raise RuntimeError("this test fails after its requests")

        def test_second(llm_mock_server):
            assert llm_mock_server.requests == []
            llm_mock_server.assert_not_called()
            ask(llm_mock_server)
            llm_mock_server.assert_called_once(last_user_message="Hello world")
            assert llm_mock_server.last_request.example == "Greetings/Hello/Hello"
            assert llm_mock_server._state.responses == []
        """
    )
    result = hello_project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)


def test_the_plugin_runs_under_xdist(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_each(llm_mock_server, n):
            client = llm_mock_server.openai_client()
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello world"}]
            )
            assert completion.choices[0].message.content == "Hi!"
            llm_mock_server.assert_called_once()
            assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
        """
    )
    result = hello_project.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=6)


def test_the_marker_selects_the_strategy(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import pytest

        @pytest.mark.llm_collection("collection.json", match="last_user_message")
        def test_it(llm_mock_server):
            client = llm_mock_server.openai_client()
            completion = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "a prompt the example does not have"},
                    {"role": "user", "content": "Hello   world"},
                ],
            )
            assert completion.choices[0].message.content == "Hi!"
        """
    )
    hello_project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("match", "message"),
    [
        (
            "5",
            "*match must be a strategy name or a callable, got 5; valid strategies are: "
            "conversation*",
        ),
        (
            "lambda request: [request.model]",
            "*returned *gpt-4o-mini* for example 'Greetings/Hello/Hello': "
            "a match key must be hashable*",
        ),
    ],
)
def test_bad_match_values_are_reported_clearly(
    hello_project: pytest.Pytester, match: str, message: str
) -> None:
    hello_project.makepyfile(
        f"""
        import pytest

        @pytest.mark.llm_collection("collection.json", match={match})
        def test_it(llm_mock_server):
            pass
        """
    )
    result = hello_project.runpytest()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    (result.stderr if match == "5" else result.stdout).fnmatch_lines([message])


def test_the_marker_rejects_unknown_arguments(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import pytest

        @pytest.mark.llm_collection("collection.json", matching="conversation")
        def test_it(llm_mock_server):
            pass
        """
    )
    result = hello_project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*expected llm_collection(path, *, match=None, strict=None, require_api_key=None)*"]
    )


def test_llm_mock_env_points_sdk_clients_at_the_server(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import openai

        def test_env(llm_mock_env, llm_mock_server):
            client = openai.OpenAI()
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello world"}]
            )
            client.close()
            assert completion.choices[0].message.content == "Hi!"
            assert llm_mock_env["OPENAI_BASE_URL"] == llm_mock_server.base_url
        """
    )
    hello_project.runpytest().assert_outcomes(passed=1)


def test_helper_clients_leave_nothing_open_for_the_next_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(
        """
        import asyncio
        import gc

        def test_clients_left_open(llm_mock_server):
            llm_mock_server.add_response("hi")
            sync_client = llm_mock_server.openai_client()
            async_client = llm_mock_server.async_openai_client()

            async def ask():
                reply = await async_client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
                return reply.choices[0].message.content

            assert asyncio.run(ask()) == "hi"
            sync_client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )

        def test_next(llm_mock_server):
            gc.collect()
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_ini_sets_the_session_chunk_size(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_chunk_size = 3\n")
    pytester.makepyfile(
        """
        def test_stream(llm_mock_server):
            llm_mock_server.add_response("abcdefg")
            client = llm_mock_server.openai_client()
            stream = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], stream=True
            )
            pieces = [c.choices[0].delta.content for c in stream if c.choices]
            assert pieces == ["", "abc", "def", "g", None]
            llm_mock_server.chunk_size = 10
            assert llm_mock_server.chunk_size == 10

        def test_back_to_the_session_size(llm_mock_server):
            assert llm_mock_server.chunk_size == 3
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    assert_bad_ini_value(
        pytester,
        "llm_chunk_size = none",
        "*llm_chunk_size must be a whole number, 1 or more (*'none'*)",
    )


def assert_bad_ini_value(pytester: pytest.Pytester, line: str, message: str) -> None:
    """An ini value that is not valid stops the run as a usage error that names it."""
    pytester.makeini(f"[pytest]\n{line}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_body_limit_from_the_ini_file(hello_project: pytest.Pytester) -> None:
    hello_project.makeini("[pytest]\nllm_max_body_size = 2000\n")
    hello_project.makepyfile(
        """
        import openai
        import pytest

        def test_limit(llm_mock_server):
            client = llm_mock_server.openai_client(max_retries=0)
            with pytest.raises(openai.APIStatusError) as excinfo:
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x" * 3000}]
                )
            assert excinfo.value.status_code == 413
            assert "limit of 2000 bytes" in str(excinfo.value)
        """
    )
    hello_project.runpytest().assert_outcomes(passed=1)
    assert_bad_ini_value(
        hello_project, "llm_max_body_size = 0", "*llm_max_body_size must be 1 or more, got 0"
    )


def test_require_api_key_for_the_whole_run(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import openai
        import pytest

        def ask(server, key):
            client = server.openai_client(api_key=key, max_retries=0)
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello world"}]
            )

        def test_right_key(llm_mock_server):
            assert ask(llm_mock_server, "sk-run-key").choices[0].message.content == "Hi!"

        def test_wrong_key(llm_mock_server):
            with pytest.raises(openai.AuthenticationError):
                ask(llm_mock_server, "sk-other")

        def test_a_test_can_lift_it(llm_mock_server):
            llm_mock_server.require_api_key = None
            assert ask(llm_mock_server, "anything").choices[0].message.content == "Hi!"
        """
    )
    hello_project.runpytest("--llm-require-api-key=sk-run-key").assert_outcomes(passed=3)


def test_require_api_key_per_test_and_keys_never_reach_reports(
    hello_project: pytest.Pytester,
) -> None:
    """The marker asks for a key in one test only; a failing test's report (an unanswered
    request sent with a key) and the session summary never show the key."""
    hello_project.makepyfile(
        """
        import openai
        import pytest

        def ask(server, key, text="Hello world"):
            client = server.openai_client(api_key=key, max_retries=0)
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
            )

        @pytest.mark.llm_collection(require_api_key="sk-marker-key")
        def test_marked(llm_mock_server):
            assert ask(llm_mock_server, "sk-marker-key").choices[0].message.content == "Hi!"
            with pytest.raises(openai.AuthenticationError):
                ask(llm_mock_server, "sk-other")

        def test_unmarked(llm_mock_server):
            assert llm_mock_server.require_api_key is None
            assert ask(llm_mock_server, "anything").choices[0].message.content == "Hi!"

        def test_unanswered(llm_mock_server):
            with pytest.raises(openai.NotFoundError):
                ask(llm_mock_server, "sk-report-secret", "nothing saved for this")
        """
    )
    result = hello_project.runpytest("-v", "-rA", "--showlocals")
    result.assert_outcomes(passed=2, failed=1)
    assert "nothing saved for this" in result.stdout.str()
    assert "sk-report-secret" not in result.stdout.str() + result.stderr.str()


def test_a_bad_require_api_key_in_the_marker_is_a_usage_error(
    hello_project: pytest.Pytester,
) -> None:
    hello_project.makepyfile(
        """
        import pytest

        @pytest.mark.llm_collection(require_api_key=123)
        def test_it(llm_mock_server):
            pass
        """
    )
    result = hello_project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "require_api_key must be a non-empty string" in result.stderr.str()


def test_option_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*--llm-collection=PATH*",
            "*--llm-match=STRATEGY*",
            "*--llm-lenient*",
            "*llm_strict (bool)*",
        ]
    )


def test_collection_json_is_read_once_per_session(hello_project: pytest.Pytester) -> None:
    hello_project.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_same_object(llm_mock_server, n):
            pytest.seen = getattr(pytest, "seen", set()) | {id(llm_mock_server.collection)}
            assert len(pytest.seen) == 1
        """
    )
    hello_project.runpytest().assert_outcomes(passed=3)
    assert json.loads((hello_project.path / "collection.json").read_text())["item"]
