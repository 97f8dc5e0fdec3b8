"""Ensembles: every output as a distribution over the assumptions, not one number.

An ensemble runs a config, or every scenario of an experiment, over draws from the priors
(``configs/priors.yaml``) or from a calibration's posterior, with replications (seeds) per
draw: a sweep with ``design.kind: prior``. It reports each output's median and 50% and 90%
intervals over all runs, and splits the output's variance by the law of total variance:

    Var(Y) = E_draw[ Var_seed(Y | draw) ]  +  Var_draw( E_seed[Y | draw] )
             seed noise                       the assumptions

estimated from R replications per draw by one-way analysis of variance: the seed part is
the mean within-draw variance ``W``; the assumptions' part is the variance of the draw means
less ``W / R`` (never below 0). Scenarios share draws and seeds (common random numbers), so
the difference of a scenario from another is computed run by run, and has its own interval,
usually much narrower than either level when the two scenarios are alike.

This module writes the ensemble folder's own files (``manifest.json``, ``distribution.csv``,
``differences.csv``, ``ensemble.png``); its ``runs/`` subfolder is an ordinary sweep folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simulation.analysis import preflight
from simulation.config.loading import read_yaml
from simulation.config.schema import SimulationConfig
from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.design import Experiment, load_experiment
from simulation.experiments.files import (
    MANIFEST,
    new_manifest,
    prepare_folder,
    read_manifest,
    write_atomic,
    write_json,
)
from simulation.experiments.sweep import SweepResult, run_experiment

QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
"""The 90% interval is q05-q95, the 50% interval q25-q75."""
RUNS_FOLDER = "runs"


@dataclass
class EnsembleResult:
    """Distributions of every output per scenario, differences from the reference, the sweep."""

    distribution: pd.DataFrame
    differences: pd.DataFrame
    sweep: SweepResult
    folder: Path | None
    manifest: dict[str, Any]


def variance_split(values: np.ndarray) -> tuple[float, float, float]:
    """(total variance, seed part, assumptions part) of a (draws, replications) array.

    One-way ANOVA: seed part W = mean within-draw variance; assumptions part = variance of
    draw means - W / R, floored at 0. NaN where replications < 2 (seed noise cannot be
    told from the assumptions with one run per draw).
    """
    draws, replications = values.shape
    if draws < 2:
        return math.nan, math.nan, math.nan
    means = values.mean(axis=1)
    if replications < 2:
        return float(values.var(ddof=1)), math.nan, math.nan
    within = float(values.var(axis=1, ddof=1).mean())
    between = max(float(means.var(ddof=1)) - within / replications, 0.0)
    return within + between, within, between


def _statistics(values: np.ndarray) -> dict[str, float]:
    """Quantiles, mean and sd of a (draws, replications) array, and its variance split."""
    flat = values.ravel()
    row = {name: float(np.quantile(flat, level)) for name, level in QUANTILES.items()}
    row["mean"] = float(flat.mean())
    row["sd"] = float(flat.std(ddof=1)) if flat.size > 1 else math.nan
    total, seed, assumptions = variance_split(values)
    share = (lambda part: part / total) if total and total > 0 else (lambda part: math.nan)
    row["seed_share"] = share(seed)
    row["assumption_share"] = share(assumptions)
    return row


def _matrices(runs: pd.DataFrame, outputs: list[str]) -> dict[str, tuple[np.ndarray, dict]]:
    """Per scenario: a (draws, replications, outputs) array of complete draws, and notes."""
    ok = runs[runs["status"] == "ok"]
    replications = int(runs["replication"].max()) + 1
    result = {}
    for scenario, part in ok.groupby("scenario", sort=False):
        part = part.assign(draw=part["point"] - part["point"].min())
        counts = part.groupby("draw")["replication"].count()
        complete = counts[counts == replications].index
        part = part[part["draw"].isin(complete)].sort_values(["draw", "replication"])
        array = part[outputs].to_numpy(dtype=float).reshape(len(complete), replications, -1)
        result[str(scenario)] = (array, {"draws": list(complete)})
    return result


def summarize_ensemble(
    runs: pd.DataFrame, outputs: list[str], references: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The distribution of every output per scenario, and each scenario's difference from
    each of `references` (default: every scenario), run by run: same draw, same seed."""
    matrices = _matrices(runs, outputs)
    records = []
    for scenario, (array, _) in matrices.items():
        records += _records(array, outputs, {"scenario": scenario})
    differences = []
    for reference in references if references is not None else list(matrices):
        if reference not in matrices:
            continue
        base_array, base_notes = matrices[reference]
        for scenario, (array, notes) in matrices.items():
            if scenario == reference:
                continue
            shared = sorted(set(notes["draws"]) & set(base_notes["draws"]))
            mine = array[[notes["draws"].index(d) for d in shared]]
            theirs = base_array[[base_notes["draws"].index(d) for d in shared]]
            identity = {"scenario": scenario, "reference": reference}
            differences += _records(mine - theirs, outputs, identity, above_zero=True)
    return pd.DataFrame.from_records(records), pd.DataFrame.from_records(differences)


def _records(
    array: np.ndarray, outputs: list[str], identity: dict[str, str], *, above_zero: bool = False
) -> list[dict[str, Any]]:
    """One row per output of a (draws, replications, outputs) array: its statistics over
    the draws with every replication (and the share above zero, for differences)."""
    records = []
    for index, output in enumerate(outputs):
        values = array[:, :, index]
        values = values[~np.isnan(values).any(axis=1)]
        if values.size == 0:
            continue
        record = {
            **identity,
            "output": output,
            "draws": values.shape[0],
            "replications": values.shape[1],
            **_statistics(values),
        }
        if above_zero:
            record["share_above_zero"] = float((values > 0).mean())
        records.append(record)
    return records


def outcome_outputs(manifest: dict[str, Any]) -> list[str]:
    """Every outcome column of a sweep's runs table (each statistic of each metric)."""
    from simulation.experiments.storage import outcome_columns

    return outcome_columns(manifest["metrics"], manifest.get("measures"))


def _as_experiment(
    source: Experiment | SimulationConfig | str | Path | dict[str, Any],
    draws: int | None,
    replications: int | None,
    design: dict[str, Any],
    seed: int | None,
    steps: int | None,
    overrides: dict[str, Any] | None,
) -> Experiment:
    """An experiment with a prior design from a config or an experiment (file or data)."""
    if isinstance(source, SimulationConfig):
        source = source.to_dict()
    if isinstance(source, str | Path):
        data = read_yaml(source)
        if "base" in data:
            source = load_experiment(source)
        else:
            name = str(data.get("name") or Path(source).stem)
            path = str(Path(source).resolve())
            source = Experiment.from_dict(
                {"base": {"config": path}, "scenarios": {name: {"config": path}}}, name=name
            )
    elif isinstance(source, dict):
        if "base" in source:
            source = Experiment.from_dict(source)
        else:
            name = str(source.get("name") or "config")
            source = Experiment.from_dict(
                {"base": {"config": source}, "scenarios": {name: {"config": source}}}, name=name
            )
    experiment: Experiment = source
    data = yaml.safe_load(experiment.text) or {}
    current = data.get("design") or {}
    already = current.get("kind") == "prior"
    new_design = dict(current) if already else {"kind": "prior"}
    new_design.update({key: value for key, value in design.items() if value is not None})
    if draws is not None:
        new_design["samples"] = draws
    elif not already:
        new_design["samples"] = 100
    changes: dict[str, Any] = {"design": new_design}
    if not already:
        changes["replications"] = replications if replications is not None else 2
    elif replications is not None:
        changes["replications"] = replications
    if seed is not None:
        changes["seed"] = seed
    if steps is not None:
        changes["steps"] = steps
    if overrides:
        base = dict(data["base"])
        base["overrides"] = {**base.get("overrides", {}), **overrides}
        changes["base"] = base
    for key in ("vary", "expressions"):
        if data.get(key) and not already:
            changes[key] = {}
    return experiment.with_changes(**changes)


def run_ensemble(
    source: Experiment | SimulationConfig | str | Path | dict[str, Any],
    *,
    draws: int | None = None,
    replications: int | None = None,
    priors: str | Path | None = None,
    posterior: str | Path | None = None,
    exclude: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
    reference: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> EnsembleResult:
    """Run a config (or every scenario of an experiment) over draws from the priors.

    `source` is a config or experiment (file, data or object). `draws` parameter sets (default
    100, or the experiment's own prior design) times `replications` seeds (default 2) per
    scenario; `posterior` (a calibration results folder) replaces the priors of the
    calibrated parameters; `exclude` keeps assumptions at the config's values. Every
    scenario's difference from every other is computed; `reference` names the one the
    tables compare with by default ('status_quo' if present, else the first). With `out`
    the folder holds the sweep (``runs/``, resumable) and the tables.
    """
    if draws is not None and draws < 2:
        raise ArgumentError(f"must be at least 2, got {draws}", "draws")
    if replications is not None and replications < 1:
        raise ArgumentError(f"must be at least 1, got {replications}", "replications")
    preflight.check_ensemble_options(priors, posterior, seed)
    design = {
        "priors": str(Path(priors).resolve()) if priors is not None else None,
        "posterior": str(Path(posterior).resolve()) if posterior is not None else None,
        "exclude": list(exclude) or None,
    }
    experiment = _as_experiment(source, draws, replications, design, seed, steps, overrides)
    preflight.check_something_drawn(experiment, priors)
    scenarios = list(dict.fromkeys(point.scenario for point in experiment.points))
    if reference is None:
        reference = "status_quo" if "status_quo" in scenarios else scenarios[0]
    elif reference not in scenarios:
        raise ArgumentError(
            f"no scenario '{reference}'; scenarios are {', '.join(scenarios)}", "reference"
        )
    folder = prepare_folder(out) if out is not None else None
    sweep = run_experiment(
        experiment,
        workers=workers,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        out=folder / RUNS_FOLDER if folder else None,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
    )
    outputs = outcome_outputs(sweep.manifest)
    distribution, differences = summarize_ensemble(sweep.runs, outputs)
    manifest = new_manifest(
        "ensemble",
        experiment_name=experiment.name,
        experiment_file=experiment.source,
        scenarios=scenarios,
        reference=reference,
        replications=experiment.replications,
        root_seed=experiment.spec.seed,
        steps=experiment.steps_label,
        outputs=outputs,
        runs_folder=RUNS_FOLDER,
        complete=sweep.complete,
        **experiment.prior.manifest(),
    )
    if folder is not None:
        write_ensemble_files(folder, manifest, distribution, differences)
    return EnsembleResult(distribution, differences, sweep, folder, manifest)


def write_ensemble_files(
    folder: Path, manifest: dict[str, Any], distribution: pd.DataFrame, differences: pd.DataFrame
) -> None:
    """The ensemble's own files: tables, figure, and the manifest last (it marks the folder)."""
    write_atomic(folder / "distribution.csv", lambda tmp: distribution.to_csv(tmp, index=False))
    write_atomic(folder / "differences.csv", lambda tmp: differences.to_csv(tmp, index=False))
    write_atomic(folder / "ensemble.png", lambda tmp: plot_ensemble(distribution, manifest, tmp))
    write_json(folder / MANIFEST, manifest)


def read_ensemble(folder: str | Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """An ensemble folder's manifest and tables."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["kind"] != "ensemble":
        raise ResultsError(f"holds a {manifest['kind']}, not an ensemble", folder)
    distribution = pd.read_csv(folder / "distribution.csv")
    path = folder / "differences.csv"
    try:
        differences = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        differences = pd.DataFrame()
    return manifest, distribution, differences


def plot_ensemble(distribution: pd.DataFrame, manifest: dict[str, Any], path: Any) -> None:
    """Per column of the scenario comparison: each scenario's median with its 50% and 90%
    intervals, a year after the order (or at the last month if the runs had no lags)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.analysis.scenario_table import COLUMNS
    from simulation.analysis.tables import DEFAULT_MEASURE
    from simulation.vocabulary import CHOICE_COLOURS, CHOICES, split_metric

    present = set(distribution["output"])
    measure = DEFAULT_MEASURE if f"{DEFAULT_MEASURE}_comply" in present else "final"
    shown = [column for column in COLUMNS if f"{measure}_{column.metric}" in present]
    scenarios = list(manifest["scenarios"])
    count = max(len(shown), 1)
    figure, axes = plt.subplots(
        1,
        count,
        figsize=(2.3 * count + 1.5, 0.35 * len(scenarios) + 1.8),
        sharey=True,
        squeeze=False,
    )
    positions = np.arange(len(scenarios))
    for axis, column in zip(axes[0], shown, strict=False):
        part = distribution[distribution["output"] == f"{measure}_{column.metric}"]
        part = part.set_index("scenario").reindex(scenarios)
        choice = split_metric(column.metric)[1]
        colour = CHOICE_COLOURS[choice] if choice in CHOICES else "#8172B3"
        axis.hlines(positions, part["q05"], part["q95"], color=colour, linewidth=1.2)
        axis.hlines(positions, part["q25"], part["q75"], color=colour, linewidth=5, alpha=0.6)
        axis.plot(part["median"], positions, "o", color="black", markersize=3)
        axis.set_title(column.heading, fontsize=8)
        axis.set_xlim(-0.02, 1.02)
        axis.grid(alpha=0.3, axis="x")
        axis.tick_params(labelsize=7)
    axes[0][0].set_yticks(positions, scenarios, fontsize=8)
    axes[0][0].invert_yaxis()
    origin = "posterior" if manifest.get("posterior") else "priors"
    figure.suptitle(
        f"{manifest['experiment_name']} ({measure}) over the {origin} "
        f"({manifest['draws']} draws x {manifest['replications']} seeds): median, 50% and 90% "
        "intervals",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
