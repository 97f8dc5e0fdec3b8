"""Tables of results for README and reports, generated from a results folder (never pasted).

For an ensemble folder: each scenario's median with its 90% interval over the priors (or
the posterior) and seeds, and each scenario's difference from the reference scenario, run
by run (same draws, same seeds), with its own 90% interval. For a sweep folder: mean and
95% confidence half-width over replications (seed noise only, said under the table).
:func:`replace_between_markers` puts a table into a file between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.files import read_manifest, write_text
from simulation.vocabulary import KEY_OUTPUTS

HEADLINE: tuple[tuple[str, str], ...] = tuple(
    (metric, metric.replace("_", " ") if "_" in metric else f"all {metric}")
    for metric in KEY_OUTPUTS
)
"""Columns of the headline tables: (metric, label), e.g. ('passive_evade', 'passive evade')."""


def _share(value: float) -> str:
    return f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def level_cell(row: pd.Series) -> str:
    """'median (5%-95%)' of a share, e.g. '13.5% (4.1-30.2)'."""
    if math.isnan(row["median"]):
        return "-"
    return f"{_share(row['median'])} ({100 * row['q05']:.1f}–{100 * row['q95']:.1f})"


def difference_cell(row: pd.Series) -> str:
    """'median (5% to 95%)' of a difference in percentage points, e.g. '+12.0 (+3.1 to +20.4)'."""
    if math.isnan(row["median"]):
        return "-"
    return f"{_points(row['median'])} ({_points(row['q05'])} to {_points(row['q95'])})"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ensemble_tables(
    folder: str | Path, measure: str = "final", reference: str | None = None
) -> str:
    """The levels table and the differences table (from `reference`, default the
    ensemble's) of an ensemble folder, as Markdown."""
    from simulation.analysis.ensemble import read_ensemble

    manifest, distribution, differences = read_ensemble(folder)
    outputs = [(f"{measure}_{metric}", label) for metric, label in HEADLINE]
    known = set(distribution["output"])
    missing = [name for name, _ in outputs if name not in known]
    if missing:
        raise ArgumentError(
            f"the ensemble has no output {missing[0]}; measures it has: "
            + ", ".join(sorted({name.split("_", 1)[0] for name in known})),
            "measure",
        )
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
    header = ["scenario", *[label for _, label in outputs]]
    levels = distribution.set_index(["scenario", "output"])
    rows = [
        [scenario, *[level_cell(levels.loc[(scenario, name)]) for name, _ in outputs]]
        for scenario in scenarios
    ]
    text = [
        f"{measure.capitalize()} share of officers: median and 90% interval over {origin} "
        f"and seeds ({manifest['draws']} draws x {manifest['replications']} seeds per "
        "scenario).",
        "",
        _markdown(header, rows),
    ]
    if not differences.empty:
        changes = differences[differences["reference"] == reference]
        changes = changes.set_index(["scenario", "output"])
        rows = [
            [scenario, *[difference_cell(changes.loc[(scenario, name)]) for name, _ in outputs]]
            for scenario in scenarios
            if scenario != reference
        ]
        text += [
            "",
            f"Difference from `{reference}` in percentage points, run by run (the same draws "
            "and seeds in both): median and 90% interval.",
            "",
            _markdown(header, rows),
        ]
    return "\n".join(text)


def sweep_table(folder: str | Path, measure: str = "final") -> str:
    """Mean ± 95% CI half-width per scenario of a sweep folder (seed noise only)."""
    from simulation.experiments.summary import _cell

    summary = pd.read_csv(Path(folder) / "summary.csv")
    part = summary[summary["measure"] == measure]
    if part.empty:
        raise ArgumentError(f"the sweep has no measure '{measure}'", "measure")
    header = ["scenario", *[label for _, label in HEADLINE]]
    cells = part.set_index(["scenario", "metric"])
    rows = []
    for scenario in dict.fromkeys(part["scenario"]):
        row = [str(scenario)]
        for metric, _ in HEADLINE:
            row.append(
                _cell(cells.loc[(scenario, metric)]) if (scenario, metric) in cells.index else "-"
            )
        rows.append(row)
    return "\n".join(
        [
            f"{measure.capitalize()} share of officers, mean ± 95% CI half-width over "
            "replications: seed noise only, at the config's assumptions (an ensemble over the "
            "priors shows the uncertainty of the assumptions).",
            "",
            _markdown(header, rows),
        ]
    )


def calibration_tables(folder: str | Path) -> str:
    """A calibration's posterior against its prior, its targets in the predictive runs, and
    the stylised facts not fitted, as Markdown."""
    from simulation.analysis.calibration import read_calibration

    found = read_calibration(folder)
    manifest = found["manifest"]
    number = "{:.3g}".format
    generations = found["generations"]
    text = [
        f"Calibration `{manifest['name']}`: {len(generations)} generations, "
        f"{int(manifest.get('simulations', generations['simulations'].sum())):,} simulations "
        "(with the prior sample and any generation cut short by the budget), final distance "
        "threshold "
        f"{number(generations['epsilon'].iloc[-1])} (1 = off by one tolerance on average).",
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


def results_table(folder: str | Path, measure: str = "final", reference: str | None = None) -> str:
    """The headline tables of an ensemble, sweep or calibration folder, as Markdown
    (`reference`: the scenario an ensemble's differences are taken from)."""
    manifest = read_manifest(folder)
    if manifest["kind"] == "ensemble":
        return ensemble_tables(folder, measure, reference)
    if manifest["kind"] == "sweep":
        return sweep_table(folder, measure)
    if manifest["kind"] == "calibration":
        return calibration_tables(folder)
    if manifest["kind"] == "sensitivity":
        return sensitivity_table(folder)
    raise ResultsError(
        f"holds a {manifest['kind']}; tables are made of ensembles, sweeps, calibrations and "
        "sensitivity analyses",
        folder,
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
