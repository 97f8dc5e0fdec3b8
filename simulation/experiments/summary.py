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
from simulation.vocabulary import CHOICES, GROUPS, split_metric

SUMMARY_COLUMNS: tuple[str, ...] = ("n", "n_empty", "n_failed", "mean", "sd", "ci_low", "ci_high")
"""`n`: runs that contributed a value; `n_empty`: completed runs without one (no one of the
group serving, or the run ended before the lag); `n_failed`: runs that failed."""


def summarize_runs(runs: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """Tidy summary: one row per design point x outcome (final/peak x metric)."""
    parameters: list[str] = manifest["parameters"]
    records = []
    for point, group in runs.groupby("point", sort=True):
        first = group.iloc[0]
        ok = group[group["status"] == "ok"]
        identity = {
            "point": int(point),
            "scenario": first["scenario"],
            **{name: first[name] for name in parameters},
        }
        for measure in manifest.get("measures", ("final", "peak")):
            for metric in manifest["metrics"]:
                category, choice = split_metric(metric)
                mean, sd, low, high, n = mean_interval(
                    ok[f"{measure}_{metric}"].to_numpy(dtype=float)
                )
                records.append(
                    {
                        **identity,
                        "measure": measure,
                        "category": category,
                        "choice": choice,
                        "metric": metric,
                        "n": n,
                        "n_empty": len(ok) - n,
                        "n_failed": len(group) - len(ok),
                        "mean": mean,
                        "sd": sd,
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
    return pd.DataFrame.from_records(records)


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


def format_summary(summary: pd.DataFrame, manifest: dict[str, Any], limit: int = 20) -> str:
    """Final and peak shares per design point, overall and by group, as text tables.

    Each cell is 'mean ± half-width of the 95% CI'; at most `limit` design points.
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
    points = summary.drop_duplicates("point").sort_values("point")
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
    summary table, the written figures, the counts of runs and failures, whether the sweep
    is complete, and notes for the user (say, tables kept because parts are missing).
    """
    consolidation = folder.consolidate()
    runs = read_table(folder.path, "runs.parquet")
    manifest = folder.manifest
    notes = [consolidation.note] if consolidation.note else []
    summary = summarize_runs(runs, manifest) if not runs.empty else pd.DataFrame()
    write_atomic(folder.path / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    drawn = make_figures(summary, runs, manifest, folder.path / "figures") if figures else []
    complete, detail = completion(runs, manifest)
    notes += detail
    if complete and manifest.get("status") != "complete":
        folder.mark("complete")
    counts = {"runs": len(runs), "failed": int((runs["status"] != "ok").sum()) if len(runs) else 0}
    return {
        "summary": summary,
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
