"""Reading any results folder back: what the explorer shows and the report prints.

A results folder says what wrote it in ``manifest.json`` (``kind``). This module reads
every kind the project writes (run, sweep, sensitivity, tipping, discovery) and degrades
gracefully for kinds it does not know: their manifest is shown as it is, and if they hold
a sweep's tables (``runs.parquet``, ``summary.csv``) those are read as a sweep's.

It also turns a recorded run back into what produced it (:func:`replay_spec`): the run's
resolved config and seed, rebuilt from the files the folder itself keeps (the copy of the
experiment, the resolved base and scenario configs), so that a folder moved to another
machine still replays, and the replay gives the numbers the sweep recorded.

Everything read is bounded: only regular files, and no file larger than its limit (a
results folder is data, and data can be hostile).
"""

from __future__ import annotations

import json
import math
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig
from simulation.errors import ResultsError
from simulation.experiments.files import MANIFEST
from simulation.experiments.precision import runs_completed
from simulation.experiments.run_folder import check_run_summary
from simulation.vocabulary import CHOICES, split_metric

TEXT_LIMIT = 5 * 1024 * 1024
"""Largest JSON, YAML or CSV text file read (bytes)."""
TABLE_LIMIT = 2 * 1024**3
"""Largest Parquet table read (bytes)."""
IDENTITY: tuple[str, ...] = ("run_index", "point", "scenario", "replication", "seed")
STATUS_COLUMNS: tuple[str, ...] = ("steps_run", "status", "error", "seconds", "worker")
MAX_REPLAYED_REPLICATIONS = 20
"""A design point without a recorded series is replayed with at most this many runs."""


# ---------------------------------------------------------------------------- safe reading


def checked_file(path: Path, limit: int, folder: Path) -> Path:
    """`path` if it is a regular file no larger than `limit`, else a ResultsError.

    Devices, FIFOs and links to them are refused before they are opened: reading
    /dev/zero or a FIFO named like a results file would never end.
    """
    try:
        info = path.stat()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ResultsError(f"cannot read {path.name} ({reason})", folder) from None
    if not stat.S_ISREG(info.st_mode):
        raise ResultsError(f"{path.name} is not a regular file", folder)
    if info.st_size > limit:
        raise ResultsError(f"{path.name} is larger than {limit:,} bytes; not read", folder)
    return path


def read_text(path: Path, folder: Path, limit: int = TEXT_LIMIT) -> str:
    """A text file of a results folder, bounded; ResultsError naming it if unreadable."""
    checked_file(path, limit, folder)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ResultsError(f"cannot read {path.name} ({error})", folder) from None


def read_json(path: Path, folder: Path) -> Any:
    """A JSON file of a results folder (bounded)."""
    try:
        return json.loads(read_text(path, folder))
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path.name} is not valid JSON ({error.msg})", folder) from None


def read_yaml(path: Path, folder: Path) -> Any:
    """A YAML file of a results folder (bounded; safe loader)."""
    try:
        return yaml.safe_load(read_text(path, folder))
    except yaml.YAMLError as error:
        raise ResultsError(f"{path.name} is not valid YAML ({error})", folder) from None


def read_table(path: Path, folder: Path, **options: Any) -> pd.DataFrame:
    """A Parquet table of a results folder (bounded)."""
    checked_file(path, TABLE_LIMIT, folder)
    try:
        return pd.read_parquet(path, **options)
    except Exception as error:  # noqa: BLE001 - pyarrow raises many kinds for a bad file
        raise ResultsError(f"cannot read {path.name} ({type(error).__name__})", folder) from None


def read_csv(path: Path, folder: Path) -> pd.DataFrame:
    """A CSV table of a results folder (bounded)."""
    checked_file(path, TABLE_LIMIT, folder)
    try:
        return pd.read_csv(path)
    except Exception as error:  # noqa: BLE001 - a damaged CSV raises many kinds
        raise ResultsError(f"cannot read {path.name} ({type(error).__name__})", folder) from None


# ---------------------------------------------------------------------------- any folder


@dataclass
class Results:
    """One results folder as read: its kind, manifest and a title; kind-specific views."""

    path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        """What wrote the folder (the manifest's `kind`), e.g. sweep."""
        return str(self.manifest.get("kind", "unknown"))

    @property
    def name(self) -> str:
        """The experiment's or config's name, else the folder's name."""
        for key in ("experiment_name", "name"):
            if isinstance(self.manifest.get(key), str):
                return self.manifest[key]
        return self.path.name

    @property
    def title(self) -> str:
        """How a list names the folder: `name (kind)`."""
        return f"{self.name} ({self.kind})"

    @property
    def description(self) -> str:
        """The experiment's description, if it gave one."""
        text = self.manifest.get("description")
        return text if isinstance(text, str) else ""

    def has(self, name: str) -> bool:
        """Whether the folder holds a regular file `name`."""
        try:
            return stat.S_ISREG((self.path / name).stat().st_mode)
        except (OSError, ValueError):
            return False

    @property
    def holds_sweep(self) -> bool:
        """Whether the folder holds a sweep's tables (a sweep, or an unknown kind that does)."""
        return self.has("runs.parquet") or self.has("summary.csv")

    def manifest_rows(self) -> list[tuple[str, str]]:
        """The manifest's top-level fields as (key, text) rows, for kinds with no view."""
        rows = []
        for key, value in self.manifest.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append((str(key), text if len(text) <= 300 else text[:297] + "..."))
        return rows


def open_results(path: str | Path) -> Results:
    """Read a results folder's manifest, whatever its kind; ResultsError if there is none."""
    folder = Path(path)
    if not folder.is_dir():
        raise ResultsError("results folder not found", folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise ResultsError(f"not a results folder (no {MANIFEST})", folder)
    manifest = read_json(manifest_path, folder)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("kind"), str):
        raise ResultsError(f"{MANIFEST} is not a mapping with a 'kind'", folder)
    return Results(folder, manifest)


def find_results(root: str | Path, depth: int = 2) -> list[Path]:
    """Results folders (holding a manifest.json) at or under `root`, `depth` levels deep;
    the sweeps inside a sensitivity folder and a sweep's discovery/ are listed too."""
    root = Path(root)
    found: list[Path] = []

    def walk(folder: Path, level: int) -> None:
        if (folder / MANIFEST).is_file():
            found.append(folder)
        if level >= depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        for child in children:
            if child.name not in ("parts", "figures"):
                walk(child, level + 1)

    if root.is_dir():
        walk(root, 0)
    return found


# ---------------------------------------------------------------------------- sweeps


def percent(value: Any, digits: int = 1) -> str:
    """A share as a percentage ('18.3%'); '-' for a missing value."""
    number = _finite(value)
    return "-" if number is None else f"{_fixed(number * 100, digits)}%"


def interval_text(low: Any, high: Any, digits: int = 1) -> str:
    """A 95% interval as '17.9 to 18.7%'; '-' when undefined (a single replication).

    The bounds are shown as computed (the project's intervals of shares lie in [0, 1]:
    :mod:`simulation.experiments.precision`); only a rounding to '-0.0' is written as '0.0'.
    """
    low_value, high_value = _finite(low), _finite(high)
    if low_value is None or high_value is None:
        return "-"
    return f"{_fixed(low_value * 100, digits)} to {_fixed(high_value * 100, digits)}%"


def _fixed(value: float, digits: int) -> str:
    """`value` with `digits` decimals, without the sign of a value that rounds to zero."""
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class Sweep:
    """A sweep's tables: design, runs, summary (rebuilt from the runs if missing), series."""

    results: Results

    @property
    def path(self) -> Path:
        """The folder."""
        return self.results.path

    @property
    def manifest(self) -> dict[str, Any]:
        """The folder's manifest."""
        return self.results.manifest

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per recorded run (empty if the sweep has not consolidated any)."""
        if not self.results.has("runs.parquet"):
            return pd.DataFrame(columns=[*IDENTITY, "status"])
        runs = read_table(self.path / "runs.parquet", self.path)
        if self.results.kind == "sweep" and "fingerprint" in self.manifest:
            from simulation.experiments.storage import check_runs_table

            check_runs_table(self.path, self.manifest, runs)
        return runs

    @cached_property
    def summary(self) -> pd.DataFrame:
        """summary.csv, or the same table computed from the runs when it is missing."""
        if self.results.has("summary.csv"):
            try:
                return read_csv(self.path / "summary.csv", self.path)
            except ResultsError:
                if self.runs.empty:
                    raise
        if self.runs.empty or "metrics" not in self.manifest:
            return pd.DataFrame()
        from simulation.experiments.summary import summarize_runs

        return summarize_runs(self.runs, self.manifest)

    @cached_property
    def inputs(self) -> pd.DataFrame:
        """Every parameter of each design point with runs, one row per point (a sampled
        design's summary.csv leaves them out: they are in the runs)."""
        from simulation.experiments.summary import point_inputs

        return point_inputs(self.runs, {"parameters": self.parameters})

    @property
    def parameters(self) -> list[str]:
        """Parameter columns (varied, derived and scenario overrides)."""
        names = self.manifest.get("parameters")
        if isinstance(names, list):
            return [str(n) for n in names]
        return [c for c in self.runs.columns if "." in c]  # parameters are dotted config keys

    @property
    def axes(self) -> list[str]:
        """The parameters a factorial design varies (first of each zipped group)."""
        axes = self.manifest.get("axes") or []
        return [str(axis[0]) for axis in axes if isinstance(axis, list) and axis]

    @property
    def sampled(self) -> list[str]:
        """The parameters a sampled design (LHS, Sobol, Morris) draws."""
        return [str(e.get("name")) for e in self.manifest.get("sampled") or [] if "name" in e]

    @property
    def design(self) -> str:
        """factorial, lhs, sobol or morris."""
        return str(self.manifest.get("design", "factorial"))

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in the experiment's order."""
        names = self.manifest.get("scenarios")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        return list(dict.fromkeys(self.summary.get("scenario", pd.Series(dtype=str))))

    @property
    def metrics(self) -> list[str]:
        """The per-step columns the sweep recorded."""
        names = self.manifest.get("metrics")
        return [str(n) for n in names] if isinstance(names, list) else []

    @property
    def measures(self) -> list[str]:
        """How outcomes were reduced: final, peak, and any other measure in the summary."""
        if self.summary.empty:
            return []
        present = list(dict.fromkeys(self.summary["measure"]))
        known = [m for m in ("final", "peak") if m in present]
        return known + [m for m in present if m not in known]

    @property
    def categories(self) -> list[str]:
        """Categories with outcomes: overall, groups, ranks (as recorded)."""
        from simulation.analysis.charts import ordered_categories

        if self.summary.empty:
            return []
        return ordered_categories(list(set(self.summary["category"])))

    @property
    def has_series(self) -> bool:
        """Whether per-step series were recorded (series.parquet)."""
        return self.results.has("series.parquet")

    def point_labels(self) -> dict[int, str]:
        """Each design point's label: scenario and the values that vary, in point order."""
        from simulation.experiments.summary import point_label, with_inputs

        if self.summary.empty:
            return {}
        points = with_inputs(
            self.summary.drop_duplicates("point").sort_values("point"), self.inputs
        )
        manifest = {"scenarios": self.scenarios, "axes": self.manifest.get("axes") or []}
        if self.design != "factorial":
            manifest["axes"] = [[name] for name in self.sampled]
        return {int(row["point"]): point_label(row, manifest) for _, row in points.iterrows()}

    def point_table(self, measure: str, category: str) -> pd.DataFrame:
        """One row per design point: identity, parameters, runs, and per choice the mean
        (as a percentage number, for sorting; None where no run had anyone of the group
        serving), the 95% interval (as text) and how many runs contributed."""
        from simulation.experiments.summary import with_inputs

        summary = self.summary
        if summary.empty:
            return pd.DataFrame()
        part = summary[(summary["measure"] == measure) & (summary["category"] == category)]
        labels = self.point_labels()
        firsts = with_inputs(part.drop_duplicates("point"), self.inputs).set_index("point")
        parameters = [p for p in self.parameters if p in firsts.columns]
        rows = []
        for point, group in part.groupby("point", sort=True):
            first = firsts.loc[point]
            row: dict[str, Any] = {
                "point": int(point),
                "scenario": str(first["scenario"]),
                "label": labels.get(int(point), ""),
            }
            for name in parameters:
                row[name] = first[name]
            row["runs"] = runs_completed(first) + int(first["n_failed"])
            row["failed"] = int(first["n_failed"])
            for _, line in group.iterrows():
                choice = str(line["choice"])
                mean = _finite(line["mean"])
                row[f"{choice} %"] = None if mean is None else round(mean * 100, 2)
                row[f"{choice} 95% CI"] = interval_text(line["ci_low"], line["ci_high"])
                row[f"{choice} runs with a value"] = int(line["n"])
            rows.append(row)
        return pd.DataFrame(rows)

    def runs_of(self, point: int) -> pd.DataFrame:
        """The recorded runs of one design point."""
        runs = self.runs
        return runs[runs["point"] == point] if "point" in runs else runs.iloc[0:0]

    def series_of(self, run_indices: list[int]) -> pd.DataFrame:
        """Recorded per-step rows of some runs (empty when no series was recorded)."""
        if not self.has_series or not run_indices:
            return pd.DataFrame()
        return read_table(
            self.path / "series.parquet",
            self.path,
            filters=[("run_index", "in", [int(i) for i in run_indices])],
        )

    # ------------------------------------------------------------------ replay

    @cached_property
    def experiment(self) -> Any:
        """The experiment rebuilt from the folder's own copies (see :func:`replay_spec`)."""
        from simulation.errors import ConfigError
        from simulation.experiments.design import Experiment

        folder = self.path
        for name in ("experiment.yaml", "base_config.resolved.yaml"):
            if not self.results.has(name):
                raise ResultsError(f"cannot replay: {name} is missing", folder)
        data = read_yaml(folder / "experiment.yaml", folder)
        base = read_yaml(folder / "base_config.resolved.yaml", folder)
        if not isinstance(data, dict) or not isinstance(data.get("base"), dict):
            raise ResultsError("cannot replay: experiment.yaml has no 'base'", folder)
        if not isinstance(base, dict):
            raise ResultsError("cannot replay: base_config.resolved.yaml is not a mapping", folder)
        data["base"]["config"] = base
        scenarios = data.get("scenarios") or {}
        own = [
            name
            for name, entry in scenarios.items()
            if isinstance(entry, dict) and "config" in entry
        ]
        if own:
            if not self.results.has("scenario_configs.resolved.yaml"):
                raise ResultsError(
                    "cannot replay: scenario_configs.resolved.yaml is missing", folder
                )
            resolved = read_yaml(folder / "scenario_configs.resolved.yaml", folder) or {}
            for name in own:
                if name not in resolved:
                    raise ResultsError(
                        f"cannot replay: scenario '{name}' is missing from "
                        "scenario_configs.resolved.yaml",
                        folder,
                    )
                scenarios[name]["config"] = resolved[name]
        name = self.manifest.get("experiment_name") or folder.name
        try:
            return Experiment.from_dict(data, base_dir=folder, name=str(name))
        except ConfigError as error:
            raise ResultsError(f"cannot replay: {error}", folder) from None

    def run_row(self, run_index: int) -> pd.Series:
        """The recorded row of one run; ResultsError if the folder has no such run."""
        runs = self.runs
        rows = runs[runs["run_index"] == run_index] if "run_index" in runs else runs.iloc[0:0]
        if rows.empty:
            raise ResultsError(f"no run {run_index} in runs.parquet", self.path)
        return rows.iloc[0]

    def replay(self, run_index: int) -> ReplaySpec:
        """What it takes to run `run_index` again: its config, seed and recorded outcomes."""
        row = self.run_row(run_index)
        point = int(row["point"])
        experiment = self.experiment
        if point >= len(experiment.points):
            raise ResultsError(f"cannot replay run {run_index}: no design point {point}", self.path)
        config = experiment.point_config(point)
        steps_run = _finite(row.get("steps_run"))
        recorded = {
            metric: float(row[f"final_{metric}"])
            for metric in self.metrics
            if f"final_{metric}" in row and _finite(row[f"final_{metric}"]) is not None
        }
        label = self.point_labels().get(point, f"point {point}")
        return ReplaySpec(
            config=config,
            seed=int(row["seed"]),
            steps=int(steps_run) if steps_run is not None else config.steps,
            label=(
                f"{self.results.name}: run {run_index} (design point {point}: {label}, "
                f"replication {int(row['replication'])})"
            ),
            folder=str(self.path),
            run_index=run_index,
            recorded=recorded,
            status=str(row.get("status", "ok")),
        )


@dataclass(frozen=True)
class ReplaySpec:
    """A recorded run, ready to be run again: config, seed, horizon and recorded outcomes."""

    config: SimulationConfig
    seed: int
    steps: int
    """The month the recorded run ended (its horizon, or an early stop)."""
    label: str
    folder: str
    run_index: int | None = None
    recorded: dict[str, float] = field(default_factory=dict)
    """Metric -> the final value the run recorded."""
    status: str = "ok"


def run_folder_replay(results: Results) -> ReplaySpec:
    """A `run` folder's run: config.resolved.yaml (with its seed) and summary.json."""
    folder = results.path
    data = read_yaml(folder / "config.resolved.yaml", folder)
    from simulation.errors import ConfigError

    try:
        config = load_config(data if isinstance(data, dict) else {})
    except ConfigError as error:
        raise ResultsError(f"cannot replay: {error}", folder) from None
    summary = (
        check_run_summary(read_json(folder / "summary.json", folder), folder)
        if results.has("summary.json")
        else {}
    )
    recorded: dict[str, float] = {}
    if isinstance(summary, dict):
        blocks = [("", summary.get("overall", {}))]
        blocks += [(f"{g}_", b) for g, b in (summary.get("by_group") or {}).items()]
        blocks += [(f"{r}_", b) for r, b in (summary.get("by_rank") or {}).items()]
        for prefix, block in blocks:
            for choice, value in (block or {}).get("final", {}).items():
                if _finite(value) is not None:
                    recorded[f"{prefix}{choice}"] = float(value)
    seed = int(summary.get("seed", config.seed)) if isinstance(summary, dict) else config.seed
    steps = int(summary.get("steps", config.steps)) if isinstance(summary, dict) else config.steps
    return ReplaySpec(
        config=config,
        seed=seed,
        steps=steps,
        label=f"{results.name}: the run of {folder.name} (seed {seed})",
        folder=str(folder),
        recorded=recorded,
    )


def replay_spec(results: Results, run_index: int | None = None) -> ReplaySpec:
    """The replay of one recorded run: a sweep's run `run_index`, or a run folder's run."""
    if results.kind == "run":
        return run_folder_replay(results)
    if results.holds_sweep and run_index is not None:
        return Sweep(results).replay(run_index)
    raise ResultsError(f"a {results.kind} folder holds no run to replay", results.path)


def replay_columns(spec: ReplaySpec, columns: list[str]) -> dict[str, list[float]]:
    """Run a recorded run again (the one run path) and return its per-step columns."""
    from simulation.experiments.runner import run_model

    config = spec.config.model_copy(update={"steps": spec.steps})
    outcome = run_model(config, spec.seed)
    return {c: [float(v) for v in outcome.columns[c]] for c in columns if c in outcome.columns}


def trace_of_runs(sweep: Sweep, run_indices: list[int], label: str, columns: list[str]):
    """Shares over time of some runs of a sweep: the recorded series when there is one,
    else the runs replayed (at most :data:`MAX_REPLAYED_REPLICATIONS`)."""
    from simulation.analysis.charts import envelope

    series = sweep.series_of(run_indices)
    if series.empty:
        frames = []
        for index in run_indices[:MAX_REPLAYED_REPLICATIONS]:
            spec = sweep.replay(index)
            values = replay_columns(spec, columns)
            frame = pd.DataFrame(values)
            frame.insert(0, "step", range(len(frame)))
            frame.insert(0, "run_index", index)
            frames.append(frame)
        series = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if series.empty:
        raise ResultsError("no series for these runs", sweep.path)
    return envelope(series, columns, label)


def share_columns_of(metrics: list[str]) -> list[str]:
    """The metrics that are shares of a choice (e.g. refuse, passive_evade)."""
    return [m for m in metrics if split_metric(m)[1] in CHOICES]


# ---------------------------------------------------------------------------- analyses


def sensitivity_indices(results: Results) -> pd.DataFrame:
    """indices.csv of a sensitivity folder."""
    return read_csv(results.path / "indices.csv", results.path)


def tipping_data(results: Results) -> dict[str, Any]:
    """tipping.json of a tipping folder."""
    data = read_json(results.path / "tipping.json", results.path)
    problem = _tipping_problem(data)
    if problem:
        raise ResultsError(
            f"tipping.json {problem}: run the tipping search again into this folder (overwrite)",
            results.path,
        )
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tipping_problem(data: Any) -> str | None:
    """What is wrong with a tipping.json (None when a report can state it)."""
    if not isinstance(data, dict):
        return "is not a mapping"
    for key in ("lever", "metric", "statistic"):
        if not isinstance(data.get(key), str):
            return f"lacks '{key}'"
    if not _is_number(data.get("level")) or not isinstance(data.get("crossed"), bool):
        return "lacks 'level' or 'crossed'"
    ranges = ["search_range"] + (["bracket", "uncertain_range"] if data["crossed"] else [])
    for key in ranges:
        pair = data.get(key)
        if not isinstance(pair, list) or len(pair) != 2 or not all(map(_is_number, pair)):
            return f"lacks '{key}' (two numbers)"
    if data["crossed"] and not _is_number(data.get("estimate")):
        return "lacks 'estimate'"
    probes = data.get("probes")
    if not isinstance(probes, list) or not all(
        isinstance(p, dict) and _is_number(p.get("value")) for p in probes
    ):
        return "lacks 'probes' (each with its 'value')"
    return None


CASE = re.compile(r"^(?P<metric>\w+) (?P<op>[<>]) (?P<level>[-+0-9.eE]+)$")


@dataclass
class Discovery:
    """A discovery folder's boxes and rules, with the runs they were found in."""

    data: dict[str, Any]
    inputs: pd.DataFrame | None
    flags: list[bool] | None


def discovery_data(results: Results) -> Discovery:
    """discovery.json, and the sweep's runs (with the case of interest) when still there."""
    folder = results.path
    data = read_json(folder / "discovery.json", folder)
    if not isinstance(data, dict):
        raise ResultsError("discovery.json is not a mapping", folder)
    match = CASE.match(str(data.get("case_of_interest", "")))
    parameters = [p for p in data.get("parameters", []) if isinstance(p, str)]
    runs = None
    for candidate in (data.get("folder"), results.manifest.get("sweep"), folder.parent):
        try:
            runs = Sweep(open_results(str(candidate))).runs
            break
        except (ResultsError, TypeError):
            continue
    if runs is None or "status" not in runs:
        return Discovery(data, None, None)
    runs = runs[runs["status"] == "ok"].set_index("run_index")
    column = f"final_{match['metric']}" if match else ""
    if not match or column not in runs or not all(p in runs for p in parameters):
        return Discovery(data, None, None)
    level = float(match["level"])
    values = runs[column].to_numpy(dtype=float)
    flags = (values < level) if match["op"] == "<" else (values > level)
    return Discovery(data, runs[parameters], [bool(f) for f in flags])


# ---------------------------------------------------------------------------- figures


def breakdowns(sweep: Sweep) -> list[str]:
    """'group' and/or 'rank': the breakdowns whose categories the sweep recorded."""
    from simulation.vocabulary import GROUPS, RANKS

    present = set(sweep.categories)
    found = [
        name for name, members in (("group", GROUPS), ("rank", RANKS)) if present & set(members)
    ]
    return found or ["group"]


def sweep_charts(
    sweep: Sweep, measure: str, breakdown: str = "group", scenario: str | None = None
) -> list[Any]:
    """The figures that suit a sweep's design (the explorer's plots, the report's figures):
    outcome against each varied parameter with 95% bands, a heatmap for two, bars for
    named scenarios, every run against each sampled parameter."""
    from simulation.analysis import charts
    from simulation.vocabulary import GROUPS, RANKS

    summary = sweep.summary
    if summary.empty or measure not in set(summary["measure"]):
        return []
    members = RANKS if breakdown == "rank" else GROUPS
    categories = [c for c in sweep.categories if c == "overall" or c in members]
    scenarios = sweep.scenarios
    chosen = scenario if scenario in scenarios else scenarios[0] if scenarios else None
    part = summary[summary["scenario"] == chosen] if chosen is not None else summary
    named = f" ({chosen})" if len(scenarios) > 1 else ""
    found: list[Any] = []
    axes = [axis for axis in sweep.axes if axis in summary.columns]
    if sweep.design != "factorial":
        sampled = [name for name in sweep.sampled if name in sweep.runs.columns]
        if sampled:
            found.append(charts.runs_scatter_chart(sweep.runs, sampled, measure, "overall"))
        return found
    if not axes:
        labels = sweep.point_labels()
        if len(labels) > 1:
            found.append(charts.scenario_chart(summary, labels, measure, categories))
        return found
    if len(axes) == 2 and "overall" in categories:
        found.append(
            charts.heatmap_chart(
                part,
                axes[0],
                axes[1],
                measure,
                "overall",
                f"{charts.measure_label(measure)}, all officers{named}",
            )
        )
    for axis in axes:
        found.append(
            charts.parameter_chart(
                part,
                axis,
                measure,
                categories,
                f"{charts.measure_label(measure)} against {charts.short_name(axis)}{named}",
            )
        )
    if len(axes) > 2:
        found.append(charts.runs_scatter_chart(sweep.runs, axes, measure, "overall"))
    return found


MAX_ENVELOPES = 12
"""Design points drawn over time in one figure."""


def sweep_envelopes(sweep: Sweep, points: list[int], category: str) -> Any | None:
    """Shares over time of some design points (recorded series only), at most
    :data:`MAX_ENVELOPES`; None when the sweep recorded no series."""
    from simulation.analysis import charts

    if not sweep.has_series or not points:
        return None
    labels = sweep.point_labels()
    chosen = points[:MAX_ENVELOPES]
    runs = sweep.runs
    ok = runs[(runs["status"] == "ok") & runs["point"].isin(chosen)]
    series = sweep.series_of([int(i) for i in ok["run_index"]])
    if series.empty:
        return None
    columns = [c for c in series.columns if c not in ("run_index", "step")]
    traces = []
    for point in chosen:
        indices = set(ok.loc[ok["point"] == point, "run_index"])
        rows = series[series["run_index"].isin(indices)]
        if not rows.empty:
            traces.append(charts.envelope(rows, columns, labels.get(point, f"point {point}")))
    return charts.envelope_chart(traces, category) if traces else None
