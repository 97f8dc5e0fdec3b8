"""The model view in a real browser (Debian's Chromium through Playwright), offline.

One session is driven once per module and recorded (the fight-order scenario: step, jump
to the order to fight, inspect an officer, switch the charts to ranks, open the units,
Reset, change scenario, move a slider, run to the end); each test then checks one
behaviour of that record. Separate tests open two sessions side by side, play and pause,
and forge a websocket message asking for an unlisted file. Screenshots land in
test-output/ (viz.png, viz-officers.png, viz-after-reset.png).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from viz_support import (
    OUTPUT,
    BrowserLog,
    chart_option,
    click_chart_point,
    colour_counts,
    hover_chart_point,
    launch_browser,
    offline_context,
    playwright_api,
    viz_server,
    wait_drawn_month,
    watch_console,
)

from simulation.vocabulary import CHOICE_COLOURS

SCENARIO = "configs/scenarios/fight_order.yaml"
VIEWPORT = {"width": 1600, "height": 1300}
LOAD_TIMEOUT_MS = 90_000
STEP_TIMEOUT_MS = 20_000
OFFICERS = ".ra-officers"
RATES = ".ra-rates"


@dataclass
class Recording:
    """What one browser session showed while it was driven."""

    log: BrowserLog = field(default_factory=BrowserLog)
    months: list[str] = field(default_factory=list)
    slider_label_at_start: str = ""
    sidebar: str = ""
    officers_start: bytes = b""
    officers_fight: bytes = b""
    officers_after_reset: bytes = b""
    title_after_reset: str = ""
    title_after_scenario: str = ""
    officers_after_scenario: bytes = b""
    inspected_slot: int = -1
    inspection: str = ""
    utilities_rows: int = 0
    rank_panels: list[str] = field(default_factory=list)
    markers: list[Any] = field(default_factory=list)
    units_nodes: int = 0
    officers_slider_after_full_force: str = ""
    war_order_label_moved: str = ""
    info_after_slider_reset: str = ""
    finished_notice: str = ""
    step_disabled_at_end: bool = False
    orders_now_at_start: str = ""
    orders_now_at_month_20: str = ""
    tooltip: str = ""
    inspection_top: float = -1.0
    viewport_height: int = 0


def month_text(page) -> str:
    """The sidebar's month counter, e.g. 'Month: 3 of 60'."""
    return page.locator(".ra-month").inner_text().strip()


def wait_month(page, month: int) -> None:
    """Wait until both the drawing and the month counter show `month`."""
    wait_drawn_month(page, OFFICERS, month, STEP_TIMEOUT_MS)
    page.locator(".ra-month", has_text=f"Month: {month} of").wait_for(timeout=STEP_TIMEOUT_MS)


def go_to(page, month: int) -> None:
    """Type a month into 'Go to month' and press Go."""
    page.locator(".ra-goto input").fill(str(month))
    page.get_by_role("button", name="Go", exact=True).click()
    wait_month(page, month)


def choose_scenario(page, entry: str) -> None:
    """Pick a scenario in the sidebar's list."""
    page.locator(".ra-scenario").click()
    page.get_by_role("option", name=entry, exact=True).click()


TOOLTIP_JS = """([selector, seriesIndex, dataIndex]) => {
    const chart = document.querySelector(selector).__vue__.chart;
    const tooltip = chart.getOption().tooltip[0];
    const series = chart.getOption().series[seriesIndex];
    return typeof tooltip.formatter === 'function'
        ? tooltip.formatter({seriesName: series.name, value: series.data[dataIndex]})
        : String(tooltip.formatter);
}"""
"""The text the chart's tooltip shows for one point (tooltips are drawn on the canvas, as
text, so the page holds no element to read)."""


def tooltip_text(page, selector: str, series_index: int, data_index: int) -> str:
    """What hovering point `data_index` of series `series_index` shows."""
    return page.evaluate(TOOLTIP_JS, [selector, series_index, data_index])


def officer_title(page) -> str:
    """The officer drawing's title as ECharts draws it now."""
    option = chart_option(page, OFFICERS)
    return option["title"][0]["text"] if option else ""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`reluctant-army viz configs/scenarios/fight_order.yaml --no-open` on a free port."""
    playwright_api()
    with viz_server(SCENARIO) as url:
        yield url


def open_page(browser, log: BrowserLog, url: str):
    """A new offline tab on the model view, loaded and drawn at month 0."""
    page = offline_context(browser, log, viewport=VIEWPORT).new_page()
    watch_console(page, log)
    page.goto(url)
    wait_drawn_month(page, OFFICERS, 0, LOAD_TIMEOUT_MS)
    return page


@pytest.fixture(scope="module")
def recording(server: str) -> Recording:
    """Drive one session through the model view and record what it showed."""
    record = Recording()
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = open_page(browser, record.log, server)
        record.months.append(month_text(page))
        record.slider_label_at_start = page.locator(".ra-control-war_order_level").inner_text()
        record.sidebar = page.locator(".v-navigation-drawer").inner_text()
        officers = page.locator(OFFICERS)
        record.officers_start = officers.screenshot()
        for month in range(1, 4):
            page.get_by_role("button", name="Step", exact=True).click()
            wait_month(page, month)
            record.months.append(month_text(page))
        record.orders_now_at_start = page.locator(".ra-orders-now").inner_text()
        go_to(page, 20)
        record.orders_now_at_month_20 = page.locator(".ra-orders-now").inner_text()
        record.officers_fight = officers.screenshot()

        option = chart_option(page, OFFICERS)
        series = next(i for i, s in enumerate(option["series"]) if s["name"].endswith("refuse"))
        record.inspected_slot = option["series"][series]["data"][0][2]
        hover_chart_point(page, OFFICERS, series, 0)
        record.tooltip = tooltip_text(page, OFFICERS, series, 0)
        page.screenshot(path=str(OUTPUT / "viz-tooltip.png"))
        page.evaluate("() => window.scrollTo(0, 0)")
        click_chart_point(page, OFFICERS, series, 0)
        page.locator(".ra-inspect", has_text=f"Officer {record.inspected_slot}").wait_for(
            timeout=STEP_TIMEOUT_MS
        )
        record.inspection = page.locator(".ra-inspect").inner_text()
        time.sleep(1.0)  # the smooth scroll to the inspection
        record.inspection_top = page.evaluate(
            "() => document.querySelector('.ra-inspect').getBoundingClientRect().top"
        )
        record.viewport_height = page.viewport_size["height"]
        record.utilities_rows = page.locator(".ra-utilities tr").count() - 1

        page.get_by_role("button", name="rank", exact=True).click()
        page.wait_for_function(
            "(s) => document.querySelector(s).__vue__.chart.getOption().title.some("
            "(t) => t.text === 'senior')",
            arg=RATES,
            timeout=STEP_TIMEOUT_MS,
        )
        rates = chart_option(page, RATES)
        record.rank_panels = [title["text"] for title in rates["title"][1:]]
        record.markers = rates["series"][0]["markLine"]["data"]
        page.get_by_role("button", name="units and ties").click()
        page.wait_for_selector(".ra-units canvas", timeout=STEP_TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('.ra-units').__vue__.chart", timeout=STEP_TIMEOUT_MS
        )
        record.units_nodes = len(chart_option(page, ".ra-units")["series"][0]["data"])
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "viz.png"), full_page=True)
        (OUTPUT / "viz-officers.png").write_bytes(record.officers_fight)

        page.get_by_role("button", name="Reset", exact=True).click()
        wait_drawn_month(page, OFFICERS, 0, STEP_TIMEOUT_MS)
        record.title_after_reset = officer_title(page)
        record.officers_after_reset = officers.screenshot()
        wait_month(page, 0)
        record.months.append(month_text(page))
        page.screenshot(path=str(OUTPUT / "viz-after-reset.png"), full_page=True)

        go_to(page, 16)
        choose_scenario(page, "configs/scenarios/crackdown.yaml")
        wait_drawn_month(page, OFFICERS, 0, STEP_TIMEOUT_MS)
        page.locator(".ra-info", has_text="(crackdown)").wait_for(timeout=STEP_TIMEOUT_MS)
        record.title_after_scenario = officer_title(page)
        record.officers_after_scenario = officers.screenshot()

        choose_scenario(page, "configs/full_force.yaml")
        # 65,000 personnel cut to the view's 10,000 agents: 1,500 officers and their men
        page.locator(".ra-control-n_officers", has_text="1,500").wait_for(timeout=60_000)
        record.officers_slider_after_full_force = page.locator(
            ".ra-control-n_officers .ra-control-label"
        ).inner_text()
        choose_scenario(page, SCENARIO)
        page.locator(".ra-control-n_officers", has_text="2,000").wait_for(timeout=60_000)

        slider = page.locator(".ra-control-war_order_level [role=slider]")
        slider.focus()
        for _ in range(2):
            slider.press("ArrowRight")
        page.locator(".ra-control-war_order_level", has_text="War-order level: 3").wait_for(
            timeout=STEP_TIMEOUT_MS
        )
        record.war_order_label_moved = page.locator(
            ".ra-control-war_order_level .ra-control-label"
        ).inner_text()
        page.get_by_role("button", name="Reset", exact=True).click()
        page.locator(".ra-info", has_text="war order level").wait_for(timeout=STEP_TIMEOUT_MS)
        record.info_after_slider_reset = page.locator(".ra-info").inner_text()

        go_to(page, 60)
        page.locator(".ra-finished").wait_for(timeout=STEP_TIMEOUT_MS)
        record.finished_notice = page.locator(".ra-finished").inner_text()
        record.step_disabled_at_end = page.get_by_role(
            "button", name="Step", exact=True
        ).is_disabled()
        browser.close()
    return record


def comply_dominates(png: bytes) -> bool:
    """Whether a drawing shows (nearly) only complying officers: month 0's picture."""
    counts = colour_counts(png, CHOICE_COLOURS)
    return counts["comply"] > 10 * (counts["evade"] + counts["refuse"] + 1)


def test_page_loads_offline_without_trying_any_outside_host(recording: Recording) -> None:
    assert recording.officers_start
    assert recording.log.outside_requests == []


def test_browser_console_shows_no_errors(recording: Recording) -> None:
    assert recording.log.console_errors == []


def test_step_button_advances_the_month(recording: Recording) -> None:
    assert recording.months[:4] == [f"Month: {m} of 60" for m in range(4)]


def test_officers_change_colour_once_the_order_to_fight_comes(recording: Recording) -> None:
    assert comply_dominates(recording.officers_start)
    after = colour_counts(recording.officers_fight, CHOICE_COLOURS)
    assert after["evade"] + after["refuse"] > 2 * after["comply"]


def test_the_drawing_right_after_reset_is_month_zero(recording: Recording) -> None:
    assert recording.months[-1] == "Month: 0 of 60"
    assert recording.title_after_reset.startswith("Month 0:  comply 100%")
    assert comply_dominates(recording.officers_after_reset)


def test_the_drawing_right_after_a_scenario_change_is_month_zero(recording: Recording) -> None:
    assert recording.title_after_scenario.startswith("Month 0:  comply 100%")
    assert comply_dominates(recording.officers_after_scenario)


def test_slider_values_and_descriptions_are_shown(recording: Recording) -> None:
    assert recording.slider_label_at_start.startswith(
        "War-order level at month 0: 1 (support role for Russian forces)"
    )
    assert "Punishment severity: 1" in recording.sidebar
    assert "Command pressure: sanction for detected refusal" in recording.sidebar


def test_a_scheduled_driver_says_when_it_changes(recording: Recording) -> None:
    assert "Scheduled: 1, then 3 from month 12" in recording.slider_label_at_start


def test_a_moved_slider_shows_its_new_value_and_applies_on_reset(recording: Recording) -> None:
    assert "War-order level: 3 (order to fight in Ukraine)" in recording.war_order_label_moved
    assert "changed: applies on Reset" in recording.war_order_label_moved
    assert "War orders: level 3" in recording.info_after_slider_reset
    assert "Set by the controls: war order level" in recording.info_after_slider_reset


def test_choosing_a_scenario_sets_the_sliders_from_it(recording: Recording) -> None:
    assert "Officers: 1,500" in recording.officers_slider_after_full_force


def test_clicking_an_officer_shows_who_he_is_and_his_utilities(recording: Recording) -> None:
    assert f"Officer {recording.inspected_slot}" in recording.inspection
    assert "now: refuse" in recording.inspection
    assert "he chose to refuse" in recording.inspection
    assert recording.utilities_rows == 3


def test_rates_can_be_shown_by_rank_with_the_order_to_fight_marked(recording: Recording) -> None:
    assert recording.rank_panels == ["all officers", "senior", "field", "junior"]
    assert [(mark["xAxis"], mark["label"]["formatter"]) for mark in recording.markers] == [
        (12, "orders 3: order to fight in Ukraine")
    ]


def test_units_and_their_ties_are_drawn(recording: Recording) -> None:
    assert recording.units_nodes == 100


def test_the_end_of_a_run_is_announced_and_step_is_disabled(recording: Recording) -> None:
    assert recording.finished_notice.startswith("Run finished at month 60")
    assert recording.step_disabled_at_end


def test_each_session_has_its_own_model(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        first, second = open_page(browser, log, server), open_page(browser, log, server)
        for month in (1, 2):
            first.get_by_role("button", name="Step", exact=True).click()
            wait_month(first, month)
        second.reload()
        wait_drawn_month(second, OFFICERS, 0, LOAD_TIMEOUT_MS)
        wait_month(second, 0)
        after_first_stepped = (month_text(first), month_text(second))
        browser.close()
    assert after_first_stepped == ("Month: 2 of 60", "Month: 0 of 60")


def test_play_runs_months_until_paused(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = open_page(browser, log, server)
        page.get_by_role("button", name="▶ Play").click()
        wait_drawn_month(page, OFFICERS, 3, STEP_TIMEOUT_MS)
        page.get_by_role("button", name="❚❚ Pause").click()
        page.get_by_role("button", name="▶ Play").wait_for(timeout=STEP_TIMEOUT_MS)
        time.sleep(0.5)  # a month already under way when Pause was pressed may still land
        paused_at = month_text(page)
        time.sleep(1.5)
        still_at = month_text(page)
        browser.close()
    assert paused_at == still_at
    assert int(still_at.split()[1]) >= 3


def test_a_forged_websocket_message_cannot_open_an_unlisted_file(server: str) -> None:
    """The page asks for crackdown.yaml; the message is rewritten on the wire to ask for
    /dev/zero instead. The server refuses, keeps its run, and stays responsive."""
    log = BrowserLog()
    forged: list[str] = []
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = offline_context(browser, log, viewport=VIEWPORT).new_page()
        watch_console(page, log)

        def intercept(socket) -> None:
            upstream = socket.connect_to_server()

            def from_page(message: str | bytes) -> None:
                wanted = "configs/scenarios/crackdown.yaml"
                if isinstance(message, str) and f'"v_model":"{wanted}"' in message:
                    message = message.replace(wanted, "/dev/zero")
                    forged.append(message)
                upstream.send(message)

            socket.on_message(from_page)

        page.route_web_socket("**/jupyter/api/kernels/**", intercept)
        page.goto(server)
        wait_drawn_month(page, OFFICERS, 0, LOAD_TIMEOUT_MS)
        page.get_by_role("button", name="Step", exact=True).click()
        wait_month(page, 1)
        choose_scenario(page, "configs/scenarios/crackdown.yaml")
        page.locator(".ra-error").wait_for(timeout=STEP_TIMEOUT_MS)
        refusal = page.locator(".ra-error").inner_text()
        page.get_by_role("button", name="Step", exact=True).click()
        wait_month(page, 2)
        page.locator(".ra-info", has_text="month 2 of 60").wait_for(timeout=STEP_TIMEOUT_MS)
        info = page.locator(".ra-info").inner_text()
        browser.close()
    assert forged, "the scenario change never went over the websocket"
    assert refusal == "refused: the browser view opens only the scenarios it lists"
    assert "(fight_order)" in info and "month 2 of 60" in info
    assert "Traceback" not in refusal


def test_the_sidebar_shows_the_war_orders_in_force_at_the_shown_month(
    recording: Recording,
) -> None:
    assert (
        recording.orders_now_at_start == "War orders now: level 1 (support role for Russian forces)"
    )
    assert recording.orders_now_at_month_20 == "War orders now: level 3 (order to fight in Ukraine)"


def test_hovering_an_officer_names_him_and_his_group_and_choice(recording: Recording) -> None:
    officer, what = recording.tooltip.split(": ", 1)
    assert officer == f"officer {recording.inspected_slot}"
    assert what.endswith(", refuse")
    assert "{" not in recording.tooltip


def test_the_inspection_opens_in_view(recording: Recording) -> None:
    assert 0 <= recording.inspection_top < recording.viewport_height - 100


def test_on_a_short_screen_the_inspection_scrolls_into_view(server: str) -> None:
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = offline_context(browser, log, viewport={"width": 1280, "height": 720}).new_page()
        watch_console(page, log)
        page.goto(server)
        wait_drawn_month(page, OFFICERS, 0, LOAD_TIMEOUT_MS)
        page.locator(OFFICERS).scroll_into_view_if_needed()
        click_chart_point(page, OFFICERS, 1, 0)
        page.locator(".ra-inspect", has_text="Officer ").wait_for(timeout=STEP_TIMEOUT_MS)
        page.wait_for_function(
            "() => { const r = document.querySelector('.ra-inspect').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight - 100; }",
            timeout=5_000,
        )
        top = page.evaluate(
            "() => document.querySelector('.ra-inspect').getBoundingClientRect().top"
        )
        browser.close()
    assert 0 <= top < 620
    assert log.console_errors == []
