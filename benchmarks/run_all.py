"""Every speed target of the project, measured in one run: figure, target, verdict.

Run: `python benchmarks/run_all.py [--quick]` (about 3-4 minutes; --quick about 2).

Model figures come from bench_model.py (medians over repeats, the Epstein peer measured
side by side) and bench_limit.py (the step against streaming its state once, in the same
run); small runs and the first run's compile wait from bench_throughput.py; the browser
view from bench_viz.py; sweeps from bench_sweep.py (our runner against
mesa.batch_run on the same sweep) and from a timed 1,000-run sweep of the
baseline through the real command, whose per-run overhead is the wall time on all
workers minus the simulation time each run reports. These machines are noisy: compare
ratios measured in the same run, and rerun when the machine was busy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import bench_limit, bench_throughput  # noqa: E402
from benchmarks.bench_model import Figure, measure  # noqa: E402

SWEEP_EXPERIMENT = """
name: baseline_{runs}
base:
  config: {config}
replications: {runs}
steps: 100
seed: 1
"""

PARENT_PEAK = (
    "import sys; from simulation.cli import main; code = main(sys.argv[1:]);"
    "print('VmHWM', [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]);"
    "sys.exit(code)"
)


def run_script(name: str, *arguments: str) -> str:
    """Run a benchmark script of this folder and return what it printed."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name), *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return completed.stdout


def number_after(pattern: str, text: str) -> float:
    """The first number after `pattern` in `text`."""
    match = re.search(pattern + r"\s*([0-9][0-9,]*\.?[0-9]*)", text)
    if match is None:
        raise RuntimeError(f"no figure after {pattern!r} in:\n{text}")
    return float(match.group(1).replace(",", ""))


def timed_sweep(runs: int, workers: int, folder: Path) -> tuple[float, float, float]:
    """(wall seconds, mean simulation seconds per run, parent peak MB) of a baseline sweep."""
    import pandas as pd

    experiment = folder / f"baseline_{runs}.yaml"
    experiment.write_text(
        SWEEP_EXPERIMENT.format(runs=runs, config=REPO / "configs" / "baseline.yaml")
    )
    out = folder / f"results_{runs}"
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            PARENT_PEAK,
            "sweep",
            str(experiment),
            "--workers",
            str(workers),
            "--out",
            str(out),
            "--no-progress",
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - started
    peak = number_after("VmHWM", completed.stdout) / 1024
    simulation = float(pd.read_parquet(out / "timings.parquet")["seconds"].mean())
    return wall, simulation, peak


def main() -> None:
    """Measure every target and print one table."""
    quick = "--quick" in sys.argv
    figures: list[Figure] = []
    print("model")
    figures += measure(quick)
    print("model against the machine's limit")
    figures += bench_limit.measure(quick)
    print("small runs, and the first run's compile wait")
    figures += bench_throughput.measure(quick)

    print("browser view")
    viz = run_script("bench_viz.py", "--steps", "20" if quick else "40")
    print("  " + viz.strip().replace("\n", "\n  "))
    figures.append(
        Figure(
            "browser view: one step with drawing, 2,000 officers (median)",
            number_after(r"step \+ drawing \+ charts\s+median", viz),
            100,
            "ms",
            False,
        )
    )
    figures.append(
        Figure(
            "browser view: click Step to the new month drawn, in Chromium (median)",
            number_after(r"new month drawn \(browser\)\s+median", viz),
            300,
            "ms",
            False,
        )
    )

    print("sweeps")
    versus = run_script("bench_sweep.py", "--repeats", "2" if quick else "3")
    print("  " + versus.strip().replace("\n", "\n  "))
    figures.append(
        Figure(
            "sweep runner vs mesa.batch_run, same sweep (throughput ratio)",
            number_after(r"ratio sweep / batch_run:", versus),
            3.0,
            "x",
        )
    )
    workers = 2
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        small_wall, _, small_peak = timed_sweep(250, workers, folder)
        wall, simulation, peak = timed_sweep(1000, workers, folder)
    overhead_ms = (wall * workers / 1000 - simulation) * 1000
    print(
        f"  1,000 runs x 100 steps, {workers} workers: wall {wall:.1f} s; simulation "
        f"{simulation * 1000:.1f} ms per run; overhead (start-up, pickling, writing, "
        f"summary) {overhead_ms:.1f} ms per run"
    )
    print(f"  parent peak memory: {small_peak:.0f} MB at 250 runs, {peak:.0f} MB at 1,000 runs")
    figures.append(
        Figure("1,000 baseline runs x 100 steps on 2 workers, wall", wall, 90, "s", False)
    )
    figures.append(
        Figure(
            "sweep parent peak memory, 1,000 vs 250 runs (ratio)",
            peak / small_peak,
            1.25,
            "x",
            False,
        )
    )

    print()
    print(f"{'figure':<58} {'measured':>14} {'unit':<16} target")
    for figure in figures:
        print(figure.line())
    met = sum(figure.met for figure in figures)
    print(f"{met} of {len(figures)} targets met")


if __name__ == "__main__":
    main()
