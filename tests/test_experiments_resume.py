"""Specification of crash safety: a sweep killed with SIGKILL part-way and then resumed gives
the same tables as an uninterrupted sweep, without repeating or duplicating finished runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from simulation.cli import main
from simulation.experiments.sweep import FAULT_ENV

REPO = Path(__file__).resolve().parent.parent
N_RUNS = 60


def experiment_file(tmp_path: Path) -> Path:
    """60 short runs in batches of 2, recording a per-step series too."""
    data = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 200, "drivers.war_order_level": 3},
        },
        "vary": {"drivers.punishment_severity": {"start": 0, "stop": 4, "step": 1}},
        "replications": 12,
        "steps": 5,
        "seed": 3,
        "batch_size": 2,
        "record_every": 2,
    }
    path = tmp_path / "resumable.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def part_indices(out: Path) -> list[int]:
    """Every run index in every runs part file (duplicates included)."""
    indices: list[int] = []
    for part in sorted((out / "parts").glob("runs-*.parquet")):
        indices += pq.read_table(part, columns=["run_index"]).column(0).to_pylist()
    return indices


def kill_part_way(path: Path, out: Path, min_parts: int = 3) -> None:
    """Start the sweep in its own process group (slowed by the fault hook) and SIGKILL the
    whole group once some batches have been recorded."""
    env = {**os.environ, FAULT_ENV: "*:sleep=0.1"}
    command = [sys.executable, "-m", "simulation", "sweep", str(path), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--no-progress"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list((out / "parts").glob("runs-*.parquet"))) < min_parts:
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no batch recorded within 60 s"
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_killed_sweep_resumed_equals_uninterrupted_sweep(tmp_path: Path) -> None:
    path = experiment_file(tmp_path)
    interrupted = tmp_path / "interrupted"
    kill_part_way(path, interrupted)
    assert not (interrupted / "runs.parquet").exists()
    recorded_before = part_indices(interrupted)
    assert 0 < len(recorded_before) < N_RUNS

    resume = ["sweep", str(path), "--out", str(interrupted), "--resume", "--no-progress"]
    assert main([*resume, "--workers", "2"]) == 0
    uninterrupted = tmp_path / "uninterrupted"
    assert (
        main(["sweep", str(path), "--out", str(uninterrupted), "--workers", "1", "--no-progress"])
        == 0
    )

    indices = part_indices(interrupted)
    assert sorted(indices) == list(range(N_RUNS)), "a run was repeated or lost"
    for table in ("runs.parquet", "series.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(interrupted / table), pd.read_parquet(uninterrupted / table)
        )
    pd.testing.assert_frame_equal(
        pd.read_csv(interrupted / "summary.csv"), pd.read_csv(uninterrupted / "summary.csv")
    )


def test_resume_runs_only_the_runs_not_yet_recorded(tmp_path: Path, capsys) -> None:
    path = experiment_file(tmp_path)
    out = tmp_path / "out"
    kill_part_way(path, out, min_parts=2)
    before = len(set(part_indices(out)))
    assert (
        main(["sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "--no-progress"])
        == 0
    )
    assert (
        f"{before:,} runs were already recorded, {N_RUNS - before:,} run now"
        in capsys.readouterr().err
    )


def test_resume_of_a_complete_sweep_runs_nothing_and_keeps_its_tables(tmp_path: Path) -> None:
    path = experiment_file(tmp_path)
    out = tmp_path / "out"
    sweep = ["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress"]
    assert main(sweep) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    parts = sorted(p.name for p in (out / "parts").iterdir())
    assert main([*sweep, "--resume"]) == 0
    assert sorted(p.name for p in (out / "parts").iterdir()) == parts
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)


def _half_done(tmp_path: Path) -> tuple[Path, Path]:
    """A small sweep with some of its batches removed, as if interrupted."""
    data = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 100},
        },
        "vary": {"drivers.punishment_severity": [0, 1]},
        "replications": 2,
        "steps": 4,
        "batch_size": 1,
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    for part in sorted((out / "parts").glob("runs-*.parquet"))[2:]:
        part.unlink()
    return path, out


def test_resume_after_a_model_edit_is_refused_without_an_explicit_flag(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import simulation.experiments.cache as cache_module

    path, out = _half_done(tmp_path)
    manifest = (out / "manifest.json").read_text()
    monkeypatch.setattr(cache_module, "code_version", lambda: "an-edited-model")
    capsys.readouterr()
    resume = ["sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "--no-progress"]
    assert main(resume) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "would mix runs of two models" in err and "--allow-mixed-versions" in err
    assert (out / "manifest.json").read_text() == manifest
    assert len(part_indices(out)) == 2


def test_a_folder_of_mixed_code_versions_says_so(tmp_path: Path, monkeypatch, capsys) -> None:
    import simulation.experiments.cache as cache_module

    path, out = _half_done(tmp_path)
    monkeypatch.setattr(cache_module, "code_version", lambda: "an-edited-model")
    resume = ["sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "--no-progress"]
    assert main([*resume, "--allow-mixed-versions", "--no-cache"]) == 0
    assert "runs come from 2 versions of the model's code" in capsys.readouterr().err
    assert main(["summarize", str(out)]) == 0
    assert "runs come from 2 versions of the model's code" in capsys.readouterr().err
