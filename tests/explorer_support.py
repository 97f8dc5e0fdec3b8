"""Small results folders for the explorer and report tests (seconds to build)."""

from __future__ import annotations

from pathlib import Path

from simulation import Experiment, run_experiment

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert('description')</script><img src=x onerror=\"alert('img')\">"
"""A description that would run script in a page that does not escape it."""


def orders_sweep(out: Path, description: str = "Orders, small.") -> Path:
    """Two scenarios (one with its own config file) x two punishment levels, 3 replications,
    a series every 3 months, shares by group and by rank."""
    metrics = [
        f"{category}{choice}"
        for category in ("", "complicit_", "passive_", "dissenting_", "senior_", "junior_")
        for choice in ("comply", "evade", "refuse")
    ]
    experiment = Experiment.from_dict(
        {
            "name": "orders",
            "description": description,
            "base": {
                "config": str(REPO / "configs" / "baseline.yaml"),
                "overrides": {"population.n_officers": 200},
            },
            "scenarios": {
                "support": {"drivers.war_order_level": 1},
                "fight": {"config": str(REPO / "configs" / "scenarios" / "fight_order.yaml")},
            },
            "vary": {"drivers.punishment_severity": [0.0, 2.0]},
            "replications": 3,
            "steps": 18,
            "seed": 5,
            "record_every": 3,
            "metrics": metrics,
        }
    )
    run_experiment(experiment, workers=1, out=out, progress=False)
    return out


def grid_sweep(out: Path) -> Path:
    """Two parameters on a grid (a heatmap), 2 replications, no series."""
    experiment = Experiment.from_dict(
        {
            "name": "grid",
            "base": {
                "config": str(REPO / "configs" / "baseline.yaml"),
                "overrides": {"population.n_officers": 150, "drivers.war_order_level": 3},
            },
            "vary": {
                "drivers.incentive_level": [0.0, 1.5],
                "drivers.punishment_severity": [0.0, 2.0, 4.0],
            },
            "replications": 2,
            "steps": 10,
            "seed": 9,
        }
    )
    run_experiment(experiment, workers=1, out=out, progress=False)
    return out
