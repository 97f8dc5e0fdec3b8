"""Throughput of `reluctant-army sweep` against `mesa.batch_run` on the same short sweep.

Both run the baseline (2,000 officers) at 4 punishment severities x R seeds for S steps, in
the same process tree, alternating, and each is timed from start to results in hand
(including starting the worker pool): the sweep writes its Parquet parts and consolidated
tables, batch_run keeps its rows in memory. The run cache is off: every run is computed.
Prints runs/s of each, median of the repeats, and their ratio; then, to show where the
difference comes from, one run's compute in this process both ways (batch_run's model,
which records every reporter every step through Mesa agents, against the sweep's run,
which records only the experiment's metrics).

    python benchmarks/bench_sweep.py [--workers 2] [--replications 15] [--steps 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from simulation import Experiment, load_config, run_experiment
from simulation.model.model import ArmyModel

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "configs" / "baseline.yaml"
SEVERITIES = [0.0, 1.0, 2.0, 3.0]


def with_batch_run(workers: int, replications: int, steps: int) -> tuple[float, int]:
    """Seconds and number of runs of mesa.batch_run on the sweep (ArmyModel takes the
    levers as keywords, so no wrapper is needed)."""
    import mesa

    config = load_config(BASELINE, steps=steps)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = mesa.batch_run(
        ArmyModel,
        parameters={
            "config": [config],
            "punishment_severity": SEVERITIES,
            "seed": list(range(replications)),
        },
        iterations=1,
        max_steps=steps,
        number_processes=workers,
        data_collection_period=-1,
        display_progress=False,
    )
    return time.perf_counter() - started, len(rows)


def with_sweep(workers: int, replications: int, steps: int) -> tuple[float, int]:
    """Seconds and number of runs of this project's sweep runner on the same sweep, through
    the Python API (results kept in a temporary folder until the tables are in hand), with
    the run cache off: every run is computed, as batch_run computes them."""
    started = time.perf_counter()
    experiment = Experiment.from_dict(
        {
            "base": {"config": str(BASELINE)},
            "vary": {"drivers.punishment_severity": SEVERITIES},
            "replications": replications,
            "steps": steps,
        }
    )
    result = run_experiment(experiment, workers=workers, progress=False, cache=False)
    return time.perf_counter() - started, len(result.runs)


def per_run_compute(steps: int, runs: int = 8) -> tuple[float, float]:
    """Seconds of one run computed in this process, best of three rounds: as batch_run runs
    it (ArmyModel with its levers, stepped while running) and as the sweep runs it."""
    from simulation.experiments.runner import run_model
    from simulation.vocabulary import DEFAULT_METRICS

    config = load_config(BASELINE, steps=steps)
    point = load_config(BASELINE, {"drivers.punishment_severity": 1.0}, steps=steps)

    def batch_run_way(seed: int) -> None:
        model = ArmyModel(config, punishment_severity=1.0, seed=seed)
        while model.running and model.steps <= steps:
            model.step()

    def sweep_way(seed: int) -> None:
        run_model(point, seed, columns=list(DEFAULT_METRICS))

    timings = []
    for way in (batch_run_way, sweep_way):
        way(0)
        rounds = []
        for _ in range(3):
            started = time.perf_counter()
            for seed in range(runs):
                way(seed)
            rounds.append((time.perf_counter() - started) / runs)
        timings.append(min(rounds))
    return timings[0], timings[1]


def main() -> None:
    """Run both, alternating, and print the median throughputs and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replications", type=int, default=15)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = len(SEVERITIES) * args.replications
    print(
        f"sweep of {runs} runs (2,000 officers, {args.steps} steps), {args.workers} workers, "
        f"{args.repeats} repeats"
    )
    rates: dict[str, list[float]] = {"sweep": [], "batch_run": []}
    for repeat in range(args.repeats):
        seconds, done = with_sweep(args.workers, args.replications, args.steps)
        rates["sweep"].append(done / seconds)
        seconds_b, done_b = with_batch_run(args.workers, args.replications, args.steps)
        rates["batch_run"].append(done_b / seconds_b)
        print(
            f"  repeat {repeat + 1}: sweep {done} runs in {seconds:.2f} s, "
            f"batch_run {done_b} runs in {seconds_b:.2f} s"
        )
    sweep_rate = statistics.median(rates["sweep"])
    batch_rate = statistics.median(rates["batch_run"])
    print(f"reluctant-army sweep: {sweep_rate:7.2f} runs/s (median)")
    print(f"mesa.batch_run:       {batch_rate:7.2f} runs/s (median)")
    print(f"ratio sweep / batch_run: {sweep_rate / batch_rate:.2f}")
    batch_run_run, sweep_run = per_run_compute(args.steps)
    print(
        f"one run's compute in one process: batch_run's {batch_run_run * 1000:.1f} ms, the "
        f"sweep's {sweep_run * 1000:.1f} ms (ratio {batch_run_run / sweep_run:.2f}); the rest "
        "of the difference is start-up (batch_run spawns fresh interpreters each call, the "
        "sweep forks from a preloaded server) and per-run overhead"
    )


if __name__ == "__main__":
    main()
