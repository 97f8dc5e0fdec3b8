"""The scenario comparison table and figure, generated from a sweep's results.

Scenarios end at different months (60, 120, 132), so their last months are not
comparable; this table compares them at a common lag after their change of war-order level
(`at_order_plus_12` by default: a year after the order; a scenario without a change counts
from month 0).

Its headline measures behaviour, not depletion (issue 22): where each member of the force
present at month 0 is now (complying at his own post or at a rear post after reassignment,
evading, refusing, in jail, or gone by one route: the cohort shares, which sum to 100% and
whose denominator never shrinks), and the month's
flows per 1,000 serving (new evaders, new refusers, arrests). Sweeps that did not record
the cohort keep the older table of shares of the serving force.

Every number comes from the sweep's `summary.csv` (mean and 95% percentile-bootstrap
interval over replications); nothing is typed by hand. `write_readme_table` replaces the
README block between the markers, so the README always shows what the command produced.

Precision follows the uncertainty (:func:`simulation.experiments.precision.format_share`;
flows, numbers per 1,000 rather than shares, by :func:`format_rate`). A sweep that did not
record a column's metric shows '-' there, and the caption says which metrics to add to the
experiment file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.files import read_manifest, write_atomic
from simulation.experiments.precision import METHOD
from simulation.experiments.storage import (
    read_point_inputs,
    read_summary_table,
    summary_inputs,
)

DEFAULT_MEASURE = "at_order_plus_12"
README_START = "<!-- scenario-table:start -->"
README_END = "<!-- scenario-table:end -->"


@dataclass(frozen=True)
class Column:
    """One column of the table: a recorded metric and its heading."""

    metric: str
    heading: str
    denominator: str = "serving"
    """Which denominator the value has (a key of DENOMINATORS)."""

    @property
    def is_rate(self) -> bool:
        """A number per 1,000 serving, not a share: shown without '%'."""
        return self.denominator == "per_1000_serving"


DENOMINATORS: dict[str, str] = {
    "cohort": "of the force at month 0 (every member present then, wherever each is now)",
    "per_1000_serving": "per 1,000 serving that month (the members who chose that month)",
    "serving": "of the officers serving then",
    "personnel": "of all personnel serving then, or of each category serving then",
    "served": "of everyone who ever served",
}
"""What each column's value is a share of, for the captions."""


STATE_COLUMNS: tuple[Column, ...] = (
    Column("cohort_comply", "comply", "cohort"),
    Column("cohort_comply_at_rear_post", "comply at rear post", "cohort"),
    Column("cohort_evade", "evade", "cohort"),
    Column("cohort_refuse", "refuse", "cohort"),
    Column("cohort_jailed", "in jail", "cohort"),
    Column("cohort_dismissed", "dismissed", "cohort"),
    Column("cohort_resigned", "resigned", "cohort"),
    Column("cohort_deserted", "deserted", "cohort"),
    Column("cohort_retired", "retired", "cohort"),
    Column("cohort_recruited_by_russia", "to Russia", "cohort"),
)
"""Where the force present at month 0 is now, in every state: the ten shares sum to 100%,
and no state grows because another shrinks the denominator. `comply` is carrying out the
order at his own post; `comply at rear post` is complying at a rear post after the response
ladder reassigned him, bearing only part of the order (docs/ODD.md §7.7)."""

FLOW_COLUMNS: tuple[Column, ...] = (
    Column("flow_new_evaders_per_1000_serving", "new evaders /1,000", "per_1000_serving"),
    Column("flow_new_refusers_per_1000_serving", "new refusers /1,000", "per_1000_serving"),
    Column("flow_arrested_per_1000_serving", "arrests /1,000", "per_1000_serving"),
)
"""The month's new evaders, new refusers and arrests per 1,000 serving that month."""

COHORT_COLUMNS: tuple[Column, ...] = (*STATE_COLUMNS, *FLOW_COLUMNS)
"""The headline (issue 22): the starting force by state now, and the month's flows."""

COLUMNS: tuple[Column, ...] = (
    Column("comply", "comply"),
    Column("evade", "evade"),
    Column("refuse", "refuse"),
    Column("complicit_comply", "complicit comply"),
    Column("passive_evade", "passive evade"),
    Column("dissenting_refuse", "dissenting refuse"),
    Column("exited_share", "left (resigned + deserted)", "served"),
    Column("arrested_share", "arrested", "served"),
    Column("dismissed_share", "dismissed", "served"),
)
"""Shares of the serving force (first six) and cumulative shares of everyone who ever
served (last three)."""

PERSONNEL_COLUMNS: tuple[Column, ...] = (
    Column("comply", "comply (all)", "personnel"),
    Column("comply_at_rear_post", "of which at rear post (all)", "personnel"),
    Column("evade", "evade (all)", "personnel"),
    Column("refuse", "refuse (all)", "personnel"),
    Column("officer_comply", "officers comply", "personnel"),
    Column("contract_soldier_comply", "contract soldiers comply", "personnel"),
    Column("conscript_comply", "conscripts comply", "personnel"),
    Column("reservist_comply", "reservists comply", "personnel"),
    Column("territorial_defence_comply", "territorial defence comply", "personnel"),
    Column("exited_share", "left (resigned + deserted)", "served"),
    Column("arrested_share", "arrested", "served"),
)
"""The whole force's table: shares of all serving personnel (with the part of comply serving
at a rear post after reassignment) and of each category serving then (who would carry out
the order), and of everyone who served since month 0 who left or was arrested."""


def columns_for(metrics: list[str] | set[str]) -> tuple[Column, ...]:
    """The columns for what the results recorded (metric names, or an ensemble's outputs
    prefixed with their measure). With personnel categories: the whole force's serving
    shares by category, with the month's flows when recorded (the cohort, the force at month
    0, leaves out the reserve called up later, which is what these tables are about). Else
    the cohort headline when the cohort is recorded, else the officers' serving shares."""
    if any(m.endswith("officer_comply") for m in metrics):
        flows = any(m.endswith(FLOW_COLUMNS[0].metric) for m in metrics)
        return (*PERSONNEL_COLUMNS, *FLOW_COLUMNS) if flows else PERSONNEL_COLUMNS
    return COHORT_COLUMNS if any(m.endswith("cohort_comply") for m in metrics) else COLUMNS


def format_rate(
    mean: float,
    low: float,
    high: float,
    sd: float = math.nan,
    *,
    runs: int | None = None,
    of: int | None = None,
) -> str:
    """'12.3 ± 0.4': a mean number per 1,000 and the half-width of its interval, to the
    precision the interval allows (as :func:`format_share` does for shares); bounds in
    brackets when the interval is lopsided; 'all runs 0' when every replication gave the
    same value; '-' without a value."""
    if math.isnan(mean):
        return "-"
    note = f" ({runs} of {of} runs)" if runs is not None and of and runs < of else ""
    if sd == 0.0:
        return f"all runs {mean:.1f}{note}"
    if math.isnan(low) or math.isnan(high):
        return f"{mean:.1f}{note}"
    half = (high - low) / 2
    decimals = 1 if half <= 0 else min(3, max(0, -math.floor(math.log10(half))))
    if half > 0 and abs((mean - low) - (high - mean)) > 0.2 * half:
        return f"{mean:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]{note}"
    return f"{mean:.{decimals}f} ± {half:.{decimals}f}{note}"


def _summary_cell(row: pd.Series, column: Column) -> str:
    """A sweep summary row as a share ('12.3% ± 0.4%') or, for a flow, a number per 1,000
    ('4.6 ± 0.4'), with the number of runs that contributed when some had no one serving."""
    from simulation.experiments.summary import share_cell

    return share_cell(row, format_rate) if column.is_rate else share_cell(row)


def labelled_summary(folder: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    """The sweep's summary.csv with the values that label its points (the design's axes):
    a sampled design's summary leaves its inputs out, so they are joined from design.parquet."""
    from simulation.experiments.summary import with_inputs

    summary = read_summary_table(folder, manifest)
    axes = [axis[0] for axis in manifest.get("axes") or [] if axis]
    missing = [name for name in axes if name not in summary_inputs(manifest)]
    if not missing or summary.empty:
        return summary
    inputs = read_point_inputs(folder, manifest)
    return with_inputs(summary, inputs[["point", *missing]])


def scenario_table(
    folder: str | Path, measure: str = DEFAULT_MEASURE, columns: tuple[Column, ...] = COLUMNS
) -> pd.DataFrame:
    """One row per design point (its scenario, or the values of what the sweep varies, in
    the experiment's order), one formatted cell per column; '-' in a column whose metric
    the sweep did not record (:func:`unrecorded` names them).

    Raises ResultsError when the folder is not a sweep, ArgumentError when it lacks the
    measure.
    """
    from simulation.experiments.summary import point_label

    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("kind") != "sweep":
        raise ResultsError(f"holds a {manifest.get('kind')}, not a sweep", folder)
    measures = manifest.get("measures", ["final", "peak"])
    if measure not in measures:
        raise ArgumentError(f"the sweep recorded {', '.join(measures)}; not '{measure}'", "measure")
    summary = labelled_summary(folder, manifest)
    part = summary[summary["measure"] == measure].sort_values("point", kind="stable")
    rows: list[dict[str, Any]] = []
    for _, mine in part.groupby("point", sort=True):
        mine = mine.set_index("metric")
        first = mine.iloc[0]
        row: dict[str, Any] = {"scenario": point_label(first, manifest)}
        row["runs"] = int(first["n"]) + int(first.get("n_empty", 0))
        for column in columns:
            row[column.heading] = (
                _summary_cell(mine.loc[column.metric], column)
                if column.metric in mine.index
                else "-"
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
        "are left out; 'empty (0 serving)': none had). "
        f"{denominators_text(columns)}"
    )
    missing = unrecorded(folder, columns)
    if missing:
        text += (
            f" '-': the sweep did not record {', '.join(missing)}; add them to 'metrics' in "
            "the experiment file and run it again to fill those columns."
        )
    return text


def denominators_text(columns: tuple[Column, ...], source: str = "the sweep's summary.csv") -> str:
    """Each column's denominator, named, for the captions of the sweep and ensemble tables."""
    kinds = {column.denominator for column in columns}
    sentences = []
    if "cohort" in kinds:
        cohort = [c.heading for c in columns if c.denominator == "cohort"]
        sentences.append(
            f"Columns '{cohort[0]}' to '{cohort[-1]}' are shares {DENOMINATORS['cohort']}: "
            "serving and complying at his own post, complying at a rear post after the "
            "response ladder reassigned him (bearing only part of the order), evading or "
            "refusing (wherever posted), in jail, or gone by each route (they "
            "sum to 100%; arrests and exits move people between them, never shrink the "
            "denominator; with other personnel, as in `mobilisation`, the force at month 0 "
            "is every member present then, the reserve called up later is not in it)."
        )
    if "serving" in kinds:
        sentences.append(
            "The first six columns are shares of the officers serving then (with personnel "
            "categories, as in `mobilisation`, comply, evade and refuse are over all serving "
            "personnel; the groups' columns stay the officers')."
        )
    if "personnel" in kinds:
        sentences.append(
            "Comply, evade and refuse (all) are shares of all personnel serving then, each "
            "category's column of that category serving then ('-': a category not serving "
            "in that scenario); 'of which at rear post (all)' is the part of comply (all) "
            "complying at a rear post after the response ladder reassigned them, bearing only "
            "part of the order."
        )
    if "served" in kinds:
        sentences.append(CUMULATIVE)
    flows = [c.heading for c in columns if c.is_rate]
    if flows:
        sentences.append(
            ", ".join(f"'{heading}'" for heading in flows)
            + f": numbers {DENOMINATORS['per_1000_serving']}, not percentages: that month's "
            "new evaders and new refusers (who did not evade or refuse the month before) and "
            "arrests."
        )
    if "cohort" in kinds:
        sentences.append(
            "The groups' shares (complicit comply, passive evade, dissenting refuse) are of "
            "the officers serving then, not of the starting force, so they stay out of this "
            f"table: they are in {source}."
        )
    return " ".join(sentences)


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
    """The sweep's comparison at `measure` as a PNG: with the cohort recorded, where the
    force present at month 0 is now (stacked to 100%) and the month's flows per 1,000
    serving; else the serving force's choices overall and by group, and the shares of
    everyone who ever served that left, were arrested or dismissed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.experiments.summary import point_label

    folder = Path(folder)
    manifest = read_manifest(folder)
    summary = labelled_summary(folder, manifest)
    part = summary[summary["measure"] == measure].sort_values("point", kind="stable").copy()
    part["label"] = [point_label(row, manifest) for _, row in part.iterrows()]
    scenarios = list(dict.fromkeys(part["label"]))
    if columns_for(manifest["metrics"]) is COHORT_COLUMNS:
        figure = _cohort_figure(part, scenarios, plt)
    else:
        figure = _serving_figure(part, scenarios, plt)
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


STATE_COLOURS: dict[str, str] = {
    "comply_at_rear_post": "#A1B9DE",
    "jailed": "#555555",
    "dismissed": "#937860",
    "resigned": "#8172B3",
    "deserted": "#DA8BC3",
    "retired": "#8C8C8C",
    "recruited_by_russia": "#64B5CD",
}
"""Colours of the cohort states that are not choices (the choices keep CHOICE_COLOURS)."""


def _rows(part: pd.DataFrame, metric: str, scenarios: list[str]) -> pd.DataFrame:
    return part[part["metric"] == metric].set_index("label").reindex(scenarios)


def _bars(axis, part: pd.DataFrame, scenarios: list[str], metrics: dict[str, tuple[str, str]]):
    """Grouped horizontal bars with the interval of each mean."""
    import numpy as np

    positions = np.arange(len(scenarios))
    height = 0.8 / len(metrics)
    for offset, (metric, (label, colour)) in enumerate(metrics.items()):
        rows = _rows(part, metric, scenarios)
        mean = rows["mean"].to_numpy(float)
        errors = np.nan_to_num(
            np.vstack([mean - rows["ci_low"].to_numpy(float), rows["ci_high"] - mean])
        )
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
    axis.grid(alpha=0.3, axis="x")
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3)


def _cohort_figure(part: pd.DataFrame, scenarios: list[str], plt):
    """Left: the force at month 0 by state now (mean shares, stacked); right: the month's new
    evaders, new refusers and arrests per 1,000 serving."""
    import matplotlib
    import numpy as np

    from simulation.vocabulary import CHOICE_COLOURS

    figure, (states, flows) = plt.subplots(
        1,
        2,
        figsize=(13, 0.38 * len(scenarios) + 2.4),
        sharey=True,
        gridspec_kw={"width_ratios": [3, 2]},
    )
    positions = np.arange(len(scenarios))
    left = np.zeros(len(scenarios))
    colours = {**CHOICE_COLOURS, **STATE_COLOURS}
    for column in (c for c in COHORT_COLUMNS if c.denominator == "cohort"):
        state = column.metric.removeprefix("cohort_")
        mean = np.nan_to_num(_rows(part, column.metric, scenarios)["mean"].to_numpy(float))
        states.barh(positions, mean, 0.7, left=left, color=colours[state], label=column.heading)
        left += mean
    states.set_xlim(0, 1.0)
    states.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    states.set_title("where the force at month 0 is now (share of it)", fontsize=9)
    states.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=5)
    rates = {
        c.metric: (
            c.heading.removesuffix(" /1,000"),
            CHOICE_COLOURS.get(
                "evade" if "evaders" in c.metric else "refuse" if "refusers" in c.metric else "",
                STATE_COLOURS["jailed"],
            ),
        )
        for c in COHORT_COLUMNS
        if c.is_rate
    }
    _bars(flows, part, scenarios, rates)
    flows.set_title("this month, per 1,000 serving that month", fontsize=9)
    states.set_yticks(positions, scenarios)
    states.invert_yaxis()
    return figure


def _serving_figure(part: pd.DataFrame, scenarios: list[str], plt):
    """The serving force's choices overall and by group, and the shares of everyone who ever
    served that left, were arrested or dismissed (sweeps without the cohort)."""
    import matplotlib
    import numpy as np

    from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS

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
    for axis, (title, metrics) in zip(axes, panels, strict=True):
        _bars(axis, part, scenarios, metrics)
        axis.set_title(title, fontsize=9)
        axis.set_xlim(0, 1.02)
        axis.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].set_yticks(np.arange(len(scenarios)), scenarios)
    axes[0].invert_yaxis()
    return figure
