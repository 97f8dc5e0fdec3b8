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

Every wait is bounded. A run stops itself once it has taken longer than the run timeout
and is recorded as failed; a local worker whose heartbeat stops for the stall timeout (a
process stopped with SIGSTOP, or frozen) has its batches taken away and retried alone,
however long the run timeout; a batch that has not come back long after its runs' timeouts
(a worker stopped or stuck) is taken away from its worker (a local pool is killed) and
its runs are retried alone, each recorded as failed if it times out again. A Dask
scheduler that cannot be reached, or is lost mid-sweep, ends the sweep with one error
(the finished batches are kept for a resume). Ctrl-C ends the sweep at once: the parent
polls, and kills its local workers on the way out.

Runs already in the run cache (:mod:`simulation.experiments.cache`) are recorded from it
without running. With adaptive replications (:mod:`simulation.experiments.adaptive`),
each design point gets more runs as its earlier ones come back, until its interval is
tight enough.

Test hook: ``RELUCTANT_ARMY_FAULT_INJECT`` is a comma-separated list of
``<run index or *>:<action>`` items checked at the start of each run, where the action is
``raise`` (the run raises RuntimeError), ``exit`` (the process dies with ``os._exit(70)``),
``stop`` (the process stops itself with SIGSTOP and is never continued; for worker
processes only: in-process it would stop the sweep) or ``sleep=<seconds>`` (the run is
slowed down). Example: ``"3:raise,7:exit,*:sleep=0.05"``.
The sweep's own process reads the variable and hands it to every task, so it reaches
forkserver and Dask workers that were started before it was set.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.config.loading import apply_overrides, validate_config
from simulation.config.schema import SimulationConfig
from simulation.errors import AllRunsFailedError, ArgumentError, ResultsError
from simulation.experiments import cache as run_cache
from simulation.experiments.adaptive import AdaptivePlan, replay, watched_columns
from simulation.experiments.backends import (
    DEFAULT_SCHEDULER_TIMEOUT,
    Backend,
    auto_batch_size,
    dask_backend,
    default_workers,
    local_backend,
    shutdown,
)
from simulation.experiments.cache import PointKey, Request, RunCache, open_cache, plain_number
from simulation.experiments.design import Experiment
from simulation.experiments.runner import StopRule, outcome_measures, run_model
from simulation.experiments.storage import ResultsFolder, mixed_versions_note, outcome_columns
from simulation.experiments.timeouts import DEFAULT_RUN_TIMEOUT

FAULT_ENV = "RELUCTANT_ARMY_FAULT_INJECT"
POLL_SECONDS = 0.25
"""How often the parent looks up from waiting: deadlines, the scheduler, Ctrl-C."""
GRACE_SECONDS = 10.0
"""Margin the parent gives a batch beyond its runs' own timeouts before calling it stuck."""
log = logging.getLogger(__name__)

run_cache.code_version()  # fixed now that the model is loaded: a worker reports what it runs


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
        if action == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
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
    outcome = run_model(
        config, spec["seed"], stop=stop, timeout=task.get("run_timeout"), columns=metrics
    )
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


def _point_config(spec: dict[str, Any], task: dict[str, Any]) -> SimulationConfig:
    """A design point's config as a sweep runs it: no agent-level data (a sweep keeps only
    outcomes, and the data could exhaust a worker's memory)."""
    base = task["bases"][spec["base"]] if spec.get("base") else task["base"]
    data = apply_overrides(base, spec["overrides"])
    output = data.get("output") if isinstance(data.get("output"), dict) else {}
    data["output"] = {**output, "collect_agent_data": False}
    return validate_config(data, "design point")


def run_batch(task: dict[str, Any]) -> dict[str, Any]:
    """Run a batch of runs (a worker's task); a run that raises is recorded as failed."""
    rows: list[dict[str, Any]] = []
    series: dict[str, list] | None = None
    configs: dict[int, SimulationConfig] = {}
    for spec in task["runs"]:
        try:
            config = configs.get(spec["point"])
            if config is None:
                config = configs[spec["point"]] = _point_config(spec, task)
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
    return {
        "rows": rows,
        "series": series,
        "code_version": run_cache.code_version(),
        "worker": _worker_name(),
    }


# ---------------------------------------------------------------------------- what to run


@dataclass
class SweepReport:
    """What a sweep did: how many runs it ran now, and in total, and how many failed."""

    total: int
    already_done: int
    ran: int = 0
    failed: int = 0
    retried: int = 0
    cached: int = 0
    seconds: float = 0.0
    backend: str = ""
    notes: list[str] = field(default_factory=list)
    stale: dict[str, int] = field(default_factory=dict)
    """Workers that ran other code than this sweep's: their name -> runs refused."""


def _cells(indices: Iterator[int] | np.ndarray, batch_size: int) -> Iterator[list[int]]:
    """Runs grouped by the fixed grid run_index // batch_size (never straddling a cell)."""
    current: list[int] = []
    for index in indices:
        index = int(index)
        if current and index // batch_size != current[0] // batch_size:
            yield current
            current = []
        current.append(index)
    if current:
        yield current


class RunQueue:
    """The runs still to make, in batches: every run not yet recorded, or, with adaptive
    replications, the runs each point needs as far as its recorded runs tell."""

    def __init__(self, experiment: Experiment, folder: ResultsFolder, retry_failed: bool):
        self.experiment = experiment
        self.batch_size = int(folder.manifest["batch_size"])
        self.rule = experiment.spec.adaptive
        self.plan: AdaptivePlan | None = None
        self.columns: list[str] = []
        if self.rule is None:
            done = folder.done_runs(retry_failed=retry_failed)
            self.already_done = int(done.sum())
            self._fixed: Iterator[list[int]] | None = _cells(np.flatnonzero(~done), self.batch_size)
            self._pending: list[int] = []
            return
        self._fixed = None
        self.columns = watched_columns(self.rule, experiment.metrics)
        table = folder.recorded(["point", "replication", *self.columns])
        status = np.asarray(table.column("status").to_pylist())
        keep = status == "ok" if retry_failed else np.ones(len(status), dtype=bool)
        values = (
            np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in self.columns])
            if table.num_rows
            else np.empty((0, len(self.columns)))
        )
        self.plan = replay(
            self.rule,
            len(experiment.points),
            self.columns,
            table.column("point").to_numpy()[keep],
            table.column("replication").to_numpy()[keep],
            (status == "ok")[keep],
            values[keep],
        )
        self.already_done = int(keep.sum())
        self._pending = sorted(
            point * experiment.replications + replication
            for point in range(len(experiment.points))
            for replication in self.plan.missing(point)
        )

    def next_batch(self) -> list[int] | None:
        """The next batch of runs to make, or None when nothing is waiting now."""
        if self._fixed is not None:
            return next(self._fixed, None)
        if not self._pending:
            return None
        first = self._pending[0]
        cell = first // self.batch_size
        taken = 0
        while taken < len(self._pending) and self._pending[taken] // self.batch_size == cell:
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        return batch

    def recorded(self, rows: list[dict[str, Any]]) -> None:
        """Note finished runs; with adaptive replications, queue what their points need."""
        if self.plan is None:
            return
        touched = set()
        for row in rows:
            ok = row["status"] == "ok"
            outcome = np.array([row[c] if ok else np.nan for c in self.columns], dtype=float)
            self.plan.record(row["point"], row["replication"], outcome)
            touched.add(row["point"])
        replications = self.experiment.replications
        added = [
            point * replications + replication
            for point in sorted(touched)
            for replication in self.plan.advance(point)
        ]
        if added:
            self._pending = sorted(set(self._pending) | set(added))


# ---------------------------------------------------------------------------- the sweep


@dataclass
class _Inflight:
    runs: list[int]
    submitted: float


class SweepDriver:
    """Runs what a results folder still lacks, through a backend, writing as runs finish."""

    def __init__(
        self,
        experiment: Experiment,
        folder: ResultsFolder,
        backend: Backend,
        *,
        cache: RunCache | None = None,
        run_timeout: float = DEFAULT_RUN_TIMEOUT,
        retry_failed: bool = False,
        progress: bool = True,
    ) -> None:
        self.experiment = experiment
        self.folder = folder
        self.backend = backend
        self.cache = cache
        self.run_timeout = run_timeout
        self.queue = RunQueue(experiment, folder, retry_failed)
        self.report = SweepReport(
            total=experiment.n_runs, already_done=self.queue.already_done, backend=backend.name
        )
        self.suspects: list[int] = []
        self.stuck = 0
        self.stalled: list[str] = []
        self._points: dict[int, PointKey] = {}
        self.version = run_cache.code_version()
        self._measures = outcome_measures(experiment.base_config)
        self._cached_columns = [*outcome_columns(experiment.metrics, self._measures), "steps_run"]
        self._settings = {
            "metrics": experiment.metrics,
            "measures": self._measures,
            "record_every": experiment.record_every,
            "stop": experiment.spec.stop.model_dump() if experiment.spec.stop else None,
        }
        self.progress = progress
        self.bar: Any = None

    # ------------------------------------------------------------------ recording

    def _task(self, runs: list[int]) -> dict[str, Any]:
        experiment = self.experiment
        stop = experiment.spec.stop
        specs = [experiment.run_spec(index) for index in runs]
        own = sorted({spec["base"] for spec in specs if spec["base"]})
        return {
            "base": experiment.base_data,
            "bases": {scenario: experiment.scenario_bases[scenario] for scenario in own},
            "runs": specs,
            "metrics": experiment.metrics,
            "measures": self._measures,
            "stop": stop.model_dump() if stop else None,
            "record_every": experiment.record_every,
            "run_timeout": self.run_timeout,
            "fault": os.environ.get(FAULT_ENV, ""),
        }

    def _record(self, result: dict[str, Any], *, cached: bool = False) -> None:
        if not cached and result.get("code_version") != self.version:
            worker = str(result.get("worker") or "a worker")
            self.report.stale[worker] = self.report.stale.get(worker, 0) + len(result["rows"])
            return
        rows = result["rows"]
        self.folder.write_batch(rows, result["series"])
        self.queue.recorded(rows)
        failures = sum(row["status"] != "ok" for row in rows)
        self.report.ran += len(rows)
        self.report.failed += failures
        if cached:
            self.report.cached += len(rows)
        elif self.cache is not None:
            self._remember(rows, result["series"])
        self.bar.update(len(rows))
        if failures:
            self.bar.set_postfix(failed=self.report.failed)

    def _request(self, index: int) -> Request:
        """What the cache is asked for a run. Its config is the point's base (already
        resolved: every default filled in) with the point's overrides applied; validating it
        again for every point would only repeat what loading the experiment did."""
        point = index // self.experiment.replications
        if point not in self._points:
            design_point = self.experiment.points[point]
            base = (
                self.experiment.scenario_bases[design_point.base]
                if design_point.base
                else self.experiment.base_data
            )
            config = apply_overrides(base, design_point.overrides)
            self._points[point] = PointKey.of(config, self._settings)
        return Request(self._points[point], self.experiment.run_seed(index))

    def _remember(self, rows: list[dict[str, Any]], series: dict[str, list] | None) -> None:
        """Store the successful runs of a batch in the cache."""
        by_run: dict[int, dict[str, list]] = {}
        if series is not None:
            for position, index in enumerate(series["run_index"]):
                entry = by_run.setdefault(index, {key: [] for key in series if key != "run_index"})
                for key, values in series.items():
                    if key != "run_index":
                        entry[key].append(values[position])
        entries = [
            (
                self._request(row["run_index"]),
                {
                    "outcomes": {column: row[column] for column in self._cached_columns},
                    "seconds": row["seconds"],
                    "series": by_run.get(row["run_index"]),
                },
            )
            for row in rows
            if row["status"] == "ok"
        ]
        self.cache.store(entries)

    def _check_content(self, content: Any) -> str | None:
        """What is wrong with a cached content of the wrong shape (None if it is right)."""
        if not isinstance(content, dict) or set(content) != {"outcomes", "seconds", "series"}:
            return "its content is not an outcome row"
        outcomes = content["outcomes"]
        if not isinstance(outcomes, dict) or set(outcomes) != set(self._cached_columns):
            return "its outcome columns are not the ones asked for"
        if not all(plain_number(value) for value in outcomes.values()):
            return "an outcome is not a number"
        if not plain_number(content["seconds"]):
            return "its seconds are not a number"
        series = content["series"]
        if (self.experiment.record_every is None) != (series is None):
            return "its series does not match the series asked for"
        if series is not None:
            names = {"step", *self.experiment.metrics}
            if not isinstance(series, dict) or set(series) != names:
                return "its series does not have the metrics asked for"
            lengths = {len(v) if isinstance(v, list) else -1 for v in series.values()}
            if len(lengths) != 1 or -1 in lengths:
                return "its series columns differ in length"
            if not all(plain_number(value) for values in series.values() for value in values):
                return "a series value is not a number"
        return None

    def _from_cache(self, runs: list[int]) -> list[int]:
        """Record the runs the cache holds; return the others."""
        if self.cache is None:
            return runs
        requests = {index: self._request(index) for index in runs}
        found = self.cache.lookup(list(requests.values()), self._check_content)
        hits = [index for index in runs if requests[index].key in found]
        if not hits:
            return runs
        rows = []
        series: dict[str, list] | None = None
        for index in hits:
            stored = found[requests[index].key]
            row = _identity(self.experiment.run_spec(index))
            row.update(stored["outcomes"])
            row.update(status="ok", error=None, seconds=stored["seconds"], worker="cache")
            rows.append(row)
            if stored["series"]:
                if series is None:
                    series = {"run_index": [], **{key: [] for key in stored["series"]}}
                steps = len(stored["series"]["step"])
                series["run_index"] += [index] * steps
                for key, values in stored["series"].items():
                    series[key] += values
        self._record({"rows": rows, "series": series}, cached=True)
        return [index for index in runs if requests[index].key not in found]

    def _next_to_submit(self) -> list[int] | None:
        while True:
            runs = self.queue.next_batch()
            if runs is None:
                return None
            runs = self._from_cache(runs)
            if runs:
                return runs

    # ------------------------------------------------------------------ running

    def _budget(self, runs: int) -> float:
        """Seconds a batch may stay out before it is called stuck: its runs' timeouts,
        doubled because it may wait behind another batch, plus a margin."""
        return 2 * runs * self.run_timeout + GRACE_SECONDS

    def run(self) -> SweepReport:
        """Run everything that is missing; returns what was done."""
        from tqdm import tqdm

        started = time.perf_counter()
        self.bar = tqdm(
            total=self.experiment.n_runs if self.queue.rule is None else None,
            initial=self.queue.already_done,
            unit="run",
            desc=self.experiment.name,
            disable=not self.progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        self.bar.set_postfix(failed=0)
        try:
            while True:
                self._drain()
                if not self.suspects:
                    break
                suspects, self.suspects = sorted(set(self.suspects)), []
                self._retry_alone(suspects)
        finally:
            self.bar.close()
        if self.report.retried:
            self.report.notes.append(
                f"{self.report.retried} run(s) of batches whose worker died or stalled were "
                "retried one at a time"
            )
        if self.stalled:
            self.report.notes.append(
                f"worker(s) {', '.join(dict.fromkeys(self.stalled))} stopped beating their "
                "heartbeat (stopped or frozen): their batches were taken from them and retried"
            )
        if self.stuck:
            self.report.notes.append(
                f"{self.stuck} batch(es) did not come back within their runs' timeouts and "
                "were taken from their workers"
            )
        self.report.seconds = time.perf_counter() - started
        if self.report.stale:
            refused = sum(self.report.stale.values())
            workers = ", ".join(f"{name} ({n})" for name, n in sorted(self.report.stale.items()))
            raise ResultsError(
                f"{refused} run(s) came back from workers running other code than this "
                f"sweep's ({workers}): they were neither recorded nor cached; restart those "
                "workers on the current code, then resume",
                self.folder.path,
                remedies=("resume",),
            )
        return self.report

    def _drain(self) -> None:
        """Keep the backend busy until nothing is waiting and nothing is out."""
        backend = self.backend
        executor = backend.make()
        inflight: dict[Future, _Inflight] = {}
        requeued: list[list[int]] = []
        window = 2 * backend.slots
        clean = False
        try:
            while True:
                broken = False
                while len(inflight) < window and not broken:
                    runs = requeued.pop() if requeued else self._next_to_submit()
                    if runs is None:
                        break
                    try:
                        future = executor.submit(run_batch, self._task(runs))
                    except BrokenProcessPool:  # broke since the last wait: not this batch
                        requeued.append(runs)
                        broken = True
                    else:
                        inflight[future] = _Inflight(runs, time.monotonic())
                if not inflight and not broken:
                    break
                finished = (
                    wait(inflight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED).done
                    if inflight
                    else set()
                )
                for future in finished:
                    item = inflight.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        self.suspects += item.runs
                    except Exception:  # noqa: BLE001 - e.g. Dask's KilledWorker: retry alone
                        self.suspects += item.runs
                    else:
                        self._record(result)
                now = time.monotonic()
                overdue = [
                    future
                    for future, item in inflight.items()
                    if now - item.submitted > self._budget(len(item.runs))
                ]
                for future in overdue:
                    self.suspects += inflight.pop(future).runs
                    future.cancel()
                    self.stuck += 1
                    broken = True
                stalled = backend.stalled(executor) if inflight else []
                if stalled:
                    self.stalled += stalled
                    for future, item in inflight.items():
                        self.suspects += item.runs
                        future.cancel()
                    inflight.clear()
                    broken = True
                backend.check()
                if broken and backend.recreate_on_break:
                    for item in inflight.values():
                        self.suspects += item.runs
                    inflight.clear()
                    backend.kill(executor)
                    executor = backend.make()
            clean = True
        finally:
            for future in inflight:
                future.cancel()
            if clean:
                shutdown(executor)
            else:
                backend.kill(executor)

    def _retry_alone(self, suspects: list[int]) -> None:
        """Run each suspect run alone: its own result, or a failure that is its own."""
        backend = self.backend
        self.report.retried += len(suspects)
        executor = backend.make_isolated()
        clean = False
        try:
            for index in suspects:
                executor, result = self._run_alone(executor, index)
                self._record(result)
            clean = True
        finally:
            if clean:
                shutdown(executor)
            else:
                backend.kill(executor)

    def _run_alone(self, executor: Executor, index: int) -> tuple[Executor, dict[str, Any]]:
        backend = self.backend
        spec = self.experiment.run_spec(index)
        reason = None
        future = executor.submit(run_batch, self._task([index]))
        deadline = time.monotonic() + self._budget(1)
        while reason is None:
            if wait([future], timeout=POLL_SECONDS).done:
                try:
                    return executor, future.result()
                except Exception as error:  # noqa: BLE001 - the worker died running it alone
                    reason = f"worker process died ({type(error).__name__})"
                break
            backend.check()
            stalled = backend.stalled(executor)
            if stalled:
                self.stalled += stalled
                reason = f"its worker ({', '.join(stalled)}) stopped beating its heartbeat"
            elif time.monotonic() > deadline:
                reason = f"timed out after {self.run_timeout:g} s (its worker stopped answering)"
        if backend.recreate_on_break:
            backend.kill(executor)
            executor = backend.make_isolated()
        else:
            future.cancel()
        return executor, {
            "rows": [failed_row(spec, self._task([index]), reason)],
            "series": None,
            "code_version": self.version,
        }


def run_sweep(
    experiment: Experiment,
    folder: ResultsFolder,
    backend: Backend,
    *,
    progress: bool = True,
    cache: RunCache | None = None,
    run_timeout: float = DEFAULT_RUN_TIMEOUT,
    retry_failed: bool = False,
) -> SweepReport:
    """Run every run not yet recorded in `folder`, writing each batch as it finishes."""
    try:
        driver = SweepDriver(
            experiment,
            folder,
            backend,
            cache=cache,
            run_timeout=run_timeout,
            retry_failed=retry_failed,
            progress=progress,
        )
        log.info(
            "%s: %d design point(s) x %s replication(s) = %s runs of %s steps on %s",
            experiment.name,
            len(experiment.points),
            _replications_label(experiment),
            f"{experiment.n_runs:,}"
            if experiment.spec.adaptive is None
            else f"up to {experiment.n_runs:,}",
            experiment.steps_label,
            backend.name,
        )
        return driver.run()
    except KeyboardInterrupt:
        backend.abandon()
        raise
    finally:
        backend.close()


# ---------------------------------------------------------------------------- the API


@dataclass
class SweepResult:
    """A finished (or partly finished) sweep: one row per run, the summary per design point,
    and the folder that holds it (None when it ran without one). `inputs` has every
    parameter of each design point, one row per point: a sampled design's summary leaves
    them out (join on `point`)."""

    experiment: Experiment
    runs: pd.DataFrame
    summary: pd.DataFrame
    folder: Path | None
    manifest: dict[str, Any]
    report: SweepReport
    figures: list[Path] = field(default_factory=list)
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_experiment(
    experiment: Experiment | str | Path | dict[str, Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    retry_failed: bool = False,
    batch_size: int | None = None,
    run_timeout: float | None = None,
    scheduler_timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
    cache: bool | str | Path | None = True,
    progress: bool = True,
    allow_mixed_versions: bool = False,
    stall_timeout: float | None = None,
) -> SweepResult:
    """Run every design point x replication of an experiment and summarise the results.

    `experiment` is an :class:`Experiment`, an experiment file, or experiment data (see
    :meth:`Experiment.from_dict`). Runs go to `workers` local processes (default: every
    core; 1 runs in this process), or to the Dask cluster at `scheduler` (an address) or
    described by `scheduler_file`. With `out`, results are written there as runs finish: an
    interrupted sweep keeps every finished run and `resume=True` completes it
    (`retry_failed=True` also runs the failed runs again). Without `out` the sweep runs in
    a temporary folder and only the returned tables remain.

    A run taking longer than `run_timeout` seconds (default: the experiment's
    `run_timeout`, else one hour) is stopped and recorded as failed. A Dask scheduler that
    does not answer for `scheduler_timeout` seconds ends the sweep with ClusterLostError.
    Runs found in the run cache are not run again: `cache` is True (the user's cache
    folder), a folder, or False for none.

    A local worker without a heartbeat for `stall_timeout` seconds (default 60) is called
    stalled: its batches are taken from it and retried. A resume on other code than the
    folder's runs were made with is refused unless `allow_mixed_versions`.

    Every run's seed derives from the experiment's root seed, its design point's identity
    and its replication, so the numbers are the same whatever the backend, the number of
    workers or a resume.

    Raises AllRunsFailedError (naming the first run's error; the sweep is its `result`) when
    every run failed, and UnguardedScriptError when called with several workers from the top
    level of a script outside ``if __name__ == "__main__":``.
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
    for name, value in (
        ("run_timeout", run_timeout),
        ("scheduler_timeout", scheduler_timeout),
        ("stall_timeout", stall_timeout),
    ):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ArgumentError(f"expected a number of seconds above 0, got {value}", name)
    if workers is not None and (scheduler or scheduler_file):
        raise ArgumentError("is for local runs; a Dask cluster uses its own workers", "workers")
    if scheduler and scheduler_file:
        raise ArgumentError("give a scheduler address or a scheduler file, not both", "scheduler")
    if resume and overwrite:
        raise ArgumentError("give either resume or overwrite, not both", "resume")
    if resume and out is None:
        raise ArgumentError("resuming needs the results folder (out)", "resume")
    if retry_failed and not resume:
        raise ArgumentError("retrying failed runs is part of a resume", "retry_failed")
    options = {
        "workers": workers,
        "scheduler": scheduler,
        "scheduler_file": scheduler_file,
        "batch_size": batch_size,
        "run_timeout": run_timeout or experiment.spec.run_timeout or DEFAULT_RUN_TIMEOUT,
        "scheduler_timeout": scheduler_timeout,
        "cache": cache,
        "progress": progress,
        "allow_mixed_versions": allow_mixed_versions,
        "stall_timeout": stall_timeout,
    }
    if out is None:
        with tempfile.TemporaryDirectory(prefix="reluctant-army-") as scratch:
            result = _run_into(experiment, Path(scratch), False, False, False, options, False)
        result.folder = None
    else:
        result = _run_into(experiment, Path(out), resume, overwrite, retry_failed, options, True)
    refuse_all_failed(result)
    return result


def refuse_all_failed(result: SweepResult) -> None:
    """Raise AllRunsFailedError, naming the first error, when no run of the sweep succeeded
    (a sweep of failures has no numbers; returning it would look like a finished sweep)."""
    runs = result.runs
    if runs.empty or (runs["status"] == "ok").any():
        return
    first = runs.sort_values("run_index").iloc[0]
    raise AllRunsFailedError(
        f"every one of the {len(runs):,} runs failed; the first (run {first['run_index']}) with: "
        f"{first['error']}",
        result.folder or result.experiment.name,
        first_error=str(first["error"]),
        result=result,
    )


def _run_into(
    experiment: Experiment,
    out: Path,
    resume: bool,
    overwrite: bool,
    retry_failed: bool,
    options: dict[str, Any],
    figures: bool,
) -> SweepResult:
    """Open (or resume) the results folder, run what is not yet recorded, summarise."""
    from simulation.experiments.summary import summarize_folder

    if options["scheduler"] or options["scheduler_file"]:
        # fail on a bad folder before connecting to a cluster
        if not resume:
            from simulation.experiments.files import check_folder

            check_folder(out, "sweep", lambda held: False, overwrite=True)
        file = options["scheduler_file"]
        backend = dask_backend(
            options["scheduler"], str(file) if file else None, options["scheduler_timeout"]
        )
    else:
        backend = local_backend(options["workers"] or default_workers(), options["stall_timeout"])
    try:
        size = options["batch_size"] or experiment.spec.batch_size
        if size is None:
            rule = experiment.spec.adaptive
            expected = len(experiment.points) * (rule.min if rule else experiment.replications)
            size = auto_batch_size(expected, backend.slots)
            size = min(size, rule.min) if rule else size
        folder = ResultsFolder.open(
            out,
            experiment,
            batch_size=size,
            resume=resume,
            overwrite=overwrite,
            extra={"code_version": run_cache.code_version(), "run_timeout": options["run_timeout"]},
            allow_mixed_versions=options["allow_mixed_versions"],
        )
    except BaseException:
        backend.close()
        raise
    with folder:
        store = open_cache(options["cache"])
        try:
            report = run_sweep(
                experiment,
                folder,
                backend,
                progress=options["progress"],
                cache=store,
                run_timeout=options["run_timeout"],
                retry_failed=retry_failed,
            )
        finally:
            if store is not None:
                store.warn_rejections()
                store.close()
        for note in report.notes:
            log.warning("note: %s", note)
        if report.already_done:
            log.info(
                "resumed: %s runs were already recorded, %s run now",
                f"{report.already_done:,}",
                f"{report.ran:,}",
            )
        if report.cached:
            log.info("%s run(s) taken from the run cache", f"{report.cached:,}")
        summarized = summarize_folder(folder, figures=figures)
        runs = pd.read_parquet(folder.path / "runs.parquet")
    mixed = mixed_versions_note(folder.manifest)
    return SweepResult(
        experiment=experiment,
        runs=runs,
        summary=summarized["summary"],
        folder=folder.path,
        manifest=folder.manifest,
        report=report,
        figures=summarized["figures"],
        complete=summarized["complete"],
        notes=[*experiment.notes, *summarized["notes"], *filter(None, [mixed])],
        inputs=summarized["inputs"],
    )


def _replications_label(experiment: Experiment) -> str:
    rule = experiment.spec.adaptive
    if rule is None:
        return str(experiment.replications)
    return f"{rule.min}-{rule.max} (until the 95% CI is within ±{rule.until_ci_halfwidth:g})"
