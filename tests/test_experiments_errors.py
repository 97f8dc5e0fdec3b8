"""Bad experiment files and misused results folders: one line `error: ...`, exit 2, no traceback.

Each case names the experiment-file problem and the substrings the message must contain
(the file, the key, what was expected). Nothing is run and no results folder is created.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simulation.cli import main

REPO = Path(__file__).resolve().parent.parent
BASELINE = str(REPO / "configs" / "baseline.yaml")
GOOD: dict[str, Any] = {
    "base": {"config": BASELINE, "overrides": {"population.n_officers": 200}},
    "vary": {"drivers.incentive_level": [0, 1]},
    "steps": 3,
}


def write(tmp_path: Path, data: Any, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


CASES: list[tuple[str, Any, list[str]]] = [
    (
        "unknown_top_key",
        with_changes(replicatoins=3),
        ["replicatoins", "did you mean 'replications'"],
    ),
    (
        "misspelled_parameter",
        with_changes(vary={"drivers.punishment_severty": [0, 1]}),
        ["vary.drivers.punishment_severty", "did you mean 'punishment_severity'"],
    ),
    (
        "value_out_of_range",
        with_changes(vary={"drivers.war_order_level": [1, 5]}),
        ["vary.drivers.war_order_level", "war_order_level", "[0, 3]"],
    ),
    (
        "bad_scenario_override",
        with_changes(scenarios={"crackdown": {"drivers.detection_capacty": 3}}),
        ["scenarios.crackdown", "did you mean 'detection_capacity'"],
    ),
    (
        "bad_base_override",
        with_changes(base={"config": BASELINE, "overrides": {"population.n_officer": 10}}),
        ["base.overrides", "did you mean 'n_officers'"],
    ),
    (
        "missing_base_config",
        with_changes(base={"config": "no_such_config.yaml"}),
        ["base.config", "base config not found", "no_such_config.yaml"],
    ),
    (
        "missing_base",
        {"vary": {"drivers.incentive_level": [0]}},
        ["base", "required key is missing"],
    ),
    (
        "range_with_zero_step",
        with_changes(vary={"drivers.incentive_level": {"start": 0, "stop": 1, "step": 0}}),
        ["vary.drivers.incentive_level", "step must be > 0"],
    ),
    (
        "range_stop_below_start",
        with_changes(vary={"drivers.incentive_level": {"start": 2, "stop": 1, "step": 0.5}}),
        ["vary.drivers.incentive_level", "must not be below start"],
    ),
    (
        "empty_value_list",
        with_changes(vary={"drivers.incentive_level": []}),
        ["vary.drivers.incentive_level", "empty"],
    ),
    (
        "zip_lists_of_unequal_length",
        with_changes(vary={"zip": {"drivers.incentive_level": [0, 1], "drivers.amnesty": [0.1]}}),
        ["vary.zip", "equal length"],
    ),
    (
        "bounds_in_factorial_design",
        with_changes(vary={"drivers.incentive_level": {"low": 0, "high": 1}}),
        ["vary.drivers.incentive_level", "sampled design"],
    ),
    (
        "list_in_sampled_design",
        with_changes(design={"kind": "lhs", "samples": 4}),
        ["vary.drivers.incentive_level", "{low, high}"],
    ),
    (
        "sampled_design_without_size",
        with_changes(
            design={"kind": "lhs"}, vary={"drivers.incentive_level": {"low": 0, "high": 1}}
        ),
        ["design.samples", "sample size"],
    ),
    (
        "unknown_design",
        with_changes(design={"kind": "latin"}),
        ["design.kind", "'factorial', 'lhs', 'sobol', 'morris' or 'prior'"],
    ),
    (
        "shares_not_summing_to_one",
        with_changes(vary={"population.group_shares.complicit": [0.15, 0.3]}),
        ["vary.population.group_shares.complicit", "must sum to 1", "design point 1"],
    ),
    (
        "expression_with_unknown_name",
        with_changes(expressions={"drivers.amnesty": "1 - nosuch"}),
        ["expressions.drivers.amnesty", "unknown name 'nosuch'"],
    ),
    (
        "expression_not_arithmetic",
        with_changes(expressions={"drivers.amnesty": "__import__('os')"}),
        ["expressions.drivers.amnesty", "only the functions"],
    ),
    (
        "unknown_metric",
        with_changes(metrics=["refuse", "pasive_evade"]),
        ["metrics.1", "did you mean 'passive_evade'"],
    ),
    (
        "zero_replications",
        with_changes(replications=0),
        ["replications", "greater than or equal to 1"],
    ),
    ("bad_record_every", with_changes(record_every=0), ["record_every", "'end' or a whole number"]),
    ("varied_seed", with_changes(vary={"seed": [1, 2]}), ["vary.seed", "cannot be varied"]),
    ("malformed_yaml", "base:\n  config: [unclosed\n", ["bad.yaml", "malformed YAML", "line"]),
    ("not_a_mapping", "- just\n- a list\n", ["bad.yaml", "expected a mapping"]),
]


@pytest.mark.parametrize(("case", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_experiment_file_gives_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, data: Any, expected: list[str]
) -> None:
    path = write(tmp_path, data)
    out = tmp_path / "results"
    code = main(["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert "Traceback" not in error
    for fragment in expected:
        assert fragment in error, f"{fragment!r} not in {error!r}"
    assert not out.exists()


def test_bad_experiment_file_through_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, with_changes(vary={"drivers.punishment_severty": [0, 1]}))
    done = subprocess.run(
        [sys.executable, "-m", "simulation", "sweep", str(path), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def sweep(*argv: str) -> int:
    return main(["sweep", *argv, "--workers", "1", "--no-progress"])


def test_results_folder_of_another_experiment_is_not_clobbered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    assert sweep(str(write(tmp_path, GOOD, "first.yaml")), "--out", str(out)) == 0
    before = pd.read_parquet(out / "runs.parquet")
    capsys.readouterr()
    other = write(tmp_path, with_changes(vary={"drivers.amnesty": [0.5]}), "second.yaml")
    assert sweep(str(other), "--out", str(out)) == 2
    error = capsys.readouterr().err
    assert "another experiment ('first')" in error and "--overwrite" in error
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), before)


def test_rerunning_into_its_own_folder_asks_for_resume_or_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD, "first.yaml")
    out = tmp_path / "results"
    assert sweep(str(path), "--out", str(out)) == 0
    capsys.readouterr()
    assert sweep(str(path), "--out", str(out)) == 2
    assert "--resume" in capsys.readouterr().err


def test_resume_refuses_a_changed_experiment_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD, "first.yaml")
    out = tmp_path / "results"
    assert sweep(str(path), "--out", str(out)) == 0
    capsys.readouterr()
    write(tmp_path, with_changes(replications=2), "first.yaml")
    assert sweep(str(path), "--out", str(out), "--resume") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "changed since this folder was started" in error


def test_resume_of_an_empty_folder_says_there_is_nothing_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD, "first.yaml")
    assert sweep(str(path), "--out", str(tmp_path / "none"), "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_overwrite_replaces_the_results_of_another_experiment(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert sweep(str(write(tmp_path, GOOD, "first.yaml")), "--out", str(out)) == 0
    other = write(tmp_path, with_changes(vary={"drivers.amnesty": [0.5]}), "second.yaml")
    assert sweep(str(other), "--out", str(out), "--overwrite") == 0
    assert pd.read_parquet(out / "runs.parquet")["drivers.amnesty"].tolist() == [0.5]


def test_summarize_of_a_folder_without_a_sweep_gives_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summarize", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_missing_dask_scheduler_file_gives_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD, "first.yaml")
    missing = tmp_path / "scheduler.json"
    argv = ["sweep", str(path), "--scheduler-file", str(missing), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "--scheduler-file" in error and "scheduler.json not found" in error
