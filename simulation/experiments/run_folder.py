"""The results folder of one run: the only writer of its files.

``results/<config name>/`` holds ``manifest.json`` (kind ``run``), ``timeseries.csv`` (one
row per step), ``summary.json``, ``config.resolved.yaml`` (the full config with its seed),
``agents.csv`` when agent data was collected, and ``rates.svg`` (shares over time).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from simulation.errors import ResultsError
from simulation.experiments.files import (
    MANIFEST,
    FolderClaim,
    check_folder,
    new_manifest,
    write_atomic,
    write_json,
    write_text,
)
from simulation.experiments.line_chart import rates_svg

if TYPE_CHECKING:
    from simulation.experiments.runner import RunResult


OWNED_FILES: tuple[str, ...] = (
    MANIFEST,
    "timeseries.csv",
    "summary.json",
    "config.resolved.yaml",
    "agents.csv",
    "rates.svg",
)


SUMMARY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "seed": int,
    "steps": int,
    "n_officers": int,
    "overall": dict,
}
"""What a run's summary.json must hold for a report or a replay to describe the run."""


def check_run_summary(summary: object, folder: str | Path) -> dict:
    """A run folder's summary.json, refused (one line naming the file and the remedy) when
    it lacks a field a report states (a summary edited or cut by hand)."""
    if not isinstance(summary, dict):
        raise ResultsError("summary.json is not a mapping: run the config again", folder)
    for key, kind in SUMMARY_FIELDS.items():
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ResultsError(
                f"summary.json lacks '{key}' (or it is not a {getattr(kind, '__name__', kind)}):"
                " run the config again (its config.resolved.yaml) to rebuild the folder",
                folder,
            )
    overall = summary["overall"]
    for measure in ("final", "peak"):
        if not isinstance(overall.get(measure), dict):
            raise ResultsError(
                f"summary.json lacks 'overall.{measure}': run the config again (its "
                "config.resolved.yaml) to rebuild the folder",
                folder,
            )
    return summary


def check_run_folder(folder: str | Path, name: str, *, overwrite: bool = False) -> None:
    """Refuse, before a run, a folder that its results may not go to: one holding other
    files or other results (an earlier run of the same config is replaced; with
    `overwrite`, a run of any config)."""
    check_folder(folder, "run", lambda held: held.get("name") == name, overwrite=overwrite)


def write_run(
    result: RunResult, folder: str | Path, *, overwrite: bool = False, title: str | None = None
) -> dict[str, Path]:
    """Write a run's time series, summary, resolved config and figure into `folder`.

    All files are written into a staging folder first and moved into place only when every
    one of them is complete, so a failure (a full disk, say) leaves no partial result. A
    folder of other results is refused (see :func:`check_run_folder`); an earlier run's
    files that this run does not write, and a stale report.html, are removed.
    """
    name = result.config.name
    with FolderClaim(
        folder, "run", lambda held: held.get("name") == name, overwrite=overwrite
    ) as claim:
        written = _write_staged(result, claim.path, title or name)
        claim.remove_stale(OWNED_FILES, [path.name for path in written.values()])
    return written


def _write_staged(result: RunResult, folder: Path, title: str) -> dict[str, Path]:
    try:
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    except OSError as error:
        raise ResultsError(f"cannot write results ({error.strerror})", folder) from None
    try:
        summary = result.summary
        staged = {
            "manifest": write_json(
                staging / MANIFEST,
                new_manifest("run", name=result.config.name, seed=summary["seed"]),
            ),
            "timeseries": write_atomic(
                staging / "timeseries.csv", lambda tmp: result.series.to_csv(tmp, index=False)
            ),
            "summary": write_json(staging / "summary.json", summary),
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
            staged["figure"] = write_text(
                staging / "rates.svg", rates_svg(result.series, title=title)
            )
        written = {}
        for name, path in staged.items():
            written[name] = folder / path.name
            os.replace(path, written[name])
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
