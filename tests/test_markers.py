"""`llm_collection` markers merge per argument: each of `path`, `match`, `strict` and
`require_api_key` comes from the closest marker that sets it (real pytest runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import postman

# A helper for the inner test modules: what the fixture was configured with.
SEEN = """
import openai
import pytest

def seen(server):
    return (server.collection.path.name, server.strategy.name, server.strict)
"""


def write_collection(path: Path, answer: str) -> Path:
    """A collection answering [system "Be brief.", user "Hi"] with `answer`."""
    body = postman.chat_body(("system", "Be brief."), ("user", "Hi"))
    return postman.write(path, postman.collection(postman.chat_item("hi", body, answer)))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with `data/c.json` beside the test modules and `collection.json` in the
    rootdir, so that a test served the rootdir's file shows that its marker path was lost."""
    pytester.makeini("[pytest]\n")
    write_collection(pytester.path / "data" / "c.json", "from c.json")
    write_collection(pytester.path / "collection.json", "from the rootdir")
    return pytester


def test_a_test_marker_with_only_strict_keeps_the_module_marker_path(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        SEEN
        + """
pytestmark = pytest.mark.llm_collection("data/c.json")

@pytest.mark.llm_collection(strict=False)
def test_lenient(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "conversation", False)
    client = llm_mock_server.openai_client(max_retries=0)
    saved = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=saved)
    assert completion.choices[0].message.content == "from c.json"
    with pytest.raises(openai.NotFoundError):  # not failed for it: strict=False applies
        client.chat.completions.create(model="gpt-4o-mini", messages=saved[1:])

def test_module_marker_only(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "conversation", True)
"""
    )
    project.runpytest().assert_outcomes(passed=2)


def test_a_class_marker_sits_between_the_test_and_the_module(project: pytest.Pytester) -> None:
    project.makepyfile(
        SEEN
        + """
pytestmark = pytest.mark.llm_collection("data/c.json", strict=False)

@pytest.mark.llm_collection(match="last_user_message", strict=True)
class TestChat:
    @pytest.mark.llm_collection(strict=False)
    def test_own_marker(self, llm_mock_server):
        assert seen(llm_mock_server) == ("c.json", "last_user_message", False)

    def test_class_marker(self, llm_mock_server):
        assert seen(llm_mock_server) == ("c.json", "last_user_message", True)

def test_module_marker(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "conversation", False)
"""
    )
    project.runpytest().assert_outcomes(passed=3)


def test_a_test_marker_overrides_the_match_only(project: pytest.Pytester) -> None:
    project.makepyfile(
        SEEN
        + """
pytestmark = pytest.mark.llm_collection(
    "data/c.json", match="last_user_message", strict=False, require_api_key="sk-module"
)

@pytest.mark.llm_collection(match="dialogue")
def test_dialogue(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "dialogue", False)
    assert llm_mock_server.require_api_key == "sk-module"
"""
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_marker_with_only_keywords_leaves_the_rest_to_the_flags_and_ini(
    project: pytest.Pytester,
) -> None:
    project.makeini("[pytest]\nllm_match = last_user_message\n")
    project.makepyfile(
        SEEN
        + """
@pytest.mark.llm_collection(strict=False)
def test_keywords_only(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "last_user_message", False)

@pytest.mark.llm_collection(require_api_key="sk-test")
def test_key_only(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "last_user_message", True)
    assert llm_mock_server.require_api_key == "sk-test"
"""
    )
    project.runpytest("--llm-collection=data/c.json").assert_outcomes(passed=2)


def test_a_marker_path_of_none_sets_no_path(project: pytest.Pytester) -> None:
    project.makepyfile(
        SEEN
        + """
pytestmark = pytest.mark.llm_collection("data/c.json")

@pytest.mark.llm_collection(None, match=None, strict=None, require_api_key=None)
def test_all_none(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "conversation", True)
    assert llm_mock_server.require_api_key is None
"""
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_module_marker_path_is_relative_to_its_module(project: pytest.Pytester) -> None:
    sub = project.mkpydir("sub")
    write_collection(sub / "local.json", "from sub/local.json")
    (sub / "test_sub.py").write_text(
        SEEN
        + """
pytestmark = pytest.mark.llm_collection("local.json")

class TestIt:
    @pytest.mark.llm_collection(strict=False)
    def test_it(self, llm_mock_server):
        assert seen(llm_mock_server) == ("local.json", "conversation", False)
        assert llm_mock_server.collection.path.parent.name == "sub"
"""
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_conftest_can_give_many_modules_one_collection_by_absolute_path(
    project: pytest.Pytester,
) -> None:
    """pytest keeps no record of where a marker was written, so a marker a conftest adds to
    tests resolves a relative path against each test's module: the README's recipe builds an
    absolute path from the conftest's own folder."""
    project.makeconftest(
        """
        from pathlib import Path

        import pytest

        SHARED = Path(__file__).parent / "data" / "c.json"

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.llm_collection(SHARED))
        """
    )
    for folder in ("one", "two"):
        (project.mkpydir(folder) / f"test_{folder}.py").write_text(
            SEEN
            + """
@pytest.mark.llm_collection(strict=False)
def test_it(llm_mock_server):
    assert seen(llm_mock_server) == ("c.json", "conversation", False)
    assert llm_mock_server.collection.path.parent.name == "data"
"""
        )
    project.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (
            """
pytestmark = pytest.mark.llm_collection("data/c.json", strict="no")

@pytest.mark.llm_collection(strict=False)
def test_it(llm_mock_server):
    pass
""",
            "ERROR: pytest-llm-mock: llm_collection marker of test_*.py: "
            "strict must be True, False or None, got 'no'",
        ),
        (
            """
@pytest.mark.llm_collection(matching="conversation")
class TestIt:
    @pytest.mark.llm_collection("data/c.json")
    def test_it(self, llm_mock_server):
        pass
""",
            "ERROR: pytest-llm-mock: llm_collection marker of test_*.py::TestIt: expected "
            "llm_collection(path, *, match=None, strict=None, require_api_key=None), "
            "got args=() kwargs={'matching': 'conversation'}",
        ),
        (
            """
pytestmark = pytest.mark.llm_collection(5)

def test_it(llm_mock_server):
    pass
""",
            "ERROR: pytest-llm-mock: llm_collection marker of test_*.py: "
            "path must be a string or a path, got 5",
        ),
        (
            """
pytestmark = pytest.mark.llm_collection("data/c.json", path="data/c.json")

def test_it(llm_mock_server):
    pass
""",
            "ERROR: pytest-llm-mock: llm_collection marker of test_*.py: expected llm_collection(*",
        ),
        (
            """
pytestmark = pytest.mark.llm_collection(match="fuzzy")

@pytest.mark.llm_collection(strict=False)
def test_it(llm_mock_server):
    pass
""",
            "ERROR: pytest-llm-mock: llm_collection marker of test_*.py: "
            "unknown match strategy 'fuzzy'*",
        ),
    ],
    ids=["bad-strict-in-module", "unknown-keyword-in-class", "bad-path", "path-twice", "bad-match"],
)
def test_a_bad_outer_marker_is_a_usage_error_naming_it(
    project: pytest.Pytester, module: str, message: str
) -> None:
    project.makepyfile("import pytest\n" + module)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_a_missing_collection_names_the_marker_that_gave_its_path(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.llm_collection("nope.json")

        @pytest.mark.llm_collection(strict=False)
        def test_it(llm_mock_server):
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llm-mock: collection from llm_collection marker of "
            "test_a_missing_collection_names_the_marker_that_gave_its_path.py: "
            "*nope.json: no such file*"
        ]
    )
