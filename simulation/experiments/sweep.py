"""Running a sweep: batches of runs on a process pool, in-process, or on a Dask cluster.

Workers receive a batch of run specifications and return only what the results folder
keeps: one outcome row per run (final and peak value of each metric) and, when asked, the
per-step series thinned to every N steps. The parent writes each finished batch to its own
part file and drops it, so memory stays flat however many runs there are.

A run that raises is recorded as failed with its error. A worker that dies (a crash, the
out-of-memory killer, ``os._exit``) breaks a process pool: the batches then in flight are
retried one run at a time on a fresh single-worker pool, so the culprit is recorded as
failed and the innocent runs still complete. If the sweep's own process is killed alone,
its worker processes notice within a second or so and exit.

Test hook: ``RELUCTANT_ARMY_FAULT_INJECT`` is a comma-separated list of
``<run index or *>:<action>`` items checked at the start of each run, where the action is
``raise`` (the run raises RuntimeError), ``exit`` (the process dies with ``os._exit(70)``)
or ``sleep=<seconds>`` (the run is slowed down). Example: ``"3:raise,7:exit,*:sleep=0.05"``.
The sweep's own process reads the variable and hands it to every task, so it reaches
forkserver and Dask workers that were started before it was set.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.config.loading import apply_overrides, validate_config
from simulation.config.schema import SimulationConfig
from simulation.errors import ArgumentError
from simulation.experiments.backends import (
    Backend,
    auto_batch_size,
    dask_backend,
    default_workers,
    local_backend,
    shutdown,
)
from simulation.experiments.design import Experiment
from simulation.experiments.runner import StopRule, outcome_measures, run_model
from simulation.experiments.storage import ResultsFolder, outcome_columns

FAULT_ENV = "RELUCTANT_ARMY_FAULT_INJECT"
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- workers


def _inject_fault(run_index: int, spec: str) -> None:
    """Apply the test hook (FAULT_ENV, as the sweep's parent saw it) if it names this run."""
    for item in filter(None, (part.strip() for part in spec.split(","))):
        target, _, action = item.partition(":")
        if target not in ("*", str(run_index)):
            continue
        if action == "raise":
            raise RuntimeError(f"fault injected into run {run_index}")
        if action == "exit":
            os._exit(70)
        if action.startswith("sleep="):
            time.sleep(float(action.removeprefix("sleep=")))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def failed_row(spec: dict[str, Any], task: dict[str, Any], error: str) -> dict[str, Any]:
    """The outcome row of a run that did not complete."""
    row = _identity(spec)
    row.update({column: None for column in outcome_columns(task["metrics"], task["measures"])})
    row.update(steps_run=None, status="failed", error=error, seconds=None, worker=_worker_name())
    return row


def _identity(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_index": spec["run_index"],
        "point": spec["point"],
        "scenario": spec["scenario"],
        "replication": spec["replication"],
        "seed": spec["seed"],
        **spec["parameters"],
    }


def run_one(
    spec: dict[str, Any], config: SimulationConfig, task: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list] | None]:
    """Run one simulation and reduce it to its outcome row (and thinned series)."""
    started = time.perf_counter()
    _inject_fault(spec["run_index"], task.get("fault", ""))
    metrics: list[str] = task["metrics"]
    stop = StopRule(**task["stop"]) if task["stop"] else None
    outcome = run_model(config, spec["seed"], stop=stop)
    row = _identity(spec)
    measures: list[str] = task["measures"]
    reduced = {metric: outcome.reduce(metric, measures) for metric in metrics}
    for statistic in measures:
        for metric in metrics:
            row[f"{statistic}_{metric}"] = reduced[metric][statistic]
    row.update(
        steps_run=outcome.steps_run,
        status="ok",
        error=None,
        seconds=time.perf_counter() - started,
        worker=_worker_name(),
    )
    series = None
    every = task["record_every"]
    if every is not None:
        thinned = outcome.thinned(metrics, every)
        series = {"run_index": [spec["run_index"]] * len(thinned["step"]), **thinned}
    return row, series


def run_batch(task: dict[str, Any]) -> dict[str, Any]:
    """Run a batch of runs (a worker's task); a run that raises is recorded as failed."""
    rows: list[dict[str, Any]] = []
    series: dict[str, list] | None = None
    configs: dict[int, SimulationConfig] = {}
    for spec in task["runs"]:
        try:
            config = configs.get(spec["point"])
            if config is None:
                base = task["bases"][spec["base"]] if spec.get("base") else task["base"]
                data = apply_overrides(base, spec["overrides"])
                config = configs[spec["point"]] = validate_config(data, "design point")
            row, run_series = run_one(spec, config, task)
        except Exception as error:  # noqa: BLE001 - a failing run is data, not a crash
            rows.append(failed_row(spec, task, f"{type(error).__name__}: {error}"))
            continue
        rows.append(row)
        if run_series is not None:
            if series is None:
                series = {key: [] for key in run_series}
            for key, values in run_series.items():
                series[key].extend(values)
    return {"rows": rows, "series": series}


# ---------------------------------------------------------------------------- the sweep


@dataclass
class SweepReport:
    """What a sweep did: how many runs it ran now, and in total, and how many failed."""

    total: int
    already_done: int
    ran: int = 0
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0
    backend: str = ""
    notes: list[str] = field(default_factory=list)


def _batches(pending: list[int], batch_size: int) -> Iterator[list[int]]:
    """Pending runs grouped by the fixed grid run_index // batch_size (never interleaved)."""
    current: list[int] = []
    for index in pending:
        if current and index // batch_size != current[0] // batch_size:
            yield current
            current = []
        current.append(index)
    if current:
        yield current


def _task(experiment: Experiment, runs: list[int]) -> dict[str, Any]:
    stop = experiment.spec.stop
    specs = [experiment.run_spec(index) for index in runs]
    own = sorted({spec["base"] for spec in specs if spec["base"]})
    return {
        "base": experiment.base_data,
        "bases": {scenario: experiment.scenario_bases[scenario] for scenario in own},
        "runs": specs,
        "metrics": experiment.metrics,
        "measures": outcome_measures(experiment.base_config),
        "stop": stop.model_dump() if stop else None,
        "record_every": experiment.record_every,
        "fault": os.environ.get(FAULT_ENV, ""),
    }


def run_sweep(
    experiment: Experiment,
    folder: ResultsFolder,
    backend: Backend,
    *,
    progress: bool = True,
) -> SweepReport:
    """Run every run not yet recorded in `folder`, writing each batch as it finishes."""
    from tqdm import tqdm

    started = time.perf_counter()
    done = folder.done_runs()
    pending = [index for index in range(experiment.n_runs) if index not in done]
    report = SweepReport(total=experiment.n_runs, already_done=len(done), backend=backend.name)
    del done
    batch_size = int(folder.manifest["batch_size"])
    bar = tqdm(
        total=experiment.n_runs,
        initial=report.already_done,
        unit="run",
        desc=experiment.name,
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    bar.set_postfix(failed=0)

    def record(result: dict[str, Any]) -> None:
        folder.write_batch(result["rows"], result["series"])
        failures = sum(row["status"] != "ok" for row in result["rows"])
        report.ran += len(result["rows"])
        report.failed += failures
        bar.update(len(result["rows"]))
        if failures:
            bar.set_postfix(failed=report.failed)

    suspects: list[int] = []
    window = 2 * backend.slots
    batches = _batches(pending, batch_size)
    executor = backend.make()
    inflight: dict[Future, list[int]] = {}
    requeued: list[list[int]] = []
    try:
        while True:
            broken = False
            while len(inflight) < window and not broken:
                runs = requeued.pop() if requeued else next(batches, None)
                if runs is None:
                    break
                try:
                    inflight[executor.submit(run_batch, _task(experiment, runs))] = runs
                except BrokenProcessPool:  # the pool broke since the last wait: not this batch
                    requeued.append(runs)
                    broken = True
            if not inflight and not broken:
                break
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED) if inflight else ([], [])
            for future in finished:
                runs = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    suspects += runs
                except Exception:  # noqa: BLE001 - e.g. Dask's KilledWorker: retry alone
                    suspects += runs
                else:
                    record(result)
            if broken and backend.recreate_on_break:
                for runs in inflight.values():
                    suspects += runs
                inflight.clear()
                shutdown(executor)
                executor = backend.make()
        if suspects:
            report.retried = len(suspects)
            report.notes.append(
                f"a worker died; {len(suspects)} run(s) of the affected batches were retried "
                "one at a time"
            )
            executor.shutdown(wait=True)
            executor = backend.make_isolated()
            for index in sorted(suspects):
                try:
                    result = executor.submit(run_batch, _task(experiment, [index])).result()
                except Exception as error:  # noqa: BLE001 - the worker died running it alone
                    spec = experiment.run_spec(index)
                    reason = f"worker process died ({type(error).__name__})"
                    result = {
                        "rows": [failed_row(spec, _task(experiment, [index]), reason)],
                        "series": None,
                    }
                    if backend.recreate_on_break:
                        shutdown(executor)
                        executor = backend.make_isolated()
                record(result)
    finally:
        for future in inflight:
            future.cancel()
        shutdown(executor)
        bar.close()
        backend.close()
    report.seconds = time.perf_counter() - started
    return report


# ---------------------------------------------------------------------------- the API


@dataclass
class SweepResult:
    """A finished (or partly finished) sweep: one row per run, the summary per design point,
    and the folder that holds it (None when it ran without one)."""

    experiment: Experiment
    runs: pd.DataFrame
    summary: pd.DataFrame
    folder: Path | None
    manifest: dict[str, Any]
    report: SweepReport
    figures: list[Path] = field(default_factory=list)
    complete: bool = True


def run_experiment(
    experiment: Experiment | str | Path | dict[str, Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run every design point x replication of an experiment and summarise the results.

    `experiment` is an :class:`Experiment`, an experiment file, or experiment data (see
    :meth:`Experiment.from_dict`). Runs go to `workers` local processes (default: every
    core; 1 runs in this process), or to the Dask cluster at `scheduler` (an address) or
    described by `scheduler_file`. With `out`, results are written there as runs finish: an
    interrupted sweep keeps every finished run and `resume=True` completes it. Without `out`
    the sweep runs in a temporary folder and only the returned tables remain.

    Every run's seed derives from the experiment's root seed and the run's index, so the
    numbers are the same whatever the backend, the number of workers or a resume.
    """
    if not isinstance(experiment, Experiment):
        from simulation.experiments.design import load_experiment

        experiment = (
            Experiment.from_dict(experiment)
            if isinstance(experiment, dict)
            else load_experiment(experiment)
        )
    if workers is not None and workers < 1:
        raise ArgumentError(f"must be at least 1, got {workers}", "workers")
    if batch_size is not None and batch_size < 1:
        raise ArgumentError(f"must be at least 1, got {batch_size}", "batch_size")
    if workers is not None and (scheduler or scheduler_file):
        raise ArgumentError("is for local runs; a Dask cluster uses its own workers", "workers")
    if scheduler and scheduler_file:
        raise ArgumentError("give a scheduler address or a scheduler file, not both", "scheduler")
    if resume and overwrite:
        raise ArgumentError("give either resume or overwrite, not both", "resume")
    if resume and out is None:
        raise ArgumentError("resuming needs the results folder (out)", "resume")
    if out is None:
        with tempfile.TemporaryDirectory(prefix="reluctant-army-") as scratch:
            result = _run_into(
                experiment,
                Path(scratch),
                workers,
                scheduler,
                scheduler_file,
                False,
                False,
                batch_size,
                progress,
                figures=False,
            )
        result.folder = None
        return result
    return _run_into(
        experiment,
        Path(out),
        workers,
        scheduler,
        scheduler_file,
        resume,
        overwrite,
        batch_size,
        progress,
        figures=True,
    )


def _run_into(
    experiment: Experiment,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    scheduler_file: str | Path | None,
    resume: bool,
    overwrite: bool,
    batch_size: int | None,
    progress: bool,
    *,
    figures: bool,
) -> SweepResult:
    """Open (or resume) the results folder, run what is not yet recorded, summarise."""
    from simulation.experiments.summary import summarize_folder

    if scheduler or scheduler_file:
        backend = dask_backend(scheduler, str(scheduler_file) if scheduler_file else None)
    else:
        backend = local_backend(workers or default_workers())
    try:
        size = batch_size or experiment.spec.batch_size
        size = size or auto_batch_size(experiment.n_runs, backend.slots)
        folder = ResultsFolder.open(
            out, experiment, batch_size=size, resume=resume, overwrite=overwrite
        )
    except BaseException:
        backend.close()
        raise
    log.info(
        "%s: %d design point(s) x %d replication(s) = %s runs of %s steps on %s",
        experiment.name,
        len(experiment.points),
        experiment.replications,
        f"{experiment.n_runs:,}",
        experiment.steps_label,
        backend.name,
    )
    report = run_sweep(experiment, folder, backend, progress=progress)
    for note in report.notes:
        log.warning("note: %s", note)
    if report.already_done:
        log.info(
            "resumed: %s runs were already recorded, %s run now",
            f"{report.already_done:,}",
            f"{report.ran:,}",
        )
    summarized = summarize_folder(folder, figures=figures)
    runs = pd.read_parquet(folder.path / "runs.parquet")
    return SweepResult(
        experiment=experiment,
        runs=runs,
        summary=summarized["summary"],
        folder=folder.path,
        manifest=folder.manifest,
        report=report,
        figures=summarized["figures"],
        complete=summarized["complete"],
    )
