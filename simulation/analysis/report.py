"""Self-contained HTML reports of any results folder (one run, a sweep, a sensitivity
analysis, a tipping-point search, scenario discovery): what was run, tables with
confidence intervals, and the figures embedded, so that the file can be mailed alone."""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.errors import ResultsError
from simulation.experiments.files import read_manifest, write_text
from simulation.vocabulary import CHOICES, GROUPS

DISCLAIMER = (
    "These results explore <em>what if</em> under stated assumptions; they are not forecasts. "
    "Numbers the source analysis does not give are assumptions, labelled as such in the "
    "configuration schema and in docs/ODD.md."
)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: right; }
td { white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.note { background: #fff8e5; border-left: 4px solid #e0b040; padding: .6em 1em; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .8em; }
"""


def kind_of(folder: Path) -> str:
    """What wrote the folder, as its manifest says: run, sweep, sensitivity, tipping..."""
    return read_manifest(folder)["kind"]


def image(path: Path, caption: str = "") -> str:
    """An embedded image (PNG or SVG, as a data URL: an SVG's own text cannot script the
    page from there) with its caption."""
    kind = "svg+xml" if path.suffix == ".svg" else "png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    title = f"<p><em>{html.escape(caption)}</em></p>" if caption else ""
    return f'{title}<img alt="{html.escape(path.name)}" src="data:image/{kind};base64,{data}">'


def table(frame: pd.DataFrame, digits: int = 3) -> str:
    """An HTML table of a DataFrame."""
    return frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}f}", border=0)


def text_block(path: Path, limit: int = 8000) -> str:
    """A file's text, escaped, in a <pre> block."""
    text = path.read_text(encoding="utf-8")
    return f"<pre>{html.escape(text[:limit])}</pre>"


def run_section(folder: Path) -> str:
    """One simulation: final/peak shares overall, by group and by rank; the figure; config."""
    summary = json.loads((folder / "summary.json").read_text())
    rows = []
    blocks = [("all officers", summary["overall"])]
    blocks += [(group, summary["by_group"][group]) for group in GROUPS]
    blocks += [(rank, block) for rank, block in summary["by_rank"].items()]
    for label, block in blocks:
        row = {"officers": label}
        for choice in CHOICES:
            row[f"{choice} final"] = block["final"][choice]
            row[f"{choice} peak"] = block["peak"][choice]
        rows.append(row)
    parts = [
        f"<p>{summary['n_officers']:,} officers, {summary['steps']} steps (months), seed "
        f"{summary['seed']}.</p>",
        "<h2>Shares of officers</h2>",
        table(pd.DataFrame(rows)),
    ]
    if (folder / "rates.svg").exists():
        parts.append(image(folder / "rates.svg", "Shares over time, overall and by group"))
    if (folder / "config.resolved.yaml").exists():
        parts += [
            "<h2>Configuration (fully resolved)</h2>",
            text_block(folder / "config.resolved.yaml"),
        ]
    return "\n".join(parts)


def sweep_tables(summary: pd.DataFrame, manifest: dict[str, Any], limit: int = 60) -> str:
    """Final shares by design point, mean ± 95% CI half-width: overall, then by group."""
    final = summary[summary["measure"] == "final"].copy()
    if final.empty:
        return "<p>No finished runs.</p>"
    final["value"] = [
        f"{mean:.1%} ± {(high - low) / 2:.1%}"
        for mean, low, high in zip(final["mean"], final["ci_low"], final["ci_high"], strict=True)
    ]
    parameters = [p for p in manifest.get("parameters", []) if p in final.columns]
    identity = ["point", "scenario", *parameters]
    wide = final.pivot_table(index=identity, columns="metric", values="value", aggfunc="first")
    wide.columns.name = None
    wide = wide.reset_index()
    wide = wide.rename(columns={p: ".".join(p.split(".")[-2:]) for p in parameters})
    for short in (".".join(p.split(".")[-2:]) for p in parameters):
        if pd.api.types.is_float_dtype(wide[short]):
            wide[short] = wide[short].map(lambda x: f"{x:.3g}")
    if len(set(wide["scenario"])) == 1:
        wide = wide.drop(columns="scenario")
    keys = [c for c in wide.columns if c not in manifest.get("metrics", [])]
    metrics = manifest.get("metrics", [])
    overall = [m for m in metrics if m in CHOICES and m in wide.columns]
    grouped = [m for m in metrics if m.split("_")[0] in GROUPS and m in wide.columns]
    note = f"<p>First {limit} of {len(wide)} design points.</p>" if len(wide) > limit else ""
    parts = [note, "<h3>All officers</h3>", table(wide[keys + overall].head(limit))]
    if grouped:
        parts += ["<h3>By group</h3>", table(wide[["point", *grouped]].head(limit))]
    return "\n".join(parts)


def sweep_section(folder: Path) -> str:
    """A sweep: design, counts, the summary table with CIs, and every figure."""
    manifest = json.loads((folder / "manifest.json").read_text())
    parts = [
        f"<p>{html.escape(str(manifest.get('description', '')))}</p>",
        f"<p>Design <b>{manifest.get('design')}</b>: {manifest.get('n_points')} design point(s) x "
        f"{manifest.get('replications')} replication(s) = {manifest.get('n_runs')} runs of "
        f"{manifest.get('steps')} steps; root seed {manifest.get('root_seed')}; status "
        f"{manifest.get('status')}.</p>",
    ]
    summary_path = folder / "summary.csv"
    if summary_path.exists():
        summary = pd.read_csv(summary_path)
        failed = int(summary.groupby("point")["n_failed"].first().sum()) if len(summary) else 0
        parts.append(f"<p>Failed runs: {failed}.</p>")
        parts += [
            "<h2>Final shares: mean ± 95% CI half-width over replications</h2>",
            sweep_tables(summary, manifest),
        ]
    if (folder / "sensitivity.csv").exists():
        parts += ["<h2>Sensitivity indices</h2>", table(pd.read_csv(folder / "sensitivity.csv"))]
    figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").exists() else []
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [image(path, path.stem.replace("_", " ")) for path in figures]
    for name in ("experiment.yaml", "base_config.resolved.yaml", "scenario_configs.resolved.yaml"):
        if (folder / name).exists():
            parts += [f"<h2>{name}</h2>", text_block(folder / name)]
    return "\n".join(parts)


def sensitivity_section(folder: Path) -> str:
    """Sobol and Morris indices, the chart, and the two underlying sweeps."""
    indices = pd.read_csv(folder / "indices.csv")
    parts = [
        "<p>Sobol first-order (S1) and total (ST) indices with 95% confidence half-widths; "
        "Morris mean absolute elementary effect (mu_star) and its spread (sigma).</p>",
        table(indices),
    ]
    if (folder / "indices.png").exists():
        parts.append(image(folder / "indices.png", "Sensitivity indices"))
    for label in ("sobol", "morris"):
        if (folder / label / "manifest.json").exists():
            manifest = json.loads((folder / label / "manifest.json").read_text())
            parts.append(f"<p>{label}: {manifest['n_runs']} runs, status {manifest['status']}.</p>")
    return "\n".join(parts)


def tipping_section(folder: Path) -> str:
    """A tipping-point search: the answer with its interval, the probes and the plot."""
    data = json.loads((folder / "tipping.json").read_text())
    if data["crossed"]:
        low, high = data["uncertain_range"]
        answer = (
            f"<p><b>{html.escape(data['lever'])} = {data['estimate']:.4g}</b>: the "
            f"{data['statistic']} {html.escape(data['metric'])} share crosses {data['level']:g} "
            f"(bisection bracket {data['bracket'][0]:.4g}-{data['bracket'][1]:.4g}; uncertain "
            f"range {low:.4g}-{high:.4g}, where the 95% CI of the rate covers the level).</p>"
        )
    else:
        answer = (
            f"<p>The rate does not cross {data['level']:g} in "
            f"[{data['search_range'][0]:g}, {data['search_range'][1]:g}].</p>"
        )
    probes = pd.DataFrame([{k: v for k, v in p.items() if k != "outcomes"} for p in data["probes"]])
    parts = [answer, "<h2>Probes (mean and 95% CI over replications)</h2>", table(probes, 4)]
    if (folder / "tipping.png").exists():
        parts.append(image(folder / "tipping.png", "Rate around the tipping point"))
    return "\n".join(parts)


def discovery_section(folder: Path) -> str:
    """Scenario discovery: the case of interest, the boxes and rules, the plot."""
    data = json.loads((folder / "discovery.json").read_text())
    regions = pd.DataFrame(
        [
            {k: r[k] for k in ("method", "rule", "coverage", "density", "n_runs")}
            for r in data["regions"]
        ]
    )
    parts = [
        f"<p>Case of interest: <b>{html.escape(data['case_of_interest'])}</b>, "
        f"{data['cases_of_interest']} of {data['runs']} runs.</p>",
        table(regions) if len(regions) else "<p>No region found.</p>",
    ]
    if (folder / "discovery.png").exists():
        parts.append(image(folder / "discovery.png", "Runs, boxes and PRIM trade-off"))
    return "\n".join(parts)


def ensemble_section(folder: Path) -> str:
    """An ensemble over the priors: the headline tables with intervals, the chart, and
    every output's distribution with its seed/assumption variance split."""
    from simulation.analysis.tables import ensemble_tables

    manifest = json.loads((folder / "manifest.json").read_text())
    origin = html.escape(str(manifest["posterior"] or manifest["priors_file"]))
    parts = [
        f"<p>{manifest['draws']} draws from {origin} x {manifest['replications']} seeds per "
        "scenario; common draws and seeds across scenarios.</p>",
        f"<pre>{html.escape(ensemble_tables(folder))}</pre>",
    ]
    if (folder / "ensemble.png").exists():
        parts.append(image(folder / "ensemble.png", "Medians with 50% and 90% intervals"))
    parts += ["<h2>Every output</h2>", table(pd.read_csv(folder / "distribution.csv"))]
    return "\n".join(parts)


def calibration_section(folder: Path) -> str:
    """A calibration: the posterior summary, predictive checks, stylised facts, plots."""
    parts = []
    for name, heading in (
        ("posterior_summary.csv", "Posterior against prior"),
        ("predictive.csv", "Targets: prior and posterior predictive runs"),
        ("checks.csv", "Stylised facts not fitted"),
        ("generations.csv", "Generations"),
    ):
        if (folder / name).exists():
            parts += [f"<h2>{heading}</h2>", table(pd.read_csv(folder / name), 4)]
    for name, caption in (
        ("marginals.png", "Prior (grey) and posterior (blue)"),
        ("predictive.png", "Predictive runs against the targets"),
    ):
        if (folder / name).exists():
            parts.append(image(folder / name, caption))
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
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError("results folder not found", folder)
    kind = kind_of(folder)
    body = SECTIONS[kind](folder)
    if kind == "sweep" and (folder / "discovery" / "discovery.json").exists():
        body += "<h2>Scenario discovery</h2>" + discovery_section(folder / "discovery")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Reluctant Army: {kind} report, {folder.name}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>{DISCLAIMER}</p>"
        f"<p>Folder: <code>{html.escape(str(folder))}</code>; report written {stamp}.</p>"
        f"{body}</body></html>\n"
    )
