"""Specification of a sweep under faults: killed several times and resumed, killed after its
last batch, workers that die (several in one sweep, in a resumed sweep, next to a run that
raises), the sweep's own process killed alone, and a Dask worker killed from outside. Once
the sweep completes, each run is recorded exactly once, a run that could not complete says
why, and every completed run equals the same run of an undisturbed sweep.

Faults come from the sweep's test hook (``RELUCTANT_ARMY_FAULT_INJECT``: ``<run>:exit``
kills the worker process running that run, ``<run>:raise`` makes it raise,
``*:sleep=<s>`` slows every run so that a kill lands mid-sweep) or from SIGKILL sent by the
test. Waits poll the results folder for progress, with generous deadlines, so that a loaded
machine slows the tests down but does not make them fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from simulation.experiments.sweep import FAULT_ENV
from tests.sweep_support import (
    DEADLINE,
    part_indices,
    processes_in_group,
    run_parts,
    runs,
    start_sweep,
    sweep,
    wait_for,
)

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("no_run_cache")


"""Seconds a test waits for progress before declaring the sweep stuck."""


def experiment_file(tmp_path: Path, replications: int, batch_size: int = 2) -> Path:
    """4 design points x `replications` runs of 100 officers x 10 steps."""
    data: dict[str, Any] = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 100, "drivers.war_order_level": 3},
        },
        "vary": {"drivers.punishment_severity": [0, 1, 2, 3]},
        "replications": replications,
        "steps": 10,
        "seed": 17,
        "batch_size": batch_size,
    }
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def assert_same_as_undisturbed(table: pd.DataFrame, clean: pd.DataFrame) -> None:
    """Completed runs equal the undisturbed sweep's, in every identity and outcome column."""
    assert table["run_index"].tolist() == clean["run_index"].tolist()
    ok = (table["status"] == "ok").to_numpy()
    pd.testing.assert_frame_equal(
        table[ok].reset_index(drop=True), clean[ok].reset_index(drop=True), check_dtype=False
    )


# ------------------------------------------------------------------- SIGKILL and resume


def test_sweep_killed_three_times_at_random_moments_then_resumed_equals_uninterrupted(
    tmp_path: Path,
) -> None:
    """SIGKILL the whole process group three times, each time after a random number of newly
    recorded batches plus a random delay (seeded), resuming in between; no recorded batch is
    ever lost, and the completed tables equal an uninterrupted sweep's."""
    rng = random.Random(20261127)
    n_runs = 96
    path = experiment_file(tmp_path, replications=n_runs // 4)
    out = tmp_path / "killed"
    recorded: list[set[int]] = [set()]
    part_names: set[str] = set()
    for kill in range(3):
        resume = ("--resume",) if kill else ()
        before = len(run_parts(out))
        new_parts = rng.randint(1, 4)
        delay = rng.uniform(0.0, 0.3)
        process = start_sweep(path, out, "--workers", "2", *resume, fault="*:sleep=0.05")
        try:
            wait_for(
                lambda: len(run_parts(out)) >= before + new_parts,  # noqa: B023 - used at once
                f"{new_parts} new batch(es) recorded",
                process,
            )
            time.sleep(delay)
            assert process.poll() is None, "the sweep ended before it could be killed"
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

        indices = part_indices(out)
        assert len(indices) == len(set(indices)), f"a run recorded twice after kill {kill + 1}"
        assert recorded[-1] < set(indices) and len(indices) < n_runs
        names = {part.name for part in run_parts(out)}
        assert part_names <= names, f"a recorded batch disappeared at kill {kill + 1}"
        recorded.append(set(indices))
        part_names = names
    assert not (out / "runs.parquet").exists()

    sweep(path, out, "--resume", "--workers", "2")
    clean = sweep(path, tmp_path / "clean", "--workers", "1")
    assert part_names <= {part.name for part in run_parts(out)}
    assert sorted(part_indices(out)) == list(range(n_runs)), "a run was repeated or lost"
    table = runs(out)
    assert table["run_index"].tolist() == list(range(n_runs))
    assert (table["status"] == "ok").all()
    pd.testing.assert_frame_equal(table, runs(clean))


def test_sweep_killed_after_its_last_batch_is_completed_by_resume_without_running_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed between recording its last batch and writing its tables: every part is there,
    runs.parquet and the summary are not, the manifest still says running."""
    path = experiment_file(tmp_path, replications=3)
    out = sweep(path, tmp_path / "out", "--workers", "1")
    complete = runs(out)
    for name in ("runs.parquet", "timings.parquet", "summary.csv"):
        (out / name).unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    parts = sorted(part.name for part in run_parts(out))
    capsys.readouterr()

    sweep(path, out, "--resume", "--workers", "2")
    assert "12 runs were already recorded, 0 run now" in capsys.readouterr().err
    assert sorted(part.name for part in run_parts(out)) == parts
    pd.testing.assert_frame_equal(runs(out), complete)
    assert (out / "summary.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


# ------------------------------------------------------------- local worker processes


def test_two_workers_dying_in_one_sweep_fail_only_their_own_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs 3 and 10 (different batches, so the pool breaks twice) kill their worker."""
    path = experiment_file(tmp_path, replications=4)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    monkeypatch.setenv(FAULT_ENV, "3:exit,10:exit")
    table = runs(sweep(path, tmp_path / "out", "--workers", "2"))
    failed = table[table["status"] == "failed"]
    assert failed["run_index"].tolist() == [3, 10]
    assert failed["error"].eq("worker process died (BrokenProcessPool)").all()
    assert failed["final_refuse"].isna().all()
    assert_same_as_undisturbed(table, clean)


def test_run_that_raises_beside_a_dying_run_keeps_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs 4 and 5 share a batch: 4 raises, 5 kills the worker. Retried one at a time,
    4 is recorded with its exception, 5 as a worker death."""
    path = experiment_file(tmp_path, replications=3)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    monkeypatch.setenv(FAULT_ENV, "4:raise,5:exit")
    table = runs(sweep(path, tmp_path / "out", "--workers", "2")).set_index("run_index", drop=False)
    assert table.loc[table["status"] == "failed", "run_index"].tolist() == [4, 5]
    assert table.loc[4, "error"] == "RuntimeError: fault injected into run 4"
    assert table.loc[5, "error"] == "worker process died (BrokenProcessPool)"
    assert_same_as_undisturbed(table.reset_index(drop=True), clean)


def test_worker_dying_in_a_resumed_sweep_fails_only_its_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted sweep (batches of runs 4-7 and 10-11 never recorded) is resumed with
    run 6 killing its worker: the recorded batches are kept as they were, run 6 is failed,
    the rest complete."""
    path = experiment_file(tmp_path, replications=4)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    out = tmp_path / "out"
    sweep(path, out, "--workers", "1")
    for part in run_parts(out):
        if pq.read_table(part, columns=["run_index"]).column(0)[0].as_py() in (4, 6, 10):
            part.unlink()
    (out / "runs.parquet").unlink()
    kept = {part.name: part.read_bytes() for part in run_parts(out)}
    assert sorted(part_indices(out)) == [0, 1, 2, 3, 8, 9, 12, 13, 14, 15]

    monkeypatch.setenv(FAULT_ENV, "6:exit")
    sweep(path, out, "--resume", "--workers", "2")
    assert {name: (out / "parts" / name).read_bytes() for name in kept} == kept
    assert sorted(part_indices(out)) == list(range(16))
    table = runs(out)
    failed = table[table["status"] == "failed"]
    assert failed["run_index"].tolist() == [6]
    assert failed["error"].tolist() == ["worker process died (BrokenProcessPool)"]
    assert_same_as_undisturbed(table, clean)


def test_worker_processes_exit_when_the_sweep_process_alone_is_killed(tmp_path: Path) -> None:
    """SIGKILL only the sweep's own process (as the out-of-memory killer would): its
    worker processes (and the forkserver) do not linger, waiting for work forever."""
    path = experiment_file(tmp_path, replications=24)
    out = tmp_path / "out"
    process = start_sweep(path, out, "--workers", "2", fault="*:sleep=0.05")
    try:
        wait_for(lambda: len(run_parts(out)) >= 2, "batch recorded", process)
        assert len(processes_in_group(process.pid)) > 1, "no worker processes to watch"
        process.kill()
        process.wait(timeout=30)
        wait_for(lambda: not processes_in_group(process.pid), "exit of the worker processes")
    finally:
        if processes_in_group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)


# ------------------------------------------------------------------------------- Dask


@pytest.mark.parametrize(
    "allowed_failures",
    [3, 0],
    ids=["dask_reschedules_the_lost_tasks", "sweep_retries_the_lost_batches_alone"],
)
def test_dask_worker_killed_from_outside_mid_sweep_loses_no_run(
    tmp_path: Path, allowed_failures: int
) -> None:
    """SIGKILL one of two Dask worker processes once some batches are recorded: its tasks
    run again elsewhere (rescheduled by Dask, or, when Dask gives up at once, retried run by
    run by the sweep), so every run is recorded once, completed, equal to the local sweep's."""
    import dask
    from distributed import Client, LocalCluster

    path = experiment_file(tmp_path, replications=10)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    out = tmp_path / "dask"
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        victim = next(iter(client.run(os.getpid).values()))
        scheduler = ("--scheduler", cluster.scheduler_address)
        process = start_sweep(path, out, *scheduler, fault="*:sleep=0.05")
        try:
            wait_for(lambda: len(run_parts(out)) >= 2, "batch recorded", process)
            assert process.poll() is None, "the sweep ended before a worker could be killed"
            os.kill(victim, signal.SIGKILL)
            assert process.wait(timeout=DEADLINE) == 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        assert victim not in client.run(os.getpid).values(), "the worker was not killed"
    indices = part_indices(out)
    assert sorted(indices) == list(range(40)), "a run was lost or recorded twice"
    table = runs(out)
    assert table["status"].eq("ok").all(), table.loc[table["status"] != "ok", "error"]
    pd.testing.assert_frame_equal(table, clean)


# ------------------------------------------------------------------------------- stalls


def test_a_stopped_worker_is_detected_within_two_minutes_with_default_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP one of two local workers mid-sweep, never continued (the run timeout is the
    default hour): its heartbeat stops, the sweep takes its batches away within the default
    stall timeout (60 s) and retries them on a fresh worker, and ends equal to an
    undisturbed sweep."""
    path = experiment_file(tmp_path, replications=10)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the sweep keeps its heartbeats
    out = tmp_path / "stopped"
    process = start_sweep(path, out, "--workers", "2", fault="*:sleep=0.3", capture=True)
    victim = None
    try:
        wait_for(lambda: len(run_parts(out)) >= 1, "batch recorded", process)
        beats = [
            p for folder in scratch.glob("reluctant-army-heartbeats-*") for p in folder.iterdir()
        ]
        assert beats, "no worker heartbeat"
        victim = int(beats[0].name)
        os.kill(victim, signal.SIGSTOP)
        stopped = time.monotonic()
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        assert time.monotonic() - stopped < 120, "not detected within 2 minutes"
        assert "stopped beating their heartbeat" in err
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        if victim is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
    assert sorted(set(part_indices(out))) == list(range(40))
    pd.testing.assert_frame_equal(runs(out), clean)


def test_a_run_that_stops_its_worker_each_time_is_failed_then_resumed(tmp_path: Path) -> None:
    """A run that stops (SIGSTOP) every worker that runs it, with a 3 s stall timeout: its
    batch is taken away, it stops its lone retry too and is recorded as failed, the rest
    complete; a resume that retries it (the fault gone) ends equal to an undisturbed sweep."""
    path = experiment_file(tmp_path, replications=3)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    out = tmp_path / "stopped"
    process = start_sweep(path, out, "--workers", "2", "--stall-timeout", "3", fault="5:stop")
    try:
        assert process.wait(timeout=DEADLINE * 2) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        for pid in processes_in_group(process.pid):
            os.kill(pid, signal.SIGKILL)  # the stopped workers, if any outlived the sweep
    table = runs(out)
    assert table.loc[table["status"] != "ok", "run_index"].tolist() == [5]
    assert "heartbeat" in table.loc[5, "error"]
    sweep(path, out, "--resume", "--retry-failed", "--workers", "2")
    pd.testing.assert_frame_equal(runs(out), clean)
