"""Never a false pass: a test that sent a request nothing answered fails, whatever came
before or after it; one test's requests are never charged to another; a client cannot lift
the settings a test made from Python."""

from __future__ import annotations

import inspect
import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from . import postman
from .conftest import DEFAULT_COLLECTION
from .served import serving


def post(url: str, text: str, **headers: str) -> tuple[int, Any]:
    """A chat request over plain HTTP: its status and JSON body, whatever the status."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    request = urllib.request.Request(
        url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    hello = postman.chat_item("Hello", postman.chat_body(("user", "Hello world")), "Hi!")
    postman.write(pytester.path / "collection.json", postman.collection(hello))
    # The tests in the project send with the same `post` as this module.
    imports = "import json\nimport urllib.error\nimport urllib.request\nfrom typing import Any\n"
    pytester.makeconftest(imports + inspect.getsource(post))
    return pytester


def test_a_rerun_that_misses_during_teardown_fails(project: pytest.Pytester) -> None:
    """pytest-rerunfailures runs the same item again: the first attempt's verdict must not
    excuse the second."""
    project.makepyfile(
        """
        import pytest
        from conftest import post

        ATTEMPTS = []

        @pytest.fixture
        def misses_at_teardown(llm_mock_server):
            yield
            if len(ATTEMPTS) == 2:
                assert post(llm_mock_server.base_url, "unknown at teardown")[0] == 404

        def test_flaky(llm_mock_server, misses_at_teardown):
            ATTEMPTS.append(1)
            if len(ATTEMPTS) == 1:
                assert post(llm_mock_server.base_url, "unknown in the body")[0] == 404
        """
    )
    result = project.runpytest("-p", "rerunfailures", "--reruns", "1")
    result.assert_outcomes(errors=1, passed=1)
    assert result.parseoutcomes()["rerun"] == 1
    result.stdout.fnmatch_lines(["*pytest-llm-mock (at teardown): 1 request(s) were not*"])
    result.stdout.fnmatch_lines(["*'unknown at teardown'*"])
    assert result.ret == 1


def test_a_miss_is_not_forgotten_when_the_journal_limit_drops_it(
    project: pytest.Pytester,
) -> None:
    project.makeini("[pytest]\nllm_journal_limit = 3\n")
    project.makepyfile(
        """
        from conftest import post

        def test_one_miss_then_many_answers(llm_mock_server):
            assert post(llm_mock_server.base_url, "nobody answers this")[0] == 404
            for _ in range(10):
                assert post(llm_mock_server.base_url, "Hello world")[0] == 200
            assert len(llm_mock_server.requests) == 3
            assert [r.last_user_message for r in llm_mock_server.unmatched] == [
                "nobody answers this"
            ]
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-llm-mock: 1 request(s) were not answered by any example:",
            "*1. POST /v1/chat/completions",
        ]
    )
    result.stdout.fnmatch_lines(["*11 requests served, 1 not answered*"])


def test_a_request_after_its_test_ended_is_charged_to_no_other_test(
    project: pytest.Pytester,
) -> None:
    """A fire-and-forget thread of the first test sends while the second runs: the second
    test sees none of it, and the session summary names the first."""
    project.makepyfile(
        """
        import threading
        from conftest import post

        GO, DONE = threading.Event(), threading.Event()
        SEEN = {}

        def test_leaves_a_thread_behind(llm_mock_server):
            base_url = llm_mock_server.base_url

            def later():
                GO.wait(10)
                SEEN["miss"] = post(base_url, "sent too late")
                SEEN["hit"] = post(base_url, "Hello world")
                DONE.set()

            threading.Thread(target=later, daemon=True).start()

        def test_runs_while_it_sends(llm_mock_server):
            GO.set()
            assert DONE.wait(10)
            assert SEEN["miss"][0] == 404, "answered from the first test's collection"
            status, body = SEEN["hit"]
            assert (status, body["choices"][0]["message"]["content"]) == (200, "Hi!")
            assert llm_mock_server.requests == []
            assert llm_mock_server.unmatched == []
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*0 requests served, 0 not answered*",
            "2 request(s) arrived after their test had ended, or while no test was running*",
            "  test_a_request_after_its_test_ended_is_charged_to_no_other_test.py::"
            "test_leaves_a_thread_behind: POST /v1/chat/completions *'sent too late' -> 404*",
            "  *::test_leaves_a_thread_behind: POST /v1/chat/completions *-> 200 Hello*",
            "1 of them were not answered, so the run fails. If a client was built once and kept*",
        ],
        consecutive=True,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "a miss charged to no test fails the run"
    assert project.runpytest("-p", "no:randomly", "--llm-lenient").ret == pytest.ExitCode.OK


def test_a_client_kept_from_an_earlier_test_cannot_hide_a_miss(project: pytest.Pytester) -> None:
    """A client built once (a module-level client, settings read once) keeps the first test's
    prefix: its requests in later tests are late, and one nothing answers fails the run."""
    project.makepyfile(
        """
        from conftest import post

        CLIENT = {}

        def test_first_builds_the_client(llm_mock_server):
            CLIENT["base_url"] = llm_mock_server.base_url

        def test_second_swallows_a_miss(llm_mock_server):
            status, _ = post(CLIENT["base_url"], "nothing answers this")
            assert status == 404  # an app that swallows the error
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["1 of them were not answered, so the run fails.*"])


def test_prefixes_mean_nothing_to_serve(tmp_path: Path) -> None:
    """`serve` opens no test scopes: a request under any /_t/N prefix is its own, logged and
    counted; a prefix too long to be a number is an unknown route, not a crash."""
    with serving(str(DEFAULT_COLLECTION), cwd=tmp_path) as served:
        root = served.base_url.removesuffix("/v1")
        status, _ = post(root + "/_t/7/v1", "Hello?")
        assert status == 404
        served.wait_for("POST /v1/chat/completions 404")
        status, body = post(root + "/_t/" + "9" * 5000 + "/v1", "Hello")
        assert (status, body["error"]["code"]) == (404, "unknown_url")
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(10) == 1
        served.wait_for("pytest-llm-mock stopped: 2 requests, 2 not answered")


def test_each_test_has_its_own_prefix_and_every_route_answers_under_it(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import json
        import urllib.request
        from conftest import post

        URLS = []

        def get(url):
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, json.load(response)

        def test_first(llm_mock_server):
            URLS.append(llm_mock_server.base_url)
            assert llm_mock_server.url.split("/", 3)[3].startswith("_t/")
            assert llm_mock_server.base_url == llm_mock_server.url + "/v1"
            assert llm_mock_server.env["OPENAI_BASE_URL"] == llm_mock_server.base_url
            client = llm_mock_server.openai_client()
            assert str(client.base_url).rstrip("/") == llm_mock_server.base_url
            assert get(llm_mock_server.url + "/health")[0] == 200
            assert get(llm_mock_server.base_url + "/models")[0] == 200
            assert get(llm_mock_server.url + "/_llm_mock/requests")[1][0]["path"] == "/health"
            assert [r.path for r in llm_mock_server.requests] == ["/health", "/v1/models"]

        def test_second(llm_mock_server):
            assert llm_mock_server.base_url not in URLS
            # A client without the prefix belongs to the test running when it sends.
            root = llm_mock_server.url.rsplit("/_t/", 1)[0]
            assert post(root + "/v1", "Hello world")[0] == 200
            assert llm_mock_server.last_request.example == "Hello/Hello"
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_client_cannot_lift_the_settings_a_test_made(project: pytest.Pytester) -> None:
    """DELETE /_llm_mock/requests clears the journal and the sequences, nothing else."""
    project.makepyfile(
        """
        import urllib.request
        from conftest import post

        def test_settings_stay(llm_mock_server):
            llm_mock_server.require_api_key = "secret"
            llm_mock_server.add_response("added", contains="added please")
            llm_mock_server.fail_next(503)
            key = {"authorization": "Bearer secret"}
            assert post(llm_mock_server.base_url, "Hello world")[0] == 401
            request = urllib.request.Request(
                llm_mock_server.url + "/_llm_mock/requests", method="DELETE"
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 204
            assert llm_mock_server.requests == []
            assert post(llm_mock_server.base_url, "Hello world")[0] == 401, "key still asked"
            status, _ = post(llm_mock_server.base_url, "added please", **key)
            assert status == 503, "fail_next still pending"
            status, body = post(llm_mock_server.base_url, "added please", **key)
            assert body["choices"][0]["message"]["content"] == "added"
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_request_sent_while_no_test_runs_is_answered_and_its_miss_fails_the_run(
    pytester: pytest.Pytester,
) -> None:
    """A session fixture that warms its app up before the first test: its request is
    answered from the run's collection and listed; one nothing answers fails the run, since
    no test can fail for it."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makeconftest(
        """
        import openai
        import pytest

        @pytest.fixture(scope="session")
        def app(llm_mock_session):
            client = openai.OpenAI(base_url=llm_mock_session.base_url, api_key="k", max_retries=0)
            warm = client.chat.completions.create(
                model="mock-llm-v1", messages=[{"role": "user", "content": "Hello"}]
            )
            assert warm.choices[0].message.content == "Hello! How can I help you today?"
            try:
                client.chat.completions.create(
                    model="mock-llm-v1", messages=[{"role": "user", "content": "warm-up?"}]
                )
            except openai.NotFoundError:
                pass  # an app that swallows its warm-up error
            yield client
            client.close()
        """
    )
    pytester.makepyfile(
        """
        def test_uses_the_app(app, llm_mock_server):
            assert llm_mock_server.requests == []
        """
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "2 request(s) arrived after their test had ended, or while no test was running*",
            "  (no test was running): POST /v1/chat/completions *'Hello' -> 200*",
            "  (no test was running): POST /v1/chat/completions *'warm-up?' -> 404*",
            "1 of them were not answered, so the run fails.*",
        ]
    )
