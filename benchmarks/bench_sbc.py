"""Simulation-based calibration of the anchors' calibration, and the samplers compared by it.

    python benchmarks/bench_sbc.py sbc [--truths 20] [--population 100] [--generations 4]
    python benchmarks/bench_sbc.py samplers [--truths 4] [--population 60] [--generations 4]

`sbc` runs :func:`simulation.analysis.sbc.simulation_based_calibration` on
configs/targets/anchors.yaml (the file's kernel and prior mixture unless given) and prints
the coverage of the 50 % and 90 % intervals per group and parameter, the shrinkage, and the
least effective sample size share of any generation; figures go to `--out`. `samplers`
runs the same truths under each proposal (the normal kernel alone, as pyabc ships it; the
normal kernel with the prior mixed in; the logit kernel alone; the logit kernel with the
prior mixed in) and prints, for each, the least and median ESS share over generations and
the coverage of the 90 % intervals: the measurement behind the file's default sampler.
Small budgets measure roughly; the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
ANCHORS = REPO / "configs" / "targets" / "anchors.yaml"
SAMPLERS = {
    "normal kernel (pyabc's default)": {"kernel": "normal", "prior_mixture": 0.0},
    "normal kernel + 20% prior": {"kernel": "normal", "prior_mixture": 0.2},
    "logit kernel": {"kernel": "logit", "prior_mixture": 0.0},
    "logit kernel + 20% prior": {"kernel": "logit", "prior_mixture": 0.2},
}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def run(truths: int, options: dict, out: Path | None, seed: int):
    from simulation.analysis.sbc import simulation_based_calibration

    started = time.perf_counter()
    table, summary = simulation_based_calibration(
        ANCHORS,
        truths=truths,
        seed=seed,
        out=out,
        calibrate_options=options,
        progress=lambda text: print("  " + text, flush=True),
    )
    return table, summary, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("sbc", "samplers"))
    parser.add_argument("--truths", type=int, default=20)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--kernel", choices=("normal", "logit"))
    parser.add_argument("--prior-mixture", type=float)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "sbc_anchors")
    args = parser.parse_args()
    budget = {
        "population_size": args.population,
        "generations": args.generations,
        "max_simulations": args.population * args.generations * 8,
        "workers": args.workers,
    }
    from simulation.analysis.sbc import format_summary

    if args.what == "sbc":
        options = dict(budget)
        if args.kernel:
            options["kernel"] = args.kernel
        if args.prior_mixture is not None:
            options["prior_mixture"] = args.prior_mixture
        table, summary, seconds = run(args.truths, options, args.out, args.seed)
        print(format_summary(summary, seconds))
        per_truth = table.groupby("truth_index").first()
        print(
            "least ESS share of any generation after the first: "
            f"{per_truth['min_ess_share'].min():.0%}; simulations per truth "
            f"{per_truth['simulations'].mean():.0f} ({load()}); figures in {args.out}/"
        )
        return
    for label, sampler in SAMPLERS.items():
        print(f"{label}:", flush=True)
        table, summary, seconds = run(args.truths, {**budget, **sampler}, None, args.seed)
        per_truth = table.groupby("truth_index").first()
        overall = summary[summary["scope"] == "all"].iloc[0]
        print(
            f"{label}: least ESS share {per_truth['min_ess_share'].min():.0%}, median of the "
            f"truths' least {per_truth['min_ess_share'].median():.0%}, final "
            f"{per_truth['final_ess_share'].median():.0%}; 90% intervals cover "
            f"{overall['covered_90']:.0%} and 50% cover {overall['covered_50']:.0%} of "
            f"{len(table)}; mean shrinkage {overall['mean_shrinkage']:.2f}; "
            f"{seconds / 60:.1f} min ({load()})",
            flush=True,
        )


if __name__ == "__main__":
    main()
