"""Where a sweep's tasks run: in this process, on a local process pool, or on a Dask cluster.

Each backend is a factory of ``concurrent.futures`` executors with the number of tasks
that run at once; the sweep loop (:mod:`simulation.experiments.sweep`) is the same for all.

Waits are bounded. A local worker process beats a heartbeat (a file it touches every
second from a thread of its own); one whose heartbeat is older than the stall timeout
(default 60 s) is stopped or frozen (SIGSTOP, a debugger, a machine that swaps to death),
whatever its run's own timeout, and the sweep takes its batches from it. Connecting to a
Dask scheduler gives up after `timeout` seconds (an address that is not a Dask scheduler
would otherwise hang the client for ever), and a scheduler lost mid-sweep ends the sweep
with :class:`ClusterLostError` once the client has failed to reconnect for `timeout`
seconds. A local pool can be killed outright (a worker stuck in a run, Ctrl-C), not only
shut down.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.errors import ArgumentError, ReluctantArmyError, one_line
from simulation.experiments import timeouts
from simulation.experiments.main_guard import refuse_unguarded_main
from simulation.experiments.timeouts import DEFAULT_SCHEDULER_TIMEOUT, HEARTBEAT_SECONDS


class ClusterLostError(ReluctantArmyError):
    """The Dask scheduler went away during a sweep; the finished batches are kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, "scheduler", remedies=("resume",))
        self.args = (f"scheduler: {message}",)

    def __str__(self) -> str:
        return self.args[0]


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def process_context() -> multiprocessing.context.BaseContext:
    """An explicit start method: `import mesa` forces "spawn" globally; forkserver is
    faster to start workers and, unlike fork, safe with the parent's threads. The server
    imports the sweep and the model (Mesa included) once, so that every worker of every
    later pool starts with them loaded (a pool per sweep, several sweeps per session)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["simulation.experiments.sweep", "simulation.model.model"])
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
    """Where tasks run: a factory of executors, how many run at once, and cleanup.

    `check` raises :class:`ClusterLostError` when the backend can no longer run anything;
    `kill` stops an executor and whatever it is running now (a stuck task, Ctrl-C);
    `stalled` names the executor's workers whose heartbeat stopped.
    """

    name: str
    slots: int
    make: Callable[[], Executor]
    make_isolated: Callable[[], Executor]
    close: Callable[[], None] = lambda: None
    recreate_on_break: bool = True
    check: Callable[[], None] = lambda: None
    kill: Callable[[Executor], None] = lambda executor: shutdown(executor)
    stalled: Callable[[Executor], list[str]] = lambda executor: []
    abandon: Callable[[], None] = lambda: None
    """Stop, after Ctrl-C, whatever could still start work (the local forkserver)."""


def _worker_start(sweep_pid: int, heartbeats: str) -> None:
    """Worker initializer: beat a heartbeat (touch ``<heartbeats>/<pid>`` every second),
    and end this worker soon after the sweep's process is gone (killed alone, e.g. by the
    out-of-memory killer); an orphaned worker would wait forever."""
    beat = Path(heartbeats) / str(os.getpid())

    def touch() -> None:
        with contextlib.suppress(OSError):  # the sweep removed the folder: it is ending
            beat.touch()

    def watch() -> None:
        while True:
            touch()
            time.sleep(HEARTBEAT_SECONDS)
            try:
                os.kill(sweep_pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(0)

    touch()
    threading.Thread(target=watch, name="heartbeat", daemon=True).start()


class Heartbeats:
    """The heartbeat folder of a local pool's workers and the judgement of their age."""

    def __init__(self, stall_timeout: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="reluctant-army-heartbeats-"))
        self.stall_timeout = stall_timeout
        self._unseen: dict[int, float] = {}
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def stalled(self, executor: Executor) -> list[str]:
        """Pids of the executor's live workers silent for longer than the stall timeout
        (a worker not yet started counts from when the sweep first saw it)."""
        now = time.time()
        silent = []
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            pid = process.pid
            if pid is None or not process.is_alive():
                continue
            try:
                last = (self.folder / str(pid)).stat().st_mtime
            except OSError:
                last = self._unseen.setdefault(pid, now)
            if now - last > self.stall_timeout:
                silent.append(f"process {pid}")
        return silent

    def close(self) -> None:
        """Remove the heartbeat folder (also done when the backend is dropped)."""
        self._remove()


def _pool(
    workers: int, context: multiprocessing.context.BaseContext, heartbeats: Heartbeats
) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_start,
        initargs=(os.getpid(), str(heartbeats.folder)),
    )


def kill_pool(executor: Executor) -> None:
    """Stop a process pool now: kill its worker processes (a stuck run would otherwise keep
    the pool, and the interpreter's exit, waiting), then shut it down."""
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.kill()
    shutdown(executor)


def _children_of(pid: int) -> list[int]:
    """Live child processes of `pid` (from /proc; none where there is no /proc)."""
    children = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(entry.name))
    return children


def stop_worker_server() -> None:
    """Kill the forkserver and every process it has forked, now (after Ctrl-C).

    Killing a pool's workers is not enough when Ctrl-C comes while the pool is starting:
    the forkserver (slow to start, it imports the model) still serves the spawn requests
    sent just before, and the workers it forks after the sweep has let go of the pool run
    a task (the sweep's exit then waits for them) or fail to read their start-up data (a
    traceback on the terminal). Stopped first (SIGSTOP) so that it forks no more.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    pid = server._forkserver_pid
    if pid is None:  # never started (a spawn-started pool): nothing left behind the workers
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGSTOP)
    for child in _children_of(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError, ChildProcessError):
        server._stop()  # reaps it and forgets it: a later pool starts a new one


def local_backend(workers: int, stall_timeout: float | None = None) -> Backend:
    """In-process for one worker, else a process pool with an explicit start method (refused
    from the unguarded top level of a script, which every worker would run again) whose
    workers are called stalled after `stall_timeout` seconds (default
    :data:`~simulation.experiments.timeouts.DEFAULT_STALL_TIMEOUT`) without a heartbeat."""
    if workers <= 1:
        return Backend("in-process", 1, InProcessExecutor, InProcessExecutor)
    refuse_unguarded_main()
    context = process_context()
    heartbeats = Heartbeats(stall_timeout or timeouts.DEFAULT_STALL_TIMEOUT)
    return Backend(
        f"{workers} local processes",
        workers,
        lambda: _pool(workers, context, heartbeats),
        lambda: _pool(1, context, heartbeats),
        close=heartbeats.close,
        kill=kill_pool,
        stalled=heartbeats.stalled,
        abandon=stop_worker_server,
    )


def _connect(address: str | None, scheduler_file: str | None, timeout: float, key: str) -> Any:
    """A Dask client, connected within `timeout` seconds (in a helper thread: a server that
    is not a Dask scheduler can keep the client's own connection attempt waiting for ever)."""
    from distributed import Client

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            if scheduler_file:
                box["client"] = Client(scheduler_file=scheduler_file, timeout=timeout)
            else:
                box["client"] = Client(address, timeout=timeout)
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            box["error"] = error

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    where = scheduler_file or address
    if thread.is_alive():
        raise ArgumentError(
            f"no Dask scheduler answered at {where} within {timeout:g} s (is it a Dask "
            "scheduler, and is it running?)",
            key,
        )
    error = box.get("error")
    if error is not None:
        reason = one_line(f"{type(error).__name__}: {error}")[:300]
        raise ArgumentError(f"cannot connect to the Dask scheduler at {where} ({reason})", key)
    return box["client"]


def _quiet_dask_logs() -> Callable[[], None]:
    """Silence the Dask client's own log lines (a lost scheduler is reported once, by the
    sweep); returns the function that restores them. Dask configures some of its loggers
    one by one, so each is set, not only their parent."""
    names = [
        name
        for name in logging.root.manager.loggerDict
        if name.split(".")[0] in ("distributed", "tornado")
    ]
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", *names)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)

    def restore() -> None:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)

    return restore


def dask_backend(
    address: str | None,
    scheduler_file: str | None,
    timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
) -> Backend:
    """A Dask distributed cluster, through its concurrent.futures executor."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ArgumentError("Dask distributed is not installed", "scheduler") from None
    key = "scheduler_file" if scheduler_file else "scheduler"
    if scheduler_file and not Path(scheduler_file).is_file():
        raise ArgumentError(f"{scheduler_file} not found (is the scheduler running?)", key)
    quiet = _quiet_dask_logs()
    try:
        client = _connect(address, scheduler_file, timeout, key)
    except BaseException:
        quiet()
        raise
    address = client.scheduler.address
    lost_since: list[float] = []

    def check() -> None:
        """Raise once the client has been disconnected from its scheduler for `timeout`."""
        if client.status == "running":
            lost_since.clear()
            return
        if not lost_since:
            lost_since.append(time.monotonic())
        if client.status in ("closed", "closing") or (time.monotonic() - lost_since[0] > timeout):
            raise ClusterLostError(
                f"lost the Dask scheduler at {address} (no answer for {timeout:g} s); the "
                "finished batches are kept"
            )

    def close() -> None:
        """Close the client without waiting long for a scheduler that may be gone."""
        closer = threading.Thread(
            target=lambda: client.close(timeout=min(timeout, 5.0)), daemon=True
        )
        closer.start()
        closer.join(min(timeout, 5.0) + 1.0)
        quiet()

    try:
        slots = max(1, sum(client.nthreads().values()))
    except (OSError, TimeoutError) as error:
        close()
        raise ArgumentError(
            f"the Dask scheduler at {address} did not answer ({error})", key
        ) from None
    return Backend(
        f"Dask at {address} ({slots} threads)",
        slots,
        lambda: client.get_executor(pure=False),
        lambda: client.get_executor(pure=False),
        close,
        recreate_on_break=False,
        check=check,
        kill=lambda executor: _cancel_all(executor),
    )


def _cancel_all(executor: Executor) -> None:
    """Cancel a Dask executor's pending futures and let it go."""
    for future in list(getattr(executor, "_futures", ())):
        with contextlib.suppress(Exception):  # the scheduler may be gone
            future.cancel()
    shutdown(executor)


def auto_batch_size(n_runs: int, slots: int) -> int:
    """Runs per task: about four tasks per worker, at most 25 runs each. Each task costs the
    parent two Parquet parts and a round trip, so finer tasks slow short sweeps (ten tasks per
    worker gave 2.2x batch_run's throughput against 3.3x for four, benchmarks/bench_sweep.py);
    four still balances the load and keeps progress (and crash losses) fine-grained."""
    return max(1, min(25, math.ceil(n_runs / (max(slots, 1) * 4))))


def shutdown(executor: Executor) -> None:
    """Stop an executor without waiting for (or starting) its queued tasks."""
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # Dask's executor has no cancel_futures
        executor.shutdown(wait=False)
