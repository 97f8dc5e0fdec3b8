"""Specification of the run cache: a run already made (same model code, resolved config and
seed, same outputs asked for) is taken from the cache; anything else is run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import simulation.experiments.cache as cache_module
from simulation.experiments.cache import CACHE_FILE
from simulation.experiments.sweep import FAULT_ENV, run_experiment

REPO = Path(__file__).resolve().parent.parent
BASELINE = str(REPO / "configs" / "baseline.yaml")


def experiment(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "base": {"config": BASELINE, "overrides": {"population.n_officers": 100}},
        "vary": {"drivers.punishment_severity": [0, 1]},
        "replications": 3,
        "steps": 5,
        "seed": 4,
    }
    data.update(changes)
    return data


def run(data: dict[str, Any], **options: Any) -> Any:
    return run_experiment(data, workers=1, progress=False, **options)


def outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """Identity and outcome columns, keyed by point values and replication."""
    return table.drop(columns=["run_index", "point"]).sort_values(
        ["drivers.punishment_severity", "replication"], ignore_index=True
    )


def test_a_repeated_sweep_takes_every_run_from_the_cache(tmp_path: Path) -> None:
    first = run(experiment(), cache=tmp_path / "cache")
    again = run(experiment(), cache=tmp_path / "cache")
    assert (first.report.cached, again.report.cached) == (0, 6)
    pd.testing.assert_frame_equal(first.runs, again.runs)


def test_an_extended_sweep_runs_only_what_is_new(tmp_path: Path) -> None:
    """One more value and one more replication: the six runs made before come from the
    cache (their seeds follow their design point and replication), the six new ones run."""
    small = run(experiment(), cache=tmp_path / "cache")
    large = run(
        experiment(vary={"drivers.punishment_severity": [0, 1, 2]}, replications=4),
        cache=tmp_path / "cache",
    )
    assert (large.report.cached, large.report.ran) == (6, 12)
    old = outcomes(small.runs)
    new = outcomes(large.runs)
    kept = new.merge(old[["drivers.punishment_severity", "replication"]])
    pd.testing.assert_frame_equal(kept, old)


def test_another_config_misses_the_cache(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    changed = experiment()
    changed["base"]["overrides"]["drivers.war_order_level"] = 3
    assert run(changed, cache=tmp_path / "cache").report.cached == 0


def test_the_choice_of_kernel_shares_the_cache(tmp_path: Path) -> None:
    """numba's kernels give the numpy path's numbers exactly: one cache serves both."""
    run(experiment(), cache=tmp_path / "cache")
    other = experiment()
    other["base"]["overrides"]["performance.kernel"] = "numpy"
    assert run(other, cache=tmp_path / "cache").report.cached == 6


def test_other_outputs_miss_the_cache(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    assert run(experiment(record_every=2), cache=tmp_path / "cache").report.cached == 0


def test_another_code_version_misses_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(experiment(), cache=tmp_path / "cache")
    monkeypatch.setattr(cache_module, "code_version", lambda: "a-changed-model")
    assert run(experiment(), cache=tmp_path / "cache").report.cached == 0


def test_failed_runs_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "2:raise")
    run(experiment(), cache=tmp_path / "cache")
    monkeypatch.delenv(FAULT_ENV)
    again = run(experiment(), cache=tmp_path / "cache")
    assert again.report.cached == 5
    assert (again.runs["status"] == "ok").all()


def test_the_default_cache_lives_in_the_users_cache_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run(experiment())
    assert (tmp_path / "xdg" / "reluctant-army" / CACHE_FILE).exists()
    assert run(experiment()).report.cached == 6


def test_no_cache_neither_reads_nor_fills_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run(experiment(), cache=False)
    assert not (tmp_path / "xdg").exists()
    run(experiment())
    assert run(experiment(), cache=False).report.cached == 0


def test_the_cache_can_be_turned_off_for_a_whole_session(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RELUCTANT_ARMY_CACHE", "off")
    run(experiment())
    assert not (tmp_path / "xdg").exists()


def test_a_damaged_cache_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    result = run(experiment(), cache=tmp_path / "cache")
    assert (result.runs["status"] == "ok").all() and result.report.cached == 0
    assert "run cache" in caplog.text and "cannot be used" in caplog.text


def test_cached_runs_are_marked_in_the_timings(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    out = tmp_path / "out"
    run(experiment(), cache=tmp_path / "cache", out=out)
    assert set(pd.read_parquet(out / "timings.parquet")["worker"]) == {"cache"}


def test_the_cache_command_shows_and_clears_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulation.cli import main

    run(experiment(), cache=tmp_path / "cache")
    assert main(["cache", "--cache", str(tmp_path / "cache")]) == 0
    assert ": 6 run(s)" in capsys.readouterr().out
    assert main(["cache", "--cache", str(tmp_path / "cache"), "--clear"]) == 0
    assert ": 0 run(s)" in capsys.readouterr().out


def test_experiment_file_cache_option_through_the_command_line(tmp_path: Path) -> None:
    from simulation.cli import main

    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(experiment()), encoding="utf-8")
    common = ["--workers", "1", "--no-progress", "--cache", str(tmp_path / "c")]
    assert main(["sweep", str(path), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["sweep", str(path), "--out", str(tmp_path / "b"), *common]) == 0
    assert set(pd.read_parquet(tmp_path / "b" / "timings.parquet")["worker"]) == {"cache"}
