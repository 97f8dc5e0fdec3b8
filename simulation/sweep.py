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

import math
import multiprocessing
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.config import ConfigError, SimulationConfig, apply_overrides, validate_config
from simulation.experiments import Experiment
from simulation.model import ArmyModel
from simulation.storage import ResultsFolder, outcome_columns

FAULT_ENV = "RELUCTANT_ARMY_FAULT_INJECT"
STOP_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


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


def failed_row(spec: dict[str, Any], metrics: list[str], error: str) -> dict[str, Any]:
    """The outcome row of a run that did not complete."""
    row = _identity(spec)
    row.update({column: None for column in outcome_columns(metrics)})
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
    stop = task["stop"]
    model = ArmyModel(config, seed=spec["seed"])
    columns = model.datacollector.model_vars
    for _ in range(config.steps):
        model.step()
        if (
            stop
            and model.steps >= stop["after"]
            and STOP_OPS[stop["op"]](float(columns[stop["metric"]][-1]), stop["value"])
        ):
            break
    seconds = time.perf_counter() - started
    row = _identity(spec)
    for metric in metrics:
        values = columns[metric]
        after_start = values[1:] if len(values) > 1 else values
        row[f"final_{metric}"] = float(values[-1])
        row[f"peak_{metric}"] = float(max(after_start))
    row.update(
        steps_run=int(model.steps),
        status="ok",
        error=None,
        seconds=seconds,
        worker=_worker_name(),
    )
    series = None
    every = task["record_every"]
    if every is not None:
        last = len(columns[metrics[0]]) - 1
        steps = [s for s in range(0, last + 1, every)]
        if steps[-1] != last:
            steps.append(last)
        series = {"run_index": [spec["run_index"]] * len(steps), "step": steps}
        for metric in metrics:
            values = columns[metric]
            series[metric] = [float(values[s]) for s in steps]
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
            rows.append(failed_row(spec, task["metrics"], f"{type(error).__name__}: {error}"))
            continue
        rows.append(row)
        if run_series is not None:
            if series is None:
                series = {key: [] for key in run_series}
            for key, values in run_series.items():
                series[key].extend(values)
    return {"rows": rows, "series": series}


# ---------------------------------------------------------------------------- executors


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def process_context() -> multiprocessing.context.BaseContext:
    """An explicit start method: `import mesa` forces "spawn" globally; forkserver is
    faster to start workers and, unlike fork, safe with the parent's threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["simulation.sweep"])
    return context


class InProcessExecutor(Executor):
    """Runs each task when submitted, in this process: debuggable, nothing is pickled."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller via the future
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(error)
        return future


@dataclass
class Backend:
    """Where tasks run: a factory of executors, how many run at once, and cleanup."""

    name: str
    slots: int
    make: Callable[[], Executor]
    make_isolated: Callable[[], Executor]
    close: Callable[[], None] = lambda: None
    recreate_on_break: bool = True


def _exit_with(sweep_pid: int) -> None:
    """Worker initializer: end this worker soon after the sweep's process is gone (killed
    alone, e.g. by the out-of-memory killer); an orphaned worker would wait forever."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(sweep_pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-sweep", daemon=True).start()


def _pool(workers: int, context: multiprocessing.context.BaseContext) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    )


def local_backend(workers: int) -> Backend:
    """In-process for one worker, else a process pool with an explicit start method."""
    if workers <= 1:
        return Backend("in-process", 1, InProcessExecutor, InProcessExecutor)
    context = process_context()
    return Backend(
        f"{workers} local processes",
        workers,
        lambda: _pool(workers, context),
        lambda: _pool(1, context),
    )


def dask_backend(address: str | None, scheduler_file: str | None) -> Backend:
    """A Dask distributed cluster, through its concurrent.futures executor."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("Dask distributed is not installed", "--scheduler") from None
    key = "--scheduler-file" if scheduler_file else "--scheduler"
    if scheduler_file and not Path(scheduler_file).is_file():
        raise ConfigError(
            "scheduler file not found (is the scheduler running?)", scheduler_file, key
        )
    try:
        client = (
            Client(scheduler_file=scheduler_file, timeout="10s")
            if scheduler_file
            else Client(address, timeout="10s")
        )
    except (OSError, TimeoutError, ValueError) as error:
        raise ConfigError(f"cannot connect to the Dask scheduler ({error})", key) from None
    slots = max(1, sum(client.nthreads().values()))
    return Backend(
        f"Dask at {client.scheduler.address} ({slots} threads)",
        slots,
        lambda: client.get_executor(pure=False),
        lambda: client.get_executor(pure=False),
        client.close,
        recreate_on_break=False,
    )


def auto_batch_size(n_runs: int, slots: int) -> int:
    """Runs per task: about ten tasks per worker, at most 25 runs each, to keep per-task
    overhead small for short runs and progress (and crash losses) fine-grained."""
    return max(1, min(25, math.ceil(n_runs / (max(slots, 1) * 10))))


def _shutdown(executor: Executor) -> None:
    """Stop an executor without waiting for (or starting) its queued tasks."""
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # Dask's executor has no cancel_futures
        executor.shutdown(wait=False)


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
                _shutdown(executor)
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
                        "rows": [failed_row(spec, experiment.metrics, reason)],
                        "series": None,
                    }
                    if backend.recreate_on_break:
                        _shutdown(executor)
                        executor = backend.make_isolated()
                record(result)
    finally:
        for future in inflight:
            future.cancel()
        _shutdown(executor)
        bar.close()
        backend.close()
    report.seconds = time.perf_counter() - started
    return report
