"""The web page of a running `serve`, in a real headless Chromium: requests appear live,
a conversation with a tool call shows as bubbles, everything shown is text, and a server
that requires an API key asks for it once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anthropic
import openai
import pytest

from ..served import Served, serving
from .pages import (
    MODEL,
    WEATHER_TURNS,
    ask,
    client,
    css,
    open_page,
    page_url,
    rows,
    until,
    write_collection,
)

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", "--lenient", cwd=tmp_path) as running:
        yield running


def test_requests_appear_live_without_reloading_newest_first(
    page: WebDriver, served: Served, shoot: Callable[[str], Path]
) -> None:
    open_page(page, page_url(served))
    assert css(page, "#no-requests")[0].is_displayed()
    page.execute_script("window.notReloaded = true")
    assert ask(served, "Hello") == "Hi there!"
    until(page, lambda: len(rows(page)) == 1, "the first request's row")
    with pytest.raises(openai.RateLimitError):
        ask(served, "Ping")
    assert ask(served, "Ping") == "Pong"
    until(page, lambda: len(rows(page)) == 3, "three rows")
    assert page.execute_script("return window.notReloaded") is True
    newest, middle, oldest = rows(page)
    assert oldest[1:5] == ["OpenAI chat", MODEL, "Hello", "200"]
    assert oldest[5].endswith(" ms")
    assert oldest[6] == "Small talk/Hello/Hello"
    assert middle[3:5] == ["Ping", "429"]
    assert middle[6] == "Sequences/Ping/rate limited"
    assert newest[3:5] == ["Ping", "200"]
    assert newest[6] == "Sequences/Ping/pong"
    link = css(page, "#rows tr:last-child td.example a")[0]
    assert (link.get_attribute("href") or "").endswith("#/collection/Small%20talk%2FHello%2FHello")
    assert css(page, "#count-requests")[0].text == "3"
    sdk = client(served)
    assert sdk.responses.create(model=MODEL, input="Hello").output_text == "Hi there!"
    claude = anthropic.Anthropic(
        base_url=served.base_url.removesuffix("/v1"), api_key="test-key", max_retries=0
    )
    message = claude.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
    )
    assert message.content[0].text == "Hi there!"  # type: ignore[union-attr]
    streamed = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "Hi there!"
    with pytest.raises(openai.NotFoundError):
        ask(served, "What's the weather in Paris?")
    until(page, lambda: len(rows(page)) == 7, "a row for each door")
    doors = [row[1] for row in rows(page)]
    assert doors == [
        "OpenAI chat",
        "OpenAI chat stream",
        "Anthropic",
        "OpenAI Responses",
        *["OpenAI chat"] * 3,
    ]
    assert rows(page)[0][4:] == ["404", rows(page)[0][5], "not answered"]
    assert css(page, "#count-misses")[0].text == "1"
    page.set_window_size(1280, 470)
    shoot("requests")
    page.set_window_size(1280, 900)


def test_a_conversation_with_a_tool_call_shows_as_bubbles_with_the_answer_and_headers(
    page: WebDriver, served: Served, shoot: Callable[[str], Path]
) -> None:
    sdk = client(served)
    first = sdk.chat.completions.create(model=MODEL, messages=WEATHER_TURNS[:2])  # type: ignore[arg-type]
    calls = first.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    second = sdk.chat.completions.create(model=MODEL, messages=WEATHER_TURNS)  # type: ignore[arg-type]
    assert second.choices[0].message.content == "It is 18°C and sunny in Paris."
    open_page(page, page_url(served))
    until(page, lambda: len(rows(page)) == 2, "both requests")
    css(page, "#rows tr:first-child td.user")[0].click()
    until(page, lambda: css(page, ".conversation .bubble"), "the conversation")
    bubbles = css(page, ".conversation .bubble")
    roles = [(b.get_attribute("class") or "").split()[1] for b in bubbles]
    assert roles == ["role-system", "role-user", "role-assistant", "role-tool"]
    call = css(page, ".conversation .role-assistant .tool-call")[0]
    assert "get_weather" in call.text
    assert "call_weather_1" in call.text
    assert '"city": "Paris"' in css(call, "pre.arguments")[0].text
    assert "result of call_weather_1" in bubbles[3].text
    assert "18°C and sunny" in bubbles[3].text
    answer = css(page, ".bubble.answer")[0]
    assert "It is 18°C and sunny in Paris." in answer.text
    headers = {css(tr, "th")[0].text: css(tr, "td")[0].text for tr in css(page, "table.headers tr")}
    assert headers["authorization"] == "<redacted>"
    assert "test-key" not in page.page_source
    assert (
        css(page, "dd.answered-by a")[0].text
        == "Agents/Weather/Weather answer/answers from the tool"
    )
    shoot("conversation")
    page.back()
    until(page, lambda: css(page, "#requests-view:not([hidden])"), "the requests table again")


def test_everything_shown_is_text_a_script_in_a_message_or_model_does_not_run(
    page: WebDriver, served: Served
) -> None:
    hostile = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    sdk = client(served)
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(
            model="<b>bold</b>",
            messages=[{"role": "system", "content": hostile}, {"role": "user", "content": hostile}],
        )
    open_page(page, page_url(served))
    until(page, lambda: len(rows(page)) == 1, "the request's row")
    (row,) = rows(page)
    assert row[2] == "<b>bold</b>"
    assert row[3] == hostile
    css(page, "#rows tr td.user")[0].click()
    until(page, lambda: css(page, ".conversation .bubble"), "the conversation")
    assert css(page, ".role-user .text")[0].text == hostile
    assert all(hostile in cell.text for cell in css(page, "table.comparison td.received"))
    for where in ("main script", "main img", "main b"):
        assert not css(page, where), f"{where}: markup from a request reached the page"
    assert page.execute_script("return window.pwned") is None


def test_a_server_that_requires_a_key_gets_it_once_from_the_page(
    page: WebDriver, tmp_path: Path
) -> None:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", "--require-api-key", "sk-secret-1", cwd=tmp_path) as served:
        assert ask(served, "Hello", api_key="sk-secret-1") == "Hi there!"
        page.get(page_url(served))
        field = until(
            page, lambda: [e for e in css(page, "#key-input") if e.is_displayed()], "the key form"
        )
        field[0].send_keys("wrong")
        css(page, "#key-submit")[0].click()
        until(
            page, lambda: "refused" in css(page, "#key-error")[0].text, "that the key was refused"
        )
        css(page, "#key-input")[0].clear()
        css(page, "#key-input")[0].send_keys("sk-secret-1")
        css(page, "#key-submit")[0].click()
        until(page, lambda: len(rows(page)) == 1, "the request's row once the key is given")
        until(page, lambda: css(page, "#live.on"), "the live feed, which carries the key too")
        assert ask(served, "Hello", api_key="sk-secret-1") == "Hi there!"
        until(page, lambda: len(rows(page)) == 2, "a live row")
        page.refresh()  # the key is kept for the tab: not asked again
        until(page, lambda: len(rows(page)) == 2, "the rows after a reload")
        assert not css(page, "#key-view:not([hidden])")
