"""Specification of scenarios with their own config file (`scenarios.<name>.config`):
runs start from that file (with `extends` and defaults), then base.overrides, then the
scenario's overrides, then design values; each keeps its own steps unless the experiment
sets `steps`; a missing file fails up front; a changed file makes --resume refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simulation.cli import main
from simulation.config.loading import load_config
from simulation.experiments.design import load_experiment
from simulation.experiments.figures import plot_scenarios
from simulation.experiments.runner import simulate

REPO = Path(__file__).resolve().parent.parent


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """configs/small.yaml (support role, 4 steps) and configs/war.yaml, which extends it:
    the order to fight from step 2, incentives 0.5, 7 steps."""
    folder = tmp_path / "configs"
    write_yaml(
        folder / "small.yaml",
        {
            "name": "small",
            "steps": 4,
            "population": {"n_officers": 150},
            "drivers": {"war_order_level": 1},
        },
    )
    write_yaml(
        folder / "war.yaml",
        {
            "extends": "small.yaml",
            "steps": 7,
            "drivers": {
                "war_order_level": [{"step": 0, "value": 1}, {"step": 2, "value": 3}],
                "incentive_level": 0.5,
            },
        },
    )
    return folder


def experiment(tmp_path: Path, **fields: Any) -> Path:
    """experiments/mixed.yaml: a scenario on the base config and one on configs/war.yaml."""
    data: dict[str, Any] = {
        "base": {"config": "../configs/small.yaml"},
        "scenarios": {"calm": {}, "war": {"config": "../configs/war.yaml"}},
        "replications": 2,
        "seed": 5,
        **fields,
    }
    return write_yaml(tmp_path / "experiments" / "mixed.yaml", data)


def sweep(path: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(path), "--out", str(out), "--no-progress", *extra])


def test_scenario_with_its_own_config_runs_from_it(tmp_path: Path, configs: Path) -> None:
    path = experiment(tmp_path)
    loaded = load_experiment(path)
    calm, war = (loaded.point_config(point.index) for point in loaded.points)
    assert (calm.steps, war.steps) == (4, 7)
    assert calm.drivers.war_order_level == 1 and calm.drivers.incentive_level == 0
    assert war.drivers.incentive_level == 0.5 and war.population.n_officers == 150
    assert loaded.steps_label == "4-7"

    out = tmp_path / "out"
    assert sweep(path, out, "--workers", "1") == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs.groupby("scenario")["steps_run"].unique().to_dict() == {"calm": [4], "war": [7]}
    # a war run equals a plain run of the scenario file with the same seed
    first_war = runs[runs["scenario"] == "war"].iloc[0]
    direct = simulate(load_config(configs / "war.yaml"), seed=int(first_war["seed"]))
    for choice in ("comply", "evade", "refuse"):
        assert first_war[f"final_{choice}"] == pytest.approx(direct.series[choice].iloc[-1])
    resolved = yaml.safe_load((out / "scenario_configs.resolved.yaml").read_text())
    assert list(resolved) == ["war"] and resolved["war"]["steps"] == 7
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    assert manifest["steps"] == "4-7"


def test_experiment_steps_apply_to_every_scenario(tmp_path: Path, configs: Path) -> None:
    loaded = load_experiment(experiment(tmp_path, steps=3))
    assert [loaded.point_config(p.index).steps for p in loaded.points] == [3, 3]
    assert loaded.steps_label == 3


def test_overrides_layer_file_then_base_then_scenario_then_design(
    tmp_path: Path, configs: Path
) -> None:
    path = experiment(
        tmp_path,
        base={
            "config": "../configs/small.yaml",
            "overrides": {
                "drivers.incentive_level": 1.5,  # beats the war file's 0.5
                "drivers.detection_capacity": 2.0,
                "drivers.amnesty": 0.25,
            },
        },
        scenarios={
            "calm": {},
            "war": {
                "config": "../configs/war.yaml",
                "drivers.detection_capacity": 3.0,  # beats base.overrides
                "drivers.punishment_severity": 2.0,
            },
        },
        vary={"drivers.punishment_severity": [0.5, 4.0]},  # design values come last
    )
    loaded = load_experiment(path)
    configs_by_point = {
        (p.scenario, p.overrides["drivers.punishment_severity"]): loaded.point_config(p.index)
        for p in loaded.points
    }
    for severity in (0.5, 4.0):
        war = configs_by_point[("war", severity)]
        assert war.drivers.incentive_level == 1.5
        assert war.drivers.detection_capacity == 3.0
        assert war.drivers.amnesty == 0.25
        assert war.drivers.punishment_severity == severity
        assert war.steps == 7 and war.drivers.war_order_level[-1].value == 3
        calm = configs_by_point[("calm", severity)]
        assert calm.drivers.detection_capacity == 2.0 and calm.drivers.war_order_level == 1
    # parameter columns show each point's own values
    values = {
        (loaded.points[i].scenario, row["drivers.punishment_severity"]): row
        for i, row in enumerate(loaded.point_values)
    }
    assert values[("war", 0.5)]["drivers.detection_capacity"] == 3.0
    assert values[("calm", 0.5)]["drivers.detection_capacity"] == 2.0


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"config": "../configs/nowhere.yaml"}, ["scenarios.war.config", "not found"]),
        ({"config": 3}, ["scenarios.war.config", "expected the path of a config file"]),
    ],
    ids=["missing_file", "not_a_path"],
)
def test_bad_scenario_config_gives_one_line_and_exit_2(
    tmp_path: Path,
    configs: Path,
    capsys: pytest.CaptureFixture[str],
    entry: dict[str, Any],
    expected: list[str],
) -> None:
    path = experiment(tmp_path, scenarios={"calm": {}, "war": entry})
    out = tmp_path / "out"
    assert sweep(path, out, "--workers", "1") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert "Traceback" not in error
    for fragment in expected:
        assert fragment in error, f"{fragment!r} not in {error!r}"
    assert not out.exists()


def test_invalid_scenario_config_is_named(
    tmp_path: Path, configs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_yaml(configs / "war.yaml", {"extends": "small.yaml", "drivers": {"war_order_levl": 3}})
    assert sweep(experiment(tmp_path), tmp_path / "out", "--workers", "1") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "scenarios.war.config" in error
    assert "did you mean 'war_order_level'" in error


def test_changed_scenario_file_makes_resume_refuse(
    tmp_path: Path, configs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(tmp_path)
    out = tmp_path / "out"
    assert sweep(path, out, "--workers", "1") == 0
    assert sweep(path, out, "--workers", "1", "--resume") == 0  # unchanged: fine
    capsys.readouterr()
    war = yaml.safe_load((configs / "war.yaml").read_text())
    war["drivers"]["incentive_level"] = 0.75
    write_yaml(configs / "war.yaml", war)
    assert sweep(path, out, "--workers", "1", "--resume") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "changed since this folder was started" in error


def test_scenario_files_give_the_same_runs_on_one_and_two_workers(
    tmp_path: Path, configs: Path
) -> None:
    path = experiment(tmp_path, replications=3, batch_size=2)
    assert sweep(path, tmp_path / "one", "--workers", "1") == 0
    assert sweep(path, tmp_path / "two", "--workers", "2") == 0
    one = pd.read_parquet(tmp_path / "one" / "runs.parquet")
    two = pd.read_parquet(tmp_path / "two" / "runs.parquet")
    pd.testing.assert_frame_equal(one, two)


def test_shipped_scenarios_experiment_lists_every_scenario_file() -> None:
    loaded = load_experiment(REPO / "experiments" / "scenarios.yaml")
    files = sorted(path.stem for path in (REPO / "configs" / "scenarios").glob("*.yaml"))
    assert len(files) == 14
    assert sorted(loaded.spec.scenarios) == files
    assert sorted(loaded.scenario_files) == files
    for point in loaded.points:
        own = load_config(REPO / "configs" / "scenarios" / f"{point.scenario}.yaml")
        config = loaded.point_config(point.index)
        assert config.steps == own.steps
        assert config.drivers == own.drivers
        assert config.population.n_officers == 2000
    assert loaded.replications == 20 and loaded.n_runs == 280


def test_many_scenarios_are_drawn_as_horizontal_bars(tmp_path: Path) -> None:
    names = [f"scenario_with_a_long_name_{i}" for i in range(11)]
    rows = [
        {
            "point": point,
            "scenario": name,
            "measure": "final",
            "category": category,
            "choice": choice,
            "mean": 0.3,
            "ci_low": 0.25,
            "ci_high": 0.35,
        }
        for point, name in enumerate(names)
        for category in ("overall", "complicit", "passive", "dissenting")
        for choice in ("comply", "evade", "refuse")
    ]
    path = plot_scenarios(pd.DataFrame(rows), tmp_path / "scenarios.png", "many")
    from PIL import Image

    width, height = Image.open(path).size
    assert width < 2000 and height > width / 2
