"""RELUCTANT_ARMY_EXAMPLE_SCALE=small caps every size an input sets, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulation import ConfigError, Experiment, load_config
from simulation.analysis import preflight
from simulation.config.example_scale import VARIABLE
from simulation.config.targets import targets_from_dict


def test_without_the_switch_a_config_keeps_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    config = load_config(None, {"population.n_officers": 5000, "steps": 60})
    assert (config.population.n_officers, config.steps) == (5000, 60)


def test_small_caps_officers_and_steps_of_a_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "small")
    config = load_config({"population": {"n_officers": 5000}, "steps": 60})
    assert (config.population.n_officers, config.steps) == (200, 24)


def test_small_leaves_overrides_standing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A horizon a tool computes (a hysteresis ramp) is part of the example, not its size."""
    monkeypatch.setenv(VARIABLE, "small")
    config = load_config({"steps": 60}, {"steps": 250})
    assert (config.population.n_officers, config.steps) == (200, 250)


def test_small_leaves_smaller_sizes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "small")
    config = load_config({"population": {"n_officers": 50}, "steps": 6})
    assert (config.population.n_officers, config.steps) == (50, 6)


def test_small_caps_replications_and_samples_of_an_experiment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VARIABLE, "small")
    experiment = Experiment.from_dict(
        {
            "base": {"config": {}},
            "design": {"kind": "lhs", "samples": 40},
            "vary": {"decision.social_weight": {"low": 0.1, "high": 0.6}},
            "replications": 4,
        }
    )
    assert (len(experiment.points), experiment.replications) == (8, 2)


def test_small_caps_a_calibration(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv(VARIABLE, "small")
    path = repo / "configs" / "targets" / "anchors.yaml"
    targets = targets_from_dict(yaml.safe_load(path.read_text()), path, path.parent)
    abc = targets.spec.abc
    assert (abc.population_size, abc.generations, abc.max_simulations) == (20, 3, 200)
    assert targets.spec.predictive_draws == 5


def test_small_caps_a_budget_given_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    """A documented calibration that sets its own budget (`--population-size 80
    --max-simulations 2000`) still runs at the small size."""
    monkeypatch.setenv(VARIABLE, "small")
    path = repo / "configs" / "targets" / "anchors.yaml"
    targets = targets_from_dict(yaml.safe_load(path.read_text()), path, path.parent)
    updates = {"population_size": 80, "generations": 4, "max_simulations": 2000}
    abc = preflight.abc_settings(targets, updates)
    assert (abc.population_size, abc.generations, abc.max_simulations) == (20, 3, 200)
    assert preflight.predictive_draws(targets, 40) == 5


def test_without_the_switch_a_command_line_budget_stands(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    path = repo / "configs" / "targets" / "anchors.yaml"
    targets = targets_from_dict(yaml.safe_load(path.read_text()), path, path.parent)
    abc = preflight.abc_settings(targets, {"population_size": 80, "max_simulations": 2000})
    assert (abc.population_size, abc.max_simulations) == (80, 2000)
    assert preflight.predictive_draws(targets, 40) == 40


def test_an_unknown_scale_is_one_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "tiny")
    with pytest.raises(ConfigError, match="RELUCTANT_ARMY_EXAMPLE_SCALE: expected 'small'"):
        load_config(None)
