"""Where a sweep's tasks run: in this process, on a local process pool, or on a Dask cluster.

Each backend is a factory of ``concurrent.futures`` executors with the number of tasks
that run at once; the sweep loop (:mod:`simulation.experiments.sweep`) is the same for all.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.errors import ArgumentError


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
    context.set_forkserver_preload(["simulation.experiments.sweep"])
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
        raise ArgumentError("Dask distributed is not installed", "scheduler") from None
    key = "scheduler_file" if scheduler_file else "scheduler"
    if scheduler_file and not Path(scheduler_file).is_file():
        raise ArgumentError(f"{scheduler_file} not found (is the scheduler running?)", key)
    try:
        client = (
            Client(scheduler_file=scheduler_file, timeout="10s")
            if scheduler_file
            else Client(address, timeout="10s")
        )
    except (OSError, TimeoutError, ValueError) as error:
        raise ArgumentError(f"cannot connect to the Dask scheduler ({error})", key) from None
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


def shutdown(executor: Executor) -> None:
    """Stop an executor without waiting for (or starting) its queued tasks."""
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # Dask's executor has no cancel_futures
        executor.shutdown(wait=False)
