"""Single runs of the order to fight at several punishment severities (README, "what tips
the balance"): at the last month, the serving officers' shares (denominator: officers
serving then) and the starting force's cohort states (denominator: the force at month 0).

Usage: python scripts/punishment_single_runs.py [--seed 1] [--steps 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulation import simulate
from simulation.config.loading import load_config

REPO = Path(__file__).resolve().parent.parent
SEVERITIES = (0.0, 1.0, 2.0, 4.0, 8.0)
SERVING = ("comply", "evade", "refuse")
COHORT = (
    "cohort_comply",
    "cohort_comply_at_rear_post",
    "cohort_evade",
    "cohort_refuse",
    "cohort_dismissed",
    "cohort_jailed",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    print("severity " + " ".join(f"{name:>26}" for name in SERVING + COHORT))
    for severity in SEVERITIES:
        config = load_config(
            REPO / "configs" / "scenarios" / "fight_order.yaml",
            [f"drivers.punishment_severity={severity}", f"steps={args.steps}"],
        )
        last = simulate(config, seed=args.seed).series.iloc[-1]
        print(f"{severity:8g} " + " ".join(f"{last[name]:26.3f}" for name in SERVING + COHORT))


if __name__ == "__main__":
    main()
