"""A real headless Chromium (Debian's `chromium` and `chromium-driver`), driven by selenium.

The browser tests skip, saying why, only when Chromium is not installed; a Chromium without
its driver, or without selenium, is an error. Screenshots go to `$LLM_MOCK_SCREENSHOTS`
(`.ci/run` keeps that folder), else to a folder of the session's temporary directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WAIT = 15.0  # seconds a condition may take in the browser before the test fails


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p is not None), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Chrome]:
    """One headless Chromium per session (per xdist worker)."""
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "Chromium is not installed: the browser tests need it "
            "(apt-get install chromium chromium-driver)"
        )
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail(
            f"Chromium is installed ({binary}) but its driver is not: apt-get install "
            "chromium-driver",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: Chrome) -> Iterator[Chrome]:
    """The browser, left on a blank page after the test, its storage cleared."""
    yield browser
    browser.get("about:blank")
    browser.delete_all_cookies()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("LLM_MOCK_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shoot(page: Chrome, screenshots: Path) -> Callable[[str], Path]:
    """Save a screenshot of the page as NAME.png in the screenshots folder."""

    def take(name: str) -> Path:
        path = screenshots / f"{name}.png"
        assert page.save_screenshot(str(path)), f"no screenshot written to {path}"
        return path

    return take
