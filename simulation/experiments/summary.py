"""Summaries of a sweep: mean, sd and 95% interval per design point, as a table and as text.

The interval of a mean of per-run shares over replications is the 95% percentile bootstrap
(:func:`simulation.experiments.precision.mean_interval`: within [0, 1] by construction,
undefined for a single replication). A run whose group had no one serving has no share
of that group: it is left out of the mean and the interval, and counted in `n_empty`; `n`
is the number of runs that contributed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.adaptive import replay, watched_columns
from simulation.experiments.figures import make_figures
from simulation.experiments.files import read_table, write_atomic
from simulation.experiments.precision import METHOD, format_share, mean_interval, runs_completed
from simulation.experiments.spec import ReplicationRule
from simulation.experiments.storage import summary_inputs
from simulation.vocabulary import CHOICES, GROUPS, split_metric

SUMMARY_COLUMNS: tuple[str, ...] = ("n", "n_empty", "n_failed", "mean", "sd", "ci_low", "ci_high")
"""`n`: runs that contributed a value; `n_empty`: completed runs without one (no one of the
group serving, or the run ended before the lag); `n_failed`: runs that failed."""


def point_inputs(runs: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """Every parameter of each design point with runs, one row per point (its first run's
    values, as the summary takes them): the inputs a sampled design's summary leaves out."""
    names = [name for name in manifest["parameters"] if name in runs.columns]
    if runs.empty:
        return pd.DataFrame(columns=["point", *names])
    first = runs.drop_duplicates("point").sort_values("point", kind="stable")
    return first[["point", *names]].reset_index(drop=True)


def with_inputs(frame: pd.DataFrame, inputs: pd.DataFrame | None) -> pd.DataFrame:
    """`frame` (rows with a `point`) with the inputs it lacks joined on `point`; for the few
    rows a label, a point table or an index needs, never a whole sampled design's summary."""
    if inputs is None:
        return frame
    missing = [name for name in inputs.columns if name != "point" and name not in frame.columns]
    if not missing:
        return frame
    joined = frame.merge(inputs[["point", *missing]], on="point", how="left", sort=False)
    joined.index = frame.index
    return joined


def summarize_runs(runs: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """Tidy summary: one row per design point x outcome (measure x metric), with the
    parameters :func:`summary_inputs` names. Built column by column, so memory grows with
    points x outcomes, not with the inputs of every row."""
    measures = list(manifest.get("measures", ("final", "peak")))
    metrics = list(manifest["metrics"])
    inline = summary_inputs(manifest)
    order = np.argsort(runs["point"].to_numpy(dtype=np.int64), kind="stable")
    points, starts = np.unique(runs["point"].to_numpy(dtype=np.int64)[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    ok = (runs["status"] == "ok").to_numpy()[order]
    columns = [f"{measure}_{metric}" for measure in measures for metric in metrics]
    values = runs[columns].to_numpy(dtype=float)[order]
    outcomes = len(columns)
    stats = np.full((len(points), outcomes, 4), np.nan)
    counts = np.zeros((len(points), outcomes), dtype=np.int64)
    completed = np.zeros(len(points), dtype=np.int64)
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        kept = values[start:end][ok[start:end]]
        completed[index] = len(kept)
        for column in range(outcomes):
            *numbers, n = mean_interval(kept[:, column])
            stats[index, column] = numbers
            counts[index, column] = n
    first = runs.iloc[order[starts]]
    rows = len(points) * outcomes
    split = [split_metric(metric) for metric in metrics]
    outcome_labels = {
        "measure": [measure for measure in measures for _ in metrics],
        "category": [category for _ in measures for category, _ in split],
        "choice": [choice for _ in measures for _, choice in split],
        "metric": [metric for _ in measures for metric in metrics],
    }
    table: dict[str, Any] = {
        "point": np.repeat(points, outcomes),
        "scenario": np.repeat(first["scenario"].to_numpy(), outcomes),
    }
    for name in inline:
        table[name] = np.repeat(first[name].to_numpy(), outcomes)
    for name, labels in outcome_labels.items():
        table[name] = np.tile(np.array(labels, dtype=object), len(points))
    table["n"] = counts.reshape(rows)
    table["n_empty"] = (completed[:, None] - counts).reshape(rows)
    table["n_failed"] = np.repeat((ends - starts) - completed, outcomes)
    for offset, name in enumerate(("mean", "sd", "ci_low", "ci_high")):
        table[name] = stats[:, :, offset].reshape(rows)
    return pd.DataFrame(table)


def point_label(row: pd.Series, manifest: dict[str, Any]) -> str:
    """Short label of a design point: its scenario and the parameters that vary."""
    parts = []
    if len(manifest["scenarios"]) > 1:
        parts.append(str(row["scenario"]))
    for axis in manifest["axes"]:
        name = axis[0]
        value = row[name]
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{name.rsplit('.', 1)[-1]}={shown}")
    return ", ".join(parts) or "base"


def share_cell(row: pd.Series, render: Callable[..., str] = format_share) -> str:
    """'mean ± half-width' of one summary row, to the precision its interval allows, with
    the number of runs that contributed when some had no one of the group serving;
    `render` formats it (a share by default, a number per 1,000 with format_rate)."""
    return render(
        row["mean"],
        row["ci_low"],
        row["ci_high"],
        row["sd"],
        runs=int(row["n"]),
        of=runs_completed(row),
    )


def format_summary(
    summary: pd.DataFrame,
    manifest: dict[str, Any],
    limit: int = 20,
    inputs: pd.DataFrame | None = None,
) -> str:
    """Final and peak shares per design point, overall and by group, as text tables.

    Each cell is 'mean ± half-width of the 95% CI'; at most `limit` design points, labelled
    by the values that vary (from `inputs`, :func:`point_inputs`, where the summary leaves
    a sampled design's inputs out).
    """
    if summary.empty:
        return "no completed runs to summarize"
    columns = [
        (measure, choice)
        for measure in ("final", "peak")
        for choice in CHOICES
        if choice in set(summary["choice"])
    ]
    cells = {
        (row["point"], row["category"], row["measure"], row["choice"]): share_cell(row)
        for _, row in summary.iterrows()
    }
    points = with_inputs(summary.drop_duplicates("point").sort_values("point"), inputs)
    labels = {row["point"]: point_label(row, manifest) for _, row in points.iterrows()}
    width = min(max([len(label) for label in labels.values()] + [14]), 60)
    categories = [c for c in ("overall", *GROUPS) if c in set(summary["category"])]
    rows = []
    for _, first in points.head(limit).iterrows():
        point = first["point"]
        for category in categories:
            if category == "overall":
                runs = runs_completed(first) + int(first["n_failed"])
                head = [labels[point][:width], str(runs), str(int(first["n_failed"]))]
            else:
                head = ["  " + category, "", ""]
            rows.append(
                head
                + [
                    cells.get((point, category, measure, choice), "-")
                    for measure, choice in columns
                ]
            )
    header = ["design point", "runs", "failed", *(f"{m} {c}" for m, c in columns)]
    lines = fixed_width_table(header, rows)
    if len(points) > limit:
        lines.append(f"... {len(points) - limit} more design points in summary.csv")
    lines.append(
        f"mean ± half-width (or [low, high]) of the {METHOD}; 'empty': no one of the group "
        "serving in any run"
    )
    return "\n".join(lines)


def fixed_width_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Text table lines: the first column left-aligned, the others right-aligned, every
    column as wide as its widest cell and separated by ' | ', so cells never run together."""
    widths = [max(len(str(cells[i])) for cells in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = [f"{cell:>{width}}" for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return " | ".join([first, *rest]).rstrip()

    text = [line(header), "-+-".join("-" * width for width in widths)]
    return text + [line(cells) for cells in rows]


def summarize_folder(folder: Any, *, figures: bool = True) -> dict[str, Any]:
    """Rebuild a sweep folder's tables from its parts, then summary.csv and the figures
    (this module is their only writer).

    `folder` is a :class:`~simulation.experiments.storage.ResultsFolder`. Returns the
    summary table, every point's inputs (:func:`point_inputs`), the written figures, the
    counts of runs and failures, whether the sweep is complete, and notes for the user (say,
    tables kept because parts are missing).
    """
    consolidation = folder.consolidate()
    runs = read_table(folder.path, "runs.parquet")
    manifest = folder.manifest
    notes = [consolidation.note] if consolidation.note else []
    summary = summarize_runs(runs, manifest) if not runs.empty else pd.DataFrame()
    write_atomic(folder.path / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    inputs = point_inputs(runs, manifest)
    drawn = make_figures(summary, runs, manifest, folder.path / "figures") if figures else []
    complete, detail = completion(runs, manifest)
    notes += detail
    if complete and manifest.get("status") != "complete":
        folder.mark("complete")
    counts = {"runs": len(runs), "failed": int((runs["status"] != "ok").sum()) if len(runs) else 0}
    return {
        "summary": summary,
        "inputs": inputs,
        "figures": drawn,
        "counts": counts,
        "complete": complete,
        "notes": notes,
    }


def completion(runs: pd.DataFrame, manifest: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether a sweep has every run it needs, and notes on how it stands: all its runs
    (fixed replications), or every design point settled (adaptive replications)."""
    rule_data = manifest.get("adaptive")
    if not rule_data:
        return len(runs) == int(manifest["n_runs"]), []
    rule = ReplicationRule.model_validate(rule_data)
    columns = watched_columns(rule, manifest["metrics"])
    plan = replay(
        rule,
        int(manifest["n_points"]),
        columns,
        runs["point"].to_numpy(),
        runs["replication"].to_numpy(),
        (runs["status"] == "ok").to_numpy(),
        runs[columns].to_numpy(dtype=float) if len(runs) else np.empty((0, len(columns))),
    )
    notes = []
    if plan.complete:
        wide = plan.unsettled_at_max()
        if wide:
            notes.append(
                f"{len(wide)} design point(s) reached {rule.max} replications with a 95% CI "
                f"still wider than ±{rule.until_ci_halfwidth:g}"
            )
    return plan.complete, notes
