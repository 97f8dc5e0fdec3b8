"""The scenario comparison table and figure, generated from a sweep's results.

Scenarios end at different months (60, 120, 132), so their last months are not
comparable; this table compares them at a common lag after their change of war-order level
(`at_order_plus_12` by default: a year after the order; a scenario without a change counts
from month 0). It shows the serving force's shares, the groups' signature behaviours, and
what left the force or was arrested, as shares of everyone who ever served.

Every number comes from the sweep's `summary.csv` (mean and 95% percentile-bootstrap
interval over replications); nothing is typed by hand. `write_readme_table` replaces the
README block between the markers, so the README always shows what the command produced.

Precision follows the uncertainty (:func:`simulation.experiments.precision.format_share`).
A sweep that did not record a column's metric shows '-' there, and the caption says which
metrics to add to the experiment file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.files import read_manifest, write_atomic
from simulation.experiments.precision import METHOD
from simulation.experiments.storage import read_summary_table

DEFAULT_MEASURE = "at_order_plus_12"
README_START = "<!-- scenario-table:start -->"
README_END = "<!-- scenario-table:end -->"


@dataclass(frozen=True)
class Column:
    """One column of the table: a recorded metric and its heading."""

    metric: str
    heading: str


COLUMNS: tuple[Column, ...] = (
    Column("comply", "comply"),
    Column("evade", "evade"),
    Column("refuse", "refuse"),
    Column("complicit_comply", "complicit comply"),
    Column("passive_evade", "passive evade"),
    Column("dissenting_refuse", "dissenting refuse"),
    Column("exited_share", "left (resigned + deserted)"),
    Column("arrested_share", "arrested"),
    Column("dismissed_share", "dismissed"),
)
"""Shares of the serving force (first six) and cumulative shares of everyone who ever
served (last three)."""

PERSONNEL_COLUMNS: tuple[Column, ...] = (
    Column("comply", "comply (all)"),
    Column("evade", "evade (all)"),
    Column("refuse", "refuse (all)"),
    Column("officer_comply", "officers comply"),
    Column("contract_soldier_comply", "contract soldiers comply"),
    Column("conscript_comply", "conscripts comply"),
    Column("reservist_comply", "reservists comply"),
    Column("territorial_defence_comply", "territorial defence comply"),
    Column("exited_share", "left (resigned + deserted)"),
    Column("arrested_share", "arrested"),
)
"""The whole force's table: shares of all serving personnel and of each category serving
then (who would carry out the order), and of everyone who served since month 0 who left or
was arrested."""


def columns_for(metrics: list[str] | set[str]) -> tuple[Column, ...]:
    """The whole force's columns when the results hold personnel categories, else the
    officers'."""
    return PERSONNEL_COLUMNS if any(m.endswith("officer_comply") for m in metrics) else COLUMNS


def scenario_table(
    folder: str | Path, measure: str = DEFAULT_MEASURE, columns: tuple[Column, ...] = COLUMNS
) -> pd.DataFrame:
    """One row per design point (its scenario, or the values of what the sweep varies, in
    the experiment's order), one formatted cell per column; '-' in a column whose metric
    the sweep did not record (:func:`unrecorded` names them).

    Raises ResultsError when the folder is not a sweep, ArgumentError when it lacks the
    measure.
    """
    from simulation.experiments.summary import point_label, share_cell

    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("kind") != "sweep":
        raise ResultsError(f"holds a {manifest.get('kind')}, not a sweep", folder)
    measures = manifest.get("measures", ["final", "peak"])
    if measure not in measures:
        raise ArgumentError(f"the sweep recorded {', '.join(measures)}; not '{measure}'", "measure")
    summary = read_summary_table(folder, manifest)
    part = summary[summary["measure"] == measure].sort_values("point", kind="stable")
    rows: list[dict[str, Any]] = []
    for _, mine in part.groupby("point", sort=True):
        mine = mine.set_index("metric")
        first = mine.iloc[0]
        row: dict[str, Any] = {"scenario": point_label(first, manifest)}
        row["runs"] = int(first["n"]) + int(first.get("n_empty", 0))
        for column in columns:
            row[column.heading] = (
                share_cell(mine.loc[column.metric]) if column.metric in mine.index else "-"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def unrecorded(folder: str | Path, columns: tuple[Column, ...] = COLUMNS) -> list[str]:
    """The table's metrics the sweep did not record (their columns show '-')."""
    metrics = set(read_manifest(folder)["metrics"])
    return [c.metric for c in columns if c.metric not in metrics]


def markdown_table(table: pd.DataFrame) -> str:
    """The table as Markdown (pipes), without the runs column when all counts agree."""
    shown = table.drop(columns=["runs"]) if table["runs"].nunique() == 1 else table
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    lines = [header, rule]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.to_numpy()]
    return "\n".join(lines)


def caption(folder: str | Path, measure: str, columns: tuple[Column, ...] = COLUMNS) -> str:
    """What the table shows, read from the sweep's manifest: when, which interval, which
    denominator for each column, and what was not recorded."""
    manifest = read_manifest(folder)
    months = measure.removeprefix("at_order_plus_")
    when = (
        f"{months} months after each scenario's change of war-order level (month {months} "
        "for scenarios without one)"
        if months != measure
        else f"the '{measure}' value"
    )
    points = (
        f"{manifest['n_points']} scenarios"
        if len(manifest["scenarios"]) > 1
        else f"{manifest['n_points']} design points"
    )
    text = (
        f"`{manifest['experiment_name']}`: {points} x {manifest['replications']} "
        f"replications, at {when}. Mean ± half-width of the {METHOD} (bounds in brackets where "
        "the interval is lopsided; 'all runs': every replication gave that value; 'k of n "
        "runs' or 'n - k of n empty': only k runs had anyone of the group serving, the others "
        "are left out; 'empty (0 serving)': none had). The first six columns are shares of "
        "the officers serving then (with personnel categories, as in `mobilisation`, "
        "comply, evade and refuse are over all serving personnel; the groups' columns stay "
        "the officers'). "
        f"{CUMULATIVE}"
    )
    missing = unrecorded(folder, columns)
    if missing:
        text += (
            f" '-': the sweep did not record {', '.join(missing)}; add them to 'metrics' in "
            "the experiment file and run it again to fill those columns."
        )
    return text


CUMULATIVE = (
    "The cumulative columns ('left', 'arrested', 'dismissed') count the persons who ever "
    "left (resigned or deserted), were ever arrested (once however often) or were dismissed, "
    "over everyone who ever served (the force at month 0, the mobilised and the entrants, "
    "each once), so they never exceed 100%."
)
"""The denominator of the cumulative columns, for every caption that shows them."""


def write_readme_table(readme: str | Path, block: str) -> Path:
    """Replace the README's block between the scenario-table markers with `block`."""
    from simulation.analysis.tables import replace_between_markers

    return replace_between_markers(readme, "scenario-table", block)


def plot_scenario_table(folder: str | Path, path: str | Path, measure: str = DEFAULT_MEASURE):
    """Horizontal bars per scenario at `measure`: the serving force's choices overall and by
    group, and the shares of the starting force that left, were arrested or dismissed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from simulation.experiments.summary import point_label
    from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS

    folder = Path(folder)
    manifest = read_manifest(folder)
    summary = read_summary_table(folder, manifest)
    part = summary[summary["measure"] == measure].sort_values("point", kind="stable").copy()
    part["label"] = [point_label(row, manifest) for _, row in part.iterrows()]
    scenarios = list(dict.fromkeys(part["label"]))
    leaving = {
        "exited_share": ("left", "#8172B3"),
        "arrested_share": ("arrested", "#555555"),
        "dismissed_share": ("dismissed", "#937860"),
    }
    panels: list[tuple[str, dict[str, tuple[str, str]]]] = [
        (
            category,
            {
                (choice if category == "overall" else f"{category}_{choice}"): (
                    choice,
                    CHOICE_COLOURS[choice],
                )
                for choice in CHOICES
            },
        )
        for category in ("overall", *GROUPS)
    ]
    panels.append(("left, arrested, dismissed\n(share of everyone who ever served)", leaving))
    figure, axes = plt.subplots(
        1, len(panels), figsize=(3.3 * len(panels), 0.38 * len(scenarios) + 2.2), sharey=True
    )
    positions = np.arange(len(scenarios))
    for axis, (title, metrics) in zip(axes, panels, strict=True):
        height = 0.8 / len(metrics)
        for offset, (metric, (label, colour)) in enumerate(metrics.items()):
            rows = part[part["metric"] == metric].set_index("label").reindex(scenarios)
            low = rows["ci_low"].to_numpy(float)
            high = rows["ci_high"].to_numpy(float)
            mean = rows["mean"].to_numpy(float)
            errors = np.nan_to_num(np.vstack([mean - low, high - mean]))
            axis.barh(
                positions + (offset - (len(metrics) - 1) / 2) * height,
                mean,
                height,
                xerr=errors,
                capsize=1.5,
                error_kw={"elinewidth": 0.8},
                color=colour,
                label=label,
            )
        axis.set_title(title, fontsize=9)
        axis.set_xlim(0, 1.02)
        axis.grid(alpha=0.3, axis="x")
        axis.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3)
    axes[0].set_yticks(positions, scenarios)
    axes[0].invert_yaxis()
    months = measure.removeprefix("at_order_plus_")
    figure.suptitle(
        f"scenarios {months} months after the order (mean, 95% bootstrap interval over "
        "replications)",
        x=0.02,
        ha="left",
    )
    figure.tight_layout()
    path = Path(path)
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=110, format="png"))
    plt.close(figure)
    return path
