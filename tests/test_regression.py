"""Pinned outputs: optimisations must keep results bit-identical for a given seed.

If a change is *meant* to alter results, regenerate with
`python tests/test_regression.py --update` and say why in the commit message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation.config.loading import load_config
from simulation.experiments.runner import simulate

REFERENCE = Path(__file__).parent / "reference_outputs" / "pinned.json"
CASES: dict[str, list[str]] = {
    "support_role": ["drivers.war_order_level=1"],
    "fight_order": ["drivers.war_order_level=3"],
    "fight_deterministic": ["drivers.war_order_level=3", "decision.temperature=0"],
    "turnover_and_recruitment": [
        "drivers.war_order_level=[{step: 0, value: 1}, {step: 10, value: 3}]",
        "turnover.enabled=true",
        "drivers.russian_recruitment_rate=0.05",
        "drivers.disillusion=0.01",
    ],
    "sorted_units_weakening_regime": [
        "drivers.war_order_level=[{step: 0, value: 1}, {step: 5, value: 2}]",
        "drivers.regime_stability=[{step: 0, value: 0.8}, {step: 20, value: 0.4}]",
        "structure.group_clustering=0.6",
        "structure.cross_unit_ties=4",
    ],
}
COLUMNS = [
    "comply",
    "evade",
    "refuse",
    "passive_evade",
    "dissenting_refuse",
    "n_active",
    "mean_russia_alignment",
    "mean_perceived_strength",
    "hidden_dissent",
]


def outputs(name: str) -> dict[str, list[float]]:
    """Per-step values of the pinned columns for one case (600 officers, 40 steps, seed 11)."""
    config = load_config(None, ["population.n_officers=600", "steps=40", *CASES[name]])
    series = simulate(config, seed=11).series
    return {column: series[column].astype(float).tolist() for column in COLUMNS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pinned_outputs_are_unchanged(name: str) -> None:
    pinned = json.loads(REFERENCE.read_text())[name]
    current = outputs(name)
    for column in COLUMNS:
        np.testing.assert_array_equal(current[column], pinned[column], err_msg=column)


if __name__ == "__main__" and "--update" in sys.argv:
    REFERENCE.write_text(json.dumps({name: outputs(name) for name in sorted(CASES)}, indent=1))
    print(f"wrote {REFERENCE}")
