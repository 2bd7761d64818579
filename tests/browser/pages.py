"""What the browser tests share: a collection with a tool-call conversation and a sequence,
the page's URL, the SDK client, and waiting on the page with a deadline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import openai

from .. import postman
from ..served import Served
from .conftest import WAIT

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

T = TypeVar("T")
MODEL = "gpt-4o-mini"
WEATHER_QUESTION = ("user", "What's the weather in Paris?")
WEATHER_CALL = {
    "id": "call_weather_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
WEATHER_TURNS: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a weather assistant."},
    {"role": "user", "content": WEATHER_QUESTION[1]},
    {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]},
    {"role": "tool", "tool_call_id": "call_weather_1", "content": "18°C and sunny"},
]


def write_collection(path: Path) -> Path:
    """Greeting; a weather agent that calls a tool, then answers from its result; and a
    sequence (rate-limited first, then answered)."""
    greeting = postman.chat_item("Hello", postman.chat_body(("user", "Hello")), "Hi there!")
    lookup = postman.chat_item(
        "Weather lookup",
        postman.chat_body(("system", "You are a weather assistant."), WEATHER_QUESTION),
        {
            "choices": [
                {"message": {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]}}
            ]
        },
        example_name="calls get_weather",
    )
    answer = postman.chat_item(
        "Weather answer",
        {"model": MODEL, "messages": WEATHER_TURNS},
        "It is 18°C and sunny in Paris.",
        example_name="answers from the tool",
    )
    ping = postman.chat_body(("user", "Ping"))
    flaky = postman.item(
        "Ping",
        ping,
        postman.example("rate limited", {"error": {"message": "slow down"}}, status=429),
        postman.example("pong", "Pong"),
    )
    unused = postman.chat_item("Goodbye", postman.chat_body(("user", "Bye")), "Goodbye!")
    data = postman.collection(
        postman.folder("Small talk", greeting, unused),
        postman.folder("Agents", postman.folder("Weather", lookup, answer)),
        postman.folder("Sequences", flaky),
        name="browser tests",
    )
    return postman.write(path, data)


def page_url(served: Served) -> str:
    return served.base_url.removesuffix("/v1") + "/_llm_mock/"


def client(served: Served, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=served.base_url, api_key=kwargs.pop("api_key", "test-key"), max_retries=0, **kwargs
    )


def ask(served: Served, text: str, **kwargs: Any) -> str | None:
    """The answer's text to one user message."""
    completion = client(served, **kwargs).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content


def until(driver: WebDriver, condition: Callable[[], T | None], what: str) -> T:
    """`condition()`'s first truthy value, waited for in the browser with a deadline."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def check(_: WebDriver) -> T | None:
        try:
            return condition()
        except StaleElementReferenceException:  # the page redrew it meanwhile
            return None

    result = WebDriverWait(driver, WAIT).until(check, f"the page never showed {what}")
    assert result is not None
    return result


def css(root: WebDriver | WebElement, selector: str) -> list[WebElement]:
    """The elements under `root` (the page, or an element of it) that `selector` selects."""
    from selenium.webdriver.common.by import By

    return root.find_elements(By.CSS_SELECTOR, selector)


def rows(driver: WebDriver) -> list[list[str]]:
    """The requests table's rows as the cells' texts, newest first."""
    return [[td.text for td in css(tr, "td")] for tr in css(driver, "#rows tr")]


def open_page(driver: WebDriver, url: str) -> None:
    """Load the page and wait until it has painted its first rows and its feed is live."""
    driver.get(url)
    until(
        driver,
        lambda: driver.execute_script("return document.documentElement.dataset.firstPaintMs"),
        "its first paint",
    )
    until(driver, lambda: css(driver, "#live.on"), "its live feed connected")
