"""Misses on the web page, in a real headless Chromium: the request beside the closest example
with the first difference marked, and the form that answers it into the collection file, so
that with `serve --watch` the next identical request is answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import openai
import pytest

from ..served import serving
from .pages import MODEL, ask, client, css, open_page, page_url, rows, until, write_collection

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


def open_the_miss(page: WebDriver) -> None:
    until(page, lambda: css(page, "#rows tr.miss td.example a"), "the miss's row")
    css(page, "#rows tr.miss td.example a")[0].click()
    until(page, lambda: css(page, "table.comparison"), "the side-by-side comparison")


def test_a_miss_shows_its_first_difference_and_its_answer_serves_the_next_identical_request(
    page: WebDriver, tmp_path: Path, shoot: Callable[[str], Path]
) -> None:
    collection = write_collection(tmp_path / "collection.json")
    with serving(
        "collection.json", "--allow-edits", "--watch", "--lenient", cwd=tmp_path
    ) as served:
        open_page(page, page_url(served))
        with pytest.raises(openai.NotFoundError):
            ask(served, "Hello there")
        until(page, lambda: css(page, "#count-misses")[0].text == "1", "the count of misses")
        css(page, "#tab-misses")[0].click()
        (listed,) = until(page, lambda: css(page, "ul.misses li"), "the list of misses")
        assert listed.text.split("\n")[1:] == [
            "OpenAI chat",
            "Hello there",
            "closest: 'Hello' of item 'Small talk/Hello'",
        ]
        shoot("misses")
        css(listed, "a")[0].click()
        until(page, lambda: css(page, "table.comparison"), "the side-by-side comparison")
        first = css(page, "table.comparison tr.first-difference")
        assert len(first) == 1
        cells = [td.text for td in css(first[0], "td")]
        assert cells == ["messages[0] (user)", "Hello", "Hello there"]
        assert css(first[0], "td.received mark")[0].text == " there"
        assert css(page, "table.comparison th a")[0].text == "Small talk/Hello/Hello"
        assert "No example in" in css(page, "pre.explanation")[0].text
        shoot("miss")

        css(page, "#answer-text")[0].send_keys("Hello to you too!")
        css(page, "#answer-save")[0].click()
        saved = until(page, lambda: css(page, "#answer-message.saved"), "that the answer was saved")
        assert "Captured/Captured: Hello there" in saved[0].text
        assert "the next identical request is answered" in saved[0].text
        served.wait_for("reloaded")
        assert ask(served, "Hello there") == "Hello to you too!"
        page.get(page_url(served))
        until(page, lambda: len(rows(page)) == 2, "the answered request's row")
        assert rows(page)[0][6] == "Captured/Captured: Hello there/answer"
    data = json.loads(collection.read_text(encoding="utf-8"))
    (captured,) = [f for f in data["item"] if f["name"] == "Captured"]
    (example,) = captured["item"][0]["response"]
    assert example["body"] == "Hello to you too!"


def test_tool_calls_typed_as_json_are_saved_as_the_answer(page: WebDriver, tmp_path: Path) -> None:
    write_collection(tmp_path / "collection.json")
    with serving(
        "collection.json", "--allow-edits", "--watch", "--lenient", cwd=tmp_path
    ) as served:
        with pytest.raises(openai.NotFoundError):
            ask(served, "What time is it in UTC?")
        open_page(page, page_url(served))
        open_the_miss(page)
        css(page, "input[name=answer-kind][value=tools]")[0].click()
        css(page, "#answer-text")[0].send_keys('[{"name": "get_time"')
        css(page, "#answer-save")[0].click()
        until(page, lambda: "not JSON" in css(page, "#answer-message")[0].text, "the JSON error")
        css(page, "#answer-text")[0].send_keys(', "arguments": {"zone": "UTC"}}]')
        css(page, "#answer-save")[0].click()
        until(page, lambda: css(page, "#answer-message.saved"), "that the tool calls were saved")
        served.wait_for("reloaded")
        completion = client(served).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "What time is it in UTC?"}]
        )
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.function.name == "get_time"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"zone": "UTC"}  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_without_allow_edits_the_form_is_disabled_and_says_how_to_allow_it(
    page: WebDriver, tmp_path: Path
) -> None:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", "--lenient", cwd=tmp_path) as served:
        with pytest.raises(openai.NotFoundError):
            ask(served, "Hello there")
        open_page(page, page_url(served))
        open_the_miss(page)
        assert css(page, "#answer-form fieldset")[0].get_attribute("disabled") is not None
        assert "--allow-edits" in css(page, "#answer-message")[0].text


def test_the_collection_shows_hits_greys_unreached_examples_and_orders_sequences(
    page: WebDriver, tmp_path: Path, shoot: Callable[[str], Path]
) -> None:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", cwd=tmp_path) as served:
        assert ask(served, "Hello") == "Hi there!"
        with pytest.raises(openai.RateLimitError):
            ask(served, "Ping")
        assert ask(served, "Ping") == "Pong"
        assert ask(served, "Ping") == "Pong"  # the last of a sequence repeats
        open_page(page, page_url(served))
        css(page, "#rows tr:last-child td.example a")[0].click()  # Hello's example
        until(page, lambda: css(page, "li.example.target"), "the linked example, highlighted")
        assert css(page, "li.example.target .name")[0].text == "Hello"

        def example(name: str) -> tuple[str, str]:
            (node,) = [n for n in css(page, "li.example") if n.get_attribute("data-name") == name]
            return node.get_attribute("class") or "", node.text

        hello = example("Small talk/Hello/Hello")
        assert hello[0] == "example target"
        assert "1 hit" in hello[1]
        limited, pong = example("Sequences/Ping/rate limited"), example("Sequences/Ping/pong")
        assert "1 hit" in limited[1]
        assert "sequence 1/2" in limited[1]
        assert "2 hits" in pong[1]
        assert "sequence 2/2" in pong[1]
        assert "unreached" in example("Small talk/Goodbye/Goodbye")[0]
        assert "unreached" in example("Agents/Weather/Weather lookup/calls get_weather")[0]
        assert "unreached" not in pong[0]
        folders = [n.text for n in css(page, ".folder-name")]
        assert folders == ["Small talk", "Agents", "Weather", "Sequences"]
        (sequence,) = [[a.text for a in css(li, "a")] for li in css(page, "ul.sequences > li")]
        assert sequence == ["Sequences/Ping/rate limited", "Sequences/Ping/pong"]
        assert (
            "3 of 6 examples reached by the 4 requests kept"
            in css(page, "#collection-view p")[0].text
        )
        shoot("collection")
        assert ask(served, "Bye") == "Goodbye!"
        until(
            page, lambda: "unreached" not in example("Small talk/Goodbye/Goodbye")[0], "a live hit"
        )
