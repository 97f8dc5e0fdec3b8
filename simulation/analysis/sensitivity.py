"""Global sensitivity analysis: Sobol indices, with a Morris screen, over an experiment's ranges.

The experiment gives the uncertain parameters as `{low, high}` ranges with
`design.kind: sobol`. The same ranges are also screened with Morris's elementary effects
(cheap, mu* and sigma). Both designs run through the sweep runner (parallel, resumable,
each run seeded from the root seed), and SALib computes the indices from the design-point
means. This module is the only writer of a sensitivity folder's own files (indices.csv,
indices.json, indices.png and its manifest); its sobol/ and morris/ sweeps are ordinary
sweep folders.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import ArgumentError, ConfigError
from simulation.experiments.design import Experiment, load_experiment
from simulation.experiments.files import (
    MANIFEST,
    FolderClaim,
    new_manifest,
    write_atomic,
    write_json,
)
from simulation.experiments.runner import outcome_measures
from simulation.experiments.summary import with_inputs
from simulation.experiments.sweep import SweepResult, run_experiment
from simulation.vocabulary import KEY_OUTPUTS

HALF_WIDTH, LEADING = 0.05, 3
"""The sample-size rule: each output's three leading indices within ±0.05 (95 %)."""
OUTPUTS: tuple[str, ...] = KEY_OUTPUTS
"""Default outputs: the overall final shares and each group's key behaviour (any recorded
metric may be asked for)."""


@dataclass
class SensitivityResult:
    """Indices per output and parameter, the sweeps they came from, and the folder."""

    indices: pd.DataFrame
    sweeps: dict[str, SweepResult]
    folder: Path | None
    constant: list[str] = field(default_factory=list)
    """Outputs without indices: constant across the design, or undefined (NaN) at some point."""
    notes: list[str] = field(default_factory=list)
    """What the design and SALib had to say (shown once as notes, not as warnings)."""


def check_sobol(experiment: Experiment) -> None:
    """A sensitivity experiment must be a Sobol design over sampled ranges, one scenario."""
    if experiment.spec.design.kind != "sobol":
        raise ConfigError(
            f"sensitivity needs design.kind: sobol (got {experiment.spec.design.kind})",
            experiment.source,
            "design.kind",
        )
    if experiment.spec.scenarios:
        raise ConfigError(
            "sensitivity takes one scenario: move it into base.overrides",
            experiment.source,
            "scenarios",
        )


def run_sensitivity(
    experiment: Experiment | str | Path | dict[str, Any],
    *,
    outputs: Sequence[str] | None = None,
    morris: bool = True,
    morris_trajectories: int = 10,
    morris_levels: int = 4,
    workers: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    groups: str | dict[str, list[str]] | None = None,
    measures: Sequence[str] = ("final",),
) -> SensitivityResult:
    """Sobol indices (and a Morris screen over the same ranges) of shares at `measures`.

    `outputs` names the shares to analyse (e.g. "refuse", "passive_evade", "cohort_comply";
    default: the experiment's `metrics` if it lists them, else the key outputs). With `out`
    the sweeps go to `out/sobol` and `out/morris` (resumable) and the indices are written
    beside them; without it nothing is written. `groups` replaces the experiment's
    `design.groups` (one index per prior, per config section, or per named group of a
    mapping): fewer, larger groups whose indices separate. The groups shape the design
    itself (SALib's grouped sampling), not only its analysis. `measures` reads each share at
    other times than the end: "at_order_plus_N" (a lag the base config's output.order_lags
    records) or "peak".
    """
    if not isinstance(experiment, Experiment):
        experiment = (
            Experiment.from_dict(experiment)
            if isinstance(experiment, dict)
            else load_experiment(experiment)
        )
    check_sobol(experiment)
    if groups is not None:
        design = experiment.spec.design.model_dump(exclude_defaults=True)
        experiment = experiment.with_changes(design={**design, "groups": groups})
    measures = tuple(dict.fromkeys(measures))
    known = outcome_measures(experiment.base_config)
    if not measures or any(measure not in known for measure in measures):
        raise ArgumentError(
            f"expected some of: {', '.join(known)} (lags from the base config's "
            f"output.order_lags), got {', '.join(measures) or 'none'}",
            "measure",
        )
    if morris_trajectories < 2:
        raise ArgumentError("Morris needs at least 2 trajectories", "morris_trajectories")
    if morris_levels < 2:
        raise ArgumentError("Morris needs at least 2 levels", "morris_levels")
    if outputs is None:
        outputs = experiment.spec.metrics if experiment.spec.metrics is not None else OUTPUTS
    outputs = tuple(outputs)
    unknown = [name for name in outputs if name not in experiment.metrics]
    if unknown:
        raise ArgumentError(
            f"unknown output {unknown}; expected some of: {', '.join(experiment.metrics)}",
            "outputs",
        )
    designs = {"sobol": experiment}
    over_priors = experiment.spec.design.priors is not None
    if morris and not over_priors:  # Morris steps through ranges, not through quantiles
        designs["morris"] = experiment.with_changes(
            name=f"{experiment.name}_morris",
            design={
                "kind": "morris",
                "samples": morris_trajectories,
                "levels": morris_levels,
                "groups": experiment.spec.design.groups,
            },
        )
    notes = list(dict.fromkeys(note for design in designs.values() for note in design.notes))
    options = {"workers": workers, "resume": resume, "overwrite": overwrite, "progress": progress}
    if out is None:
        sweeps, tables = _run_designs(designs, None, options, notes, measures)
        table, constant = _indices(tables, outputs, measures)
        notes += sample_size_notes(table, experiment.spec.design.samples)
        return SensitivityResult(table, sweeps, None, constant, notes)
    same = lambda held: held.get("experiment_name") == experiment.name  # noqa: E731
    with FolderClaim(out, "sensitivity", same, overwrite=overwrite) as claim:
        folder = claim.path
        manifest = new_manifest(
            "sensitivity",
            experiment_name=experiment.name,
            outputs=list(outputs),
            measures=list(measures),
            sweeps={label: str(folder / label) for label in designs},
            status="running",
        )
        if overwrite or not claim.replacing:
            write_json(folder / MANIFEST, manifest)
        sweeps, tables = _run_designs(designs, folder, options, notes, measures)
        table, constant = _indices(tables, outputs, measures)
        notes += sample_size_notes(table, experiment.spec.design.samples)
        write_atomic(folder / "indices.csv", lambda tmp: table.to_csv(tmp, index=False))
        write_json(folder / "indices.json", table.to_dict(orient="records"))
        if not table.empty:
            write_atomic(
                folder / "indices.png",
                lambda tmp: plot_indices(table, tmp, f"Sensitivity: {experiment.name}"),
            )
        written = [MANIFEST, "indices.csv", "indices.json", *designs]
        written += ["indices.png"] if not table.empty else []
        claim.remove_stale(OWNED_FILES if overwrite else written, written)
        write_json(folder / MANIFEST, {**manifest, "constant": constant, "status": "complete"})
    return SensitivityResult(table, sweeps, folder, constant, notes)


def required_samples(
    table: pd.DataFrame, samples: int, width: float = HALF_WIDTH, leading: int = LEADING
) -> int:
    """Base samples N the Sobol design needs so that every output's `leading` indices (by
    total index) have 95 % confidence half-widths of at most `width`: half-widths shrink as
    1/sqrt(N), so N × (largest half-width / width)², rounded up to a power of 2 (Sobol
    sequences are balanced at powers of 2), never below the N run."""
    if table.empty or "ST_conf" not in table.columns:
        return samples
    top = table.sort_values("ST", ascending=False).groupby("output", sort=False).head(leading)
    widest = float(np.nanmax(top[["S1_conf", "ST_conf"]].to_numpy(dtype=float)))
    needed = samples * (widest / width) ** 2
    return max(samples, 2 ** math.ceil(math.log2(max(needed, 1.0))))


def sample_size_notes(table: pd.DataFrame, samples: int) -> list[str]:
    """What the run's half-widths say about the base samples the ±0.05 rule needs, output by
    output (a rare event's share needs far more than a common one's)."""
    if table.empty or "ST_conf" not in table.columns:
        return []
    needed = {
        output: required_samples(part, samples)
        for output, part in table.groupby("output", sort=False)
    }
    met = [output for output, count in needed.items() if count == samples]
    short = [f"{output} N = {count:,}" for output, count in needed.items() if count > samples]
    verdict = f"met for {', '.join(met)}" if met else "met for none"
    if short:
        verdict += f"; not met, needs {'; '.join(short)}"
    return [
        f"the leading {LEADING} indices of each output within ±{HALF_WIDTH} (95 %), this run "
        f"N = {samples:,}: {verdict}"
    ]


OWNED_FILES: tuple[str, ...] = (
    MANIFEST,
    "indices.csv",
    "indices.json",
    "indices.png",
    "sobol",
    "morris",
)


def _run_designs(
    designs: dict[str, Experiment],
    folder: Path | None,
    options: dict[str, Any],
    notes: list[str],
    measures: Sequence[str] = ("final",),
) -> tuple[dict[str, SweepResult], dict[str, pd.DataFrame | None]]:
    """Run the Sobol (and Morris) sweeps and compute each one's indices."""
    sweeps: dict[str, SweepResult] = {}
    tables: dict[str, pd.DataFrame | None] = {}
    for label, design in designs.items():
        sweeps[label] = run_experiment(design, out=folder / label if folder else None, **options)
        tables[label], said = design_indices(
            sweeps[label].summary, sweeps[label].manifest, measures, sweeps[label].inputs
        )
        notes += [note for note in said if note not in notes]
    return sweeps, tables


def _indices(
    tables: dict[str, pd.DataFrame | None],
    outputs: tuple[str, ...],
    measures: Sequence[str] = ("final",),
) -> tuple[pd.DataFrame, list[str]]:
    table = indices_table(tables.get("sobol"), tables.get("morris"), outputs, measures)
    present = set(table["output"]) if not table.empty else set()
    wanted = [f"{measure}_{name}" for measure in measures for name in outputs]
    return table, [name for name in wanted if name not in present]


def design_indices(
    summary: pd.DataFrame,
    manifest: dict[str, Any],
    measures: Sequence[str] = ("final",),
    inputs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame | None, list[str]]:
    """Sobol or Morris indices of each share at each of `measures`, from the design-point
    means, and SALib's warnings as notes. Inputs with a group (the design's `design.groups`:
    a prior's coordinates, a section, a named group) get one index per group, as they were
    sampled (SALib's `groups`). Morris reads each point's inputs from `inputs` (one row per
    point, :func:`~simulation.experiments.summary.point_inputs`): the summary of a sampled
    design leaves them out."""
    design = manifest["design"]
    if design not in ("sobol", "morris") or len(manifest["scenarios"]) != 1 or summary.empty:
        return None, []
    sampled = manifest["sampled"]
    problem: dict[str, Any] = {
        "num_vars": len(sampled),
        "names": [entry["name"] for entry in sampled],
        "bounds": [[entry["low"], entry["high"]] for entry in sampled],
    }
    if any(entry.get("group") for entry in sampled):
        problem["groups"] = [entry.get("group") or entry["name"] for entry in sampled]
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for measure in measures:
            part = summary[summary["measure"] == measure]
            records += _analyze(part, problem, design, manifest, measure, inputs)
    notes = list(dict.fromkeys(f"SALib ({design}): {w.message}" for w in caught))
    return (pd.DataFrame.from_records(records) if records else None), notes


def _analyze(
    part: pd.DataFrame,
    problem: dict[str, Any],
    design: str,
    manifest: dict[str, Any],
    measure: str = "final",
    inputs: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    labels = list(dict.fromkeys(problem.get("groups", problem["names"])))
    records = []
    for metric, rows in part.groupby("metric", sort=False):
        rows = rows.sort_values("point")
        outputs = rows["mean"].to_numpy(dtype=float)
        if np.isnan(outputs).any():
            warnings.warn(
                f"{metric} is undefined at {int(np.isnan(outputs).sum())} design point(s) "
                "(its group had no one serving): no indices",
                stacklevel=1,
            )
            continue
        if np.ptp(outputs) == 0:
            continue  # a share that never varies (say, complicit refusal) has no indices
        if design == "sobol":
            from SALib.analyze import sobol

            result = sobol.analyze(
                problem, outputs, calc_second_order=manifest["second_order"], seed=1
            )
            keys: tuple[str, ...] = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            drawn = with_inputs(rows, inputs)[problem["names"]].to_numpy(dtype=float)
            result = morris.analyze(problem, drawn, outputs, seed=1)
            keys = ("mu_star", "mu_star_conf", "sigma")
        records += [
            {
                "output": f"{measure}_{metric}",
                "parameter": name,
                **{key: result[key][index] for key in keys},
            }
            for index, name in enumerate(labels)
        ]
    return records


def indices_table(
    sobol: pd.DataFrame | None,
    morris: pd.DataFrame | None,
    outputs: tuple[str, ...] = OUTPUTS,
    measures: Sequence[str] = ("final",),
) -> pd.DataFrame:
    """One row per (output, parameter): Sobol S1/ST with confidence and Morris μ*/σ, for the
    shares named in `outputs` at each of `measures` (in that order), most influential
    parameter first."""
    frames = [frame for frame in (sobol, morris) if frame is not None]
    if not frames:
        return pd.DataFrame()
    table = frames[0]
    for frame in frames[1:]:
        table = table.merge(frame, on=["output", "parameter"], how="outer")
    wanted = [f"{measure}_{name}" for measure in measures for name in outputs]
    table = table[table["output"].isin(wanted)].copy()
    table["_order"] = table["output"].map({name: index for index, name in enumerate(wanted)})
    ranking = "ST" if "ST" in table.columns else "mu_star"
    table = table.sort_values(["_order", ranking], ascending=[True, False])
    return table.drop(columns="_order").reset_index(drop=True)


def plot_indices(table: pd.DataFrame, path: Any, title: str = "") -> None:
    """Bar charts per output: Sobol first-order and total indices with 95% confidence bars,
    and Morris μ* with its confidence bar (σ as a marker). Sobol alone (a design over the
    priors) lays the outputs out two abreast, so that many outputs stay readable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outputs = list(dict.fromkeys(table["output"]))
    has_sobol = "ST" in table.columns
    has_morris = "mu_star" in table.columns
    kinds = int(has_sobol) + int(has_morris)
    abreast = 2 if kinds == 1 and len(outputs) > 1 else 1
    columns, rows = kinds * abreast, math.ceil(len(outputs) / abreast)
    figure, axes = plt.subplots(
        rows, columns, figsize=(6.5 * columns, 2.8 * rows + 0.6), squeeze=False
    )
    for axis in axes.flat[len(outputs) * kinds :]:
        axis.set_visible(False)
    for place, output in enumerate(outputs):
        part = table[table["output"] == output]
        names = [name.split(".", 1)[-1] for name in part["parameter"]]
        positions = np.arange(len(part))
        row, column = divmod(place * kinds, columns)
        if has_sobol:
            axis = axes[row][column]
            axis.barh(
                positions - 0.2,
                part["S1"],
                0.4,
                xerr=part["S1_conf"],
                label="first order S1",
                color="#4C72B0",
                capsize=2,
            )
            axis.barh(
                positions + 0.2,
                part["ST"],
                0.4,
                xerr=part["ST_conf"],
                label="total ST",
                color="#DD8452",
                capsize=2,
            )
            axis.set_yticks(positions, names, fontsize=8)
            axis.invert_yaxis()
            axis.set_title(f"Sobol indices: {output}", fontsize=10)
            axis.grid(alpha=0.3, axis="x")
            axis.legend(fontsize=7)
            column += 1
        if has_morris:
            axis = axes[row][column]
            axis.barh(
                positions,
                part["mu_star"],
                0.5,
                xerr=part["mu_star_conf"],
                color="#55A868",
                capsize=2,
                label="μ* (mean |elementary effect|)",
            )
            axis.plot(part["sigma"], positions, "kx", label="σ (interaction / non-linearity)")
            axis.set_yticks(positions, names, fontsize=8)
            axis.invert_yaxis()
            axis.set_title(f"Morris screen: {output}", fontsize=10)
            axis.grid(alpha=0.3, axis="x")
            axis.legend(fontsize=7)
    if title:
        figure.suptitle(title)
    # leave the title its own band (about 0.4 inch) above the panels' titles
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.4 / figure.get_figheight() if title else 1))
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def format_indices(table: pd.DataFrame) -> str:
    """The table as aligned text, rounded."""
    if table.empty:
        return "no indices: none of the outputs varied across the design"
    shown = table.copy()
    shown["parameter"] = shown["parameter"].str.split(".", n=1).str[-1]
    return shown.to_string(index=False, float_format=lambda x: f"{x:.3f}")
