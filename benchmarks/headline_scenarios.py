"""Headline outputs of the issue-22 scenarios, 12 months after the order (issue 22).

Prints, per scenario, the mean over seeds of the starting force's (cohort) shares complying
(at their own post, and at a rear post after reassignment), evading and refusing, in jail
and gone, and (when the model records them) the month's flows per 1,000 serving and the
call-up columns. Run against another checkout by putting it first
on PYTHONPATH (``PYTHONPATH=/work/main python benchmarks/headline_scenarios.py``) for a
before/after comparison; columns the model there lacks are shown as '-'.

    python benchmarks/headline_scenarios.py --officers 2000 --seeds 5 --lag 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from simulation.config.loading import load_config
from simulation.experiments.runner import order_change_step, run_model

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "fight_order": ROOT / "configs/scenarios/fight_order.yaml",
    "baseline": ROOT / "configs/baseline.yaml",
    "russian_setbacks": ROOT / "configs/scenarios/russian_setbacks.yaml",
    "mobilisation": ROOT / "configs/scenarios/mobilisation.yaml",
}
COLUMNS = (
    "cohort_comply",
    "cohort_comply_at_rear_post",
    "cohort_evade",
    "cohort_refuse",
    "cohort_jailed",
    "cohort_dismissed",
    "cohort_resigned",
    "cohort_deserted",
    "cohort_retired",
    "comply",
    "mean_perceived_strength",
    "flow_new_evaders_per_1000_serving",
    "flow_new_refusers_per_1000_serving",
    "flow_arrested_per_1000_serving",
    "flow_departed_per_1000_serving",
    "called_up",
    "reported",
    "evaded_call_up",
    "entered",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=2000)
    parser.add_argument("--mobilisation-officers", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lag", type=int, default=12)
    parser.add_argument("--only", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    for name in args.only:
        officers = args.mobilisation_officers if name == "mobilisation" else args.officers
        config = load_config(SCENARIOS[name], {"population.n_officers": officers})
        step = order_change_step(config) + args.lag
        config = config.model_copy(update={"steps": step})
        rows: dict[str, list[float]] = {column: [] for column in COLUMNS}
        for seed in range(args.seeds):
            columns = run_model(config, seed).columns
            for column in COLUMNS:
                if column in columns:
                    rows[column].append(float(columns[column][step]))
        print(f"{name} ({officers} officers, {args.seeds} seeds, month {step})")
        for column, values in rows.items():
            shown = f"{np.mean(values):.4f}" if values else "-"
            print(f"  {column:<38}{shown:>10}")


if __name__ == "__main__":
    main()
