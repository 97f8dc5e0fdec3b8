"""Specification of the checks `calibrate` and `ensemble` make before their first simulation
(simulation/analysis/preflight.py), and of a calibration on a tiny budget: it completes its
first generation and writes a posterior (the bad options themselves are cases of
tests/bad_inputs/hostile/cases.yaml)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.analysis.calibration import calibrate
from simulation.analysis.ensemble import run_ensemble
from simulation.errors import ConfigError
from tests.test_hostile_inputs import BASELINE, TARGETS


def targets(**target: object) -> dict:
    data = {**TARGETS, "targets": {"t": {**TARGETS["targets"]["t"], **target}}}
    return data


def test_a_tiny_budget_gives_a_posterior(tmp_path: Path) -> None:
    """Population 10 and 20 simulations: the first generation completes (pyabc's prior
    sample and one generation take more than 20), then the budget stops the calibration."""
    result = calibrate(targets(), out=tmp_path / "abc", workers=1, progress=False)
    posterior = pd.read_csv(tmp_path / "abc" / "posterior.csv")
    assert len(posterior) == 10 and posterior["weight"].gt(0).all()
    assert result.manifest["generations"] == 1


def test_a_target_that_cannot_be_computed_stops_before_the_calibration(tmp_path: Path) -> None:
    """`refuse / 0` is NaN in every pilot run: one error within seconds, nothing written."""
    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot be computed"):
        calibrate(targets(output="refuse / 0"), out=tmp_path / "abc", workers=1, progress=False)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "abc").exists()


def test_an_ensemble_refuses_a_posterior_with_nan(tmp_path: Path) -> None:
    calibrate(targets(), out=tmp_path / "abc", workers=1, progress=False)
    posterior = pd.read_csv(tmp_path / "abc" / "posterior.csv")
    posterior.loc[0, "decision.temperature"] = float("nan")
    posterior.to_csv(tmp_path / "abc" / "posterior.csv", index=False)
    with pytest.raises(ConfigError, match="NaN, infinite or no weights"):
        run_ensemble(
            BASELINE, posterior=tmp_path / "abc", draws=2, steps=2, workers=1, progress=False
        )


def test_the_first_generation_completes_whatever_the_budget() -> None:
    """50 particles at 1 acceptance in 10 with a budget of 120: generation 0 still gets its
    50 (a later generation would be cut short at 120, tests/test_calibration.py)."""
    from simulation.analysis.abc_glue import SeededMapSampler
    from tests.test_calibration import _rare_particle

    sampler = SeededMapSampler(lambda f, items: map(f, items), root=5, budget=120)
    sample = sampler.sample_until_n_accepted(50, _rare_particle, 0)
    assert sample.n_accepted == 50 and getattr(sample, "ok", True)
    assert sampler.used > 120
