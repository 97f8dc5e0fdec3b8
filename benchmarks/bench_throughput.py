"""Throughput of small runs, and the first run's wait for the numba kernels (issue 24).

Run: `python benchmarks/bench_throughput.py [--quick] [--against ../main] [--rounds 3]`
(about 2 minutes; --quick about 1; --against measures another checkout of the project too,
in `--rounds` rounds alternating with this one in fresh processes, so that both see the
same load on a shared machine).

Small runs are what ensembles, calibrations, recovery and sensitivity studies make by the
hundred thousand: 300 officers x 24 months under the order to fight
(configs/scenarios/fight_order.yaml), run as a sweep runs them (`run_model`, every
column recorded), one after another in one process pinned to one core (no batching).
Printed: runs per second, milliseconds per month, the share of a run that is set-up, and
the ratio to the pace the issue's calibration target needs (20,000 simulations in 3 minutes
on 2 cores, if a simulation cost one such run).

The first run's wait: a fresh process on an empty numba cache (NUMBA_CACHE_DIR a new
folder) runs 300 officers x 24 months with the kernels chosen (performance.kernel auto with
numba_from_officers 0, as a large force chooses them); then a fresh process runs it again
once the cache is built (what every later run pays: importing numba, loading the kernels).
The difference is what the first run waits for the kernels' compilation. Beside them, the
same run with `performance.kernel: numba` on an empty cache (compiled on first call, which
is what auto did before issue 24). Medians over repeats.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_model import Figure, last_line_printed  # noqa: E402

OFFICERS, MONTHS = 300, 24
"""The small run: 300 officers x 24 months under the order to fight."""

CALIBRATION_PACE = 20_000 / 180 / 2
"""Runs a second on one core that the issue's 20,000 simulations in 3 minutes on 2 cores
need, if a simulation cost one small run."""

WAIT_TARGET = 0.5
"""Seconds of compile wait allowed on a first run (the issue: none on the critical path;
this bound leaves room for a fresh process's noise)."""

SMALL_RUNS_CODE = """
import json, os, statistics, sys, time
os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})  # one core
sys.path.insert(0, {repo!r})
import simulation
assert simulation.__file__.startswith({repo!r}), simulation.__file__
from simulation.config.loading import load_config
from simulation.experiments.runner import run_model
config = load_config({repo!r} + "/configs/scenarios/fight_order.yaml",
                     ["population.n_officers={officers}", "steps={months}"])
for seed in range(10):
    run_model(config, seed=seed)
rates, months, shares = [], [], []
for repeat in range({repeats}):
    setup = 0.0
    started = time.perf_counter()
    for seed in range({runs}):
        setup += run_model(config, seed=seed).setup_seconds
    wall = time.perf_counter() - started
    rates.append({runs} / wall)
    months.append((wall - setup) / ({runs} * {months}))
    shares.append(setup / wall)
print(json.dumps({{"runs_per_second": statistics.median(rates),
                   "month_seconds": statistics.median(months),
                   "setup_share": statistics.median(shares)}}))
"""

FIRST_RUN_CODE = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, {repo!r})
from simulation.config.loading import load_config
from simulation.experiments.runner import run_model
config = load_config({repo!r} + "/configs/scenarios/fight_order.yaml",
                     ["population.n_officers={officers}", "steps={months}",
                      "performance.numba_from_officers=0", "performance.kernel={kernel}"])
run_model(config, seed=1)
print(json.dumps({{"wall": time.perf_counter() - started}}))
"""


def small_runs(repo: Path, runs: int, repeats: int) -> dict[str, float]:
    """Runs a second, seconds a month and set-up share of small runs of the checkout at
    `repo`, in a fresh process on one core (medians over `repeats`)."""
    code = SMALL_RUNS_CODE.format(
        repo=str(repo), officers=OFFICERS, months=MONTHS, runs=runs, repeats=repeats
    )
    return json.loads(last_line_printed(code, cwd=repo))


def first_run(repo: Path, kernel: str, cache: Path) -> float:
    """Wall seconds of a fresh process's first small run with `kernel` and `cache` as the
    numba cache (import and set-up included), once any compilation it started in the
    background has finished (so that it does not slow the next measurement)."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    environment.pop("RELUCTANT_ARMY_KERNEL", None)
    code = FIRST_RUN_CODE.format(repo=str(repo), officers=OFFICERS, months=MONTHS, kernel=kernel)
    wall = json.loads(last_line_printed(code, environment=environment, cwd=repo))["wall"]
    wait_for_background_builds(cache)
    return wall


def wait_for_background_builds(cache: Path, timeout: float = 600.0) -> None:
    """Until no build lock is left in `cache` (simulation/model/kernel_cache.py)."""
    deadline = time.monotonic() + timeout
    while any(cache.rglob("*.lock")) and time.monotonic() < deadline:
        time.sleep(0.2)


def compile_wait(repo: Path, repeats: int) -> dict[str, float]:
    """Median walls of a fresh process's small run with the kernels chosen: auto (the
    default) on an empty cache, then auto again once the cache is built (what every later
    run pays: importing numba, loading the kernels), and numba on an empty cache (compiled
    on first call)."""
    walls: dict[str, list[float]] = {"first": [], "cached": [], "compiled": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            walls["first"].append(first_run(repo, "auto", Path(folder)))
            walls["cached"].append(first_run(repo, "auto", Path(folder)))
        with tempfile.TemporaryDirectory() as folder:
            walls["compiled"].append(first_run(repo, "numba", Path(folder)))
    return {name: statistics.median(values) for name, values in walls.items()}


def print_checkout(label: str, runs: dict[str, float], first: dict[str, float]) -> None:
    """The figures of one checkout."""
    print(
        f"  {label}: {runs['runs_per_second']:6.1f} runs/s   "
        f"{runs['month_seconds'] * 1000:.3f} ms a month   "
        f"set-up {runs['setup_share']:.1%} of a run   "
        f"{runs['runs_per_second'] / CALIBRATION_PACE:.2f}x the calibration pace "
        f"({CALIBRATION_PACE:.1f} runs/s)"
    )
    print(
        f"  {label}: fresh process, kernels chosen: first run on an empty cache "
        f"{first['first']:.2f} s, with the cache built {first['cached']:.2f} s, compiled on "
        f"first call {first['compiled']:.2f} s; the first run's wait "
        f"{first['first'] - first['cached']:+.2f} s"
    )


def measure(quick: bool = False, against: Path | None = None, rounds: int = 3) -> list[Figure]:
    """Throughput and compile-wait figures of this checkout (and of `against`, same run:
    `rounds` alternating rounds of small runs)."""
    runs, repeats = (60, 3) if quick else (100, 5)
    rounds = 1 if quick else rounds
    first_repeats = 1 if quick else 3
    checkouts = [("this", REPO)] + ([("other", against)] if against else [])
    results: dict[str, dict[str, float]] = {}
    firsts: dict[str, dict[str, float]] = {}
    by_round: dict[str, list[dict[str, float]]] = {label: [] for label, _ in checkouts}
    for _ in range(rounds):  # alternating: the same load for both
        for label, repo in checkouts:
            by_round[label].append(small_runs(repo, runs, repeats))
    for label, measured in by_round.items():
        results[label] = {
            name: statistics.median(result[name] for result in measured) for name in measured[0]
        }
    for label, repo in checkouts:
        firsts[label] = compile_wait(repo, first_repeats)
    print(
        f"  small runs: {OFFICERS} officers x {MONTHS} months, order to fight, one core, "
        f"{runs} runs x {repeats} repeats x {rounds} rounds (medians)"
    )
    for label, _ in checkouts:
        print_checkout(label, results[label], firsts[label])
    if against:
        ratio = results["this"]["runs_per_second"] / results["other"]["runs_per_second"]
        print(f"  this / other: {ratio:.2f}x the runs a second")
    ours, first = results["this"], firsts["this"]
    return [
        Figure(
            "small runs 300 x 24, one core, vs calibration pace",
            ours["runs_per_second"],
            CALIBRATION_PACE,
            "runs/s",
        ),
        Figure(
            "first run, empty kernel cache: compile wait",
            first["first"] - first["cached"],
            WAIT_TARGET,
            "s",
            False,
        ),
    ]


def main() -> None:
    """Measure and print every figure."""
    quick = "--quick" in sys.argv
    against = None
    if "--against" in sys.argv:
        against = Path(sys.argv[sys.argv.index("--against") + 1]).resolve()
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    figures = measure(quick, against, rounds)
    print()
    for figure in figures:
        print(figure.line())


if __name__ == "__main__":
    main()
