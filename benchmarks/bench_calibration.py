"""Calibration speed and trust: throughput, a full-budget calibration, parameter recovery.

    python benchmarks/bench_calibration.py throughput [--workers 2] [--simulations 2000]
    python benchmarks/bench_calibration.py full [--workers 2] [--out results/calibration_anchors]
    python benchmarks/bench_calibration.py recovery [--repeats 10] [--workers 2]

`throughput` runs generations of configs/targets/anchors.yaml until about N simulations,
on 1 and on `--workers` processes, and prints simulations per second of each (the pool's
start-up and pyabc's bookkeeping included; the predictive checks excluded) and their ratio.
`full` runs the shipped calibration as the command line does (20,000 simulations by its
file) and prints its wall time against the 15-minute target. `recovery` draws known
parameters from the priors, simulates the targets with them, calibrates against the
simulated values (the anchors file's parameters, tolerances and model size, a smaller ABC
budget) and prints how often each parameter's 90% posterior interval covers the truth.
These machines are noisy: the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
ANCHORS = REPO / "configs" / "targets" / "anchors.yaml"
TARGET_SECONDS = 15 * 60


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def throughput(workers: int, simulations: int, population: int) -> None:
    """Simulations per second of the anchors calibration on 1 and on `workers` processes."""
    from simulation import calibrate

    rates = {}
    for count in (1, workers):
        started = time.perf_counter()
        result = calibrate(
            ANCHORS,
            workers=count,
            population_size=population,
            generations=100,
            max_simulations=simulations,
            predictive_draws=2,
            progress=False,
        )
        seconds = time.perf_counter() - started
        rates[count] = result.simulations / seconds
        print(
            f"{count} worker(s): {result.simulations:,} simulations in {seconds:.1f} s = "
            f"{rates[count]:.1f} simulations/s ({load()})"
        )
    print(f"speed-up on {workers} workers: {rates[workers] / rates[1]:.2f}x")


def full(workers: int, out: Path) -> None:
    """The shipped calibration through the command line, timed."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simulation",
            "calibrate",
            str(ANCHORS),
            "--workers",
            str(workers),
            "--out",
            str(out),
            "--overwrite",
            "--no-progress",
        ],
        check=True,
        cwd=REPO,
    )
    seconds = time.perf_counter() - started
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    simulations = manifest["simulations"]
    verdict = "met" if seconds <= TARGET_SECONDS and simulations >= 20_000 else "NOT met"
    print(
        f"calibration of {simulations:,} simulations (+ predictive checks) on {workers} "
        f"workers: {seconds / 60:.1f} min wall, target <= 15 min for >= 20,000: {verdict} "
        f"({load()})"
    )


def recovery(repeats: int, workers: int, population: int, generations: int) -> None:
    """Coverage of the 90% posterior intervals over `repeats` simulated truths."""
    from simulation import load_targets, recovery_study

    targets = load_targets(ANCHORS)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        table = recovery_study(
            targets,
            repeats=repeats,
            seed=7,
            workers=workers,
            population_size=population,
            generations=generations,
            max_simulations=population * generations * 6,
            out=Path(scratch),
        )
    seconds = time.perf_counter() - started
    by_parameter = table.groupby("parameter", sort=False)["covered"].mean()
    print(
        f"parameter recovery, {repeats} repeats x {table['parameter'].nunique()} parameters "
        f"({seconds / 60:.1f} min, {load()}): the 90% interval covers the truth in "
        f"{table['covered'].mean():.0%} of {len(table)} cases"
    )
    redrawn = int(table.groupby("repeat")["redrawn"].first().sum()) if len(table) else 0
    print(
        f"{table['repeat'].nunique()} truths used; {redrawn} truths drawn again first because "
        "a simulated target could not be computed (a ratio with nothing to divide by)"
    )
    for parameter, coverage in by_parameter.items():
        print(f"  {parameter}: {coverage:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "full", "recovery"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--simulations", type=int, default=2000)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "calibration_anchors")
    args = parser.parse_args()
    if args.what == "throughput":
        throughput(args.workers, args.simulations, args.population)
    elif args.what == "full":
        full(args.workers, args.out)
    else:
        recovery(args.repeats, args.workers, args.population, args.generations)


if __name__ == "__main__":
    main()
