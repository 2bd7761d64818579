"""`--llm-report=PATH` (ini `llm_report`): the session's report as one self-contained HTML
file, xdist workers merged, linked from pytest-html's report (real pytest runs)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from . import postman

TESTS = """
import openai, pytest

def ask(server, text):
    client = server.openai_client(max_retries=0)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    ).choices[0].message.content

def test_greets(llm_mock_server):
    assert ask(llm_mock_server, "Hello") == "Hi there!"
    assert ask(llm_mock_server, "Hello") == "Hi there!"

def test_misses(llm_mock_server):
    with pytest.raises(openai.NotFoundError):
        ask(llm_mock_server, "<script>alert(1)</script> Hello?")

def test_quiet(llm_mock_server):
    pass

def test_without_the_mock():
    pass
"""


class Text(HTMLParser):
    """The text of a document and the names of its tags."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(path: Path) -> tuple[str, set[str]]:
    parser = Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.text).split()), parser.tags


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    hello = postman.chat_item("Hello", postman.chat_body(("user", "Hello")), "Hi there!")
    bye = postman.chat_item("Bye", postman.chat_body(("user", "Bye")), "Goodbye!")
    postman.write(
        pytester.path / "collection.json", postman.collection(postman.folder("Talk", hello, bye))
    )
    pytester.makepyfile(test_talk=TESTS)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_report_lists_each_tests_requests_the_examples_and_the_summary(
    project: pytest.Pytester, workers: list[str]
) -> None:
    result = project.runpytest("--llm-report=out/report.html", "-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=3, failed=1)
    report = project.path / "out" / "report.html"
    result.stdout.fnmatch_lines([f"pytest-llm-mock report: {report}"])
    text, tags = read(report)
    assert not tags & {"script", "link", "img", "iframe"}, "self-contained, with no script"
    assert "<script>alert(1)</script> Hello?" in text  # as text: the parser saw no tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hello?" in report.read_text(encoding="utf-8")
    assert re.search(r"passed test_talk.py::test_greets · 2 requests", text)
    assert re.search(r"failed test_talk.py::test_misses · 1 request, 1 not answered", text)
    assert re.search(r"passed test_talk.py::test_quiet · 0 requests No requests\.", text)
    assert "test_without_the_mock" not in text
    assert "Talk/Hello/Hello" in text
    assert "not answered No example in" in text
    assert "3 tests using the mock 3 requests 1 not answered 1 of 2 examples reached" in text
    examples = text.split("Examples ", 1)[1]
    assert re.fullmatch(
        r"\S+collection\.json Example Tests that reached it Talk/Hello/Hello 1 Talk/Bye/Bye 0",
        examples,
    )


def test_the_ini_key_writes_the_report_beside_the_ini_file(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini("[pytest]\nllm_report = reports/llm.html\n")
    monkeypatch.chdir(project.mkdir("sub"))
    result = project.runpytest("-p", "no:cacheprovider", "-k", "greets", str(project.path))
    result.assert_outcomes(passed=1)
    text, _ = read(project.path / "reports" / "llm.html")
    assert "test_talk.py::test_greets · 2 requests" in text


def test_pytest_html_links_to_the_report(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--html=html/index.html", "--llm-report=llm/report.html", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3, failed=1)
    page = (project.path / "html" / "index.html").read_text(encoding="utf-8")
    assert '<p class="llm-mock-report">pytest-llm-mock: <a href="../llm/report.html">' in page
