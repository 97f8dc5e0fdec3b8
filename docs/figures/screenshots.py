"""Screenshots of the browser app for the docs (docs/figures/model-view.png, explorer.png).

Run from the repository root, after the sweep it shows:

    reluctant-army sweep experiments/compare_orders.yaml
    python docs/figures/screenshots.py results/compare_orders

It serves `reluctant-army explore RESULTS_DIR` on a free loopback port, drives Debian's
Chromium (offline) through Playwright, and stops the server. The model view shows the
fight-order scenario at month 20 with an officer inspected; the explorer shows the sweep
with a design point opened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from viz_support import (  # noqa: E402
    BrowserLog,
    app_server,
    chart_option,
    click_chart_point,
    launch_browser,
    offline_context,
    wait_drawn_month,
)

FIGURES = REPO / "docs" / "figures"
TIMEOUT_MS = 90_000


def model_view(page, url: str, path: Path) -> None:
    """The fight-order scenario at month 20, an officer who refused inspected."""
    page.goto(url)
    wait_drawn_month(page, ".ra-officers", 0, TIMEOUT_MS)
    page.locator(".ra-scenario").click()
    page.get_by_role("option", name="configs/scenarios/fight_order.yaml", exact=True).click()
    page.locator(".ra-info", has_text="(fight_order)").wait_for(timeout=TIMEOUT_MS)
    page.locator(".ra-goto input").fill("20")
    page.get_by_role("button", name="Go", exact=True).click()
    wait_drawn_month(page, ".ra-officers", 20, TIMEOUT_MS)
    option = chart_option(page, ".ra-officers")
    series = next(i for i, s in enumerate(option["series"]) if s["name"] == "dissenting, refuse")
    click_chart_point(page, ".ra-officers", series, 3)
    page.locator(".ra-inspect", has_text="Officer").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def explorer(page, url: str, folder: Path, path: Path) -> None:
    """The sweep, its design points, a figure, and one design point opened."""
    page.goto(url + "explore")
    page.locator(".ra-folder-title").wait_for(timeout=TIMEOUT_MS)
    page.locator(".ra-folder").click()
    page.get_by_role("option", name=str(folder.resolve()), exact=True).or_(
        page.get_by_role("option", name=folder.as_posix(), exact=True)
    ).first.click()
    page.locator(".ra-points tbody tr").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".ra-points tbody tr").nth(2).click()
    page.locator(".ra-runs tbody tr").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ra-chart')].every(e => e.dataset.drawn)",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def main(argv: list[str] | None = None) -> int:
    """Take both screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a sweep's results folder")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    log = BrowserLog()
    arguments = ["explore", str(args.results)]
    with (
        app_server(arguments, log_name="screenshots-server.log") as url,
        sync_playwright() as playwright,
    ):
        browser = launch_browser(playwright)
        context = offline_context(browser, log, viewport={"width": 1800, "height": 1500})
        page = context.new_page()
        model_view(page, url, FIGURES / "model-view.png")
        page.set_viewport_size({"width": 1500, "height": 2350})
        explorer(page, url, args.results, FIGURES / "explorer.png")
        browser.close()
    if log.outside_requests:
        raise SystemExit(f"the page tried to reach other hosts: {log.outside_requests}")
    print(f"wrote {FIGURES / 'model-view.png'} and {FIGURES / 'explorer.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
