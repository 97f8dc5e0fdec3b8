"""The results folder of a sweep: crash-safe parts, consolidated Parquet tables, resume.

Layout of ``results/<experiment>/``::

    manifest.json                 experiment name, fingerprint, design, versions, status
    experiment.yaml               verbatim copy of the experiment file
    base_config.resolved.yaml     the base config after the experiment's base overrides
    scenario_configs.resolved.yaml  scenarios that give their own config: name -> that
                                  config after the base overrides
    design.parquet                one row per design point: point, scenario, parameters
    parts/runs-*.parquet          one file per finished batch (written via temp + rename)
    parts/series-*.parquet        per-step series of that batch (only when recorded)
    runs.parquet                  consolidated outcomes, one row per run, sorted by run index
    series.parquet                consolidated per-step series (only when recorded)
    timings.parquet               seconds per run and the worker that ran it
    summary.csv                   mean, sd and 95% CI per design point and outcome
    figures/*.png

A batch's runs part is renamed into place last, so a run is recorded whole or not at all;
runs whose part exists are done, and ``--resume`` runs the others. Parts stay after
consolidation, so that `summarize` and a resume can always rebuild the tables.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from simulation.errors import ResultsError, one_line
from simulation.experiments.design import Experiment
from simulation.experiments.files import (
    MANIFEST,
    new_manifest,
    prepare_folder,
    read_manifest,
    write_atomic,
    write_json,
    write_text,
)
from simulation.experiments.runner import outcome_measures

PARTS = "parts"
TIMING_COLUMNS: tuple[str, ...] = ("seconds", "worker")
MEASURES: tuple[str, ...] = ("final", "peak")
"""Measures of a folder whose manifest does not list them (written before lags existed)."""

OWNED_FILES: tuple[str, ...] = (
    MANIFEST,
    "experiment.yaml",
    "base_config.resolved.yaml",
    "scenario_configs.resolved.yaml",
    "design.parquet",
    "runs.parquet",
    "series.parquet",
    "timings.parquet",
    "summary.csv",
)
OWNED_FOLDERS: tuple[str, ...] = (PARTS, "figures")


def outcome_columns(metrics: list[str], measures: list[str] | None = None) -> list[str]:
    """Outcome columns of the runs table: final, peak (and lags after the order) of every
    metric, e.g. final_refuse, at_order_plus_12_refuse."""
    return [f"{kind}_{metric}" for kind in (measures or MEASURES) for metric in metrics]


def _parameter_type(values: list[Any]) -> pa.DataType:
    cells = [v for v in values if v is not None]
    if cells and all(isinstance(v, bool) for v in cells):
        return pa.bool_()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in cells):
        return pa.float64()
    return pa.string()


def runs_schema(manifest: dict[str, Any]) -> pa.Schema:
    """Schema of a runs part: identity, parameters, outcomes, status, timing."""
    fields = [
        pa.field("run_index", pa.int64()),
        pa.field("point", pa.int64()),
        pa.field("scenario", pa.string()),
        pa.field("replication", pa.int64()),
        pa.field("seed", pa.int64()),
    ]
    fields += [
        pa.field(name, pa.type_for_alias(kind))
        for name, kind in manifest["parameter_types"].items()
    ]
    fields += [
        pa.field(name, pa.float64())
        for name in outcome_columns(manifest["metrics"], manifest.get("measures"))
    ]
    fields += [
        pa.field("steps_run", pa.int64()),
        pa.field("status", pa.string()),
        pa.field("error", pa.string()),
        pa.field("seconds", pa.float64()),
        pa.field("worker", pa.string()),
    ]
    return pa.schema(fields)


def series_schema(manifest: dict[str, Any]) -> pa.Schema:
    """Schema of a series part: one row per recorded step of a run."""
    fields = [pa.field("run_index", pa.int64()), pa.field("step", pa.int64())]
    fields += [pa.field(name, pa.float64()) for name in manifest["metrics"]]
    return pa.schema(fields)


class ResultsFolder:
    """A sweep's results folder: opened fresh, for a resume, or read back for `summarize`."""

    def __init__(self, path: str | Path, manifest: dict[str, Any]):
        self.path = Path(path)
        self.manifest = manifest
        self.runs_schema = runs_schema(manifest)
        self.series_schema = series_schema(manifest)

    # ------------------------------------------------------------------ opening

    @classmethod
    def read(cls, path: str | Path) -> ResultsFolder:
        """Open an existing sweep folder (to summarise or resume it)."""
        manifest = read_manifest(path)
        if manifest["kind"] != "sweep":
            raise ResultsError(f"holds a {manifest['kind']}, not a sweep", path)
        return cls(path, manifest)

    @classmethod
    def open(
        cls,
        path: str | Path,
        experiment: Experiment,
        *,
        batch_size: int,
        resume: bool,
        overwrite: bool,
    ) -> ResultsFolder:
        """Start a results folder, or reopen one for `--resume` after checking it matches.

        Without `resume` or `overwrite`, a folder that already holds anything is refused:
        a sweep never silently replaces results.
        """
        path = Path(path)
        existing = path.is_dir() and any(path.iterdir())
        if resume:
            if not existing:
                raise ResultsError("nothing to resume: the results folder is empty", path)
            folder = cls.read(path)
            started = folder.manifest.get("experiment_name")
            if folder.manifest.get("fingerprint") != experiment.fingerprint:
                raise ResultsError(
                    f"experiment '{experiment.name}' ({experiment.source}) or its base or "
                    "scenario config files changed since this folder was started (for "
                    f"'{started}'); resume with the unchanged files, or start again in a new "
                    "folder or over this one",
                    path,
                    remedies=("out", "overwrite"),
                )
            return folder
        if existing and not overwrite:
            manifest = path / MANIFEST
            remedies: tuple[str, ...] = ("out", "overwrite")
            if manifest.exists():
                try:
                    held = json.loads(manifest.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    held = {}
                if held.get("fingerprint") == experiment.fingerprint:
                    reason = "already holds this experiment: resume it, or run it again over it"
                    remedies = ("resume", "overwrite")
                else:
                    reason = (
                        f"holds results of another experiment ('{held.get('experiment_name')}'): "
                        "choose another folder, or replace them"
                    )
            else:
                reason = "is not empty: choose another folder, or write into it anyway"
            raise ResultsError(f"the results folder {reason}", path, remedies=remedies)
        prepare_folder(path)
        if overwrite:
            cls._clear(path)
        manifest = cls._new_manifest(experiment, batch_size)
        folder = cls(path, manifest)
        folder._write_start(experiment)
        return folder

    @staticmethod
    def _clear(path: Path) -> None:
        """Remove what an earlier sweep wrote here (and nothing else)."""
        for name in OWNED_FILES:
            (path / name).unlink(missing_ok=True)
        for name in OWNED_FOLDERS:
            shutil.rmtree(path / name, ignore_errors=True)

    @staticmethod
    def _new_manifest(experiment: Experiment, batch_size: int) -> dict[str, Any]:
        columns = {
            name: [values[name] for values in experiment.point_values]
            for name in experiment.parameters
        }
        types = {name: str(_parameter_type(cells)) for name, cells in columns.items()}
        types = {name: {"double": "float64", "bool": "bool"}.get(t, t) for name, t in types.items()}
        spec = experiment.spec
        return new_manifest(
            "sweep",
            experiment_name=experiment.name,
            description=spec.description,
            experiment_file=experiment.source,
            fingerprint=experiment.fingerprint,
            n_runs=experiment.n_runs,
            n_points=len(experiment.points),
            replications=experiment.replications,
            batch_size=batch_size,
            root_seed=spec.seed,
            steps=experiment.steps_label,
            design=spec.design.kind,
            axes=experiment.axes,
            scenarios=list(dict.fromkeys(point.scenario for point in experiment.points)),
            parameters=experiment.parameters,
            parameter_types=types,
            derived=list(spec.expressions),
            sampled=[
                {"name": b.name, "low": b.low, "high": b.high, "group": b.group}
                for b in experiment.sampled
            ],
            second_order=spec.design.second_order,
            metrics=experiment.metrics,
            measures=outcome_measures(experiment.base_config),
            record_every=experiment.record_every,
            status="running",
        )

    def _write_start(self, experiment: Experiment) -> None:
        """Record the experiment, its base config and its design before any run."""
        write_text(self.path / "experiment.yaml", experiment.text)
        write_text(
            self.path / "base_config.resolved.yaml",
            yaml.safe_dump(experiment.base_config.to_dict(), sort_keys=False, allow_unicode=True),
        )
        if experiment.scenario_bases:
            files = "".join(
                "#   " + one_line(f"{scenario}: {path}") + "\n"
                for scenario, path in experiment.scenario_files.items()
            )
            write_text(
                self.path / "scenario_configs.resolved.yaml",
                "# Scenarios with their own config file, after the base overrides:\n"
                + files
                + yaml.safe_dump(experiment.scenario_bases, sort_keys=False, allow_unicode=True),
            )
        rows = [
            {"point": point.index, "scenario": point.scenario, **values}
            for point, values in zip(experiment.points, experiment.point_values, strict=True)
        ]
        schema = pa.schema(
            [pa.field("point", pa.int64()), pa.field("scenario", pa.string())]
            + [f for f in self.runs_schema if f.name in experiment.parameters]
        )
        table = pa.Table.from_pylist(rows, schema=schema)
        write_atomic(self.path / "design.parquet", lambda tmp: pq.write_table(table, tmp))
        (self.path / PARTS).mkdir(exist_ok=True)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Atomically (re)write manifest.json."""
        write_json(self.path / MANIFEST, self.manifest)

    # ------------------------------------------------------------------ parts

    def write_batch(self, rows: list[dict[str, Any]], series: dict[str, list] | None) -> None:
        """Record a finished batch: series first, then the runs part that makes it count."""
        if not rows:
            return
        first = min(row["run_index"] for row in rows)
        token = f"{first:010d}-{secrets.token_hex(4)}"
        parts = self.path / PARTS
        if series is not None and series.get("run_index"):
            table = pa.Table.from_pydict(series, schema=self.series_schema)
            write_atomic(parts / f"series-{token}.parquet", lambda tmp: pq.write_table(table, tmp))
        table = pa.Table.from_pylist(rows, schema=self.runs_schema)
        write_atomic(parts / f"runs-{token}.parquet", lambda tmp: pq.write_table(table, tmp))

    def _run_parts(self) -> list[Path]:
        """Runs parts in order of their first run index (batches never interleave)."""
        folder = self.path / PARTS
        return sorted(folder.glob("runs-*.parquet")) if folder.is_dir() else []

    def done_runs(self) -> set[int]:
        """Run indices already recorded (successful or failed)."""
        done: set[int] = set()
        for part in self._run_parts():
            column = pq.read_table(part, columns=["run_index"]).column(0).to_pylist()
            done.update(column)
        return done

    # ------------------------------------------------------------------ tables

    def consolidate(self) -> dict[str, int]:
        """Build runs/timings (and series) tables from the parts, streaming, sorted by run.

        Returns counts of runs and failed runs.
        """
        parts = self._run_parts()
        seen: set[int] = set()
        counts = {"runs": 0, "failed": 0}
        outcome_schema = pa.schema([f for f in self.runs_schema if f.name not in TIMING_COLUMNS])
        timing_schema = pa.schema(
            [
                self.runs_schema.field("run_index"),
                *[self.runs_schema.field(c) for c in TIMING_COLUMNS],
            ]
        )
        kept_tokens: list[str] = []

        def write_runs(runs_tmp: Path) -> None:
            def write_timings(timings_tmp: Path) -> None:
                with (
                    pq.ParquetWriter(runs_tmp, outcome_schema) as runs_writer,
                    pq.ParquetWriter(timings_tmp, timing_schema) as timing_writer,
                ):
                    for part in parts:
                        table = pq.read_table(part, schema=self.runs_schema)
                        table = table.sort_by("run_index")
                        indices = table.column("run_index").to_pylist()
                        keep = [i not in seen for i in indices]
                        if not any(keep):
                            continue
                        if not all(keep):
                            table = table.filter(pa.array(keep))
                            indices = table.column("run_index").to_pylist()
                        seen.update(indices)
                        kept_tokens.append(part.name.removeprefix("runs-"))
                        counts["runs"] += table.num_rows
                        statuses = table.column("status").to_pylist()
                        counts["failed"] += sum(status != "ok" for status in statuses)
                        runs_writer.write_table(table.select(outcome_schema.names))
                        timing_writer.write_table(table.select(timing_schema.names))

            write_atomic(self.path / "timings.parquet", write_timings)

        write_atomic(self.path / "runs.parquet", write_runs)
        if self.manifest.get("record_every") is not None:
            self._consolidate_series(kept_tokens, seen)
        return counts

    def _consolidate_series(self, tokens: list[str], runs: set[int]) -> None:
        """Series parts of the batches that count, in the same order as the runs."""
        parts = [self.path / PARTS / f"series-{token}" for token in tokens]

        def write(tmp: Path) -> None:
            with pq.ParquetWriter(tmp, self.series_schema) as writer:
                for part in parts:
                    if part.exists():
                        table = pq.read_table(part, schema=self.series_schema)
                        writer.write_table(
                            table.sort_by([("run_index", "ascending"), ("step", "ascending")])
                        )

        write_atomic(self.path / "series.parquet", write)

    def mark(self, status: str, **extra: Any) -> None:
        """Record the sweep's state (running, complete) in the manifest."""
        self.manifest["status"] = status
        self.manifest.update(extra)
        self.write_manifest()
