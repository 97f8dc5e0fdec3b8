"""Helpers shared by the sweep tests: run a sweep in this process or in its own process
group, wait for its progress, read its parts and tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from simulation.cli import main
from simulation.experiments.sweep import FAULT_ENV

REPO = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
"""Seconds a test waits for progress before declaring the sweep stuck."""


def sweep(path: Path, out: Path, *extra: str) -> Path:
    """Run (or, with --resume, complete) a sweep in this process; it must succeed."""
    assert main(["sweep", str(path), "--out", str(out), "--no-progress", *extra]) == 0
    return out


def runs(out: Path) -> pd.DataFrame:
    """The consolidated runs table of a results folder."""
    return pd.read_parquet(out / "runs.parquet")


def run_parts(out: Path) -> list[Path]:
    """The runs parts of a results folder, by name."""
    folder = out / "parts"
    return sorted(folder.glob("runs-*.parquet")) if folder.is_dir() else []


def part_indices(out: Path) -> list[int]:
    """Every run index in every runs part (duplicates included)."""
    indices: list[int] = []
    for part in run_parts(out):
        indices += pq.read_table(part, columns=["run_index"]).column(0).to_pylist()
    return indices


def wait_for(condition: Callable[[], bool], what: str, process: Any = None) -> None:
    """Poll `condition` until it holds; fail if the sweep ends first or nothing happens
    (generous deadlines: a loaded machine slows a test down but does not fail it)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if process is not None:
            assert process.poll() is None, f"the sweep ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE:.0f} s"
        time.sleep(0.01)


def ctrl_c_as_from_a_terminal() -> None:
    """Give the child SIGINT's default disposition, as a terminal does. A test run started
    from a parent that ignores SIGINT (a background job of a non-interactive shell) passes
    SIG_IGN on, and Python started that way never raises KeyboardInterrupt: the Ctrl-C test
    then measured how the test was launched, not the sweep (reproduced with `trap "" INT`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(
    path: Path, out: Path, *extra: str, fault: str = "", capture: bool = False
) -> subprocess.Popen:
    """A sweep in a subprocess, in its own process group (itself, forkserver, workers);
    with `capture`, its output is kept (text) for the test to read."""
    command = [sys.executable, "-m", "simulation", "sweep", str(path), "--out", str(out)]
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [*command, "--no-progress", *extra],
        env={**os.environ, FAULT_ENV: fault},
        cwd=REPO,
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_as_from_a_terminal,
    )


def processes_in_group(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == group and stat[0] != "Z":
                members.append(int(entry.name))
    return members
