"""Specification of scenario discovery (PRIM boxes and CART rules)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.analysis.discovery import cart_regions, inputs_and_outcome, prim_regions
from simulation.cli import main
from simulation.errors import ArgumentError


@pytest.fixture
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    """600 points in the unit cube; the cases of interest are exactly a > 0.6 and b < 0.4."""
    rng = np.random.default_rng(0)
    inputs = pd.DataFrame(rng.random((600, 3)), columns=["a", "b", "c"])
    flags = ((inputs["a"] > 0.6) & (inputs["b"] < 0.4)).to_numpy()
    return inputs, flags


def test_prim_box_recovers_the_planted_region(planted) -> None:
    inputs, flags = planted
    box = prim_regions(inputs, flags, threshold=0.9, boxes=1)[0]
    assert set(box.limits) == {"a", "b"}
    assert box.limits["a"][0] == pytest.approx(0.6, abs=0.05)
    assert box.limits["b"][1] == pytest.approx(0.4, abs=0.05)
    assert box.density >= 0.9 and box.coverage >= 0.8


def test_cart_rule_recovers_the_planted_region(planted) -> None:
    inputs, flags = planted
    best = cart_regions(inputs, flags, max_depth=2)[0]
    assert best.limits["a"][0] == pytest.approx(0.6, abs=0.03)
    assert best.limits["b"][1] == pytest.approx(0.4, abs=0.03)
    assert best.density > 0.95


def test_no_cases_of_interest_gives_no_region(planted) -> None:
    inputs, _ = planted
    none = np.zeros(len(inputs), dtype=bool)
    assert prim_regions(inputs, none) == [] and cart_regions(inputs, none) == []


def test_unknown_outcome_is_an_argument_error() -> None:
    runs = pd.DataFrame({"x": [0.1, 0.2], "final_refuse": [0.1, 0.3], "status": ["ok", "ok"]})
    manifest = {"parameters": ["x"], "sampled": [{"name": "x"}]}
    with pytest.raises(ArgumentError, match="unknown outcome 'refusal'"):
        inputs_and_outcome(runs, manifest, "refusal", 0.2)


def test_failed_runs_are_left_out() -> None:
    runs = pd.DataFrame(
        {"x": [0.1, 0.2, 0.3], "final_refuse": [0.1, 0.3, np.nan], "status": ["ok", "ok", "failed"]}
    )
    inputs, flags = inputs_and_outcome(runs, {"parameters": ["x"]}, "refuse", 0.2)
    assert len(inputs) == 2 and flags.tolist() == [False, True]


def test_discover_command_on_a_latin_hypercube_sweep(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = tmp_path / "lhs.yaml"
    experiment.write_text(
        f"base:\n  config: {repo / 'configs' / 'baseline.yaml'}\n"
        "  overrides:\n    drivers.war_order_level: 3\n    population.n_officers: 200\n"
        "design:\n  kind: lhs\n  samples: 30\n"
        "vary:\n  population.group_shares.dissenting: {low: 0.05, high: 0.4}\n"
        "  drivers.punishment_severity: {low: 0, high: 4}\n"
        "expressions:\n  population.group_shares.passive: 0.85 - dissenting\n"
        "replications: 1\nsteps: 15\nseed: 2\n"
    )
    results = tmp_path / "results"
    assert (
        main(["sweep", str(experiment), "--workers", "1", "--out", str(results), "--no-progress"])
        == 0
    )
    # refusal a month after the order, before arrests and dismissals thin the refusers
    metric = ["--metric", "at_order_plus_1_refuse", "--above", "0.4"]
    assert main(["discover", str(results), *metric]) == 0
    data = json.loads((results / "discovery" / "discovery.json").read_text())
    assert data["runs"] == 30 and data["regions"]
    assert any("dissenting" in region["rule"] for region in data["regions"])
    assert "coverage" in capsys.readouterr().out
