"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver).

A missing browser or driver fails these tests: the dashboard's promise is that it renders, and
only a browser can show that. ``.ci/run`` installs both.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.dashboard_seed import (
    EXPECTED_COST,
    EXPECTED_PROJECTED,
    EXPECTED_SESSIONS,
    EXPECTED_TOKENS,
    LIMIT_SETTINGS,
    NOW,
    XSS_BRANCH,
    isolate_cache,
    seed_ledger,
)
from tests.support.paths import ARTIFACTS
from token_tracking import display
from token_tracking.history.dashboard.data import collect_dashboard_data
from token_tracking.history.dashboard.page import render_dashboard, write_dashboard
from token_tracking.history.ledger import Ledger, project_key

MISSING_BROWSER = (
    "the dashboard's browser tests need headless Chromium, and {what} is not on PATH: install "
    "Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver, as "
    ".ci/run does). These tests fail rather than skip: only a browser shows that the page renders."
)


def system_program(name: str, what: str) -> str:
    """The path of a system program, or a failed test that says how to install it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(MISSING_BROWSER.format(what=what), pytrace=False)
    return found


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_cache(monkeypatch, tmp_path)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium = system_program("chromium", "chromium (the browser)")
    # An explicit driver path: selenium never looks for (or downloads) a driver of its own.
    chromedriver = system_program("chromedriver", "chromedriver (package chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def seeded_page(tmp_path: Path) -> Path:
    """The dashboard of the seeded project's last 30 days, written under ``tmp_path``."""
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        seeded = seed_ledger(ledger, tmp_path)
        data = collect_dashboard_data(
            ledger,
            days=30,
            project=project_key(seeded.project),
            now=NOW,
            environ=LIMIT_SETTINGS,
        )
    return write_dashboard(tmp_path / "token_dashboard.html", render_dashboard(data))


def open_page(driver: webdriver.Chrome, page: Path) -> None:
    driver.get(page.as_uri())
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def severe_console_entries(driver: webdriver.Chrome) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry for entry in entries if entry.get("level") == "SEVERE"]


def save_full_screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save the whole page, not only the viewport, under tests/artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


# Marks per chart: the Vega scenegraph draws each datum as one <path> inside its mark group.
MARKS = {
    "chart-daily-tokens": "g.mark-symbol.role-mark path",
    "chart-daily-cost": "g.mark-rect.role-mark path",
    "chart-by-branch": "g.mark-rect.role-mark path",
    "chart-by-model": "g.mark-rect.role-mark path",
    "chart-by-agent": "g.mark-rect.role-mark path",
    "chart-limits": "g.mark-rect.role-mark path",
}


def test_seeded_dashboard_renders_every_chart_with_its_data(
    browser: webdriver.Chrome, seeded_page: Path
) -> None:
    open_page(browser, seeded_page)
    chart_ids = [
        str(element.get_attribute("id"))
        for element in browser.find_elements(By.CSS_SELECTOR, ".chart")
    ]
    WebDriverWait(browser, 60).until(
        lambda d: all(
            d.find_element(By.ID, chart).get_attribute("data-rendered") == "true"
            for chart in chart_ids
        )
    )
    screenshot = save_full_screenshot(browser, "dashboard.png")

    assert severe_console_entries(browser) == []
    assert screenshot.stat().st_size > 0
    marks = {
        chart: len(browser.find_elements(By.CSS_SELECTOR, f"#{chart} svg {MARKS[chart]}"))
        for chart in chart_ids
    }
    # 30 days x (prompt, completion) points, and a cached point on every day but Oct 22, whose
    # only session reports no cached tokens (unknown is left out, not drawn as 0); a cost bar for
    # each day but Oct 22 (no price);
    # 3 branches, 3 models, 4 agents; 2 default request limits + the 2 set in LIMIT_SETTINGS.
    assert marks == {
        "chart-daily-tokens": 89,
        "chart-daily-cost": 29,
        "chart-by-branch": 3,
        "chart-by-model": 3,
        "chart-by-agent": 4,
        "chart-limits": 4,
    }

    # One label per day, under its own point or bar, never a tick inside a day.
    day_labels = [
        str(element.get_attribute("textContent"))
        for element in browser.find_elements(
            By.CSS_SELECTOR,
            '#chart-daily-cost g.role-axis[aria-label^="X-axis"] g.role-axis-label text',
        )
    ]
    assert day_labels == [f"Oct {day}" for day in range(22, 32)] + [
        f"Nov {day:02d}" for day in range(1, 21)
    ]

    def figure(name: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f'[data-figure="{name}"]').text

    assert figure("sessions") == str(EXPECTED_SESSIONS)
    assert figure("tokens") == f"{EXPECTED_TOKENS:,}"
    assert figure("cost") == display.usd(EXPECTED_COST, lower_bound=True)
    assert figure("projected") == display.usd(EXPECTED_PROJECTED, lower_bound=True)
    assert (figure("tokens"), figure("cost")) == ("13,000", "≥$0.0033")


def test_script_tag_branch_shows_as_text_and_never_runs(
    browser: webdriver.Chrome, seeded_page: Path
) -> None:
    open_page(browser, seeded_page)
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "chart-by-branch").get_attribute("data-rendered") == "true"
    )

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
    assert XSS_BRANCH in browser.find_element(By.ID, "top-sessions").text
    axis_labels = [
        element.text
        for element in browser.find_elements(By.CSS_SELECTOR, "#chart-by-branch svg text")
    ]
    assert XSS_BRANCH in axis_labels
    assert severe_console_entries(browser) == []


def test_empty_ledger_page_says_no_data_yet(browser: webdriver.Chrome, tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        data = collect_dashboard_data(ledger, days=30, project=None, now=NOW)
    page = write_dashboard(tmp_path / "token_dashboard.html", render_dashboard(data))

    open_page(browser, page)

    assert "No data yet" in browser.find_element(By.ID, "no-data").text
    assert browser.find_elements(By.CSS_SELECTOR, ".chart") == []
    assert severe_console_entries(browser) == []
    save_full_screenshot(browser, "dashboard_empty.png")
