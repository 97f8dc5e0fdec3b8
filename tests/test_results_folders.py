"""Specification of a results folder as a unit of consistency: one writer at a time, parts
tied to their experiment, nothing replaced that is not the writer's own, no table that
shrinks unannounced, a failed run that can be retried, files readable by others where the
user's umask allows, and a CSV copy of the runs for spreadsheets."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from simulation.cli import main
from simulation.experiments.lock import FolderLock
from simulation.experiments.sweep import FAULT_ENV, run_experiment
from tests.sweep_support import runs, sweep

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "configs" / "baseline.yaml"


def experiment_file(tmp_path: Path, name: str = "small", **changes: Any) -> Path:
    """3 design points x 2 replications of 100 officers x 4 steps, in batches of 2."""
    data: dict[str, Any] = {
        "base": {"config": str(BASELINE), "overrides": {"population.n_officers": 100}},
        "vary": {"drivers.punishment_severity": [0, 1, 2]},
        "replications": 2,
        "steps": 4,
        "batch_size": 2,
        **changes,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def parts(out: Path) -> list[Path]:
    return sorted((out / "parts").glob("runs-*.parquet"))


# ------------------------------------------------------------------------------ the lock


def test_a_folder_locked_by_another_writer_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    before = {path.name: path.read_bytes() for path in parts(out)}
    with FolderLock(out):
        code = main(["sweep", str(experiment_file(tmp_path)), "--out", str(out), "--overwrite"])
    assert code == 2
    assert "another process is writing this results folder" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in parts(out)} == before


def test_a_resume_started_while_the_sweep_runs_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The running sweep (here in a thread, its runs slowed down) holds the lock; a resume
    exits at once with one line and runs nothing, so no run is recorded twice."""
    monkeypatch.setenv(FAULT_ENV, "*:sleep=0.3")
    monkeypatch.setenv("RELUCTANT_ARMY_CACHE", "off")
    path = experiment_file(tmp_path)
    out = tmp_path / "out"
    running = threading.Thread(
        target=run_experiment, args=(path,), kwargs={"workers": 1, "out": out, "progress": False}
    )
    running.start()
    try:
        deadline = time.monotonic() + 60
        while not parts(out):
            assert running.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        capsys.readouterr()
        code = main(["sweep", str(path), "--out", str(out), "--resume", "--workers", "1"])
        assert running.is_alive(), "the sweep ended before the resume was tried"
    finally:
        running.join(timeout=60)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "another process is writing" in err
    indices = [
        i for part in parts(out) for i in pq.read_table(part).column("run_index").to_pylist()
    ]
    assert sorted(indices) == list(range(6))


def test_the_lock_is_released_when_the_sweep_ends(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    with FolderLock(out) as lock:
        assert lock.held


# ------------------------------------------------------------------------ fingerprints


def test_every_part_carries_the_experiments_fingerprint(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    fingerprint = json.loads((out / "manifest.json").read_text())["fingerprint"]
    for part in parts(out):
        metadata = pq.read_schema(part).metadata
        assert metadata[b"reluctant_army.fingerprint"].decode() == fingerprint


def test_a_part_of_another_experiment_is_refused_and_the_tables_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two experiments of the same shape: a part of one copied into the other's parts/
    (where it would silently replace runs) stops summarize; nothing is rewritten."""
    mine = sweep(experiment_file(tmp_path), tmp_path / "mine", "--workers", "1")
    theirs = sweep(
        experiment_file(tmp_path, "theirs", seed=5), tmp_path / "theirs", "--workers", "1"
    )
    intruder = mine / "parts" / ("runs-0000000000-00000000.parquet")
    shutil.copy(parts(theirs)[0], intruder)
    table = (mine / "runs.parquet").read_bytes()
    capsys.readouterr()
    assert main(["summarize", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "runs-0000000000-00000000.parquet belongs to another experiment" in err
    assert (mine / "runs.parquet").read_bytes() == table


# ------------------------------------------------------------------------- overwriting


def test_overwrite_clears_a_sweeps_own_and_derived_files_only(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    (out / "report.html").write_text("<p>old report</p>")
    (out / "notes.txt").write_text("mine")
    assert main(["discover", str(out), "--method", "cart", "--above", "0.1"]) == 0
    assert (out / "discovery" / "discovery.json").exists()
    sweep(experiment_file(tmp_path, seed=3), out, "--workers", "1", "--overwrite")
    assert not (out / "report.html").exists()
    assert not (out / "discovery").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "manifest.json").read_text())["root_seed"] == 3


def test_rerunning_a_config_replaces_its_run_and_its_stale_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(BASELINE), "--steps", "2", "--out", str(out)]) == 0
    (out / "report.html").write_text("<p>old</p>")
    assert main(["run", str(BASELINE), "--steps", "3", "--out", str(out)]) == 0
    assert not (out / "report.html").exists()
    assert json.loads((out / "summary.json").read_text())["steps"] == 3


def test_run_overwrite_replaces_a_run_of_another_config_and_its_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    agents = ["--set", "output.collect_agent_data=true", "--set", "population.n_officers=100"]
    assert main(["run", str(BASELINE), "--steps", "2", "--out", str(out), *agents]) == 0
    assert (out / "agents.csv").exists()
    assert (
        main(["run", str(BASELINE), "--set", "name=other", "--steps", "2", "--out", str(out)]) == 2
    )
    assert (
        main(
            [
                "run",
                str(BASELINE),
                "--set",
                "name=other",
                "--steps",
                "2",
                "--out",
                str(out),
                "--overwrite",
            ]
        )
        == 0
    )
    assert not (out / "agents.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["name"] == "other"


# --------------------------------------------------------------------------- summarize


def test_summarize_with_missing_parts_keeps_the_fuller_tables_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    table, summary = runs(out), pd.read_csv(out / "summary.csv")
    for part in parts(out)[1:]:
        part.unlink()
    capsys.readouterr()
    assert main(["summarize", str(out)]) == 0
    err = capsys.readouterr().err
    assert "parts/ holds 2 run(s) but runs.parquet has 6: kept the earlier tables" in err
    pd.testing.assert_frame_equal(runs(out), table)
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary)


def test_summarize_rebuilds_a_damaged_runs_table_from_the_parts(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    table = runs(out)
    (out / "runs.parquet").write_bytes(b"garbage")
    assert main(["summarize", str(out)]) == 0
    pd.testing.assert_frame_equal(runs(out), table)


def test_runs_csv_holds_the_runs_table(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    table = runs(out)
    copy = pd.read_csv(out / "runs.csv", keep_default_na=True)
    assert list(copy.columns) == list(table.columns)
    pd.testing.assert_frame_equal(copy, table, check_dtype=False)


# ------------------------------------------------------------------------ retry failed


def test_resume_with_retry_failed_runs_the_failed_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs 1 and 4 failed; without retry_failed a resume leaves them, with it they are
    run again, and the table keeps their successful rows once each."""
    monkeypatch.setenv("RELUCTANT_ARMY_CACHE", "off")
    path = experiment_file(tmp_path)
    monkeypatch.setenv(FAULT_ENV, "1:raise,4:raise")
    out = sweep(path, tmp_path / "out", "--workers", "1")
    monkeypatch.delenv(FAULT_ENV)
    sweep(path, out, "--workers", "1", "--resume")
    assert runs(out)["status"].tolist().count("failed") == 2
    sweep(path, out, "--workers", "2", "--resume", "--retry-failed")
    table = runs(out)
    assert table["run_index"].tolist() == list(range(6))
    assert (table["status"] == "ok").all()
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    pd.testing.assert_frame_equal(table, clean)


# ------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_result_files_follow_the_users_umask(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
        assert main(["run", str(BASELINE), "--steps", "1", "--out", str(tmp_path / "run")]) == 0
    finally:
        os.umask(previous)
    files = [*out.glob("*.*"), *parts(out), *(tmp_path / "run").iterdir()]
    assert files
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {mode}
