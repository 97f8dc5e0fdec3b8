"""The browser view's speed: server-side time per step with drawing, and the click-to-redraw
round trip in a real browser, side by side with the model step alone.

Run: `python benchmarks/bench_viz.py [--officers 2000] [--steps 40] [--clicks 15]`
(about a minute; `--no-browser` skips the round trip).

Server side, in one process and one loop: (1) the model step alone; (2) what the page does
on Step: the step, then the model view's components re-rendered by Solara (the officer
drawing and the rate charts as ECharts options, the run summary, the inspection of a
selected officer); (3) for comparison, the rendering path the view used before, Mesa's
matplotlib SpaceRenderer drawing the same officers and encoding a PNG. The rendering path
is chosen by this measurement.

In the browser (Debian's Chromium through Playwright, offline): the time from a click on
Step to the moment both the officer drawing and the charts have drawn the new month
(`data-drawn` stamped by the chart template after ECharts has drawn), measured inside the
page with performance.now(). Targets: <= 100 ms per step server-side, <= 300 ms round trip.
CPU time of the server loop is printed too: on a shared machine, wall time includes other
programs' load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

STEP_TARGET_MS = 100.0
ROUND_TRIP_TARGET_MS = 300.0


def median_ms(samples: list[float]) -> float:
    """Median of durations in seconds, in milliseconds."""
    return statistics.median(samples) * 1000.0


def server_side(officers: int, steps: int, level: int) -> dict[str, float]:
    """Median ms per step: model alone, the page's re-render, Mesa's matplotlib path."""
    import solara

    from simulation.config.loading import load_config
    from simulation.viz import state
    from simulation.viz.model_view import ModelPage
    from simulation.viz.scenarios import Source
    from simulation.viz.view_model import ViewModel

    config = load_config(
        None,
        {"population.n_officers": officers, "drivers.war_order_level": level, "steps": steps + 1},
    )
    alone = ViewModel(config, 1)
    solara.render(ModelPage(), handle_error=False)
    state.start(Source("benchmark", config, 1))
    state.select_officer(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mesa_step = mesa_matplotlib_path(config)
    model_times, page_times, cpu_times, mesa_times = [], [], [], []
    for _ in range(steps):
        start = time.perf_counter()
        alone.step()
        model_times.append(time.perf_counter() - start)
        start, cpu_start = time.perf_counter(), time.process_time()
        state.step()
        page_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        mesa_times.append(mesa_step())
    return {
        "model": median_ms(model_times),
        "page": median_ms(page_times),
        "page_cpu": median_ms(cpu_times),
        "page_max": max(page_times) * 1000.0,
        "mesa": median_ms(mesa_times),
    }


def mesa_matplotlib_path(config):
    """A step function timing the earlier path: Mesa's SpaceRenderer (matplotlib) drawing
    every officer on the same grid, then the figure encoded as PNG (as Solara did)."""
    import io

    from mesa.visualization import SpaceRenderer
    from mesa.visualization.components import AgentPortrayalStyle

    from simulation.model.model import ArmyModel
    from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUP_MARKERS, GROUPS

    model = ArmyModel(config, seed=1)

    def portrayal(officer):
        return AgentPortrayalStyle(
            color=CHOICE_COLOURS[CHOICES[model.choice[officer.index]]],
            marker=GROUP_MARKERS[GROUPS[model.group[officer.index]]],
            size=20,
        )

    renderer = SpaceRenderer(model, backend="matplotlib")

    def step() -> float:
        start = time.perf_counter()
        model.step()
        renderer.canvas.clear()
        if hasattr(renderer, "setup_agents"):
            renderer.setup_agents(portrayal)
            renderer.draw_agents()
        else:
            renderer.draw_agents(portrayal)
        buffer = io.BytesIO()
        renderer.backend_renderer.fig.savefig(buffer, format="png")
        return time.perf_counter() - start

    return step


ROUND_TRIP_JS = """async (month) => {
    const drawn = (selector) =>
        (document.querySelector(selector) || {dataset: {}}).dataset.drawn || '';
    const button = [...document.querySelectorAll('button')].find(
        (b) => b.innerText.trim().toLowerCase() === 'step');
    const start = performance.now();
    button.click();
    return await new Promise((resolve) => {
        const check = () => {
            const done = [drawn('.ra-officers'), drawn('.ra-rates')].every(
                (key) => key.split('-')[1] === String(month));
            if (done) { resolve(performance.now() - start); } else { requestAnimationFrame(check); }
        };
        check();
    });
}"""


def round_trips(clicks: int) -> list[float]:
    """Milliseconds from a click on Step to the new month drawn, `clicks` times, in the
    fight_order scenario (2,000 officers; the order to fight comes at month 12)."""
    from playwright.sync_api import sync_playwright
    from viz_support import CHROMIUM, CHROMIUM_ARGS, BrowserLog, app_server, offline_context

    log = BrowserLog()
    arguments = ["viz", "configs/scenarios/fight_order.yaml"]
    times: list[float] = []
    with app_server(arguments, log_name="bench-viz-server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = offline_context(browser, log, viewport={"width": 1600, "height": 1200}).new_page()
        page.goto(url)
        page.wait_for_function(
            "() => (document.querySelector('.ra-officers') || {dataset: {}}).dataset.drawn",
            timeout=90_000,
        )
        time.sleep(1.0)
        for month in range(1, clicks + 2):
            elapsed = page.evaluate(ROUND_TRIP_JS, month)
            if month > 1:  # the first click also warms up the page
                times.append(elapsed)
        browser.close()
    if log.outside_requests:
        raise SystemExit(f"the page tried to reach other hosts: {log.outside_requests}")
    return times


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures and their targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--war-order-level", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)

    figures = server_side(args.officers, args.steps, args.war_order_level)
    print(f"browser view, {args.officers:,} officers, war-order level {args.war_order_level}")
    print(f"  model step alone                          median {figures['model']:7.1f} ms")
    print(
        f"  step + drawing + charts                   median {figures['page']:7.1f} ms  "
        f"(target <= {STEP_TARGET_MS:.0f} ms)"
    )
    print(f"  same, CPU time of this process            median {figures['page_cpu']:7.1f} ms")
    print(f"  slowest of {args.steps} steps                        {figures['page_max']:7.1f} ms")
    print(f"  step + Mesa matplotlib drawing + PNG      median {figures['mesa']:7.1f} ms  (before)")
    print(
        f"  ratios: page / model step {figures['page'] / figures['model']:.1f}x, "
        f"matplotlib path / page {figures['mesa'] / figures['page']:.1f}x"
    )
    met = figures["page"] <= STEP_TARGET_MS
    if not args.no_browser:
        times = round_trips(args.clicks)
        middle = statistics.median(times)
        print(
            f"  click Step -> new month drawn (browser)   median {middle:7.1f} ms  "
            f"(target <= {ROUND_TRIP_TARGET_MS:.0f} ms; {len(times)} clicks, slowest "
            f"{max(times):.0f} ms)"
        )
        met = met and middle <= ROUND_TRIP_TARGET_MS
    print("  targets met" if met else "  TARGET MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
