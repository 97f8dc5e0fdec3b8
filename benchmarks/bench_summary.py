"""Size of a sampled design's summary.csv and the memory of building it, before and after
its inputs moved out (design.parquet holds them once per point).

The design is real: a prior design (every prior of configs/priors.yaml drawn per point) over
the fight order, 300 officers, 25 months, the cohort metrics of
experiments/sensitivity_groups.yaml, one replication per point as in that Sobol design. The
outcomes are seeded random shares, not model runs: the summary's size and memory depend on
the table's shape (points x outcomes x inputs), not on the numbers, and running the model
for thousands of points would take the machine for many minutes. Each way runs in its own
process on the same runs table: the code of `--old` (git) and the working tree's, each
summarising the runs and writing summary.csv as `summarize` does. Prints the file's size,
the peak resident memory of the summarising (the process's high-water mark reset just
before it) and the seconds, and checks that both give the same numbers.

    python benchmarks/bench_summary.py [--points 2000] [--old 66c61a6]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "configs" / "scenarios" / "fight_order.yaml"
PRIORS = REPO / "configs" / "priors.yaml"
METRICS = [
    "cohort_comply",
    "cohort_evade",
    "cohort_refuse",
    "cohort_jailed",
    "cohort_resigned",
    "cohort_deserted",
]


def write_design(points: int, folder: Path) -> None:
    """The runs table of a prior design of `points` draws (one run each, outcomes drawn at
    random) and its manifest, as a sweep folder holds them."""
    import numpy as np
    import pandas as pd

    from simulation import Experiment
    from simulation.experiments.runner import outcome_measures

    experiment = Experiment.from_dict(
        {
            "name": "bench_summary",
            "base": {"config": str(SCENARIO), "overrides": {"population.n_officers": 300}},
            "steps": 25,
            "design": {"kind": "prior", "samples": points, "priors": str(PRIORS)},
            "metrics": METRICS,
            "replications": 1,
            "seed": 23,
        }
    )
    measures = outcome_measures(experiment.base_config)
    runs = pd.DataFrame(experiment.point_values)
    runs.insert(0, "run_index", range(len(runs)))
    runs.insert(1, "point", [point.index for point in experiment.points])
    runs.insert(2, "scenario", [point.scenario for point in experiment.points])
    rng = np.random.default_rng(1)
    outcomes = [f"{measure}_{metric}" for measure in measures for metric in METRICS]
    runs = pd.concat(
        [runs, pd.DataFrame(rng.random((len(runs), len(outcomes))), columns=outcomes)], axis=1
    )
    runs["status"] = "ok"
    runs.to_parquet(folder / "runs.parquet")
    manifest = {
        "design": experiment.spec.design.kind,
        "scenarios": list(dict.fromkeys(point.scenario for point in experiment.points)),
        "axes": experiment.axes,
        "parameters": experiment.parameters,
        "metrics": METRICS,
        "measures": measures,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def resident_kib(field: str) -> int:
    """A line of /proc/self/status in KiB (VmRSS now, VmHWM the high-water mark)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(module: Path, folder: Path, out: Path) -> None:
    """Summarise the folder's runs with `module`'s summarize_runs, write summary.csv to
    `out`, print the measures as JSON."""
    import pandas as pd

    spec = importlib.util.spec_from_file_location("summary_under_test", module)
    summary_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summary_module)
    runs = pd.read_parquet(folder / "runs.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    before = resident_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to now
    started = time.perf_counter()
    summary = summary_module.summarize_runs(runs, manifest)
    summary.to_csv(out, index=False)
    seconds = time.perf_counter() - started
    peak = resident_kib("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": len(summary),
                "columns": summary.shape[1],
                "bytes": out.stat().st_size,
                "before_mib": before / 1024,
                "peak_mib": peak / 1024,
            }
        )
    )


def measure(module: Path, folder: Path, out: Path) -> dict[str, Any]:
    """One way's figures, from its own process."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(module), str(folder), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_numbers(old: Path, new: Path) -> bool:
    """Whether both summaries give the same rows of numbers (the inputs left aside)."""
    import pandas as pd

    keys = ["point", "scenario", "measure", "category", "choice", "metric"]
    numbers = ["n", "n_empty", "n_failed", "mean", "sd", "ci_low", "ci_high"]
    before = pd.read_csv(old, usecols=keys + numbers)
    after = pd.read_csv(new, usecols=keys + numbers)
    return before.equals(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000, help="prior draws (design points)")
    parser.add_argument("--old", default="66c61a6", help="git revision of the code before")
    parser.add_argument("--child", nargs=3, metavar=("MODULE", "FOLDER", "OUT"), help="internal")
    args = parser.parse_args()
    if args.child:
        child(*(Path(value) for value in args.child))
        return
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        write_design(args.points, folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        print(
            f"prior design: {args.points:,} points x 1 run, {len(manifest['parameters'])} "
            f"inputs, {len(manifest['measures'])} measures x {len(METRICS)} metrics "
            f"(built in {time.perf_counter() - started:.0f} s)"
        )
        old = folder / "old_summary.py"
        source = f"{args.old}:simulation/experiments/summary.py"
        old.write_text(
            subprocess.run(
                ["git", "-C", str(REPO), "show", source],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        new = REPO / "simulation" / "experiments" / "summary.py"
        before = measure(old, folder, folder / "old.csv")
        after = measure(new, folder, folder / "new.csv")
        print(f"{'':24}{'before (' + args.old + ')':>18}{'after':>12}{'ratio':>9}")
        for label, key, unit in (
            ("summary.csv size", "bytes", 1 / 2**20),
            ("summary.csv columns", "columns", 1),
            ("peak memory (MiB)", "peak_mib", 1),
            ("  over the runs read", "peak_over", 1),
            ("seconds", "seconds", 1),
        ):
            if key == "peak_over":
                one = before["peak_mib"] - before["before_mib"]
                two = after["peak_mib"] - after["before_mib"]
            else:
                one, two = before[key] * unit, after[key] * unit
            shown = f"{label} (MiB)" if key == "bytes" else label
            print(f"{shown:<24}{one:>18,.1f}{two:>12,.1f}{one / two:>9.1f}")
        agree = same_numbers(folder / "old.csv", folder / "new.csv")
        print(f"rows: {before['rows']:,} both; the same numbers: {agree}")


if __name__ == "__main__":
    main()
