"""Tables of results for README and reports, generated from a results folder (never pasted).

For an ensemble folder: each scenario's median with its 90% interval over the priors (or
the posterior) and seeds, and each scenario's difference from a reference scenario, run by
run (same draws, same seeds), with its own 90% interval; the columns are those of the
scenario comparison (:data:`simulation.analysis.scenario_table.COLUMNS`), at the same
default lag after the order. A sweep folder gives that comparison itself
(:mod:`simulation.analysis.scenario_table`); a calibration its posterior, targets and
stylised facts; a sensitivity analysis its most influential assumptions.
:func:`replace_between_markers` puts a table into a file between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.files import read_manifest, write_text

DEFAULT_MEASURE = "at_order_plus_12"
"""Scenarios end at different months: they are compared a year after their order."""


def level_cell(row: pd.Series, per_1000: bool = False) -> str:
    """'median (5%-95%)' of a share, e.g. '13.5% (4.1-30.2)', or of a number per 1,000,
    e.g. '4.2 (0.8-11.5)' (not a share: no '%')."""
    if math.isnan(row["median"]):
        return "-"
    scale, unit = (1, "") if per_1000 else (100, "%")
    low, high = scale * row["q05"], scale * row["q95"]
    return f"{scale * row['median']:.1f}{unit} ({low:.1f}–{high:.1f})"


def difference_cell(row: pd.Series, per_1000: bool = False) -> str:
    """'median (5% to 95%)' of a difference in percentage points, e.g. '+12.0 (+3.1 to
    +20.4)', or per 1,000 for a number per 1,000."""
    if math.isnan(row["median"]):
        return "-"
    scale = 1 if per_1000 else 100
    low, high = scale * row["q05"], scale * row["q95"]
    return f"{scale * row['median']:+.1f} ({low:+.1f} to {high:+.1f})"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ensemble_tables(
    folder: str | Path, measure: str = DEFAULT_MEASURE, reference: str | None = None
) -> str:
    """The levels table and the differences table (from `reference`, default the
    ensemble's) of an ensemble folder, as Markdown."""
    from simulation.analysis.ensemble import read_ensemble
    from simulation.analysis.scenario_table import columns_for, denominators_text

    manifest, distribution, differences = read_ensemble(folder)
    columns = columns_for(set(distribution["output"]))
    measure, outputs = _ensemble_outputs(manifest, distribution, measure)
    scenarios = list(manifest["scenarios"])
    reference = reference or manifest["reference"]
    if reference not in scenarios:
        raise ArgumentError(
            f"no scenario '{reference}'; scenarios are {', '.join(scenarios)}", "reference"
        )
    origin = (
        f"the posterior of `{Path(manifest['posterior']).name}`"
        if manifest.get("posterior")
        else "the priors"
    )
    header = ["scenario", *[column.heading for _, column in outputs]]
    levels = distribution.set_index(["scenario", "output"])
    rows = [
        [
            scenario,
            *[
                _cell(levels, (scenario, name), level_cell, column.is_rate)
                for name, column in outputs
            ],
        ]
        for scenario in scenarios
    ]
    when = _when(measure)
    text = [
        f"Values {when}: median and 90% interval over {origin} and seeds "
        f"({manifest['draws']} draws x {manifest['replications']} seeds per scenario). "
        + denominators_text(columns, "distribution.csv")
        + " A draw in which a group had no one serving is left out of that group's column "
        "(distribution.csv counts the draws that remain).",
        "",
        _markdown(header, rows),
    ]
    if not differences.empty:
        changes = differences[differences["reference"] == reference]
        changes = changes.set_index(["scenario", "output"])
        rows = [
            [
                scenario,
                *[
                    _cell(changes, (scenario, name), difference_cell, column.is_rate)
                    for name, column in outputs
                ],
            ]
            for scenario in scenarios
            if scenario != reference
        ]
        units = (
            "in percentage points (the flows' columns: per 1,000 serving that month)"
            if any(column.is_rate for _, column in outputs)
            else "in percentage points"
        )
        text += [
            "",
            f"Difference from `{reference}` {units} {when}, run by run (the same "
            "draws and seeds in both): median and 90% interval.",
            "",
            _markdown(header, rows),
        ]
    return "\n".join(text)


def _ensemble_outputs(
    manifest: dict[str, Any], distribution: pd.DataFrame, measure: str
) -> tuple[str, list[tuple[str, Any]]]:
    """The measure an ensemble's table reads (the default lag falls back to the last month
    for short runs) and its headline outputs with their columns."""
    from simulation.analysis.scenario_table import columns_for

    known = set(distribution["output"])
    columns = columns_for(known)
    first = columns[0].metric
    reached = [m for m in (measure, "final") if f"{m}_{first}" in known]
    if not reached or (reached[0] != measure and measure != DEFAULT_MEASURE):
        measures = [m for m in manifest.get("measures", ["final"]) if f"{m}_{first}" in known]
        raise ArgumentError(
            f"the ensemble has no '{measure}' values (its runs ended before that lag?); it "
            f"has: {', '.join(measures)}",
            "measure",
        )
    measure = reached[0]
    outputs = [
        (f"{measure}_{column.metric}", column)
        for column in columns
        if f"{measure}_{column.metric}" in known
    ]
    return measure, outputs


def width_ratio_table(
    folder: str | Path, against: str | Path, measure: str = DEFAULT_MEASURE
) -> str:
    """How much narrower an ensemble's headline 90% intervals are than another's (a
    posterior's against the priors'): per scenario and column, the width of `against`'s
    interval divided by `folder`'s, as Markdown. A ratio of 2 halves the interval."""
    from simulation.analysis.ensemble import read_ensemble

    manifest, distribution, _ = read_ensemble(folder)
    other_manifest, other, _ = read_ensemble(against)
    measure, outputs = _ensemble_outputs(manifest, distribution, measure)
    known = set(other["output"])
    outputs = [(name, column) for name, column in outputs if name in known]
    scenarios = [s for s in manifest["scenarios"] if s in other_manifest["scenarios"]]
    if not scenarios or not outputs:
        raise ArgumentError(
            f"{against} shares no scenario and output with {folder} at '{measure}'", "against"
        )
    widths = {
        label: (table["q95"] - table["q05"]).groupby([table["scenario"], table["output"]]).first()
        for label, table in (("this", distribution), ("against", other))
    }
    rows, ratios = [], []
    for scenario in scenarios:
        cells = [scenario]
        for name, column in outputs:
            this = widths["this"].get((scenario, name), math.nan)
            base = widths["against"].get((scenario, name), math.nan)
            ratio = base / this if this > 0 else math.nan
            if not math.isnan(ratio):
                ratios.append(ratio)
            cells.append(_ratio_cell(ratio, base, this, column.is_rate))
        rows.append(cells)
    header = ["scenario", *[column.heading for _, column in outputs]]
    halved = sum(ratio >= 2 for ratio in ratios)
    return "\n".join(
        [
            f"Width of the 90% interval {_when(measure)} over `{Path(against).name}` divided by "
            f"its width over `{Path(folder).name}` (ratio; then the two widths, in percentage "
            "points, the flows' columns per 1,000). A ratio of 2 or more is an interval at least "
            f"halved: {halved} of {len(ratios)} cells with a width ('-': no width in one of them).",
            "",
            _markdown(header, rows),
        ]
    )


def _ratio_cell(ratio: float, base: float, this: float, per_1000: bool) -> str:
    """'2.3x (89.6 → 39.0)': the width ratio and the two widths; '-' without a ratio."""
    if math.isnan(ratio):
        return "-"
    scale = 1 if per_1000 else 100
    return f"{ratio:.1f}x ({scale * base:.1f} → {scale * this:.1f})"


def _cell(table: pd.DataFrame, key: tuple[str, str], render: Any, per_1000: bool) -> str:
    """A rendered cell, or '-' where a scenario has no value of an output (a personnel
    category it does not have, e.g. reservists never called up)."""
    if key not in table.index:
        return "-"
    return render(table.loc[key], per_1000)


def _when(measure: str) -> str:
    """'12 months after each scenario's order' for at_order_plus_12; 'final' as it is."""
    from simulation.experiments.runner import measure_lag

    lag = measure_lag(measure)
    if lag is None:
        return f"at the {measure} month" if measure == "final" else f"({measure})"
    months = "month" if lag == 1 else "months"
    return f"{lag} {months} after each scenario's change of war-order level"


def calibration_tables(folder: str | Path) -> str:
    """A calibration's posterior against its prior, its targets in the predictive runs, and
    the stylised facts not fitted, as Markdown."""
    from simulation.analysis.calibration import ess_text, read_calibration

    found = read_calibration(folder)
    manifest = found["manifest"]
    number = "{:.3g}".format
    generations = found["generations"]
    text = [
        f"Calibration `{manifest['name']}`: {len(generations)} generations, "
        f"{int(manifest.get('simulations', generations['simulations'].sum())):,} simulations "
        "(with the prior sample and any generation cut short by the budget), final distance "
        "threshold "
        f"{number(generations['epsilon'].iloc[-1])} (1 = off by one tolerance on average). "
        f"Effective sample size of the weighted posterior: {ess_text(found['posterior'])}."
        + _generations_ess(generations),
        "",
        "| parameter | prior median (90%) | posterior median (90%) | shrinkage | verdict |",
        "|---|---|---|---|---|",
    ]
    for _, row in found["posterior_summary"].iterrows():
        text.append(
            f"| `{row['parameter']}` | {number(row['prior_median'])} "
            f"({number(row['prior_q05'])}–{number(row['prior_q95'])}) | "
            f"{number(row['posterior_median'])} ({number(row['posterior_q05'])}–"
            f"{number(row['posterior_q95'])}) | {row['shrinkage']:.2f} | {row['verdict']} |"
        )
    text += [
        "",
        "| target | value | prior runs: median (90%), share within tolerance | posterior runs |",
        "|---|---|---|---|",
    ]
    for _, row in found["predictive"].iterrows():
        cells = [
            f"{number(row[f'{label}_median'])} ({number(row[f'{label}_q05'])}–"
            f"{number(row[f'{label}_q95'])}), {row[f'{label}_within']:.0%}"
            for label in ("prior", "posterior")
        ]
        text.append(f"| `{row['target']}` | {number(row['value'])} | {cells[0]} | {cells[1]} |")
    if not found["checks"].empty:
        text += [
            "",
            "| stylised fact (not fitted) | condition | holds in prior runs | in posterior runs |",
            "|---|---|---|---|",
        ]
        for _, row in found["checks"].iterrows():
            text.append(
                f"| `{row['check']}` | {row['condition']} | {row['prior_holds']:.0%} | "
                f"{row['posterior_holds']:.0%} |"
            )
    return "\n".join(text)


def _generations_ess(generations: pd.DataFrame) -> str:
    """' Effective sample size by generation ...: 0: 80.0 (100%), ...' and a warning per
    generation below the floor; '' for a folder written before it was recorded."""
    from simulation.analysis.calibration import ess_by_generation_text, ess_warnings

    if "ess_share" not in generations.columns:
        return ""
    sentences = [ess_by_generation_text(generations), *ess_warnings(generations)]
    return "".join(f" {text[0].upper()}{text[1:]}." for text in sentences)


def sensitivity_table(folder: str | Path, top: int = 4) -> str:
    """Per output, the parameters with the largest total Sobol index, as Markdown."""
    indices = pd.read_csv(Path(folder) / "indices.csv")
    if "ST" not in indices.columns:
        raise ResultsError("has no Sobol indices (indices.csv has no ST column)", folder)
    rows = []
    for output, part in indices.groupby("output", sort=False):
        part = part.sort_values("ST", ascending=False).head(top)
        cells = [
            f"`{row['parameter']}` {row['ST']:.2f} ± {row['ST_conf']:.2f}"
            for _, row in part.iterrows()
        ]
        rows.append([f"`{output}`", "; ".join(cells)])
    return "\n".join(
        [
            f"Total Sobol index (± 95% confidence half-width) of the {top} most influential "
            "parameters per output: the share of the output's variance that involves each.",
            "",
            _markdown(["output", "most influential (total index ST)"], rows),
        ]
    )


def results_table(
    folder: str | Path, measure: str = DEFAULT_MEASURE, reference: str | None = None
) -> str:
    """The tables of an ensemble, sweep, calibration or sensitivity folder, as Markdown
    (`reference`: the scenario an ensemble's differences are taken from)."""
    manifest = read_manifest(folder)
    if manifest["kind"] == "ensemble":
        return ensemble_tables(folder, measure, reference)
    if manifest["kind"] == "sweep":
        from simulation.analysis.scenario_table import (
            caption,
            columns_for,
            markdown_table,
            scenario_table,
        )

        columns = columns_for(manifest["metrics"])
        table = scenario_table(folder, measure, columns)
        return markdown_table(table) + "\n\n" + caption(folder, measure, columns)
    if manifest["kind"] == "calibration":
        return calibration_tables(folder)
    if manifest["kind"] == "sensitivity":
        return sensitivity_table(folder)
    raise ResultsError(
        f"holds a {manifest['kind']}; tables are made of ensembles, sweeps, calibrations and "
        "sensitivity analyses",
        folder,
    )


def default_marker(folder: str | Path) -> str:
    """Where a folder's table goes in README.md or docs/calibration.md, by its kind."""
    manifest = read_manifest(folder)
    kind = manifest["kind"]
    if kind == "ensemble":
        return "scenario-posterior-table" if manifest.get("posterior") else "scenario-prior-table"
    return {"calibration": "calibration-results", "sensitivity": "sensitivity-table"}.get(
        kind, "scenario-table"
    )


def replace_between_markers(path: str | Path, name: str, text: str) -> Path:
    """Put `text` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in a file."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ResultsError(f"cannot read ({error.strerror})", path) from None
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in content or end not in content:
        raise ResultsError(f"has no markers {start} ... {end}", path)
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text(path, f"{head}{start}\n{text}\n{end}{tail}")
    return path
