"""What persuasion buys: issue 22's depletion and punishment criteria with the persuaded
complying (consequences.response.persuaded_outcome: comply, the default) and with them
choosing again without open refusal (withdraw_refusal); docs/ODD.md §7.6 and §8.5.

The measurements of tests/test_behaviour_outputs.py, over paired seeds (150 officers, the
support role and then the order to fight from month 3, read at month 15):
- depletion: compliers at their own post over the starting force (cohort_count_comply) at
  the order's moral cost 0.6 and 3.4 (decision.order_moral_cost's level 3; a costlier order
  must not raise them), and the same with the compliers at a rear post after reassignment
  added back (cohort_count_comply + cohort_count_comply_at_rear_post: what cohort_count_comply
  counted before they had a state of their own, docs/ODD.md §7.7);
- punishment: open refusers over the starting force (cohort_count_refuse) at punishment
  severity 0.5 and 3 (harsher punishment must not raise them);
each with the mean paired rise and its standard error (the criterion holds when the rise is
at most two standard errors), and in the same runs the persuaded and pressured per run, the
serving compliers who were reassigned to a rear post (response ladder rung 1) and evaders
per open refuser (evasion over refusal person-months of the officers in the 12
months after the order; the anchor: ~14, Russia 2022-24).

    python scripts/persuaded_outcome_measures.py [--seeds 12] [--officers 150] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simulation.config.loading import load_config
from simulation.model.model import ArmyModel
from simulation.vocabulary import COMPLY, EVADE, OFFICER, REFUSE

OUTCOMES = ("comply", "withdraw_refusal")
FIGHT = "drivers.war_order_level=[{step: 0, value: 1}, {step: 3, value: 3}]"
ORDER_STEP, STEPS = 3, 15
LOW_COST = ("0.6", "decision.order_moral_cost=[0.0, 0.3, 0.8, 0.6]")
HIGH_COST = ("3.4", "decision.order_moral_cost=[0.0, 0.3, 0.8, 3.4]")
CRITERIA: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "depletion (compliers at their own post, moral cost 0.6 -> 3.4)": (
        "cohort_count_comply",
        LOW_COST,
        HIGH_COST,
    ),
    "the same counting compliers at a rear post too (the count before the measure fix)": (
        "compliers_with_rear_post",
        LOW_COST,
        HIGH_COST,
    ),
    "punishment (open refusers, severity 0.5 -> 3)": (
        "cohort_count_refuse",
        ("0.5", "drivers.punishment_severity=0.5"),
        ("3", "drivers.punishment_severity=3"),
    ),
}


def run(
    outcome: str, setting: str, seed: int, officers: int, extra: tuple[str, ...] = ()
) -> dict[str, float]:
    """One run's cohort counts at month 15, the ladder's counts and the evasion ratio."""
    config = load_config(
        None,
        [
            f"population.n_officers={officers}",
            f"steps={STEPS}",
            FIGHT,
            setting,
            f"consequences.response.persuaded_outcome={outcome}",
            *extra,
        ],
    )
    model = ArmyModel(config, seed=seed, views=False)
    officer = model.category == OFFICER
    evader_months = refuser_months = 0
    for step in range(1, STEPS + 1):
        model.step()
        if step > ORDER_STEP:
            acting = model.active & officer
            evader_months += int((acting & (model.choice == EVADE)).sum())
            refuser_months += int((acting & (model.choice == REFUSE)).sum())
    stats = model.stats
    return {
        "cohort_count_comply": float(stats["cohort_count_comply"]),
        "compliers_with_rear_post": float(
            stats["cohort_count_comply"] + stats["cohort_count_comply_at_rear_post"]
        ),
        "cohort_count_refuse": float(stats["cohort_count_refuse"]),
        "cohort_count_evade": float(stats["cohort_count_evade"]),
        "reassigned_compliers": float(
            (model.active & (model.choice == COMPLY) & (model.order_share < 1.0)).sum()
        ),
        "persuaded": float(model.counts["persuaded"]),
        "pressured": float(model.counts["pressured"]),
        "evader_months": float(evader_months),
        "refuser_months": float(refuser_months),
    }


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    """Means over seeds; evaders per open refuser over the pooled person-months."""
    means = {name: float(np.mean([r[name] for r in runs])) for name in runs[0]}
    means["evaders_per_refuser"] = means["evader_months"] / max(means["refuser_months"], 1e-9)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--officers", type=int, default=150)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every run (a knock-out, e.g. of the reassignment rung)",
    )
    arguments = parser.parse_args()
    extra = tuple(arguments.set)
    seeds = range(arguments.seeds)
    started = time.perf_counter()
    print(
        f"{arguments.officers} officers, support role then the order to fight from month "
        f"{ORDER_STEP}, month {STEPS}, seeds 0-{arguments.seeds - 1} (paired)"
        + (f"; with {', '.join(extra)}" if extra else "")
    )
    print(
        "| criterion | persuaded_outcome | low | high | paired rise (2 SE) | holds | "
        "persuaded (low, high) | pressured (low, high) | reassigned compliers (low, high) | "
        "evaders per open refuser (low, high) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for criterion, (column, (low_name, low), (high_name, high)) in CRITERIA.items():
        for outcome in OUTCOMES:
            low_runs = [run(outcome, low, seed, arguments.officers, extra) for seed in seeds]
            high_runs = [run(outcome, high, seed, arguments.officers, extra) for seed in seeds]
            rise = np.array(
                [h[column] - lo[column] for lo, h in zip(low_runs, high_runs, strict=True)]
            )
            error = rise.std(ddof=1) / np.sqrt(rise.shape[0])
            at_low, at_high = summary(low_runs), summary(high_runs)
            print(
                f"| {criterion} | {outcome} | {at_low[column]:.1f} ({low_name}) | "
                f"{at_high[column]:.1f} ({high_name}) | {rise.mean():+.2f} ({2 * error:.2f}) | "
                f"{'yes' if rise.mean() <= 2 * error else 'no'} | "
                f"{at_low['persuaded']:.1f}, {at_high['persuaded']:.1f} | "
                f"{at_low['pressured']:.1f}, {at_high['pressured']:.1f} | "
                f"{at_low['reassigned_compliers']:.1f}, {at_high['reassigned_compliers']:.1f} | "
                f"{at_low['evaders_per_refuser']:.1f}, {at_high['evaders_per_refuser']:.1f} |"
            )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
