"""The whole force at the defaults: the figures quoted in docs/ODD.md §8.2.

Runs configs/scenarios/mobilisation.yaml (1,000 officers and their men in the seed's
proportions, 47,500 agents) over three seeds as it stands, with the men weighing the
sanction for refusal three times as heavily, and with Epstein's arrests by capacity, and
prints the mean shares 1 and 12 months after the order.

    python scripts/whole_force_findings.py
"""

from __future__ import annotations

import numpy as np

from simulation import load_config, simulate

MEN = ("contract_soldier", "conscript", "service_staff", "reservist", "territorial_defence")
VARIANTS = {
    "defaults": {},
    "the men weigh the sanction x3": {
        f"personnel.categories.{name}.punishment_multiplier": 3.0 for name in MEN
    },
    "arrests by capacity": {"consequences.arrest_rule": "capacity"},
}
COLUMNS = (
    "comply",
    "evade",
    "refuse",
    "officer_comply",
    "officer_refuse",
    "conscript_refuse",
    "reservist_refuse",
    "reservist_evade",
    "arrested_share",
)


def main() -> None:
    base = load_config("configs/scenarios/mobilisation.yaml").to_dict()
    order_month = 12
    for label, settings in VARIANTS.items():
        series = [
            simulate(
                load_config(base, {"population.n_officers": 1000, "seed": seed, **settings})
            ).series
            for seed in (1, 2, 3)
        ]
        for lag in (1, 12):
            month = order_month + lag
            means = {name: float(np.mean([s.loc[month, name] for s in series])) for name in COLUMNS}
            cells = ", ".join(f"{name} {value:.3f}" for name, value in means.items())
            print(f"{label}, +{lag}: {cells}")


if __name__ == "__main__":
    main()
