"""The session report opened in a real headless Chromium, and the live page over a full
journal (10,000 requests): its first paint is measured in the browser."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from ..served import serving
from .pages import MODEL, css, open_page, page_url, rows, until, write_collection

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

FULL_JOURNAL = 10_000  # serve's default journal limit
FIRST_PAINT_BUDGET_MS = 1_000

SESSION = """
import openai, pytest

def test_weather_agent(llm_mock_server):
    client = llm_mock_server.openai_client(max_retries=0)
    turns = [
        {"role": "system", "content": "You are a weather assistant."},
        {"role": "user", "content": "What's the weather in Paris?"},
    ]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=turns)
    assert first.choices[0].message.tool_calls[0].function.name == "get_weather"

def test_greeting(llm_mock_server):
    client = llm_mock_server.openai_client(max_retries=0)
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
    )
    assert answer.choices[0].message.content == "Hi there!"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello, who are you?"}]
        )
"""


def test_the_report_file_shows_a_tests_requests_in_the_browser(
    page: WebDriver, pytester: pytest.Pytester, shoot: Callable[[str], Path]
) -> None:
    write_collection(pytester.path / "collection.json")
    pytester.makepyfile(test_session=SESSION)
    result = pytester.runpytest(
        "--llm-report=report.html", "--llm-lenient", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    page.get((pytester.path / "report.html").as_uri())
    until(page, lambda: css(page, "details.test"), "the tests")
    tests = {css(d, "code.nodeid")[0].text: d for d in css(page, "details.test")}
    assert sorted(tests) == [
        "test_session.py::test_greeting",
        "test_session.py::test_weather_agent",
    ]
    greeting = tests["test_session.py::test_greeting"]
    assert greeting.get_attribute("open") is not None, "a test with a miss is opened"
    cells = [[td.text for td in css(tr, "td")] for tr in css(greeting, "tbody tr")]
    assert cells[0][1:5] == ["OpenAI chat", MODEL, "Hello", "200"]
    assert cells[0][6] == "Small talk/Hello/Hello"
    assert cells[1][3] == "Hello, who are you?"
    assert cells[1][6].startswith("not answered\nNo example in")
    weather = tests["test_session.py::test_weather_agent"]
    assert weather.get_attribute("open") is None
    css(weather, "summary")[0].click()
    until(page, css(weather, "tbody tr")[0].is_displayed, "the weather test's requests")
    assert css(weather, "tbody tr td")[6].text == "Agents/Weather/Weather lookup/calls get_weather"
    summary = css(page, "#summary")[0].text
    assert "2\ntests using the mock" in summary
    assert "1\nnot answered" in summary
    unreached = [tr.text for tr in css(page, "table.examples tr.unreached")]
    assert any("Small talk/Goodbye/Goodbye" in row for row in unreached)
    loaded = page.execute_script("return performance.getEntriesByType('resource').length")
    assert loaded == 0, "the report is self-contained: it loads nothing"
    page.set_window_size(1280, 1100)
    shoot("report")
    page.set_window_size(1280, 900)


def fill_journal(base_url: str, count: int) -> None:
    """`count` requests over one kept-alive connection: every hundredth is a miss."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        for i in range(count):
            text = "Hello" if i % 100 else f"Hello number {i}"
            body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": text}]})
            headers = {"Content-Type": "application/json"}
            connection.request("POST", f"{parts.path}/chat/completions", body, headers)
            response = connection.getresponse()
            response.read()
            assert response.status in (200, 404)
    finally:
        connection.close()


def test_the_page_paints_a_full_journal_in_under_a_second_and_pages_through_it(
    page: WebDriver, tmp_path: Path, shoot: Callable[[str], Path]
) -> None:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", "--lenient", cwd=tmp_path) as served:
        fill_journal(served.base_url, FULL_JOURNAL)
        open_page(page, page_url(served))
        painted = int(page.execute_script("return document.documentElement.dataset.firstPaintMs"))
        print(f"first paint with {FULL_JOURNAL} requests in the journal: {painted} ms")
        assert painted < FIRST_PAINT_BUDGET_MS
        assert len(rows(page)) == 100
        assert css(page, "#count-requests")[0].text == str(FULL_JOURNAL)
        assert css(page, "#count-misses")[0].text == str(FULL_JOURNAL // 100)
        shoot("requests-10000")
        css(page, "#older")[0].click()
        until(page, lambda: len(rows(page)) == 200, "the next hundred rows")
        assert rows(page)[-1][3] == "Hello number 9800"  # the 200th newest of 10,000
        page.get(page_url(served) + "#/collection")
        until(page, lambda: css(page, "ul.tree"), "the collection over the full journal")
        hits = [
            n.text
            for n in css(page, "li.example")
            if n.get_attribute("data-name") == "Small talk/Hello/Hello"
        ]
        assert f"{FULL_JOURNAL - FULL_JOURNAL // 100} hits" in hits[0]
