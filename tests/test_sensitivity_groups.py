"""Specification of grouped sensitivity: `design.groups` (by prior, by config section, or a
file's own mapping) shapes the Sobol and Morris designs, gives one index per group, and
indices are read at the lags after the order asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simulation.cli import main


def sections() -> set[str]:
    """The config sections the priors fall in (population, decision, exit...)."""
    from simulation.config.priors import load_priors

    return {key.split(".", 1)[0] for key in load_priors().priors}


def over_the_priors(repo: Path, groups: Any = None, **design: Any) -> dict[str, Any]:
    """A two-sample Sobol design over every prior and the horizon, under the order to fight
    (at month 12), read 1 month after the order, at 40 officers."""
    data: dict[str, Any] = {
        "name": "grouped",
        "base": {
            "config": str(repo / "configs" / "scenarios" / "fight_order.yaml"),
            "overrides": {"population.n_officers": 40},
        },
        "design": {
            "kind": "sobol",
            "samples": 2,
            "priors": str(repo / "configs" / "priors.yaml"),
            **design,
        },
        "vary": {"steps": {"low": 14, "high": 15, "integer": True}},
        "metrics": ["cohort_refuse", "cohort_comply"],
        "seed": 3,
    }
    if groups is not None:
        data["design"]["groups"] = groups
    return data


def over_ranges(repo: Path, kind: str = "sobol", groups: Any = None) -> dict[str, Any]:
    """A small design over three {low, high} ranges under a standing order to fight."""
    data: dict[str, Any] = {
        "name": "ranges",
        "base": {
            "config": str(repo / "configs" / "baseline.yaml"),
            "overrides": {"drivers.war_order_level": 3, "population.n_officers": 60},
        },
        "steps": 13,
        "design": {"kind": kind, "samples": 4},
        "vary": {
            "drivers.punishment_severity": {"low": 0.0, "high": 3.0},
            "decision.social_weight": {"low": 0.1, "high": 0.6},
            "decision.temperature": {"low": 0.01, "high": 0.1},
        },
        "seed": 5,
    }
    if groups is not None:
        data["design"]["groups"] = groups
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def sensitivity(path: Path, out: Path, *extra: str) -> int:
    """`reluctant-army sensitivity` in this process, one worker, no progress bar."""
    command = ["sensitivity", str(path), "--workers", "1", "--out", str(out), "--no-progress"]
    return main([*command, *extra])


def test_by_default_each_prior_is_one_group(repo: Path) -> None:
    from simulation import Experiment, run_sensitivity
    from simulation.config.priors import load_priors

    experiment = Experiment.from_dict(over_the_priors(repo))
    priors = load_priors().priors
    assert len(experiment.points) == 2 * (len(priors) + 1 + 2)
    result = run_sensitivity(
        experiment,
        outputs=["cohort_refuse"],
        measures=["at_order_plus_1"],
        workers=1,
        progress=False,
    )
    assert set(result.indices["parameter"]) == {*priors, "steps"}
    assert "population.group_shares" in set(result.indices["parameter"])  # a Dirichlet: one
    assert "mu_star" not in result.indices.columns  # no Morris screen over quantiles


def test_section_groups_sample_one_group_per_section_and_give_one_index_each(
    repo: Path,
) -> None:
    from simulation import Experiment, run_sensitivity

    experiment = Experiment.from_dict(over_the_priors(repo, "section"))
    groups = sections() | {"steps"}
    assert len(experiment.points) == 2 * (len(groups) + 2)  # SALib's grouped design: N(G+2)
    result = run_sensitivity(experiment, measures=["at_order_plus_1"], workers=1, progress=False)
    assert set(result.indices["parameter"]) == groups
    assert set(result.indices["output"]) <= {
        "at_order_plus_1_cohort_refuse",
        "at_order_plus_1_cohort_comply",
    }


def test_the_groups_option_replaces_the_files_grouping(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "out"
    path = write(tmp_path, over_the_priors(repo))
    assert sensitivity(path, out, "--groups", "section", "--measure", "at_order_plus_1") == 0
    table = pd.read_csv(out / "indices.csv")
    assert set(table["parameter"]) == sections() | {"steps"}
    runs = pd.read_parquet(out / "sobol" / "runs.parquet")
    assert runs["point"].nunique() == 2 * (len(sections()) + 1 + 2)


def test_a_mapping_gives_one_index_per_named_group(repo: Path) -> None:
    from simulation import Experiment, run_sensitivity

    rest = sorted(sections() - {"decision", "drivers", "consequences"})
    mapping = {
        "choice": ["decision"],
        "order_and_sanctions": ["drivers", "consequences"],
        "everything_else": rest,
        "horizon": ["steps"],
    }
    experiment = Experiment.from_dict(over_the_priors(repo, mapping))
    assert len(experiment.points) == 2 * (4 + 2)
    result = run_sensitivity(experiment, measures=["at_order_plus_1"], workers=1, progress=False)
    assert set(result.indices["parameter"]) == set(mapping)


def test_a_morris_screen_over_grouped_ranges_gives_one_effect_per_group(repo: Path) -> None:
    from simulation import Experiment, run_sensitivity

    mapping = {
        "sanction": ["drivers.punishment_severity"],
        "choice": ["decision.social_weight", "decision.temperature"],
    }
    experiment = Experiment.from_dict(over_ranges(repo, groups=mapping))
    result = run_sensitivity(
        experiment,
        outputs=["refuse"],
        morris_trajectories=4,
        workers=1,
        progress=False,
    )
    assert set(result.indices["parameter"]) == {"sanction", "choice"}
    assert result.sweeps["morris"].summary["point"].nunique() == 4 * (2 + 1)
    assert result.indices[["S1", "ST", "mu_star"]].notna().all().all()


def test_indices_are_given_at_every_lag_asked_for(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "out"
    path = write(tmp_path, over_ranges(repo))
    measures = ("--measure", "at_order_plus_1", "at_order_plus_12")
    assert sensitivity(path, out, "--no-morris", "--outputs", "refuse", *measures) == 0
    table = pd.read_csv(out / "indices.csv")
    assert list(dict.fromkeys(table["output"])) == [
        "at_order_plus_1_refuse",
        "at_order_plus_12_refuse",
    ]


def test_a_lag_the_config_does_not_record_exits_2(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    path = write(tmp_path, over_ranges(repo))
    assert sensitivity(path, out, "--measure", "at_order_plus_5") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --measure:") and "at_order_plus_12" in err
    assert not out.exists()


BAD_GROUPS = {
    "unknown member": (
        {"a": ["drivers.punishment_severity", "decision.social"], "b": ["decision.temperature"]},
        "design.groups.a.1: 'decision.social' is no sampled input",
    ),
    "empty group": (
        {"a": ["drivers", "decision"], "b": []},
        "design.groups.b: a group needs at least one member",
    ),
    "input in two groups": (
        {"a": ["decision"], "b": ["drivers", "decision.temperature"]},
        "design.groups.b.1: 'decision.temperature' is already in group 'a'",
    ),
    "input in no group": (
        {"a": ["drivers.punishment_severity", "decision.social_weight"]},
        "design.groups: every sampled input needs a group; not in any: decision.temperature",
    ),
    "unknown grouping": ("by_rank", "design.groups"),
}


@pytest.mark.parametrize("case", list(BAD_GROUPS))
def test_bad_groups_exit_2_with_one_line_naming_the_key(
    case: str, tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups, expected = BAD_GROUPS[case]
    path = write(tmp_path, over_ranges(repo, groups=groups))
    out = tmp_path / "never"
    assert sensitivity(path, out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_groups_on_a_design_without_indices_exit_2(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, over_ranges(repo, kind="lhs", groups="section"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "never"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "design.groups: groups need a sobol or morris design (got lhs)" in err
    assert not (tmp_path / "never").exists()
