"""The results folder of a sweep: crash-safe parts, consolidated tables, resume.

Layout of ``results/<experiment>/``::

    manifest.json                 experiment name, fingerprint, design, versions, status
    experiment.yaml               verbatim copy of the experiment file
    base_config.resolved.yaml     the base config after the experiment's base overrides
    scenario_configs.resolved.yaml  scenarios that give their own config: name -> that
                                  config after the base overrides
    design.parquet                one row per design point: point, scenario, parameters,
                                  and the point's overrides (JSON, what `verify` re-runs);
                                  the one place of a sampled design's inputs per point
    parts/runs-*.parquet          one file per finished batch (written via temp + rename)
    parts/series-*.parquet        per-step series of that batch (only when recorded)
    runs.parquet, runs.csv        consolidated outcomes, one row per run, sorted by run index
    series.parquet                consolidated per-step series (only when recorded)
    timings.parquet               seconds per run and the worker that ran it
    summary.csv                   mean, sd and 95% CI per design point and outcome, with
                                  the parameters only of a factorial design
                                  (:func:`summary_inputs`): points x outcomes rows, never
                                  x inputs columns
    figures/*.png

A batch's runs part is renamed into place last, so a run is recorded whole or not at all;
runs whose part exists are done, and a resume runs the others. Parts stay after
consolidation, so that `summarize` and a resume can always rebuild the tables.

The folder is a unit of consistency. It is locked while a sweep writes it
(:class:`~simulation.experiments.lock.FolderLock`): a second sweep, or a resume started
while the sweep runs, is refused. Every part carries the experiment's fingerprint in its
Parquet metadata and is checked when read: a part from another experiment is refused, not
merged. Rows of a part all lie in one cell of the fixed grid ``run_index // batch_size``
(batches never straddle cells), so consolidation reads one cell at a time, in order, and
memory stays flat. A run recorded twice (a failed run retried) keeps its successful row.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml

from simulation.errors import ResultsError, one_line
from simulation.experiments.design import Experiment
from simulation.experiments.files import (
    DERIVED_FILES,
    MANIFEST,
    check_folder,
    describe_manifest,
    file_mode,
    new_manifest,
    prepare_folder,
    read_manifest,
    write_atomic,
    write_json,
    write_text,
    writer,
)
from simulation.experiments.lock import FolderLock
from simulation.experiments.runner import outcome_measures

log = logging.getLogger(__name__)

PARTS = "parts"
PARTS_FORMAT = 2
"""Version of the parts' layout: 2 = every part carries the experiment's fingerprint."""
FINGERPRINT_KEY = b"reluctant_army.fingerprint"
SEQUENCE_KEY = b"reluctant_army.sequence"
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
    "runs.csv",
    "series.parquet",
    "timings.parquet",
    "summary.csv",
)
OWNED_FOLDERS: tuple[str, ...] = (PARTS, "figures")
PART_NAME = re.compile(r"runs-(\d{10})-([0-9a-f]+)\.parquet")


def code_versions(manifest: dict[str, Any]) -> list[str]:
    """The code versions a sweep folder's runs were made with (one, unless a resume was
    allowed to mix them)."""
    versions = manifest.get("code_versions") or [manifest.get("code_version")]
    return [str(version) for version in versions if version]


def mixed_versions_note(manifest: dict[str, Any]) -> str | None:
    """A sentence when a folder's runs come from more than one code version."""
    versions = code_versions(manifest)
    if len(versions) < 2:
        return None
    return (
        f"this folder's runs come from {len(versions)} versions of the model's code "
        f"({', '.join(versions)}): a resume was allowed to mix them, so differences between "
        "runs may come from the code rather than from the design"
    )


REBUILD = "rebuild it from the parts with `summarize`, or run the sweep again"


def check_runs_table(path: str | Path, manifest: dict[str, Any], runs: Any = None) -> None:
    """Refuse a sweep folder's runs.parquet that is not its manifest's: another experiment's
    fingerprint, columns the manifest does not give, or run indices it cannot have (a table
    rewritten by another tool loses the fingerprint; its numbers are `verify`'s business).
    `runs` is the table when already read (a DataFrame); the check then covers its rows."""
    path = Path(path)
    table_path = path / "runs.parquet"
    try:
        schema = pq.read_schema(table_path)
    except FileNotFoundError:
        raise ResultsError(f"no runs.parquet: {REBUILD}", path) from None
    except (OSError, pa.ArrowException) as error:
        reason = one_line(str(error))[:200]
        raise ResultsError(f"runs.parquet is damaged ({reason}): {REBUILD}", path) from None
    found = (schema.metadata or {}).get(FINGERPRINT_KEY)
    expected = str(manifest.get("fingerprint", ""))
    if found is not None and found.decode("ascii", "replace") != expected:
        raise ResultsError(
            "runs.parquet does not belong to this folder's experiment (its fingerprint is "
            f"not the one in {MANIFEST}): {REBUILD}",
            path,
        )
    try:
        wanted = [f.name for f in runs_schema(manifest) if f.name not in TIMING_COLUMNS]
    except (KeyError, TypeError, ValueError, AttributeError, pa.ArrowException) as error:
        raise ResultsError(f"{MANIFEST} is damaged ({one_line(str(error))})", path) from None
    missing = [name for name in wanted if name not in schema.names]
    if missing:
        raise ResultsError(
            f"runs.parquet lacks the column(s) {', '.join(missing[:5])}: {REBUILD}", path
        )
    if runs is None:
        return
    indices = runs["run_index"].to_numpy()
    total = int(manifest.get("n_runs", 0))
    if len(indices) and (
        indices.min() < 0 or indices.max() >= total or len(set(indices)) != len(indices)
    ):
        raise ResultsError(
            f"runs.parquet holds run indices this sweep of {total:,} runs cannot have: {REBUILD}",
            path,
        )


SUMMARY_KEYS: tuple[str, ...] = (
    "point",
    "scenario",
    "measure",
    "metric",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
)
"""Columns of summary.csv an analysis reads."""


def summary_inputs(manifest: dict[str, Any]) -> list[str]:
    """The parameters summary.csv carries beside each row: a factorial design's (its grid's
    values, derived values and scenario overrides, which label its rows), none of a sampled
    design's. A sampled design draws every input per point, so carrying them would make the
    table points x outcomes x inputs; they are in design.parquet and every run's row."""
    if manifest.get("design", "factorial") != "factorial":
        return []
    return list(manifest.get("parameters") or [])


def read_point_inputs(path: str | Path, manifest: dict[str, Any]) -> Any:
    """Every parameter of each design point (a DataFrame from design.parquet: `point` and
    the manifest's parameters), for the summary of a sampled design, which leaves them out;
    refused with one line when design.parquet is missing, damaged or lacks a parameter."""
    names = ["point", *(manifest.get("parameters") or [])]
    try:
        return pq.read_table(Path(path) / "design.parquet", columns=names).to_pandas()
    except FileNotFoundError:
        raise ResultsError("no design.parquet: run the sweep again", path) from None
    except (OSError, pa.ArrowException) as error:
        reason = one_line(str(error))[:200]
        raise ResultsError(f"design.parquet is damaged ({reason})", path) from None


def read_summary_table(path: str | Path, manifest: dict[str, Any]) -> Any:
    """A sweep folder's summary.csv (a DataFrame), refused (one line naming the file and
    the remedy) when it is damaged, lacks a column, or describes design points or
    scenarios the manifest's sweep does not have."""
    from simulation.experiments.files import read_table

    path = Path(path)
    hint = "summarize the sweep to rebuild it"
    summary = read_table(path, "summary.csv", columns=SUMMARY_KEYS, hint=hint)
    points = summary["point"]
    scenarios = set(manifest.get("scenarios") or [])
    foreign = (
        (points.isna() | (points < 0) | (points >= int(manifest.get("n_points", 0)))).any()
        if len(summary)
        else False
    ) or (bool(scenarios) and not set(summary["scenario"].astype(str)) <= scenarios)
    foreign = foreign or not set(summary_inputs(manifest)) <= set(summary.columns)
    metrics = set(manifest.get("metrics") or [])
    foreign = foreign or (bool(metrics) and not set(summary["metric"].astype(str)) <= metrics)
    if foreign:
        raise ResultsError(
            f"summary.csv does not belong to this folder's sweep (its design points, "
            f"scenarios, parameters or metrics are not the ones in {MANIFEST}): {hint}",
            path,
        )
    return summary


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


@dataclass
class Consolidation:
    """What consolidating the parts gave: runs and failures recorded, and whether the
    tables were kept as they were because the parts hold fewer runs than they do."""

    runs: int
    failed: int
    previous: int | None = None
    kept_previous: bool = False

    @property
    def note(self) -> str | None:
        """A sentence for the user when the earlier tables were kept."""
        if not self.kept_previous:
            return None
        return (
            f"parts/ holds {self.runs:,} run(s) but runs.parquet has {self.previous:,}: kept "
            "the earlier tables (restore the missing parts, or delete runs.parquet to rebuild "
            "from the parts alone)"
        )


class ResultsFolder:
    """A sweep's results folder: opened fresh, for a resume, or read back for `summarize`.

    Opening takes the folder's lock; :meth:`close` (or leaving a ``with`` block) releases it.
    """

    def __init__(self, path: str | Path, manifest: dict[str, Any], lock: FolderLock | None = None):
        self.path = Path(path)
        self.manifest = manifest
        self.lock = lock
        self.runs_schema = runs_schema(manifest)
        self.series_schema = series_schema(manifest)
        self.fingerprint = str(manifest.get("fingerprint", ""))
        self.signed = int(manifest.get("parts_format", 1)) >= PARTS_FORMAT

    def close(self) -> None:
        """Release the folder's lock."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> ResultsFolder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ opening

    @classmethod
    def read(cls, path: str | Path, *, lock: bool = True) -> ResultsFolder:
        """Open an existing sweep folder (to summarise, verify or resume it); with `lock`
        (the default) the folder is locked as for writing."""
        manifest = read_manifest(path)
        if manifest["kind"] != "sweep":
            raise ResultsError(f"holds a {manifest['kind']}, not a sweep", path)
        for key in ("fingerprint", "parameter_types", "metrics", "n_runs", "batch_size"):
            if key not in manifest:
                raise ResultsError(f"{MANIFEST} lacks '{key}': not a sweep's manifest", path)
        held = FolderLock(path).acquire() if lock else None
        try:
            return cls(path, manifest, held)
        except (KeyError, TypeError, ValueError, AttributeError, pa.ArrowException) as error:
            if held:
                held.release()
            raise ResultsError(f"{MANIFEST} is damaged ({error})", path) from None

    @classmethod
    def open(
        cls,
        path: str | Path,
        experiment: Experiment,
        *,
        batch_size: int,
        resume: bool,
        overwrite: bool,
        extra: dict[str, Any] | None = None,
        allow_mixed_versions: bool = False,
    ) -> ResultsFolder:
        """Start a results folder, or reopen one for a resume after checking it matches.

        Without `resume` or `overwrite`, a folder that already holds anything is refused:
        a sweep never silently replaces results. `overwrite` replaces only a sweep's results
        (a folder of other files is never cleared). `extra` adds manifest fields. A resume
        whose code version (``extra["code_version"]``) is not the one the folder's runs were
        made with is refused unless `allow_mixed_versions`: the folder would mix two models.
        """
        path = Path(path)
        if resume:
            if not path.is_dir() or not any(path.iterdir()):
                raise ResultsError("nothing to resume: the results folder is empty", path)
            folder = cls.read(path)
            try:
                folder._check_resumable(experiment)
                folder.recorded([])  # every part readable and this experiment's
            except BaseException:
                folder.close()
                raise
            version = (extra or {}).get("code_version")
            versions = code_versions(folder.manifest)
            if version and version not in versions:
                if not allow_mixed_versions:
                    folder.close()
                    raise ResultsError(
                        "the model's code (or numpy, scipy, Mesa) changed since this sweep's "
                        f"runs were made (code {', '.join(versions)}, now {version}): resuming "
                        "would mix runs of two models; start again over this folder, or allow "
                        "the mix explicitly",
                        path,
                        remedies=("overwrite", "allow_mixed_versions"),
                    )
                versions.append(version)
                log.warning(
                    "warning: the model's code (or numpy, scipy, Mesa) changed since this sweep "
                    "started: the runs made now come from the new code (the folder now holds "
                    "runs of %d code versions)",
                    len(versions),
                )
            folder.manifest["code_versions"] = versions
            folder.manifest["writer"] = writer()
            folder.write_manifest()
            return folder
        check_folder(path, "sweep", lambda held: False, overwrite=True)
        created = not path.exists()
        prepare_folder(path)
        lock = FolderLock(path)
        try:
            lock.acquire()
            cls._check_new(path, experiment, overwrite)
            if overwrite:
                cls._clear(path)
            manifest = cls._new_manifest(experiment, batch_size, extra or {})
            manifest["code_versions"] = [manifest.get("code_version")]
            folder = cls(path, manifest, lock)
            folder._write_start(experiment)
        except BaseException:
            lock.release()
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise
        return folder

    def _check_resumable(self, experiment: Experiment) -> None:
        if self.manifest.get("fingerprint") != experiment.fingerprint:
            started = self.manifest.get("experiment_name")
            raise ResultsError(
                f"experiment '{experiment.name}' ({experiment.source}) or its base or "
                "scenario config files changed since this folder was started (for "
                f"'{started}'); resume with the unchanged files, or start again in a new "
                "folder or over this one",
                self.path,
                remedies=("out", "overwrite"),
            )

    @staticmethod
    def _check_new(path: Path, experiment: Experiment, overwrite: bool) -> None:
        """Under the lock: refuse a folder that is not ours to (re)start."""
        if not any(path.iterdir()):
            return
        held = read_manifest(path)  # check_folder made sure there is one, of a sweep
        if overwrite:
            return
        if held.get("fingerprint") == experiment.fingerprint:
            raise ResultsError(
                "the results folder already holds this experiment: resume it, or run it again "
                "over it",
                path,
                remedies=("resume", "overwrite"),
            )
        raise ResultsError(
            f"the results folder holds results of another experiment ({describe_manifest(held)})"
            ": choose another folder, or replace them",
            path,
            remedies=("out", "overwrite"),
        )

    @staticmethod
    def _clear(path: Path) -> None:
        """Remove what an earlier sweep wrote here, and what was derived from it (a report,
        a discovery folder), and nothing else."""
        for name in (*OWNED_FILES, *DERIVED_FILES):
            (path / name).unlink(missing_ok=True)
        for name in OWNED_FOLDERS:
            shutil.rmtree(path / name, ignore_errors=True)
        for stale in path.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        discovery = path / "discovery"
        try:
            derived = read_manifest(discovery)["kind"] == "discovery"
        except ResultsError:
            derived = False
        if derived:
            shutil.rmtree(discovery, ignore_errors=True)

    @staticmethod
    def _new_manifest(
        experiment: Experiment, batch_size: int, extra: dict[str, Any]
    ) -> dict[str, Any]:
        columns = {
            name: [values[name] for values in experiment.point_values]
            for name in experiment.parameters
        }
        types = {name: str(_parameter_type(cells)) for name, cells in columns.items()}
        types = {name: {"double": "float64", "bool": "bool"}.get(t, t) for name, t in types.items()}
        spec = experiment.spec
        rule = spec.adaptive
        return new_manifest(
            "sweep",
            experiment_name=experiment.name,
            description=spec.description,
            experiment_file=experiment.source,
            fingerprint=experiment.fingerprint,
            parts_format=PARTS_FORMAT,
            n_runs=experiment.n_runs,
            n_points=len(experiment.points),
            replications=experiment.replications,
            adaptive=rule.model_dump() if rule else None,
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
            stop=spec.stop.model_dump() if spec.stop else None,
            status="running",
            **extra,
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
            {
                "point": point.index,
                "scenario": point.scenario,
                **values,
                "base": point.base,
                "overrides": json.dumps(point.overrides, sort_keys=True),
            }
            for point, values in zip(experiment.points, experiment.point_values, strict=True)
        ]
        schema = pa.schema(
            [pa.field("point", pa.int64()), pa.field("scenario", pa.string())]
            + [f for f in self.runs_schema if f.name in experiment.parameters]
            + [pa.field("base", pa.string()), pa.field("overrides", pa.string())]
        )
        table = pa.Table.from_pylist(rows, schema=schema)
        write_atomic(self.path / "design.parquet", lambda tmp: pq.write_table(table, tmp))
        (self.path / PARTS).mkdir(exist_ok=True)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Atomically (re)write manifest.json."""
        write_json(self.path / MANIFEST, self.manifest)

    # ------------------------------------------------------------------ parts

    def _signed(self, schema: pa.Schema) -> pa.Schema:
        return schema.with_metadata(
            {
                FINGERPRINT_KEY: self.fingerprint.encode("ascii"),
                SEQUENCE_KEY: str(time.time_ns()).encode("ascii"),
            }
        )

    def write_batch(self, rows: list[dict[str, Any]], series: dict[str, list] | None) -> None:
        """Record a finished batch: series first, then the runs part that makes it count."""
        if not rows:
            return
        first = min(row["run_index"] for row in rows)
        token = f"{first:010d}-{secrets.token_hex(4)}"
        parts = self.path / PARTS
        if series is not None and series.get("run_index"):
            table = pa.Table.from_pydict(series, schema=self._signed(self.series_schema))
            write_atomic(parts / f"series-{token}.parquet", lambda tmp: pq.write_table(table, tmp))
        table = pa.Table.from_pylist(rows, schema=self._signed(self.runs_schema))
        write_atomic(parts / f"runs-{token}.parquet", lambda tmp: pq.write_table(table, tmp))

    def _run_parts(self) -> list[Path]:
        """Runs parts in order of their first run index (batches never interleave)."""
        folder = self.path / PARTS
        return sorted(folder.glob("runs-*.parquet")) if folder.is_dir() else []

    def _cells(self) -> list[tuple[int, list[Path]]]:
        """Runs parts grouped by grid cell (run_index // batch_size), cells in order."""
        size = int(self.manifest["batch_size"])
        cells: dict[int, list[Path]] = defaultdict(list)
        for part in self._run_parts():
            match = PART_NAME.fullmatch(part.name)
            if match is None:
                raise self._foreign(part, "its name is not a part's name")
            cells[int(match.group(1)) // size].append(part)
        return sorted(cells.items())

    def _foreign(self, part: Path, reason: str) -> ResultsError:
        return ResultsError(
            f"{PARTS}/{part.name} {reason}: it was not merged; move it out of {PARTS}/ "
            "(a resume re-runs whatever runs are then missing)",
            self.path,
        )

    def _read_part(self, part: Path, cell: int, columns: list[str] | None = None) -> pa.Table:
        """A runs part, checked: this experiment's fingerprint, rows in its grid cell."""
        try:
            handle = pq.ParquetFile(part)
            metadata = handle.schema_arrow.metadata or {}
            table = handle.read(columns=columns)
        except (OSError, pa.ArrowException) as error:
            raise self._foreign(part, f"is damaged ({one_line(str(error))[:200]})") from None
        found = metadata.get(FINGERPRINT_KEY)
        if found is None and self.signed:
            raise self._foreign(part, "carries no experiment fingerprint")
        if found is not None and found.decode("ascii", "replace") != self.fingerprint:
            raise self._foreign(part, "belongs to another experiment (its fingerprint differs)")
        if columns is None:
            try:
                table = table.select(self.runs_schema.names).cast(self.runs_schema)
            except (KeyError, pa.ArrowException) as error:
                raise self._foreign(
                    part, f"does not have this sweep's columns ({one_line(str(error))[:200]})"
                ) from None
        indices = table.column("run_index").to_numpy()
        size = int(self.manifest["batch_size"])
        if len(indices) and (
            indices.min() < 0
            or indices.max() >= int(self.manifest["n_runs"])
            or (indices // size != cell).any()
        ):
            raise self._foreign(part, "holds runs that do not belong to its batch")
        return table

    @staticmethod
    def _sequence(part: Path) -> int:
        try:
            metadata = pq.read_schema(part).metadata or {}
            return int(metadata.get(SEQUENCE_KEY, b"0"))
        except (OSError, ValueError, pa.ArrowException):
            return 0

    def recorded(self, columns: list[str]) -> pa.Table:
        """Run index, status (and `columns`) of every recorded run: one row per run, its
        successful row if it was retried."""
        wanted = list(dict.fromkeys(["run_index", "status", *columns]))
        tables = []
        for cell, parts in self._cells():
            chosen = self._choose([(p, self._read_part(p, cell, wanted)) for p in parts])
            tables += [table for _, table in chosen]
        schema = pa.schema([self.runs_schema.field(name) for name in wanted])
        return pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()

    def done_runs(self, *, retry_failed: bool = False) -> np.ndarray:
        """Which run indices are recorded (as a boolean mask over every run index); with
        `retry_failed`, failed runs count as not done."""
        done = np.zeros(int(self.manifest["n_runs"]), dtype=bool)
        table = self.recorded([])
        indices = table.column("run_index").to_numpy()
        if retry_failed:
            indices = indices[np.asarray(table.column("status").to_pylist()) == "ok"]
        done[indices] = True
        return done

    def _choose(self, parts: list[tuple[Path, pa.Table]]) -> list[tuple[Path, pa.Table]]:
        """Each run's row once: its successful row if any, else its latest."""
        best: dict[int, tuple[bool, int, int]] = {}
        for number, (part, table) in enumerate(parts):
            sequence = self._sequence(part) if len(parts) > 1 else 0
            statuses = table.column("status").to_pylist()
            for index, status in zip(table.column("run_index").to_pylist(), statuses, strict=True):
                rank = (status == "ok", sequence, number)
                if index not in best or rank > best[index]:
                    best[index] = rank
        chosen = []
        for number, (part, table) in enumerate(parts):
            keep = [best[i][2] == number for i in table.column("run_index").to_pylist()]
            if not all(keep):
                table = table.filter(pa.array(keep))
            if table.num_rows:
                chosen.append((part, table))
        return chosen

    # ------------------------------------------------------------------ tables

    def _previous_runs(self) -> int | None:
        try:
            return pq.read_metadata(self.path / "runs.parquet").num_rows
        except (OSError, pa.ArrowException):
            return None

    def consolidate(self) -> Consolidation:
        """Build runs/timings (and series) tables and runs.csv from the parts, one grid cell
        at a time, sorted by run index. Tables with more runs than the parts hold (parts
        deleted or lost) are kept as they were, and the result says so."""
        previous = self._previous_runs()
        outcome = pa.schema([f for f in self.runs_schema if f.name not in TIMING_COLUMNS])
        outcome = outcome.with_metadata({FINGERPRINT_KEY: self.fingerprint.encode("ascii")})
        timing = pa.schema(
            [self.runs_schema.field("run_index")]
            + [self.runs_schema.field(c) for c in TIMING_COLUMNS]
        )
        record_series = self.manifest.get("record_every") is not None
        names = ["runs.parquet", "timings.parquet", "runs.csv"]
        names += ["series.parquet"] if record_series else []
        temporary = {name: self.path / f".{name}.{secrets.token_hex(4)}.tmp" for name in names}
        result = Consolidation(runs=0, failed=0, previous=previous)
        try:
            with (
                pq.ParquetWriter(temporary["runs.parquet"], outcome) as runs_writer,
                pq.ParquetWriter(temporary["timings.parquet"], timing) as timing_writer,
                pa_csv.CSVWriter(temporary["runs.csv"], outcome.remove_metadata()) as csv_writer,
            ):
                series_writer = (
                    pq.ParquetWriter(temporary["series.parquet"], self.series_schema)
                    if record_series
                    else None
                )
                try:
                    for cell, parts in self._cells():
                        chosen = self._choose([(p, self._read_part(p, cell)) for p in parts])
                        if not chosen:
                            continue
                        table = pa.concat_tables([t for _, t in chosen]).sort_by("run_index")
                        result.runs += table.num_rows
                        statuses = table.column("status").to_pylist()
                        result.failed += sum(status != "ok" for status in statuses)
                        runs_writer.write_table(table.select(outcome.names).cast(outcome))
                        csv_writer.write_table(
                            table.select(outcome.names).cast(outcome.remove_metadata())
                        )
                        timing_writer.write_table(table.select(timing.names))
                        if series_writer is not None:
                            self._write_series(series_writer, chosen)
                finally:
                    if series_writer is not None:
                        series_writer.close()
            if previous is not None and result.runs < previous:
                result.kept_previous = True
                return result
            mode = file_mode()
            for name, path in temporary.items():
                path.chmod(mode)
                path.replace(self.path / name)
            if not record_series:
                (self.path / "series.parquet").unlink(missing_ok=True)
        except OSError as error:
            raise ResultsError(
                f"cannot write the consolidated tables ({error.strerror or error})", self.path
            ) from None
        finally:
            for path in temporary.values():
                path.unlink(missing_ok=True)
        return result

    def _write_series(self, writer_: pq.ParquetWriter, chosen: list[tuple[Path, pa.Table]]) -> None:
        """The series rows of the runs kept from each part, sorted by run and step."""
        tables = []
        for part, table in chosen:
            series = part.with_name("series-" + part.name.removeprefix("runs-"))
            if not series.exists():
                continue
            try:
                rows = pq.read_table(series, schema=self.series_schema)
            except (OSError, pa.ArrowException) as error:
                raise self._foreign(series, f"is damaged ({one_line(str(error))[:200]})") from None
            kept = table.column("run_index")
            tables.append(rows.filter(pc.is_in(rows.column("run_index"), value_set=kept)))
        if tables:
            merged = pa.concat_tables(tables)
            writer_.write_table(merged.sort_by([("run_index", "ascending"), ("step", "ascending")]))

    def mark(self, status: str, **extra: Any) -> None:
        """Record the sweep's state (running, complete) in the manifest."""
        self.manifest["status"] = status
        self.manifest.update(extra)
        self.write_manifest()
