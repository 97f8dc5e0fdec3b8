"""Mesa's own SolaraViz page of ArmyModel (`reluctant-army viz --mesa`) in Chromium, offline.

One session is driven once per module and recorded: load, Step five times, a second tab
opened beside it, Reset, the war-order slider moved to 0, Reset and five more steps. Each
test then checks one behaviour of that record. Screenshots land in test-output/
(viz-mesa.png after five steps, viz-mesa-peace.png after the slider change).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from viz_support import (
    OUTPUT,
    BrowserLog,
    app_server,
    colour_counts,
    launch_browser,
    offline_context,
    playwright_api,
    watch_console,
)

from simulation.vocabulary import CHOICE_COLOURS

VIEWPORT = {"width": 1500, "height": 1100}
LOAD_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 60_000
SUMMARY = ".ra-mesa-summary"
SHARES_PLOT = 1
"""Index of the 'All officers' plot among the page's images (the space is drawn first)."""


@dataclass
class Recording:
    """What one session of Mesa's page showed while it was driven."""

    log: BrowserLog = field(default_factory=BrowserLog)
    steps_at_load: str = ""
    summary_at_load: str = ""
    steps_after_five: str = ""
    summary_after_five: str = ""
    plot_at_load: dict[str, int] = field(default_factory=dict)
    plot_after_five: dict[str, int] = field(default_factory=dict)
    second_tab_steps: str = ""
    steps_after_reset: str = ""
    summary_after_reset: str = ""
    summary_after_slider_reset: str = ""
    slider_after_slider_reset: str = ""
    summary_after_slider_five: str = ""


def step_counter(page) -> str:
    """Mesa's 'Step: N' in the sidebar."""
    return page.get_by_text("Step:", exact=False).first.inner_text().strip()


def wait_steps(page, count: int) -> None:
    """Wait until Mesa's counter reads `count`."""
    page.get_by_text(f"Step: {count}", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)


def summary(page) -> str:
    return page.locator(SUMMARY).inner_text().strip()


def plot_colours(page) -> dict[str, int]:
    """Pixels of each choice's colour in the 'All officers' plot (its lines and legend)."""
    return colour_counts(page.locator("img").nth(SHARES_PLOT).screenshot(), CHOICE_COLOURS, 30)


def press(page, name: str, times: int = 1) -> None:
    for _ in range(times):
        page.get_by_role("button", name=name, exact=True).click()


def move_slider_to_zero(page, label: str) -> None:
    """Move the slider labelled `label` to its minimum with the keyboard."""
    slider = page.locator(".v-input", has_text=label).locator("[role=slider]")
    slider.focus()
    slider.press("Home")
    page.wait_for_function(
        "(e) => e.getAttribute('aria-valuenow') === '0'", arg=slider.element_handle()
    )


def reset_until(page, text: str, attempts: int = 5) -> None:
    """Press Reset until the summary shows `text`: the slider's value reaches the server
    with no sign on Mesa's page, so a Reset pressed at once may still use the old one."""
    for _ in range(attempts):
        press(page, "Reset")
        try:
            page.locator(SUMMARY, has_text=text).wait_for(timeout=3_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: press Reset again
            continue
    pytest.fail(f"after {attempts} Resets the page does not show {text!r}: {summary(page)}")


def open_page(browser, log: BrowserLog, url: str):
    """A new offline tab on Mesa's page, loaded at step 0."""
    page = offline_context(browser, log, viewport=VIEWPORT).new_page()
    watch_console(page, log)
    page.goto(url)
    wait_steps(page, 0)
    page.locator(SUMMARY).wait_for(timeout=LOAD_TIMEOUT_MS)
    return page


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`reluctant-army viz --mesa --no-open` on a free port."""
    playwright_api()
    with app_server(["viz", "--mesa"], log_name="viz-mesa-server.log") as url:
        yield url


@pytest.fixture(scope="module")
def recording(server: str) -> Recording:
    """Drive one session through Mesa's page and record what it showed."""
    record = Recording()
    OUTPUT.mkdir(exist_ok=True)
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = open_page(browser, record.log, server)
        record.steps_at_load = step_counter(page)
        record.summary_at_load = summary(page)
        record.plot_at_load = plot_colours(page)

        press(page, "Step", 5)
        wait_steps(page, 5)
        page.locator(SUMMARY, has_text="Month 5 of").wait_for(timeout=STEP_TIMEOUT_MS)
        record.steps_after_five = step_counter(page)
        record.summary_after_five = summary(page)
        record.plot_after_five = plot_colours(page)
        page.screenshot(path=str(OUTPUT / "viz-mesa.png"), full_page=True)

        other = open_page(browser, record.log, server)
        record.second_tab_steps = step_counter(other)
        other.close()

        press(page, "Reset")
        wait_steps(page, 0)
        page.locator(SUMMARY, has_text="Month 0 of").wait_for(timeout=STEP_TIMEOUT_MS)
        record.steps_after_reset = step_counter(page)
        record.summary_after_reset = summary(page)

        move_slider_to_zero(page, "War-order level")
        reset_until(page, "War-order level 0")
        record.summary_after_slider_reset = summary(page)
        record.slider_after_slider_reset = (
            page.locator(".v-input", has_text="War-order level")
            .locator("[role=slider]")
            .get_attribute("aria-valuenow")
        )
        press(page, "Step", 5)
        wait_steps(page, 5)
        page.locator(SUMMARY, has_text="Month 5 of").wait_for(timeout=STEP_TIMEOUT_MS)
        record.summary_after_slider_five = summary(page)
        page.screenshot(path=str(OUTPUT / "viz-mesa-peace.png"), full_page=True)
        browser.close()
    return record


def test_mesas_page_loads_with_the_model_at_step_0(recording: Recording) -> None:
    assert recording.steps_at_load == "Step: 0"
    assert recording.summary_at_load.startswith("Month 0 of 60. War-order level 3")


def test_five_steps_move_the_counter_and_the_model_to_5(recording: Recording) -> None:
    assert recording.steps_after_five == "Step: 5"
    assert recording.summary_after_five.startswith("Month 5 of 60.")


def test_the_plot_draws_the_steps_taken(recording: Recording) -> None:
    before, after = recording.plot_at_load, recording.plot_after_five
    assert after["evade"] > before["evade"] + 200  # a line across five months, not a legend
    assert after["refuse"] > before["refuse"] + 200


def test_each_browser_session_has_its_own_model(recording: Recording) -> None:
    assert recording.second_tab_steps == "Step: 0"


def test_reset_starts_again_at_step_0(recording: Recording) -> None:
    assert recording.steps_after_reset == "Step: 0"
    assert recording.summary_after_reset.startswith("Month 0 of 60. War-order level 3")


def test_a_moved_slider_changes_the_model_on_reset(recording: Recording) -> None:
    assert recording.summary_after_slider_reset.startswith("Month 0 of 60. War-order level 0")
    assert "comply 100.0%" in recording.summary_after_slider_five


def test_after_reset_the_slider_shows_the_value_the_model_runs(recording: Recording) -> None:
    assert recording.slider_after_slider_reset == "0"


def test_mesas_page_needs_no_internet_and_logs_no_console_error(recording: Recording) -> None:
    assert recording.log.outside_requests == []
    assert recording.log.console_errors == []
