"""Helpers shared by the sweep tests: run a sweep in this process, read its tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulation.cli import main


def sweep(path: Path, out: Path, *extra: str) -> Path:
    """Run (or, with --resume, complete) a sweep in this process; it must succeed."""
    assert main(["sweep", str(path), "--out", str(out), "--no-progress", *extra]) == 0
    return out


def runs(out: Path) -> pd.DataFrame:
    """The consolidated runs table of a results folder."""
    return pd.read_parquet(out / "runs.parquet")
