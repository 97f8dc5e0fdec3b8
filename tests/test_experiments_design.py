"""Specification of experiment files: what design points, parameters and seeds they give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulation.experiments.design import load_experiment, run_seed

REPO = Path(__file__).resolve().parent.parent


def experiment_file(tmp_path: Path, **fields: Any) -> Path:
    """An experiment on the baseline at 200 officers, with the given top-level fields."""
    data: dict[str, Any] = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 200},
        },
        "steps": 5,
        **fields,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def varied(experiment: Any, name: str) -> list[Any]:
    return [values[name] for values in experiment.point_values]


def test_stepped_range_includes_its_stop_value(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path, vary={"drivers.punishment_severity": {"start": 0, "stop": 1, "step": 0.25}}
    )
    assert varied(load_experiment(path), "drivers.punishment_severity") == [
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    ]


def test_factorial_design_crosses_every_list_with_every_other(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        vary={"drivers.incentive_level": [0, 1], "drivers.punishment_severity": [0, 2, 4]},
        replications=3,
    )
    experiment = load_experiment(path)
    pairs = {
        (v["drivers.incentive_level"], v["drivers.punishment_severity"])
        for v in experiment.point_values
    }
    assert pairs == {(i, p) for i in (0.0, 1.0) for p in (0.0, 2.0, 4.0)}
    assert experiment.n_runs == 18


def test_zip_group_varies_its_parameters_together(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        vary={"zip": {"drivers.incentive_level": [0, 1, 2], "drivers.amnesty": [0.1, 0.2, 0.3]}},
    )
    experiment = load_experiment(path)
    assert [
        (v["drivers.incentive_level"], v["drivers.amnesty"]) for v in experiment.point_values
    ] == [
        (0.0, 0.1),
        (1.0, 0.2),
        (2.0, 0.3),
    ]


def test_every_scenario_gets_every_design_point(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        scenarios={"low": {"drivers.war_order_level": 1}, "high": {"drivers.war_order_level": 3}},
        vary={"drivers.incentive_level": [0, 1]},
    )
    experiment = load_experiment(path)
    assert [p.scenario for p in experiment.points] == ["low", "low", "high", "high"]
    assert varied(experiment, "drivers.war_order_level") == [1.0, 1.0, 3.0, 3.0]


def test_parameters_table_shows_base_values_where_a_scenario_sets_none(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        scenarios={"plain": {}, "crackdown": {"drivers.punishment_severity": 3.0}},
    )
    assert varied(load_experiment(path), "drivers.punishment_severity") == [1.0, 3.0]


def test_latin_hypercube_samples_stay_within_their_ranges(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        design={"kind": "lhs", "samples": 12},
        vary={
            "drivers.incentive_level": {"low": 0.5, "high": 1.5},
            "decision.social_weight": {"low": 0.1, "high": 0.2},
        },
    )
    experiment = load_experiment(path)
    incentive = varied(experiment, "drivers.incentive_level")
    assert len(incentive) == 12
    assert all(0.5 <= v <= 1.5 for v in incentive)
    assert all(0.1 <= v <= 0.2 for v in varied(experiment, "decision.social_weight"))


def test_latin_hypercube_puts_one_sample_in_each_stratum(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        design={"kind": "lhs", "samples": 10},
        vary={"drivers.incentive_level": {"low": 0, "high": 1}},
    )
    values = varied(load_experiment(path), "drivers.incentive_level")
    assert sorted(int(v * 10) for v in values) == list(range(10))


def test_derived_share_keeps_group_shares_summing_to_one(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        design={"kind": "lhs", "samples": 8},
        vary={
            "population.group_shares.complicit": {"low": 0.05, "high": 0.3},
            "population.group_shares.dissenting": {"low": 0.1, "high": 0.35},
        },
        expressions={"population.group_shares.passive": "1 - complicit - dissenting"},
    )
    experiment = load_experiment(path)
    for values in experiment.point_values:
        total = sum(
            values[f"population.group_shares.{g}"] for g in ("complicit", "passive", "dissenting")
        )
        assert total == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kind", "extra", "points"),
    [
        ("sobol", {}, 4 * (2 + 2)),
        ("sobol", {"second_order": True}, 4 * (2 * 2 + 2)),
        ("morris", {}, 3 * (2 + 1)),
    ],
)
def test_sensitivity_designs_give_salib_sample_sizes(
    tmp_path: Path, kind: str, extra: dict[str, Any], points: int
) -> None:
    path = experiment_file(
        tmp_path,
        design={"kind": kind, "samples": 4 if kind == "sobol" else 3, **extra},
        vary={
            "drivers.incentive_level": {"low": 0, "high": 1},
            "drivers.punishment_severity": {"low": 0, "high": 2},
        },
    )
    assert len(load_experiment(path).points) == points


def test_sampled_design_is_the_same_for_the_same_root_seed(tmp_path: Path) -> None:
    fields = {
        "design": {"kind": "lhs", "samples": 5},
        "vary": {"drivers.incentive_level": {"low": 0, "high": 1}},
        "seed": 9,
    }
    first = varied(load_experiment(experiment_file(tmp_path, **fields)), "drivers.incentive_level")
    again = varied(load_experiment(experiment_file(tmp_path, **fields)), "drivers.incentive_level")
    assert first == again


def test_run_seed_depends_on_root_seed_point_identity_and_replication_only() -> None:
    seeds = [run_seed(5, point, replication) for point in (11, 12) for replication in range(50)]
    assert len(set(seeds)) == 100
    assert seeds[37] == run_seed(5, 11, 37)
    assert run_seed(6, 11, 37) != seeds[37]


def test_extending_an_experiment_keeps_the_seeds_of_the_runs_it_had(tmp_path: Path) -> None:
    """More values and more replications: every run of the smaller experiment keeps its
    seed (so the run cache serves it), whatever its new run index."""
    small = load_experiment(
        experiment_file(tmp_path, vary={"drivers.incentive_level": [0, 1]}, replications=2)
    )
    large = load_experiment(
        experiment_file(tmp_path, vary={"drivers.incentive_level": [0, 0.5, 1]}, replications=3)
    )

    def seeds(experiment: Any) -> dict[tuple[str, int], int]:
        specs = [experiment.run_spec(index) for index in range(experiment.n_runs)]
        return {(json.dumps(s["overrides"]), s["replication"]): s["seed"] for s in specs}

    old, new = seeds(small), seeds(large)
    assert {key: new[key] for key in old} == old
    assert len(set(new.values())) == len(new)


def test_runs_are_numbered_point_by_point_then_replication(tmp_path: Path) -> None:
    path = experiment_file(tmp_path, vary={"drivers.incentive_level": [0, 1]}, replications=3)
    experiment = load_experiment(path)
    specs = [experiment.run_spec(index) for index in range(experiment.n_runs)]
    assert [(s["point"], s["replication"]) for s in specs] == [
        (p, r) for p in range(2) for r in range(3)
    ]


def test_experiment_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    assert load_experiment(experiment_file(tmp_path)).name == "experiment"


def test_experiment_steps_override_the_base_config(tmp_path: Path) -> None:
    assert load_experiment(experiment_file(tmp_path, steps=7)).steps == 7


@pytest.mark.parametrize(
    "name",
    ["compare_orders", "punishment_sweep", "incentives_x_propaganda", "assumptions_lhs"],
)
def test_shipped_experiments_are_valid_and_small(name: str) -> None:
    experiment = load_experiment(REPO / "experiments" / f"{name}.yaml")
    assert experiment.n_runs <= 400
    assert experiment.steps <= 120
    assert experiment.base_config.population.n_officers <= 2000


def test_derived_parameter_uses_the_scenario_value(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path,
        scenarios={
            "few_complicit": {"population.group_shares.complicit": 0.05},
            "many_complicit": {"population.group_shares.complicit": 0.35},
        },
        expressions={"population.group_shares.passive": "0.8 - complicit"},
    )
    assert varied(load_experiment(path), "population.group_shares.passive") == [0.75, 0.45]
