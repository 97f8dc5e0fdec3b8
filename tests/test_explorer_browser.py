"""The experiment explorer in a real browser (Debian's Chromium through Playwright), offline.

A small sweep (two scenarios, one from its own config file; two punishment levels; three
replications; a series every three months; a description that carries script) and a
two-parameter grid are explored once per module: open the sweep, filter its design
points, click a point of a figure, open a design point and one of its runs, replay that
run in the model view up to its last month, compare two design points over time, open
the grid's heatmap. Each test checks one behaviour of that record. A last test opens the
sweep's HTML report in the browser. Screenshots: test-output/explorer*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from explorer_support import HOSTILE, grid_sweep, orders_sweep
from viz_support import (
    OUTPUT,
    BrowserLog,
    app_server,
    chart_option,
    click_chart_point,
    launch_browser,
    offline_context,
    playwright_api,
    wait_drawn_month,
    watch_console,
)

from simulation.analysis.report import build_report

VIEWPORT = {"width": 1600, "height": 1300}
LOAD_TIMEOUT_MS = 90_000
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The results folders the explorer is given (built with the project's API)."""
    root = tmp_path_factory.mktemp("results")
    return {
        "root": root,
        "orders": orders_sweep(root / "orders", description=HOSTILE),
        "grid": grid_sweep(root / "grid"),
    }


@dataclass
class Recording:
    """What one explorer session showed while it was driven."""

    log: BrowserLog = field(default_factory=BrowserLog)
    dialogs: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    description: str = ""
    rows_before_filter: int = 0
    rows_after_filter: list[str] = field(default_factory=list)
    figure_series: list[str] = field(default_factory=list)
    point_from_figure: str = ""
    point_from_table: str = ""
    runs_rows: int = 0
    replayed_run: int = -1
    replay_banner: str = ""
    replay_summary: str = ""
    replay_table: list[list[str]] = field(default_factory=list)
    comparison: dict[str, Any] = field(default_factory=dict)
    heatmap_cells: int = 0


def pick_folder(page, path: Path) -> None:
    """Choose a listed results folder."""
    page.locator(".ra-folder").click()
    page.get_by_role("option", name=str(path), exact=True).click()


def table_rows(page, selector: str) -> list[str]:
    """The visible rows of a data table, as text."""
    return [row.inner_text() for row in page.locator(f"{selector} tbody tr").all()]


@pytest.fixture(scope="module")
def recording(folders: dict[str, Path]) -> Iterator[Recording]:
    """Drive one explorer session and record what it showed."""
    playwright_api()
    record = Recording()
    with (
        app_server(["explore", str(folders["root"])], log_name="explore-server.log") as url,
        playwright_api()() as playwright,
    ):
        browser = launch_browser(playwright)
        page = offline_context(browser, record.log, viewport=VIEWPORT).new_page()
        watch_console(page, record.log)
        page.on("dialog", lambda dialog: (record.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url + "explore")
        page.locator(".ra-folder-title").wait_for(timeout=LOAD_TIMEOUT_MS)
        page.locator(".ra-folder").click()
        record.listed = page.get_by_role("option").all_inner_texts()
        page.keyboard.press("Escape")
        pick_folder(page, folders["orders"])
        page.locator(".ra-folder-title", has_text="orders (sweep)").wait_for(timeout=TIMEOUT_MS)
        record.description = page.locator(".ra-description").inner_text()
        page.locator(".ra-points tbody tr").first.wait_for(timeout=TIMEOUT_MS)
        record.rows_before_filter = len(table_rows(page, ".ra-points"))
        page.locator(".ra-filter input").fill("fight")
        page.wait_for_function(
            "() => document.querySelectorAll('.ra-points tbody tr').length === 2",
            timeout=TIMEOUT_MS,
        )
        record.rows_after_filter = table_rows(page, ".ra-points")
        page.locator(".ra-filter input").fill("")

        figure = ".ra-chart-parameter"
        page.wait_for_function(
            f"() => document.querySelector('{figure}').__vue__.chart", timeout=TIMEOUT_MS
        )
        option = chart_option(page, figure)
        record.figure_series = [series["name"] for series in option["series"]]
        click_chart_point(page, figure, 0, 1)
        page.get_by_text("Design point 1:").wait_for(timeout=TIMEOUT_MS)
        record.point_from_figure = page.get_by_text("Design point 1:").inner_text()

        page.locator(".ra-points tbody tr").nth(3).click()
        page.get_by_text("Design point 3:").wait_for(timeout=TIMEOUT_MS)
        record.point_from_table = page.get_by_text("Design point 3:").inner_text()
        page.locator(".ra-runs tbody tr").first.wait_for(timeout=TIMEOUT_MS)
        record.runs_rows = len(table_rows(page, ".ra-runs"))
        page.locator(".ra-runs tbody tr").nth(1).click()
        page.locator(".ra-replay-button", has_text="Replay run 10").wait_for(timeout=TIMEOUT_MS)
        record.replayed_run = 10
        page.get_by_role("button", name="A ← this point").click()
        page.locator(".ra-points tbody tr").nth(1).click()
        page.get_by_text("Design point 1:").wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("button", name="B ← this point").click()
        page.locator(".ra-compare-button").click()
        page.wait_for_function(
            "() => { const e = document.querySelector('.ra-chart-comparison');"
            " return e && e.__vue__.chart && e.dataset.drawn; }",
            timeout=TIMEOUT_MS,
        )
        record.comparison = chart_option(page, ".ra-chart-comparison")
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "explorer.png"), full_page=True)

        page.locator(".ra-points tbody tr").nth(3).click()
        page.get_by_text("Design point 3:").wait_for(timeout=TIMEOUT_MS)
        page.locator(".ra-runs tbody tr").nth(1).click()
        replay = page.locator(".ra-replay-button", has_text="Replay run 10")
        replay.wait_for(timeout=TIMEOUT_MS)
        replay.click()
        page.locator(".ra-replay").wait_for(timeout=TIMEOUT_MS)
        record.replay_banner = page.locator(".ra-replay").inner_text()
        page.locator(".ra-goto input").fill("18")
        page.get_by_role("button", name="Go", exact=True).click()
        wait_drawn_month(page, ".ra-officers", 18, TIMEOUT_MS)
        page.locator(".ra-replay-summary").wait_for(timeout=TIMEOUT_MS)
        record.replay_summary = page.locator(".ra-replay-summary").inner_text()
        record.replay_table = [
            [cell.inner_text() for cell in row.locator("td").all()]
            for row in page.locator(".ra-replay-check tr").all()[1:]
        ]
        page.screenshot(path=str(OUTPUT / "explorer-replay.png"), full_page=True)

        page.locator(".ra-link-explore").click()
        page.locator(".ra-folder-title").wait_for(timeout=TIMEOUT_MS)
        pick_folder(page, folders["grid"])
        page.locator(".ra-folder-title", has_text="grid (sweep)").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => { const e = document.querySelector('.ra-chart-heatmap');"
            " return e && e.__vue__.chart && e.dataset.drawn; }",
            timeout=TIMEOUT_MS,
        )
        heatmap = chart_option(page, ".ra-chart-heatmap")
        record.heatmap_cells = sum(
            len(s["data"]) for s in heatmap["series"] if s["type"] == "heatmap"
        )
        browser.close()
    yield record


def test_explorer_loads_offline_with_no_console_error(recording: Recording) -> None:
    assert recording.log.outside_requests == []
    assert recording.log.console_errors == []


def test_the_explorer_lists_the_folders_it_was_given(
    recording: Recording, folders: dict[str, Path]
) -> None:
    assert recording.listed == [str(folders["grid"]), str(folders["orders"])]


def test_a_script_bearing_description_is_shown_as_text_and_never_runs(
    recording: Recording,
) -> None:
    assert recording.description == HOSTILE
    assert recording.dialogs == []


def test_the_design_points_can_be_filtered(recording: Recording) -> None:
    assert recording.rows_before_filter == 4
    assert [row.split("\t")[1] for row in recording.rows_after_filter] == ["fight", "fight"]


def test_the_sweep_is_plotted_against_its_parameter_with_bands(recording: Recording) -> None:
    assert {"comply", "evade", "refuse"} <= set(recording.figure_series)


def test_a_click_on_a_figure_opens_that_design_point(recording: Recording) -> None:
    assert recording.point_from_figure.startswith("Design point 1: support")


def test_a_click_on_a_table_row_opens_the_design_point_and_its_runs(
    recording: Recording,
) -> None:
    assert recording.point_from_table.startswith("Design point 3: fight")
    assert recording.runs_rows == 3


def test_a_replayed_run_gives_exactly_the_final_shares_the_sweep_recorded(
    recording: Recording, folders: dict[str, Path]
) -> None:
    stored = pd.read_parquet(folders["orders"] / "runs.parquet").set_index("run_index")
    row = stored.loc[recording.replayed_run]
    assert f"run {recording.replayed_run}" in recording.replay_banner
    assert recording.replay_summary.startswith("At month 18 the replay gives exactly")
    assert len(recording.replay_table) == 18
    for metric, recorded, replayed, mark in recording.replay_table:
        assert recorded == f"{row[f'final_{metric}']:.4%}"
        assert replayed == recorded and mark == "✓"


def test_two_design_points_are_compared_over_time(recording: Recording) -> None:
    titles = [title["text"] for title in recording.comparison["title"]]
    assert titles[0].startswith("A: point 3") and "vs  B: point 1" in titles[0]
    assert titles[1:] == ["all officers: comply", "all officers: evade", "all officers: refuse"]


def test_two_parameters_are_shown_as_a_heatmap(recording: Recording) -> None:
    assert recording.heatmap_cells == 3 * 6


def test_the_report_of_a_hostile_sweep_fires_no_script_in_a_browser(
    folders: dict[str, Path],
) -> None:
    report = build_report(folders["orders"], OUTPUT / "report-hostile.html")
    dialogs: list[str] = []
    requests: list[str] = []
    log = BrowserLog()
    with playwright_api()() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        watch_console(page, log)
        page.on("request", lambda request: requests.append(request.url))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(report.resolve().as_uri())
        page.wait_for_load_state("load")
        shown = page.locator("h1 + .note + p").inner_text()
        images = page.locator("img").count()
        browser.close()
    assert dialogs == []
    assert shown == HOSTILE
    assert images >= 2
    assert [url for url in requests if not url.startswith("data:")] == [report.resolve().as_uri()]
