"""Specification of a sweep's waits: none is unbounded. A run past its timeout is recorded
as failed and the sweep goes on; a batch that never comes back is taken from its worker;
Ctrl-C ends the sweep at once, workers included; on a real Dask cluster (started with
`dask scheduler` and `dask worker`, on 127.0.0.1) a killed worker loses no run and a
killed scheduler ends the sweep with one line, after which a resume completes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import simulation.experiments.sweep as sweep_module
from simulation.experiments.backends import kill_pool, local_backend
from simulation.experiments.sweep import FAULT_ENV
from tests.sweep_support import (
    DEADLINE,
    processes_in_group,
    run_parts,
    runs,
    start_sweep,
    sweep,
    wait_for,
)

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("no_run_cache")


def experiment_file(tmp_path: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 100},
        },
        "vary": {"drivers.punishment_severity": [0, 1, 2, 3]},
        "replications": 3,
        "steps": 8,
        "seed": 11,
        "batch_size": 2,
        **changes,
    }
    path = tmp_path / "waits.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- timeouts


def test_a_run_past_its_timeout_is_recorded_as_failed_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    """60,000 officers x 50 steps take well over a second; 100 officers a few hundredths."""
    path = experiment_file(
        tmp_path,
        vary={"population.n_officers": [100, 60000]},
        replications=2,
        steps=50,
        run_timeout=0.4,
    )
    table = runs(sweep(path, tmp_path / "out", "--workers", "1"))
    slow = table[table["population.n_officers"] == 60000]
    fast = table[table["population.n_officers"] == 100]
    assert (fast["status"] == "ok").all()
    assert (slow["status"] == "failed").all()
    assert slow["error"].str.startswith("RunTimeoutError: timed out after 0.4 s (at step").all()


def test_a_batch_that_never_comes_back_is_taken_from_its_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 3 hangs (before its own timeout can act): its batch is called stuck, the pool
    is killed, the batch's runs are retried alone, and only run 3 is recorded as failed."""
    monkeypatch.setattr(sweep_module, "GRACE_SECONDS", 1.0)
    monkeypatch.setenv(FAULT_ENV, "3:sleep=600")
    path = experiment_file(tmp_path, run_timeout=1)
    started = time.monotonic()
    table = runs(sweep(path, tmp_path / "out", "--workers", "2"))
    assert time.monotonic() - started < 45
    failed = table[table["status"] == "failed"]
    assert failed["run_index"].tolist() == [3]
    assert failed["error"].tolist() == ["timed out after 1 s (its worker stopped answering)"]
    monkeypatch.delenv(FAULT_ENV)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    ok = (table["status"] == "ok").to_numpy()
    pd.testing.assert_frame_equal(table[ok], clean[ok], check_dtype=False)


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_ends_the_sweep_at_once_and_its_workers_too(tmp_path: Path) -> None:
    """SIGINT to the sweep's process alone (the harder case: a terminal's Ctrl-C reaches
    the workers too) while every run sleeps for a minute: the sweep exits 130 within
    seconds, says how to resume, and leaves no worker behind (nor one the forkserver was
    still starting)."""
    out = tmp_path / "out"
    process = start_sweep(
        experiment_file(tmp_path), out, "--workers", "2", fault="*:sleep=60", capture=True
    )
    try:
        wait_for(lambda: (out / "parts").is_dir(), "the sweep to start", process)
        # itself, the resource tracker, the forkserver and both workers: the runs are under
        # way (Ctrl-C while the forkserver is still starting: the abandoning test below)
        wait_for(lambda: len(processes_in_group(process.pid)) >= 5, "the workers", process)
        time.sleep(1.0)
        started = time.monotonic()
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - started < 15
        assert process.returncode == 130
        assert "interrupted: finished batches are kept" in err and "--resume" in err
        assert "Traceback" not in err  # no worker forked after the interrupt, failing to start
        wait_for(lambda: not processes_in_group(process.pid), "exit of the worker processes")
    finally:
        if processes_in_group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_abandoning_a_local_pool_ends_its_forkserver_and_every_worker_it_forked() -> None:
    """What the sweep does after Ctrl-C, beyond killing the pool's known workers: a worker
    the forkserver was still starting would otherwise outlive the sweep."""
    from multiprocessing import forkserver

    backend = local_backend(2)
    executor = backend.make()
    try:
        for _ in range(2):
            executor.submit(time.sleep, 60)
        wait_for(lambda: len(executor._processes or {}) == 2, "two workers")
        server = forkserver._forkserver._forkserver_pid
        workers = list(executor._processes)
        assert server is not None and alive(server)
        backend.abandon()
        wait_for(lambda: not any(alive(pid) for pid in [server, *workers]), "their end")
        assert forkserver._forkserver._forkserver_pid is None  # a later pool starts anew
    finally:
        kill_pool(executor)
        backend.close()


# ------------------------------------------------------------------ a real Dask cluster


class Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, as a user starts them."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        dask = [sys.executable, "-m", "dask"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": REPO}
        self.scheduler = subprocess.Popen(
            [
                *dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(self.file),
            ],
            **quiet,
        )
        self.processes.append(self.scheduler)
        wait_for(self._scheduler_file_written, "scheduler file")
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [
            subprocess.Popen(
                [
                    *dask,
                    "worker",
                    self.address,
                    "--no-nanny",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--death-timeout",
                    "20",
                ],
                **quiet,
            )
            for _ in range(workers)
        ]
        self.processes += self.workers
        wait_for(lambda: self.worker_count() == workers, f"{workers} workers")

    def _scheduler_file_written(self) -> bool:
        """Dask writes its scheduler file in place: it may exist before it holds JSON."""
        try:
            return "address" in json.loads(self.file.read_text())
        except (OSError, ValueError):
            return False

    def worker_count(self) -> int:
        from distributed import Client

        try:
            with Client(self.address, timeout=5) as client:
                return len(client.scheduler_info()["workers"])
        except OSError:
            return 0

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_on_a_dask_cluster_a_killed_worker_loses_no_run_and_a_killed_scheduler_ends_the_sweep(
    tmp_path: Path, cluster: Cluster
) -> None:
    """One of two workers is killed once two batches are recorded: its tasks run on the
    other. Then the scheduler is killed: the sweep ends within seconds with one error line
    giving the resume command, keeping every recorded batch; the resume completes it, and
    every run equals the same run of a local sweep, recorded once."""
    path = experiment_file(tmp_path, replications=8)
    out = tmp_path / "dask"
    process = start_sweep(
        path,
        out,
        "--scheduler-file",
        str(cluster.file),
        "--scheduler-timeout",
        "3",
        fault="*:sleep=0.15",
        capture=True,
    )
    try:
        wait_for(lambda: len(run_parts(out)) >= 2, "two batches recorded", process)
        cluster.workers[0].kill()
        recorded = len(run_parts(out))
        wait_for(
            lambda: len(run_parts(out)) >= recorded + 2, "batches after the worker died", process
        )
        kept = {part.name for part in run_parts(out)}
        cluster.scheduler.kill()
        started = time.monotonic()
        _, err = process.communicate(timeout=DEADLINE)
        assert time.monotonic() - started < 30
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: scheduler: lost the Dask scheduler"), err
    assert "--resume" in lines[-1] and "Traceback" not in err
    assert [line for line in lines if "error" in line.lower()] == [lines[-1]], err
    assert kept <= {part.name for part in run_parts(out)}
    sweep(path, out, "--resume", "--workers", "1")
    indices = [i for part in run_parts(out) for i in pd.read_parquet(part)["run_index"]]
    assert sorted(indices) == list(range(32)), "a run was lost or recorded twice"
    table = runs(out)
    assert (table["status"] == "ok").all(), table.loc[table["status"] != "ok", "error"]
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    pd.testing.assert_frame_equal(table, clean)
