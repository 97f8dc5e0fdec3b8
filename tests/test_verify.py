"""Specification of `verify`: a sample of a sweep's runs made again from the folder alone
must equal the stored ones; any that differ are named (exit code 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simulation.experiments.verify as verify_module
from simulation.cli import main
from simulation.experiments.verify import verify_sweep
from tests.sweep_support import sweep

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished sweep with two scenarios (one from its own config file) and a series."""
    tmp_path = tmp_path_factory.mktemp("verify")
    data = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 100},
        },
        "scenarios": {
            "fight": {"drivers.war_order_level": 3},
            "wobble": {"config": str(REPO / "configs" / "scenarios" / "regime_wobble.yaml")},
        },
        "vary": {"drivers.punishment_severity": [0, 2]},
        "replications": 2,
        "steps": 6,
        "record_every": 3,
    }
    path = tmp_path / "verified.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return sweep(path, tmp_path / "out", "--workers", "1", "--no-cache")


@pytest.fixture
def finished(made_once: Path, tmp_path: Path) -> Path:
    """A copy of the finished sweep, for this test alone."""
    return Path(shutil.copytree(made_once, tmp_path / "out"))


def test_a_sweep_made_again_is_identical(finished: Path) -> None:
    result = verify_sweep(finished, sample=8, workers=2)
    assert sorted(result.checked) == list(range(8))
    assert result.identical and not result.notes


def test_a_changed_stored_value_is_found_and_named(
    finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pd.read_parquet(finished / "runs.parquet")
    table.loc[table["run_index"] == 5, "final_refuse"] += 0.01
    table.to_parquet(finished / "runs.parquet", index=False)
    assert main(["verify", str(finished), "--sample", "8", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 of 8 run(s) made again differ from the stored ones: runs 5" in out
    assert "run 5: final_refuse stored" in out


def test_a_changed_series_is_found(finished: Path) -> None:
    series = pd.read_parquet(finished / "series.parquet")
    series.loc[series["run_index"] == 2, "evade"] = 0.5
    series.to_parquet(finished / "series.parquet", index=False)
    result = verify_sweep(finished, sample=8, workers=1)
    assert result.differing_runs == [2]


def test_verify_warns_when_the_code_changed_since_the_sweep(
    finished: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "code_version", lambda: "another-model")
    result = verify_sweep(finished, sample=2, workers=1)
    assert result.notes and "changed since this sweep ran" in result.notes[0]


def test_verify_samples_at_random_but_reproducibly(finished: Path) -> None:
    first = verify_sweep(finished, sample=3, seed=7, workers=1).checked
    assert first == verify_sweep(finished, sample=3, seed=7, workers=1).checked
    assert len(first) == 3


def test_verify_states_its_chance_of_catching_one_bad_run(
    finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """k of N runs made again catch one given bad run with probability k/N."""
    result = verify_sweep(finished, sample=2, workers=1)
    assert result.successful == 8 and result.detection == pytest.approx(2 / 8)
    assert main(["verify", str(finished), "--sample", "4", "--workers", "1"]) == 0
    assert "a sample of 4 of 8 successful run(s) catches a single bad run with probability 50%" in (
        capsys.readouterr().out
    )


def small_experiment(vary: dict) -> dict:
    """Two replications of 100 officers for 4 steps over `vary`."""
    return {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 100},
        },
        "vary": vary,
        "replications": 2,
        "steps": 4,
    }


def test_verify_cached_checks_every_run_taken_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep served in part from the run cache: `--cached` makes exactly the cache-served
    runs again, and a stored value changed by hand among them is found."""
    from simulation.experiments.sweep import run_experiment

    data = small_experiment({"drivers.punishment_severity": [0, 1]})
    run_experiment(data, workers=1, progress=False, cache=tmp_path / "cache")
    extended = small_experiment({"drivers.punishment_severity": [0, 1, 2]})
    out = tmp_path / "out"
    run_experiment(extended, workers=1, progress=False, cache=tmp_path / "cache", out=out)
    result = verify_sweep(out, cached=True, workers=1)
    assert result.cached and len(result.checked) == 4 and result.identical
    table = pd.read_parquet(out / "runs.parquet")
    cached_run = result.checked[0]
    table.loc[table["run_index"] == cached_run, "final_refuse"] += 0.01
    table.to_parquet(out / "runs.parquet", index=False)
    assert main(["verify", str(out), "--cached", "--workers", "1"]) == 1
    printed = capsys.readouterr().out
    assert "checked every run taken from the run cache: 4 of 6" in printed
    assert f"runs {cached_run}" in printed


def test_verify_refuses_a_runs_table_of_another_experiment(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulation.experiments.sweep import run_experiment

    other = small_experiment({"drivers.amnesty": [0, 0.5]})
    run_experiment(other, workers=1, progress=False, cache=False, out=tmp_path / "other")
    shutil.copy(tmp_path / "other" / "runs.parquet", finished / "runs.parquet")
    assert main(["verify", str(finished), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs.parquet does not belong" in err and "Traceback" not in err
