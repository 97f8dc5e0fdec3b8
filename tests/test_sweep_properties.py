"""Property of every sweep: its results do not depend on how many workers run it.

Hypothesis draws small valid factorial experiments: 2-3 parameters from a list of safe ones
(numeric, whole-number and boolean), each with 1-2 random values, 1-3 replications, 50-150
officers, 1-8 steps, a random root seed and batch size, and either outcomes only or a
per-step series every 1-3 steps. The sweep run in this process
(--workers 1) and on two worker processes (--workers 2) must write identical runs, series
and summary tables.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.cli import main

REPO = Path(__file__).resolve().parent.parent

PARAMETERS: dict[str, st.SearchStrategy[Any]] = {
    "drivers.punishment_severity": st.floats(0.0, 3.0),
    "drivers.detection_capacity": st.floats(0.0, 3.0),
    "drivers.incentive_level": st.floats(0.0, 2.0),
    "drivers.russian_propaganda": st.floats(0.0, 0.05),
    "drivers.isolation": st.floats(0.0, 1.0),
    "drivers.war_order_level": st.integers(0, 3),
    "decision.social_weight": st.floats(0.0, 2.0),
    "decision.enable_evasion": st.booleans(),
}
"""Parameters safe to vary over their whole drawn range, with what values they take."""


@st.composite
def experiments(draw: st.DrawFn) -> dict[str, Any]:
    """A small valid factorial experiment (at most 8 points x 3 replications)."""
    names = draw(st.lists(st.sampled_from(sorted(PARAMETERS)), min_size=2, max_size=3, unique=True))
    vary = {
        name: draw(st.lists(PARAMETERS[name], min_size=1, max_size=2, unique=True))
        for name in names
    }
    return {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": draw(st.integers(50, 150))},
        },
        "vary": vary,
        "replications": draw(st.integers(1, 3)),
        "steps": draw(st.integers(1, 8)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "batch_size": draw(st.integers(1, 4)),
        "record_every": draw(st.just("end") | st.integers(1, 3)),
    }


def sweep(path: Path, out: Path, workers: int) -> Path:
    command = ["sweep", str(path), "--out", str(out), "--workers", str(workers), "--no-progress"]
    assert main(command) == 0
    return out


@settings(max_examples=6, deadline=None)
@given(experiment=experiments())
def test_one_and_two_workers_write_identical_tables(experiment: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "random.yaml"
        path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
        one = sweep(path, tmp / "one", workers=1)
        two = sweep(path, tmp / "two", workers=2)
        tables = ["runs.parquet"]
        if experiment["record_every"] != "end":
            tables.append("series.parquet")
        for table in tables:
            pd.testing.assert_frame_equal(
                pd.read_parquet(one / table), pd.read_parquet(two / table)
            )
        pd.testing.assert_frame_equal(
            pd.read_csv(one / "summary.csv"), pd.read_csv(two / "summary.csv")
        )
        assert (pd.read_parquet(one / "runs.parquet")["status"] == "ok").all()
