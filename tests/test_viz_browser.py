"""The browser view in a real browser (Debian's Chromium through Playwright), offline.

One session is driven once per module (war-order slider to 3, Reset, Step four times) and
recorded; each test then checks one behaviour of that record. A separate test opens two
sessions side by side. Screenshots land in test-output/ (viz.png, viz-officers.png).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from viz_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    BrowserLog,
    colour_counts,
    offline_context,
    require_chromium,
    viz_server,
    watch_console,
)

from simulation.vocabulary import CHOICE_COLOURS

STEPS = 4
VIEWPORT = {"width": 1600, "height": 1300}
LOAD_TIMEOUT_MS = 60_000
STEP_TIMEOUT_MS = 15_000
AT_LEAST_3_STEPS = "() => Number((document.body.innerText.match(/Step: (\\d+)/) || [0, 0])[1]) >= 3"


@dataclass
class Recording:
    """What one browser session showed while it was driven."""

    log: BrowserLog = field(default_factory=BrowserLog)
    step_texts: list[str] = field(default_factory=list)
    officers_before: bytes = b""
    officers_after: bytes = b""
    rates_before: bytes = b""
    rates_after: bytes = b""
    info_after_reset: str = ""


def playwright_api():
    """Playwright's sync API; missing it fails in CI and skips locally."""
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        import os

        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("playwright is not installed (it is in the dev extra)")
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    return sync_playwright


def launch(playwright):
    """Debian's Chromium, headless, with background networking off."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`reluctant-army viz --no-open` on a free loopback port."""
    playwright_api()
    with viz_server() as url:
        yield url


def step_text(page) -> str:
    """The sidebar's step counter, e.g. 'Step: 3'."""
    return page.get_by_text("Step: ", exact=False).first.inner_text().strip()


def wait_for_new_image(element, old: bytes, timeout_s: float = 15.0) -> bytes:
    """Screenshot `element` until it differs from `old` (images arrive after the counter)."""
    deadline = time.monotonic() + timeout_s
    shot = element.screenshot()
    while shot == old and time.monotonic() < deadline:
        time.sleep(0.2)
        shot = element.screenshot()
    return shot


@pytest.fixture(scope="module")
def recording(server: str) -> Recording:
    """Drive one session: war-order level 3, Reset, then Step several times."""
    record = Recording()
    with playwright_api()() as playwright:
        browser = launch(playwright)
        context = offline_context(browser, record.log, viewport=VIEWPORT)
        page = context.new_page()
        watch_console(page, record.log)
        page.goto(server)
        page.get_by_text("Step: 0", exact=True).wait_for(timeout=LOAD_TIMEOUT_MS)

        war_order = page.locator(".v-input", has_text="War-order level").get_by_role("slider")
        war_order.focus()
        for _ in range(3 - int(war_order.get_attribute("aria-valuenow"))):
            war_order.press("ArrowRight")
        page.get_by_role("button", name="Reset").click()
        page.locator(".ra-info", has_text="level 3").wait_for(timeout=STEP_TIMEOUT_MS)
        record.info_after_reset = page.locator(".ra-info").inner_text()
        record.step_texts.append(step_text(page))

        officers = page.locator(".ra-officers img")
        rates = page.locator(".ra-rates img")
        record.officers_before = officers.screenshot()
        record.rates_before = rates.screenshot()
        for step in range(1, STEPS + 1):
            page.get_by_role("button", name="Step").click()
            page.get_by_text(f"Step: {step}", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)
            record.step_texts.append(step_text(page))
        record.officers_after = wait_for_new_image(officers, record.officers_before)
        record.rates_after = wait_for_new_image(rates, record.rates_before)

        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "viz.png"), full_page=True)
        (OUTPUT / "viz-officers.png").write_bytes(record.officers_after)
        browser.close()
    return record


def test_page_loads_offline_without_trying_any_outside_host(recording: Recording) -> None:
    assert recording.officers_before, "the officer drawing never appeared"
    assert recording.log.outside_requests == []


def test_war_order_slider_takes_effect_on_reset(recording: Recording) -> None:
    assert "level 3" in recording.info_after_reset
    assert "Set by the controls: war-order level" in recording.info_after_reset


def test_step_button_advances_the_step_counter(recording: Recording) -> None:
    assert recording.step_texts == [f"Step: {step}" for step in range(STEPS + 1)]


def test_officers_change_colour_from_comply_to_evade_and_refuse(recording: Recording) -> None:
    before = colour_counts(recording.officers_before, CHOICE_COLOURS)
    after = colour_counts(recording.officers_after, CHOICE_COLOURS)
    assert before["comply"] > 10 * (before["evade"] + before["refuse"])
    assert after["evade"] + after["refuse"] > 2 * after["comply"]


def test_rates_chart_redraws_after_steps(recording: Recording) -> None:
    assert recording.rates_after != recording.rates_before


def test_browser_console_shows_no_errors(recording: Recording) -> None:
    assert recording.log.console_errors == []


def test_each_session_has_its_own_model(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch(playwright)
        pages = []
        for _ in range(2):
            page = offline_context(browser, log, viewport=VIEWPORT).new_page()
            watch_console(page, log)
            page.goto(server)
            page.get_by_text("Step: 0", exact=True).wait_for(timeout=LOAD_TIMEOUT_MS)
            pages.append(page)
        first, second = pages
        for step in (1, 2):
            first.get_by_role("button", name="Step").click()
            first.get_by_text(f"Step: {step}", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)
        second.reload()
        second.get_by_text("Step: ", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
        after_first_stepped = (step_text(first), step_text(second))
        second.get_by_role("button", name="Step").click()
        second.get_by_text("Step: 1", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)
        after_second_stepped = (step_text(first), step_text(second))
        browser.close()
    assert after_first_stepped == ("Step: 2", "Step: 0")
    assert after_second_stepped == ("Step: 2", "Step: 1")


def test_play_runs_steps_until_paused(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch(playwright)
        page = offline_context(browser, log, viewport=VIEWPORT).new_page()
        page.goto(server)
        page.get_by_text("Step: 0", exact=True).wait_for(timeout=LOAD_TIMEOUT_MS)
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(AT_LEAST_3_STEPS, timeout=STEP_TIMEOUT_MS)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=STEP_TIMEOUT_MS)
        time.sleep(0.5)  # a step already under way when Pause was pressed may still land
        paused_at = step_text(page)
        time.sleep(1.5)
        still_at = step_text(page)
        browser.close()
    assert paused_at == still_at
    assert int(still_at.removeprefix("Step: ")) >= 3


def test_choosing_a_scenario_runs_it_after_reset(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch(playwright)
        page = offline_context(browser, log, viewport=VIEWPORT).new_page()
        page.goto(server)
        page.get_by_text("Step: 0", exact=True).wait_for(timeout=LOAD_TIMEOUT_MS)
        page.locator(".v-select", has_text="Scenario").click()
        page.get_by_role("option", name="configs/scenarios/fight_order.yaml").click()
        page.get_by_role("button", name="Reset").click()
        info = page.locator(".ra-info", has_text="(fight_order)")
        info.wait_for(timeout=STEP_TIMEOUT_MS)
        text = info.inner_text()
        browser.close()
    assert "Set by the controls: nothing" in text
