"""Specification of config loading: defaults, merging, overrides, schedules, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.config.docs import schema_text
from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig, schedule_value
from simulation.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_configs_priors_and_targets_are_valid(repo: Path) -> None:
    """Every YAML file under configs/ loads as what it is: the priors file, a calibration
    targets file (configs/targets/) or a config."""
    from simulation import load_targets
    from simulation.config.priors import load_priors

    for path in sorted((repo / "configs").rglob("*.yaml")):
        if path.name == "priors.yaml":
            assert load_priors(path).priors, path
        elif "targets" in path.relative_to(repo / "configs").parts:
            assert load_targets(path).targets, path
        else:
            assert isinstance(load_config(path), SimulationConfig), path


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "my_run.yaml", "steps: 3\n")).name == "my_run"


def test_a_file_may_set_one_nested_value_and_keep_the_other_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        "population:\n  attitudes:\n    passive:\n      war_aversion: {mean: 0.9, sd: 0.05}\n",
    )
    config = load_config(path)
    assert config.population.attitudes["passive"].war_aversion.mean == 0.9
    assert config.population.attitudes["passive"].benefit_value.mean == 0.75


def test_extends_inherits_and_child_values_win(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", "steps: 7\ndrivers:\n  war_order_level: 2\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\ndrivers:\n  incentive_level: 1\n")
    config = load_config(child)
    assert (config.steps, config.drivers.war_order_level, config.drivers.incentive_level) == (
        7,
        2,
        1,
    )


def test_overrides_seed_and_steps_replace_file_values(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "seed: 1\nsteps: 5\n")
    config = load_config(path, ["drivers.punishment_severity=2.5"], seed=9, steps=11)
    assert (config.seed, config.steps, config.drivers.punishment_severity) == (9, 11, 2.5)


def test_schedule_takes_last_change_at_or_before_the_step() -> None:
    config = load_config(
        None, ["drivers.war_order_level=[{step: 0, value: 1}, {step: 12, value: 3}]"]
    )
    schedule = config.drivers.war_order_level
    assert [schedule_value(schedule, s) for s in (0, 11, 12, 50)] == [1, 1, 3, 3]


def test_unknown_key_suggests_the_closest_name(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", "drivers:\n  punishment_severty: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "typo.yaml" in message
    assert "drivers.punishment_severty" in message
    assert "did you mean 'punishment_severity'" in message


def test_group_shares_must_sum_to_one() -> None:
    with pytest.raises(ConfigError, match="must sum to 1"):
        load_config(
            None, ["population.group_shares={complicit: 0.5, passive: 0.5, dissenting: 0.5}"]
        )


def test_war_order_level_must_be_whole() -> None:
    with pytest.raises(ConfigError, match="whole numbers"):
        load_config(None, ["drivers.war_order_level=1.5"])


def test_schedule_steps_must_increase() -> None:
    with pytest.raises(ConfigError, match="strictly increasing"):
        load_config(None, ["drivers.incentive_level=[{step: 0, value: 1}, {step: 0, value: 2}]"])


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nowhere.yaml")


def test_schema_text_documents_every_driver_with_its_description() -> None:
    text = schema_text()
    assert "drivers.war_order_level" in text
    assert "order to fight in Ukraine" in text
    assert "population.n_officers: integer [>= 1, <= 2000000] = 2000" in text
