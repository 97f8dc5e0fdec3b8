"""Behavioural measures of a scenario at its defaults, over seeds (issue 22).

For each scenario: 12 months after its order (the step the order reaches its highest level),
over the officers of the starting force:
- the choice shares of the serving officers, overall and by group (denominator: the
  group's serving officers at the measured step);
- evaders per open refuser: evasion person-months over refusal person-months among
  officers (and among all personnel), summed over the 12 months after the order (the
  anchor: Russia 2022-24, AWOL 9,059 : insubordination 627, ~14 evaders per open refuser);
- arrests per month per 1,000 members serving at the order (all personnel);
- the share of serving officers whose most likely action has probability > 0.99 (the
  logit at the model's temperature) at the measured step.

Usage: python scripts/behaviour_measures.py [--seeds 5] [--officers 2000] [--set KEY=VALUE]
[scenario.yaml ...]
(PYTHONPATH=/path/to/other/checkout runs the same measures on another version of the model.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import yaml

from simulation.model.choice import action_utilities
from simulation.model.model import ArmyModel
from simulation.vocabulary import CHOICES, EVADE, GROUPS, OFFICER, REFUSE

SCENARIOS = ("configs/baseline.yaml", "configs/scenarios/fight_order.yaml")


def order_step(model: ArmyModel) -> int:
    """The step at which the order reaches its highest level (0 for a constant order)."""
    schedule = model.config.drivers.war_order_level
    if isinstance(schedule, list):
        top = max(change.value for change in schedule)
        return min(int(change.step) for change in schedule if change.value == top)
    return 0


def confident_share(model: ArmyModel, officers: np.ndarray) -> float:
    """Share of `officers` whose most likely action has logit probability > 0.99."""
    utilities, _ = action_utilities(model)
    model._seen = None
    temperature = model.config.decision.temperature
    chosen = utilities[officers]
    if temperature <= 0:
        return 1.0
    scaled = chosen / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    best = weights.max(axis=1) / weights.sum(axis=1)
    return float((best > 0.99).mean())


def measure(
    path: str, seed: int, officers: int, overrides: dict[str, object] | None = None
) -> dict[str, float]:
    """One run's measures, 12 months after the order (with `overrides` of the config)."""
    model = ArmyModel(
        path,
        seed=seed,
        views=False,
        overrides={"population.n_officers": officers, **(overrides or {})},
    )
    start = order_step(model)
    while model.steps < start:
        model.step()
    serving_at_order = max(int(model.active.sum()), 1)
    arrested_at_order = model.counts["arrested"]
    officer = model.category == OFFICER
    evader_months = refuser_months = all_evader_months = all_refuser_months = 0
    for _ in range(12):
        model.step()
        acting = model.active & officer
        evader_months += int((acting & (model.choice == EVADE)).sum())
        refuser_months += int((acting & (model.choice == REFUSE)).sum())
        all_evader_months += int((model.active & (model.choice == EVADE)).sum())
        all_refuser_months += int((model.active & (model.choice == REFUSE)).sum())
    serving = model.active & officer
    result: dict[str, float] = {
        choice: float((model.choice[serving] == code).mean())
        for code, choice in enumerate(CHOICES[:3])
    }
    for g, group in enumerate(GROUPS):
        members = serving & (model.group == g)
        for code, choice in enumerate(CHOICES[:3]):
            result[f"{group}_{choice}"] = float((model.choice[members] == code).mean())
    result["evaders_per_refuser"] = evader_months / max(refuser_months, 1)
    result["evaders_per_refuser_all_personnel"] = all_evader_months / max(all_refuser_months, 1)
    result["arrests_per_month_per_1000"] = (
        1000.0 * (model.counts["arrested"] - arrested_at_order) / 12 / serving_at_order
    )
    result["confident_share"] = confident_share(model, np.flatnonzero(serving))
    result["serving_share"] = float(serving.sum() / max(officer.sum(), 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--officers", type=int, default=2000)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a config override"
    )
    arguments = parser.parse_args()
    overrides = {
        key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in arguments.set)
    }
    for path in arguments.scenarios:
        started = time.perf_counter()
        runs = [
            measure(path, seed, arguments.officers, overrides)
            for seed in range(1, arguments.seeds + 1)
        ]
        print(
            f"{path} ({arguments.seeds} seeds, {arguments.officers} officers, +12 months"
            f"{''.join(f', {item}' for item in arguments.set)}; "
            f"{time.perf_counter() - started:.0f} s)"
        )
        for name in runs[0]:
            values = np.array([run[name] for run in runs])
            print(
                f"  {name:32s} {values.mean():8.3f}  (range {values.min():.3f}-{values.max():.3f})"
            )


if __name__ == "__main__":
    main()
