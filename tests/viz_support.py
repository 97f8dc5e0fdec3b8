"""Helpers for the browser tests of the viz: a Solara server and Debian's Chromium.

The server runs `reluctant-army viz` (so the CLI path is what gets tested) in its own
process group, because `solara run` may leave a child behind; the whole group is killed
at teardown. The browser has every request to a host other than the loopback aborted
and recorded, to prove the page needs no internet.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "test-output"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def require_chromium() -> None:
    """Skip without Debian's Chromium locally; in CI (CI=true) a missing browser is a failure."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install it with `apt-get install -y chromium`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on the loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def viz_server(config: Path | None = None, timeout: float = 90.0) -> Iterator[str]:
    """Serve the browser view (`reluctant-army viz`) on a free loopback port; yield its URL."""
    with app_server(["viz", *([str(config)] if config is not None else [])], timeout) as url:
        yield url


@contextmanager
def app_server(arguments: list[str], timeout: float = 90.0, log_name: str = "viz-server.log"):
    """Run `reluctant-army ARGUMENTS --port P --no-open` (viz or explore) on a free loopback
    port, in its own process group; yield the server's root URL."""
    port = free_port()
    OUTPUT.mkdir(exist_ok=True)
    log_path = OUTPUT / log_name
    command = [sys.executable, "-m", "simulation", *arguments, "--port", str(port), "--no-open"]
    env = {key: value for key, value in os.environ.items() if key != "RELUCTANT_ARMY_VIZ_CONFIG"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process, log_path, timeout)
        yield url
    finally:
        stop_group(process)


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Poll the page until it answers; fail with the server's log if it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"viz server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"viz server did not answer within {timeout:.0f} s:\n{log_path.read_text()}")


def stop_group(process: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class BrowserLog:
    """What the page did: requests to other hosts (aborted) and console errors."""

    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def offline_context(browser, log: BrowserLog, **options):
    """A browser context that aborts and records every request to a non-loopback host."""
    context = browser.new_context(**options)

    def route(route_) -> None:
        host = urlparse(route_.request.url).hostname or ""
        if host in LOCAL_HOSTS or route_.request.url.startswith(("data:", "blob:")):
            route_.continue_()
        else:
            log.outside_requests.append(route_.request.url)
            route_.abort()

    context.route("**/*", route)
    return context


def watch_console(page, log: BrowserLog) -> None:
    """Record console errors and uncaught exceptions of a page."""
    page.on(
        "console",
        lambda message: message.type == "error" and log.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: log.console_errors.append(f"uncaught: {error}"))


def colour_counts(png: bytes, colours: dict[str, str], tolerance: int = 40) -> dict[str, int]:
    """Pixels close to each colour (hex) in a PNG screenshot: how much of each choice shows."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int32)
    counts = {}
    for name, hex_colour in colours.items():
        target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        distance = np.abs(pixels - target).sum(axis=2)
        counts[name] = int((distance <= tolerance).sum())
    return counts


# ---------------------------------------------------------------------------- charts

CHART_OPTION_JS = """(selector) => {
    const element = document.querySelector(selector);
    const chart = element && element.__vue__ && element.__vue__.chart;
    return chart ? JSON.parse(JSON.stringify(chart.getOption(), (k, v) =>
        typeof v === 'function' ? undefined : v)) : null;
}"""
"""The option an ECharts chart on the page is drawing now (from its instance)."""

POINT_PIXEL_JS = """([selector, seriesIndex, dataIndex]) => {
    const chart = document.querySelector(selector).__vue__.chart;
    const series = chart.getOption().series[seriesIndex];
    const value = series.data[dataIndex];
    const pixel = chart.convertToPixel({seriesIndex: seriesIndex}, [value[0], value[1]]);
    return [pixel[0], pixel[1]];
}"""


def chart_option(page, selector: str) -> dict | None:
    """What the chart at `selector` draws (its ECharts option), or None before it loads."""
    return page.evaluate(CHART_OPTION_JS, selector)


def drawn_key(page, selector: str) -> str:
    """The key the chart template stamped after its latest drawing ('' before any)."""
    return page.evaluate(
        "(s) => (document.querySelector(s) || {dataset: {}}).dataset.drawn || ''", selector
    )


def wait_drawn_month(page, selector: str, month: int, timeout_ms: int = 20_000) -> None:
    """Wait until the chart at `selector` has drawn month `month` (key 'model-month-...')."""
    page.wait_for_function(
        """([s, m]) => ((document.querySelector(s) || {dataset: {}}).dataset.drawn || '')
            .split('-')[1] === String(m)""",
        arg=[selector, month],
        timeout=timeout_ms,
    )


def click_chart_point(page, selector: str, series_index: int, data_index: int) -> None:
    """Click the point `data_index` of series `series_index` of an ECharts chart."""
    x, y = page.evaluate(POINT_PIXEL_JS, [selector, series_index, data_index])
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def hover_chart_point(page, selector: str, series_index: int, data_index: int) -> None:
    """Move the mouse onto the point `data_index` of series `series_index` (its tooltip)."""
    page.locator(selector).scroll_into_view_if_needed()
    x, y = page.evaluate(POINT_PIXEL_JS, [selector, series_index, data_index])
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + x - 8, box["y"] + y - 8)
    page.mouse.move(box["x"] + x, box["y"] + y)


def launch_browser(playwright):
    """Debian's Chromium, headless, with background networking off."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def playwright_api():
    """Playwright's sync API; missing it (or Chromium) fails in CI and skips locally."""
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("playwright is not installed (it is in the dev extra)")
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    return sync_playwright
