"""Writing results to disk: atomic files, so that a result is there whole or not at all."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from simulation.config import ConfigError
from simulation.runner import RunResult


class OutputError(ConfigError):
    """The output folder cannot be created or written (reported like a config error)."""


def prepare_folder(path: str | Path) -> Path:
    """Create the output folder, or fail with a readable OutputError."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise OutputError(f"cannot create output folder ({reason})", folder, "--out") from None
    if not os.access(folder, os.W_OK):
        raise OutputError("output folder is not writable", folder, "--out")
    return folder


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write via a temporary file in the same folder, then rename over `path`."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {path.name} ({error.strerror})", path.parent, "--out"
        ) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a text file."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    """Atomically write JSON (indented, keys in insertion order)."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_run(result: RunResult, folder: str | Path) -> dict[str, Path]:
    """Write a run's time series, summary, resolved config and figure into `folder`.

    All files are written into a staging folder first and moved into place only when every
    one of them is complete, so a failure (a full disk, say) leaves no partial result.
    """
    from simulation.plots import plot_rates_over_time

    folder = prepare_folder(folder)
    try:
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    except OSError as error:
        raise OutputError(f"cannot write results ({error.strerror})", folder, "--out") from None
    try:
        staged = {
            "timeseries": write_atomic(
                staging / "timeseries.csv", lambda tmp: result.series.to_csv(tmp, index=False)
            ),
            "summary": write_json(staging / "summary.json", result.summary),
            "config": write_text(
                staging / "config.resolved.yaml",
                yaml.safe_dump(result.config.to_dict(), sort_keys=False, allow_unicode=True),
            ),
        }
        if result.agent_data is not None:
            staged["agents"] = write_atomic(
                staging / "agents.csv", lambda tmp: result.agent_data.to_csv(tmp, index=False)
            )
        if result.config.output.figure:
            staged["figure"] = write_atomic(
                staging / "rates.png",
                lambda tmp: plot_rates_over_time(result.series, tmp, title=result.config.name),
            )
        written = {}
        for name, path in staged.items():
            written[name] = folder / path.name
            os.replace(path, written[name])
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
