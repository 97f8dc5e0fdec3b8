"""Verify a sweep: run a sample of its stored runs again and report any that differ.

Every run is meant to be a pure function of the model's code, its config and its seed. A
run that comes out differently when made again betrays non-determinism (an unseeded random
draw, an order that depends on timing, a library that changed under the results) or a
results folder edited by hand. The runs are made afresh from what the folder itself holds
(the resolved base and scenario configs and each design point's overrides, in
``design.parquet``), never from the run cache, and compared exactly: every outcome, the
steps run and, when recorded, the thinned series.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.backends import default_workers, local_backend, shutdown
from simulation.experiments.cache import code_version
from simulation.experiments.files import read_table
from simulation.experiments.storage import (
    MEASURES,
    ResultsFolder,
    check_runs_table,
    mixed_versions_note,
    outcome_columns,
)
from simulation.experiments.timeouts import DEFAULT_RUN_TIMEOUT


@dataclass
class VerifyResult:
    """Which runs were made again, which of them differ, and in what."""

    folder: Path
    checked: list[int]
    differences: list[dict[str, Any]] = field(default_factory=list)
    """One entry per differing value: run_index, what, stored, now."""
    notes: list[str] = field(default_factory=list)
    successful: int = 0
    """Successful runs the folder holds (those a sample is drawn from)."""
    cached: bool = False
    """Whether the runs checked are every run the folder took from the run cache."""

    @property
    def detection(self) -> float:
        """Chance that the runs checked include one given bad run among the successful runs:
        1 - C(N-1, k)/C(N, k) = k/N for a sample of k of N (1 for every cache-served run
        when that run is one of them)."""
        return len(self.checked) / self.successful if self.successful else 0.0

    @property
    def differing_runs(self) -> list[int]:
        """Run indices with at least one difference."""
        return sorted({entry["run_index"] for entry in self.differences})

    @property
    def identical(self) -> bool:
        """Whether every run made again matched."""
        return not self.differences


def _read_yaml_file(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ResultsError(f"cannot read {path.name} ({error})", path.parent) from None


def _task(folder: ResultsFolder, runs: pd.DataFrame, design: pd.DataFrame) -> dict[str, Any]:
    """The task that makes these runs again, built from the folder alone."""
    manifest = folder.manifest
    base = _read_yaml_file(folder.path / "base_config.resolved.yaml")
    scenarios_path = folder.path / "scenario_configs.resolved.yaml"
    bases = _read_yaml_file(scenarios_path) if scenarios_path.exists() else {}
    points = design.set_index("point")
    parameters = list(manifest["parameters"])
    specs = []
    for row in runs.to_dict(orient="records"):
        point = points.loc[row["point"]]
        base_name = point["base"] if isinstance(point["base"], str) else None
        specs.append(
            {
                "run_index": int(row["run_index"]),
                "point": int(row["point"]),
                "scenario": row["scenario"],
                "replication": int(row["replication"]),
                "seed": int(row["seed"]),
                "base": base_name,
                "overrides": json.loads(point["overrides"]),
                "parameters": {name: _plain(row[name]) for name in parameters},
            }
        )
    return {
        "base": base,
        "bases": bases or {},
        "runs": specs,
        "metrics": manifest["metrics"],
        "measures": manifest.get("measures") or list(MEASURES),
        "stop": manifest.get("stop"),
        "record_every": manifest.get("record_every"),
        "run_timeout": DEFAULT_RUN_TIMEOUT,
        "fault": "",
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(stored: Any, now: Any) -> bool:
    """Exactly equal numbers; a missing value (None or NaN: a lag the run did not reach)
    equals only a missing value."""
    if _missing(stored) or _missing(now):
        return _missing(stored) and _missing(now)
    return float(stored) == float(now)


def verify_sweep(
    folder: str | Path,
    *,
    sample: int = 20,
    seed: int = 0,
    workers: int | None = None,
    cached: bool = False,
) -> VerifyResult:
    """Make `sample` of a sweep's successful runs again (chosen at random with `seed`) and
    compare them with the stored ones; with `cached`, make every run the sweep took from the
    run cache again instead. Nothing is written. The result's `detection` is the chance
    that a sample catches a single bad run (k/N)."""
    if sample < 1:
        raise ArgumentError(f"must be at least 1, got {sample}", "sample")
    if workers is not None and workers < 1:
        raise ArgumentError(f"must be at least 1, got {workers}", "workers")
    from simulation.experiments.sweep import run_batch

    results = ResultsFolder.read(folder, lock=False)
    path = results.path
    hint = "summarize the sweep to rebuild it"
    runs = read_table(path, "runs.parquet", columns=("run_index", "status", "seed"), hint=hint)
    design = read_table(path, "design.parquet", columns=("point",))
    if "overrides" not in design.columns:
        raise ResultsError(
            "design.parquet has no 'overrides' column: the folder was written before "
            "verification was possible; run the sweep again to verify it",
            path,
        )
    check_runs_table(path, results.manifest, runs)
    candidates = runs[runs["status"] == "ok"]
    if candidates.empty:
        raise ResultsError("no successful run to verify", path)
    if cached:
        timings = read_table(path, "timings.parquet", columns=("run_index", "worker"), hint=hint)
        served = set(timings.loc[timings["worker"] == "cache", "run_index"].astype(int))
        chosen = np.sort([i for i in candidates["run_index"].to_numpy() if int(i) in served])
    else:
        chosen = np.sort(
            np.random.default_rng(seed).choice(
                candidates["run_index"].to_numpy(), min(sample, len(candidates)), replace=False
            )
        )
    result = VerifyResult(
        folder=path, checked=[int(i) for i in chosen], successful=len(candidates), cached=cached
    )
    if cached and not len(chosen):
        result.notes.append("no run of this folder was taken from the run cache")
        return result
    picked = candidates.set_index("run_index").loc[chosen].reset_index()
    versions = results.manifest.get("code_versions") or [results.manifest.get("code_version")]
    mixed = mixed_versions_note(results.manifest)
    if mixed:
        result.notes.append(mixed)
    if code_version() not in versions:
        result.notes.append(
            "the model's code (or numpy, scipy, Mesa) changed since this sweep ran: "
            "differences may come from that change rather than from non-determinism"
        )
    task = _task(results, picked, design)
    count = min(workers or default_workers(), len(task["runs"]))
    backend = local_backend(count)
    executor = backend.make()
    try:
        chunks = [task["runs"][i::count] for i in range(count)]
        futures = [executor.submit(run_batch, {**task, "runs": chunk}) for chunk in chunks if chunk]
        fresh = [future.result() for future in futures]
    finally:
        shutdown(executor)
    rows = {row["run_index"]: row for part in fresh for row in part["rows"]}
    measures = results.manifest.get("measures") or list(MEASURES)
    columns = [*outcome_columns(results.manifest["metrics"], measures), "steps_run", "status"]
    for stored in picked.to_dict(orient="records"):
        index = int(stored["run_index"])
        now = rows[index]
        for column in columns:
            same = (
                stored[column] == now[column]
                if column == "status"
                else _same(_plain(stored[column]), now[column])
            )
            if not same:
                result.differences.append(
                    {
                        "run_index": index,
                        "what": column,
                        "stored": stored[column],
                        "now": now[column],
                    }
                )
    if results.manifest.get("record_every") is not None and (path / "series.parquet").exists():
        _compare_series(path, chosen, fresh, results.manifest["metrics"], result)
    return result


def _compare_series(
    path: Path, chosen: np.ndarray, fresh: list[dict[str, Any]], metrics: list[str], result: Any
) -> None:
    """Compare the thinned series of the runs made again with the stored ones."""
    stored = pd.read_parquet(
        path / "series.parquet", filters=[("run_index", "in", [int(i) for i in chosen])]
    )
    frames = [pd.DataFrame(part["series"]) for part in fresh if part["series"]]
    if not frames:
        return
    now = pd.concat(frames).sort_values(["run_index", "step"]).reset_index(drop=True)
    stored = stored.sort_values(["run_index", "step"]).reset_index(drop=True)
    for index in chosen:
        mine = now[now["run_index"] == index].reset_index(drop=True)
        theirs = stored[stored["run_index"] == index].reset_index(drop=True)
        for metric in metrics:
            if len(mine) != len(theirs) or not np.array_equal(
                mine[metric].to_numpy(), theirs[metric].to_numpy(), equal_nan=True
            ):
                result.differences.append(
                    {"run_index": int(index), "what": f"series {metric}", "stored": "", "now": ""}
                )
