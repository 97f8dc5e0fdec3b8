"""Self-contained HTML reports of any results folder (a run, a sweep, a sensitivity
analysis, a tipping-point search, scenario discovery, or a kind this module does not know):
what was run, tables with confidence intervals, the figures, and the configs.

The report is the static counterpart of the explorer (``reluctant-army explore``): it draws
the same figure descriptions (:mod:`simulation.analysis.charts`) with matplotlib and embeds
them, so the file can be mailed alone. Every share is a percentage, every table names its
scenario, wide tables are cut into long ones that fit the page, and the configs are
collapsed under ``<details>``.

Everything a results folder holds is data, and a folder can be hostile: every text from it
(descriptions, names, rules, errors, YAML) is escaped, and the page forbids scripts
altogether (a Content-Security-Policy that allows none).
"""

from __future__ import annotations

import base64
import html
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.analysis import charts
from simulation.analysis import results as rs
from simulation.errors import ResultsError
from simulation.experiments.files import write_text
from simulation.experiments.precision import METHOD, runs_completed
from simulation.experiments.run_folder import check_run_summary
from simulation.vocabulary import CHOICES, GROUPS, RANKS, REAR_POST_COMPLY

DISCLAIMER = (
    "These results explore <em>what if</em> under stated assumptions; they are not forecasts. "
    "Numbers the source analysis does not give are assumptions, labelled as such in the "
    "configuration schema and in docs/ODD.md."
)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin-bottom: .3em; }
.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .82em; margin: .4em 0 1.2em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
td.text { max-width: 28em; overflow-wrap: anywhere; }
.note { background: #fff8e5; border-left: 4px solid #e0b040; padding: .6em 1em; }
.small { font-size: .85em; color: #555; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .8em; }
details { margin: .4em 0; } summary { cursor: pointer; }
"""

SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""No script, no request: the report shows what it holds and runs nothing."""

MAX_ROWS = 60
"""Design points shown in a report table (the rest are counted)."""


def esc(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value), quote=True)


def kind_of(folder: Path) -> str:
    """What wrote the folder, as its manifest says: run, sweep, sensitivity, tipping..."""
    return rs.open_results(folder).kind


def figure(chart: charts.Chart) -> str:
    """A chart drawn by matplotlib, embedded as a PNG data URL, with its caption."""
    data = base64.b64encode(charts.png(chart)).decode("ascii")
    return f'<img alt="{esc(chart.title)}" src="data:image/png;base64,{data}">'


def table(frame: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> str:
    """An HTML table of already formatted cells (every cell escaped); text columns left."""
    if frame.empty:
        return "<p class='small'>(none)</p>"
    texts = set(text_columns)
    head = "".join(
        f"<th class='{'text' if name in texts else ''}'>{esc(name)}</th>" for name in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(
            f"<td class='{'text' if name in texts else ''}'>{esc(value)}</td>"
            for name, value in zip(frame.columns, record, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<div class='wide'><table><tr>{head}</tr>{''.join(rows)}</table></div>"


def details(title: str, text: str) -> str:
    """A collapsed block of text (configs, experiment files)."""
    return f"<details><summary>{esc(title)}</summary><pre>{esc(text)}</pre></details>"


def share_cell(mean: Any, low: Any = None, high: Any = None) -> str:
    """'13.5% (13.2 to 13.9%)': the mean and its 95% interval, both as percentages."""
    shown = rs.percent(mean)
    interval = rs.interval_text(low, high)
    return shown if interval == "-" else f"{shown} ({interval})"


def summary_cell(row: pd.Series) -> str:
    """A sweep's share cell: 'mean (low to high%)', with 'k of n runs' when only k runs had
    anyone of the group serving, and 'empty (0 serving)' when none had."""
    if not math.isfinite(float(row["mean"])):
        return "empty (0 serving)" if runs_completed(row) else "-"
    shown = share_cell(row["mean"], row["ci_low"], row["ci_high"])
    of = runs_completed(row)
    return shown + (f" ({int(row['n'])} of {of} runs)" if int(row["n"]) < of else "")


def config_blocks(results: rs.Results, names: tuple[str, ...]) -> str:
    """The folder's config and experiment files, each collapsed."""
    parts = []
    for name in names:
        if results.has(name):
            try:
                parts.append(details(name, rs.read_text(results.path / name, results.path)))
            except ResultsError as error:
                parts.append(f"<p class='small'>{esc(error)}</p>")
    if not parts:
        return ""
    return "<h2>Configuration</h2><p class='small'>Click a name to unfold it.</p>" + "".join(parts)


# ---------------------------------------------------------------------------- run


def run_section(results: rs.Results) -> str:
    """One simulation: final and peak shares overall, by group and by rank; the figure."""
    folder = results.path
    summary = check_run_summary(rs.read_json(folder / "summary.json", folder), folder)
    blocks = [("all officers", summary.get("overall") or {})]
    blocks += [(group, (summary.get("by_group") or {}).get(group) or {}) for group in GROUPS]
    blocks += [(rank, block or {}) for rank, block in (summary.get("by_rank") or {}).items()]
    rows = []
    for label, block in blocks:
        row = {"officers": label}
        for measure in ("final", "peak"):
            for choice in CHOICES:
                row[f"{measure} {choice}"] = rs.percent((block.get(measure) or {}).get(choice))
        serving = block.get("serving_at_end")
        row["serving at end"] = "-" if serving is None else f"{int(serving):,}"
        rows.append(row)
    parts = [
        f"<p>{esc(summary.get('name', results.name))}: {esc(summary.get('n_officers'))} "
        f"officers, {esc(summary.get('steps'))} months, seed {esc(summary.get('seed'))}.</p>",
        "<h2>Shares of officers</h2>",
        "<p class='small'>Final: at the last month; peak: the highest share after month 0.</p>",
        table(pd.DataFrame(rows), ("officers",)),
    ]
    overall = summary.get("overall") or {}
    rear_share = (overall.get("final") or {}).get(REAR_POST_COMPLY)
    rear_count = (overall.get(f"count_{REAR_POST_COMPLY}") or {}).get("final")
    if rear_share is not None and rear_count is not None:
        parts.append(
            "<p class='small'>Of comply (all officers), at a rear post after the response "
            f"ladder reassigned them (bearing only part of the order): final "
            f"{rs.percent(rear_share)} of those serving ({int(rear_count):,}).</p>"
        )
    if results.has("timeseries.csv"):
        series = rs.read_csv(folder / "timeseries.csv", folder)
        if "comply" in series:
            columns = {c: series[c].tolist() for c in series.columns if c != "step"}
            chart = charts.rates_chart(columns, GROUPS, len(series) - 1)
            chart.title = f"Shares over time: {results.name}"
            parts += ["<h2>Over time</h2>", figure(chart)]
    parts.append(config_blocks(results, ("config.resolved.yaml",)))
    return "\n".join(parts)


# ---------------------------------------------------------------------------- sweep


def point_rows(
    sweep: rs.Sweep, measure: str, categories: list[str], limit: int = MAX_ROWS
) -> pd.DataFrame:
    """Long table: one row per design point and category, a column per choice, each cell
    'mean (95% interval)' in percent; scenario and design point named in every row."""
    summary = sweep.summary
    part = summary[(summary["measure"] == measure) & (summary["category"].isin(categories))]
    labels = sweep.point_labels()
    points = sorted(set(part["point"]))[:limit]
    several = len(sweep.scenarios) > 1
    rows = []
    for point in points:
        for category in categories:
            lines = part[(part["point"] == point) & (part["category"] == category)]
            if lines.empty:
                continue
            first = lines.iloc[0]
            row = {"point": int(point)}
            if several:
                row["scenario"] = str(first["scenario"])
            row["design point"] = labels.get(int(point), "")
            row["officers"] = charts.category_label(category)
            row["runs"] = runs_completed(first) + int(first["n_failed"])
            for choice in CHOICES:
                match = lines[lines["choice"] == choice]
                row[choice] = "-" if match.empty else summary_cell(match.iloc[0])
            rows.append(row)
    frame = pd.DataFrame(rows)
    if several and not frame.empty and (frame["design point"] == frame["scenario"]).all():
        frame = frame.drop(columns="design point")  # named scenarios: the name says it all
    return frame


def sweep_tables(sweep: rs.Sweep) -> str:
    """For every measure (final, peak, at a lag...): all officers, by group, by rank."""
    if sweep.summary.empty:
        return "<p>No finished runs.</p>"
    parts = []
    total = len(sweep.point_labels())
    for measure in sweep.measures:
        parts.append(
            f"<h2>{esc(charts.measure_label(measure).capitalize())}: mean (95% CI) over "
            "replications</h2>"
        )
        if total > MAX_ROWS:
            parts.append(f"<p class='small'>The first {MAX_ROWS} of {total} design points.</p>")
        present = sweep.categories
        for title, members in (
            ("All officers", ["overall"]),
            ("By group", [g for g in GROUPS if g in present]),
            ("By rank", [r for r in RANKS if r in present]),
        ):
            if not members:
                continue
            frame = point_rows(sweep, measure, members)
            parts += [f"<h3>{title}</h3>", table(frame, ("scenario", "design point", "officers"))]
    return "\n".join(parts)


def sweep_figures(sweep: rs.Sweep) -> str:
    """The explorer's figures of the sweep, drawn by matplotlib."""
    drawn: list[str] = []
    for measure in sweep.measures[:2]:
        for breakdown in rs.breakdowns(sweep):
            scenarios = sweep.scenarios if sweep.axes and len(sweep.scenarios) > 1 else [None]
            for scenario in scenarios:
                for chart in rs.sweep_charts(sweep, measure, breakdown, scenario):
                    if breakdown == "rank" and chart.key in ("heatmap", "runs"):
                        continue  # the same panels as by group: drawn once
                    drawn.append(figure(chart))
    envelopes = rs.sweep_envelopes(sweep, list(sweep.point_labels()), "overall")
    if envelopes is not None:
        drawn.append(figure(envelopes))
        if len(sweep.point_labels()) > rs.MAX_ENVELOPES:
            drawn.append(
                f"<p class='small'>Over time: the first {rs.MAX_ENVELOPES} of "
                f"{len(sweep.point_labels())} design points.</p>"
            )
    return ("<h2>Figures</h2>" + "\n".join(drawn)) if drawn else ""


def sweep_section(results: rs.Results) -> str:
    """A sweep: design, counts, failures, the tables with CIs, the figures, the configs."""
    sweep = rs.Sweep(results)
    manifest = results.manifest
    runs = sweep.runs
    failed = runs[runs["status"] != "ok"] if "status" in runs else runs.iloc[0:0]
    parts = [
        f"<p>Design <b>{esc(manifest.get('design'))}</b>: {esc(manifest.get('n_points'))} "
        f"design point(s) x {esc(manifest.get('replications'))} replication(s) = "
        f"{esc(manifest.get('n_runs'))} runs of {esc(manifest.get('steps'))} months; "
        f"{len(runs)} recorded, {len(failed)} failed; root seed "
        f"{esc(manifest.get('root_seed'))}; status {esc(manifest.get('status'))}.</p>",
        f"<p>Scenarios: {esc(', '.join(sweep.scenarios))}.</p>" if sweep.scenarios else "",
    ]
    if len(failed):
        errors = failed[["run_index", "scenario", "error"]].head(20).astype(str)
        parts += ["<h3>Failed runs</h3>", table(errors, ("scenario", "error"))]
    parts += [sweep_tables(sweep), sweep_figures(sweep)]
    parts.append(
        config_blocks(
            results,
            ("experiment.yaml", "base_config.resolved.yaml", "scenario_configs.resolved.yaml"),
        )
    )
    return "\n".join(parts)


# ---------------------------------------------------------------------------- analyses


def sensitivity_section(results: rs.Results) -> str:
    """Sobol and Morris indices of each output (with CIs), their charts, the two sweeps."""
    indices = rs.sensitivity_indices(results)
    parts = [
        "<p>Sobol first-order (S1) and total (ST) indices with 95% confidence half-widths; "
        "Morris mean absolute elementary effect (mu*) and its spread (sigma). Indices are "
        "not shares: they are given as numbers.</p>"
    ]
    shown = indices.copy()
    for column in shown.columns:
        if column not in ("output", "parameter"):
            shown[column] = [
                "-" if pd.isna(v) else f"{float(v):.3f}" for v in pd.to_numeric(shown[column])
            ]
    parts.append(table(shown, ("output", "parameter")))
    for output in dict.fromkeys(indices.get("output", [])):
        parts.append(figure(charts.indices_chart(indices, str(output))))
    constant = results.manifest.get("constant") or []
    if constant:
        parts.append(f"<p>Constant over the design (no indices): {esc(', '.join(constant))}.</p>")
    for label, path in (results.manifest.get("sweeps") or {}).items():
        try:
            sweep = rs.open_results(Path(str(path)))
        except ResultsError:
            sweep = None
        if sweep is None and (results.path / label / "manifest.json").exists():
            sweep = rs.open_results(results.path / label)
        if sweep is not None:
            parts.append(
                f"<p>{esc(label)}: {esc(sweep.manifest.get('n_runs'))} runs, status "
                f"{esc(sweep.manifest.get('status'))}.</p>"
            )
    return "\n".join(parts)


def tipping_section(results: rs.Results) -> str:
    """A tipping-point search: the answer with its interval, the probes and the chart."""
    data = rs.tipping_data(results)
    level = rs.percent(data.get("level"))
    if data.get("crossed"):
        low, high = (data.get("uncertain_range") or [None, None])[:2]
        bracket = data.get("bracket") or [None, None]
        answer = (
            f"<p><b>{esc(data.get('lever'))} = {float(data['estimate']):.4g}</b>: the "
            f"{esc(data.get('statistic'))} {esc(data.get('metric'))} share crosses {level} "
            f"(bisection bracket {float(bracket[0]):.4g} to {float(bracket[1]):.4g}; uncertain "
            f"range {float(low):.4g} to {float(high):.4g}, where the 95% CI of the rate covers "
            "the level).</p>"
        )
    else:
        search = data.get("search_range") or ["?", "?"]
        answer = f"<p>The rate does not cross {level} in [{esc(search[0])}, {esc(search[1])}].</p>"
    probes = pd.DataFrame(
        [
            {
                "lever value": f"{float(p.get('value')):.4g}",
                "mean": rs.percent(p.get("mean"), 2),
                "95% CI": rs.interval_text(p.get("ci_low"), p.get("ci_high"), 2),
                "runs": len(p.get("outcomes") or []),
            }
            for p in sorted(data.get("probes") or [], key=lambda p: p["value"])
        ]
    )
    return "\n".join(
        [
            answer,
            "<h2>Probes (mean and 95% CI over replications)</h2>",
            table(probes),
            figure(charts.tipping_chart(data)),
        ]
    )


def discovery_section(results: rs.Results) -> str:
    """Scenario discovery: the case of interest, the boxes and rules, the chart."""
    found = rs.discovery_data(results)
    data = found.data
    regions = pd.DataFrame(
        [
            {
                "box": f"{str(r.get('method', '')).upper()} {index + 1}",
                "rule": r.get("rule", ""),
                "coverage": rs.percent(r.get("coverage")),
                "density": rs.percent(r.get("density")),
                "runs": r.get("n_runs", ""),
            }
            for index, r in enumerate(data.get("regions") or [])
        ]
    )
    parts = [
        f"<p>Case of interest: <b>{esc(data.get('case_of_interest'))}</b>, "
        f"{esc(data.get('cases_of_interest'))} of {esc(data.get('runs'))} runs. Coverage: "
        "share of all cases of interest inside the box; density: share of the box's runs "
        "that are cases of interest.</p>",
        table(regions, ("box", "rule")) if len(regions) else "<p>No region found.</p>",
    ]
    if found.inputs is not None and found.flags is not None:
        chart = charts.discovery_chart(
            found.inputs, found.flags, data.get("regions") or [], str(data.get("case_of_interest"))
        )
        parts.append(figure(chart))
    return "\n".join(parts)


def manifest_section(results: rs.Results) -> str:
    """A kind this report does not know: its manifest, and its sweep tables if any."""
    rows = pd.DataFrame(results.manifest_rows(), columns=["key", "value"])
    parts = [
        f"<p>This report has no section for '{esc(results.kind)}' folders; their manifest "
        "says:</p>",
        table(rows, ("key", "value")),
    ]
    if results.holds_sweep:
        sweep = rs.Sweep(results)
        parts += [sweep_tables(sweep), sweep_figures(sweep)]
    return "\n".join(parts)


def _png(path: Path, caption: str) -> str:
    """A PNG the analysis wrote, embedded (data: images are allowed by the policy)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{esc(caption)}' src='data:image/png;base64,{data}'>" + (
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _rounded(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Numbers to `digits` significant digits, for tables of cells."""
    return frame.apply(
        lambda column: column.map(lambda v: f"{v:.{digits}g}" if isinstance(v, float) else v)
    )


def ensemble_section(results: rs.Results) -> str:
    """An ensemble over the priors: the headline tables with intervals, the chart, and
    every output's distribution with its seed/assumption variance split."""
    from simulation.analysis.tables import ensemble_tables

    folder, manifest = results.path, results.manifest
    origin = esc(manifest.get("posterior") or manifest.get("priors_file"))
    parts = [
        f"<p>{esc(manifest.get('draws'))} draws from {origin} x "
        f"{esc(manifest.get('replications'))} seeds per scenario, the same draws and seeds in "
        "every scenario. Here intervals are not confidence intervals: they are the 50% and "
        "90% ranges of the outcome over the assumptions' draws and seeds.</p>",
        f"<pre>{esc(ensemble_tables(folder))}</pre>",
    ]
    if (folder / "ensemble.png").exists():
        parts.append(_png(folder / "ensemble.png", "Medians with 50% and 90% intervals"))
    if (folder / "distribution.csv").exists():
        distribution = _rounded(pd.read_csv(folder / "distribution.csv"))
        parts += ["<h2>Every output</h2>", table(distribution, ("scenario", "output"))]
    return "\n".join(parts)


def calibration_section(results: rs.Results) -> str:
    """A calibration: the posterior summary, predictive checks, stylised facts, plots."""
    folder = results.path
    parts = []
    for name, heading in (
        ("posterior_summary.csv", "Posterior against prior"),
        ("predictive.csv", "Targets: prior and posterior predictive runs"),
        ("checks.csv", "Stylised facts not fitted"),
        ("generations.csv", "Generations"),
    ):
        if (folder / name).exists():
            frame = _rounded(pd.read_csv(folder / name))
            text = tuple(c for c in frame.columns if frame[c].dtype == object)
            parts += [f"<h2>{heading}</h2>", table(frame, text)]
    for name, caption in (
        ("marginals.png", "Prior (grey) and posterior (blue)"),
        ("predictive.png", "Predictive runs against the targets"),
    ):
        if (folder / name).exists():
            parts.append(_png(folder / name, caption))
    return "\n".join(parts)


SECTIONS = {
    "run": run_section,
    "sweep": sweep_section,
    "sensitivity": sensitivity_section,
    "tipping": tipping_section,
    "discovery": discovery_section,
    "ensemble": ensemble_section,
    "calibration": calibration_section,
}


def build_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write a self-contained HTML report of a results folder (default
    `folder/report.html`) and return its path."""
    document = render_report(folder)
    path = Path(out) if out is not None else Path(folder) / "report.html"
    if not path.parent.is_dir():
        raise ResultsError("the report's folder does not exist", path.parent)
    return write_text(path, document)


def render_report(folder: str | Path) -> str:
    """The whole HTML document for a results folder."""
    results = rs.open_results(folder)
    body = SECTIONS.get(results.kind, manifest_section)(results)
    discovery = results.path / "discovery"
    if results.kind == "sweep" and (discovery / "discovery.json").exists():
        body += "<h2>Scenario discovery</h2>" + discovery_section(rs.open_results(discovery))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Reluctant Army: {results.kind} report, {results.path.name}"
    description = f"<p><b>{esc(results.description)}</b></p>" if results.description else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{SECURITY_POLICY}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='note'>{DISCLAIMER}</p>{description}"
        f"<p class='small'>Folder: <code>{esc(results.path)}</code>; report written {stamp}. "
        "Shares are percentages of the officers serving (cumulative shares: of everyone who "
        f"ever served, each person once); intervals are the {METHOD}; '-': no one of the "
        "group serving.</p>"
        f"{body}</body></html>\n"
    )
