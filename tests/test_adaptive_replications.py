"""Specification of adaptive replications: each design point runs until the 95% interval
of its mean is tight enough (or its maximum), and the runs made are the same whatever the
workers, the batch size or an interruption."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from simulation.experiments.adaptive import half_width, next_target
from simulation.experiments.spec import ReplicationRule
from simulation.experiments.sweep import run_experiment
from tests.sweep_support import runs, sweep

REPO = Path(__file__).resolve().parent.parent
RULE = {"until_ci_halfwidth": 0.02, "min": 3, "max": 12, "metrics": ["refuse", "evade"]}


def experiment(**changes: Any) -> dict[str, Any]:
    """Points whose spread differs: peacetime (no one refuses: tight at once) and the
    order to fight on a small force (noisy)."""
    data: dict[str, Any] = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 60},
        },
        "vary": {"drivers.war_order_level": [0, 3]},
        "replications": RULE,
        "steps": 6,
        "seed": 2,
        "batch_size": 2,
    }
    data.update(changes)
    return data


def rule(**changes: Any) -> ReplicationRule:
    return ReplicationRule.model_validate({**RULE, **changes})


def test_a_point_whose_outcomes_agree_stops_at_the_minimum() -> None:
    assert next_target(rule(), np.full((3, 2), 0.25)) is None


def test_a_noisy_point_asks_for_the_runs_its_spread_needs_at_most_doubling() -> None:
    outcomes = np.array([[0.1, 0.5], [0.3, 0.5], [0.2, 0.5]])
    wanted = math.ceil((stats.t.ppf(0.975, 2) * 0.1 / 0.02) ** 2)
    assert wanted > 6
    assert next_target(rule(max=1000), outcomes) == 6


def test_a_point_stops_at_its_maximum_however_wide_its_interval() -> None:
    outcomes = np.array([[0.0], [1.0]] * 6)
    assert next_target(rule(max=12, metrics=["refuse"]), outcomes) is None


def test_failed_runs_leave_the_interval_undecided_and_ask_for_more() -> None:
    outcomes = np.array([[0.2, 0.5], [np.nan, np.nan], [np.nan, np.nan]])
    assert next_target(rule(), outcomes) == 4


def test_each_point_ends_tight_or_at_its_maximum(tmp_path: Path) -> None:
    result = run_experiment(experiment(), workers=1, progress=False, cache=False)
    assert result.complete
    counts = result.runs.groupby("point").size()
    assert (counts >= 3).all() and (counts <= 12).all()
    assert counts[0] == 3, "peacetime: every run agrees, so the minimum suffices"
    for point, group in result.runs.groupby("point"):
        widths = [half_width(group[f"final_{m}"].to_numpy(float)) for m in ("refuse", "evade")]
        assert max(widths) <= 0.02 or len(group) == 12, (point, widths)


def test_the_same_runs_whatever_the_workers_and_batch_size(tmp_path: Path) -> None:
    one = run_experiment(experiment(), workers=1, progress=False, cache=False).runs
    two = run_experiment(experiment(batch_size=5), workers=2, progress=False, cache=False).runs
    pd.testing.assert_frame_equal(one, two)


def test_an_interrupted_adaptive_sweep_resumes_to_the_same_runs(tmp_path: Path) -> None:
    """Parts lost (as if killed mid-sweep) are made again, and the decisions that follow
    them come out the same."""
    path = tmp_path / "adaptive.yaml"
    path.write_text(yaml.safe_dump(experiment()), encoding="utf-8")
    common = ("--workers", "1", "--no-cache")
    full = runs(sweep(path, tmp_path / "full", *common))
    out = sweep(path, tmp_path / "cut", *common)
    for part in sorted((out / "parts").glob("runs-*.parquet"))[2:]:
        part.unlink()
    (out / "runs.parquet").unlink()
    sweep(path, out, "--resume", *common)
    pd.testing.assert_frame_equal(runs(out), full)


def test_the_summary_says_which_points_stayed_wide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "adaptive.yaml"
    tight = {**RULE, "until_ci_halfwidth": 0.0001, "max": 4}
    path.write_text(yaml.safe_dump(experiment(replications=tight)), encoding="utf-8")
    sweep(path, tmp_path / "out", "--workers", "1", "--no-cache")
    assert "1 design point(s) reached 4 replications with a 95% CI still wider" in (
        capsys.readouterr().err
    )
