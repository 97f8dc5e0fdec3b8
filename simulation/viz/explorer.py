"""The experiment explorer: from an ensemble of runs to any one run, in the browser.

It lists the results folders it was given (``reluctant-army explore DIR ...``; default
``./results``) and reads each by its manifest's ``kind`` (:mod:`simulation.analysis.results`):

* a sweep: the design points with mean and 95% interval per outcome (sortable, searchable,
  by scenario, for all officers, a group or a rank); the figures that suit its design
  (outcome against each parameter, heatmap, scenario bars, every run of a sampled design;
  click a point to open it); shares over time (median and band over replications); a
  design point's runs, any of which is replayed in the model view; and a side-by-side
  comparison of two runs or two design points over time;
* a sensitivity analysis: Sobol and Morris indices; a tipping-point search: the rate at
  each probe; scenario discovery: PRIM boxes and CART rules over the runs; a single run;
* any other kind: its manifest, and its sweep tables if it has them.

Only the listed folders can be opened: a folder name that arrives from the page is looked
up in the list, never used as a path.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import reacton.ipyvuetify as v
import solara

from simulation.analysis import charts
from simulation.analysis import results as rs
from simulation.cli.explore import RESULTS_ENV
from simulation.errors import ReluctantArmyError
from simulation.viz import echarts, state
from simulation.viz.figure import EChart, as_json
from simulation.vocabulary import CHOICES

CSS = """
.ra-explorer .v-data-table td, .ra-explorer .v-data-table th { font-size: 13px !important; }
.ra-explorer .v-data-table td { white-space: nowrap; }
.ra-explorer .ra-note { font-size: 12px; color: #555; margin: 2px 0 8px 0; }
.ra-explorer .ra-selected-row { background: #E3EEF9 !important; }
.ra-explorer h3 { margin: 6px 0 4px 0; font-size: 17px; }
"""

ALL_SCENARIOS = "all scenarios"


def esc(value: Any) -> str:
    """Text made safe for the page."""
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------------------- folders


def results_roots() -> list[Path]:
    """The folders given to `explore` (default ./results)."""
    given = os.environ.get(RESULTS_ENV)
    if not given:
        return [Path.cwd() / "results"]
    return [Path(part) for part in given.split(os.pathsep) if part]


def display_name(path: Path) -> str:
    """A folder as the list shows it: relative to the working folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def listed_folders() -> dict[str, Path]:
    """Display name -> results folder, for every results folder under the given roots."""
    found: dict[str, Path] = {}
    for root in results_roots():
        for folder in rs.find_results(root):
            found.setdefault(display_name(folder), folder.resolve())
    return found


@lru_cache(maxsize=16)
def _load(path: str, stamp: int) -> rs.Results:
    return rs.open_results(path)


@lru_cache(maxsize=16)
def _sweep(path: str, stamp: int) -> rs.Sweep:
    return rs.Sweep(_load(path, stamp))


def stamp_of(path: Path) -> int:
    """When the folder's manifest last changed (reloads a folder rewritten meanwhile)."""
    try:
        return (path / "manifest.json").stat().st_mtime_ns
    except OSError:
        return 0


def load(path: Path) -> rs.Results:
    """A listed folder, read (cached until its manifest changes)."""
    return _load(str(path), stamp_of(path))


def load_sweep(path: Path) -> rs.Sweep:
    """A listed folder's sweep tables (cached until its manifest changes)."""
    return _sweep(str(path), stamp_of(path))


# ---------------------------------------------------------------------------- state


folder = solara.reactive(None)
"""The listed folder shown (its display name)."""
point: solara.Reactive[int | None] = solara.reactive(None)
run: solara.Reactive[int | None] = solara.reactive(None)
measure = solara.reactive("final")
category = solara.reactive("overall")
breakdown = solara.reactive("group")
scenario = solara.reactive(ALL_SCENARIOS)
search = solara.reactive("")
slots: solara.Reactive[dict[str, tuple[str, int]]] = solara.reactive({})
"""Comparison slots 'A' and 'B': ('point' or 'run', id)."""
compared: solara.Reactive[Any] = solara.reactive(None)
"""The comparison chart last computed (it may replay runs, so it is computed on demand)."""
message: solara.Reactive[str | None] = solara.reactive(None)


def choose_folder(name: str | None) -> None:
    """Show a listed folder (and forget the previous folder's selection); refuse others."""
    if name is not None and name not in listed_folders():
        message.value = "refused: the explorer opens only the results folders it lists"
        return
    folder.value = name
    point.value = run.value = None
    slots.value = {}
    compared.value = None
    scenario.value = ALL_SCENARIOS
    message.value = None


def guarded(action: Any) -> Any:
    """Run a page action; a results error becomes one line, anything else a short note."""
    return state.guarded(action)


def as_percent(values: pd.Series) -> pd.Series:
    """Shares as percentages with two decimals (the tables' one number format)."""
    return (pd.to_numeric(values, errors="coerce") * 100.0).round(2)


def _plain(value: Any) -> Any:
    """A table cell as JSON-ready data (numpy scalars as Python numbers, NaN as None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value if isinstance(value, int | str | bool) or value is None else str(value)


@dataclass
class Column:
    """A table column: its header and where its values come from."""

    header: str
    source: str


@solara.component
def Table(
    frame: pd.DataFrame,
    columns: list[Column],
    key: str,
    classes: str,
    on_pick: Any = None,
    picked: int | None = None,
    per_page: int = 12,
    filter_text: str = "",
) -> None:
    """A sortable, searchable table (Vuetify's data table); a click on a row picks its
    `key` value. Column keys are made safe (Vuetify reads dots as nested fields)."""
    headers = [
        {"text": column.header, "value": f"c{index}", "align": "start" if index < 2 else "end"}
        for index, column in enumerate(columns)
    ]
    items = []
    for record in frame.to_dict("records"):
        item = {f"c{i}": _plain(record.get(column.source)) for i, column in enumerate(columns)}
        item["_key"] = _plain(record.get(key))
        item["_selected"] = (
            "ra-selected-row" if picked is not None and item["_key"] == picked else ""
        )
        items.append(item)
    table = v.DataTable(
        headers=headers,
        items=items,
        item_key="_key",
        search=filter_text,
        dense=True,
        items_per_page=per_page,
        footer_props={"items-per-page-options": [per_page, 50, 200, -1]},
        class_=f"ra-table {classes}",
        item_class="_selected",
    )

    def clicked(_widget: Any, _event: str, data: Any) -> None:
        if on_pick is not None and isinstance(data, dict) and "_key" in data:
            on_pick(data["_key"])

    v.use_event(table, "click:row", clicked)


def sample_months(chart: charts.Chart) -> list[float]:
    """The months a chart over time has values at ([] for other charts)."""
    if not isinstance(chart, charts.LineChart) or not chart.x_label.startswith("step"):
        return []
    return sorted({x for panel in chart.panels for x in panel.x})


def marked_samples(chart: charts.Chart) -> charts.Chart:
    """A chart over time recorded every few months, with each sample marked and a caption
    saying so: the straight lines between samples are not data (a drop in month 1 shows
    first at the next sample)."""
    months = sample_months(chart)
    gaps = {b - a for a, b in zip(months, months[1:], strict=False)}
    if not gaps or max(gaps) <= 1:
        return chart
    every = int(max(gaps))
    shown = ", ".join(f"{m:g}" for m in months[:4]) + (", ..." if len(months) > 4 else "")
    note = (
        f"Recorded at months {shown} (every {every}, and the order's month and the month "
        "after it; the dots): the lines only join the samples, so a change between two "
        "samples shows first at the next one. Record every month with record_every: 1 in the "
        "experiment."
    )
    caption = f"{chart.caption.rstrip('.')}. {note}" if chart.caption else note
    return dataclasses.replace(chart, points=True, caption=caption)


@solara.component
def Chart(chart: charts.Chart, on_pick: Any = None, classes: str = "") -> None:
    """A chart description drawn by ECharts; a click on a point picks its id."""
    chart = marked_samples(chart)
    figure = echarts.option(chart)

    def clicked(event: dict[str, Any]) -> None:
        picked = echarts.clicked_id(chart, event)
        if picked is not None and on_pick is not None:
            on_pick(picked)

    EChart(
        as_json(figure.option), figure.height, f"ra-chart ra-chart-{chart.key} {classes}", clicked
    )
    if chart.caption:
        solara.HTML(tag="div", unsafe_innerHTML=esc(chart.caption), classes=["ra-note"])


def column_name(parameter: str, parameters: list[str]) -> str:
    """A parameter's column header: its last part, or its last two when that is ambiguous."""
    last = parameter.rsplit(".", 1)[-1]
    if sum(p.rsplit(".", 1)[-1] == last for p in parameters) > 1:
        return charts.short_name(parameter)
    return last.replace("_", " ")


def note(text: str) -> None:
    """A small explanatory line."""
    solara.HTML(tag="div", unsafe_innerHTML=esc(text), classes=["ra-note"])


# ---------------------------------------------------------------------------- sweeps


def pick_point(value: int) -> None:
    """Open design point `value` (its runs, its series)."""
    point.value = int(value)
    run.value = None


def pick_run(sweep: rs.Sweep, value: int) -> None:
    """Open run `value` (and its design point)."""
    row = sweep.run_row(int(value))
    point.value = int(row["point"])
    run.value = int(value)


@solara.component
def SweepControls(sweep: rs.Sweep) -> None:
    """Measure, officers (overall, a group or a rank), breakdown, scenario, search."""
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px", "align-items": "center"}):
        measures = sweep.measures
        if measure.value not in measures and measures:
            measure.value = measures[0]
        solara.Select("Outcome", values=measures, value=measure, classes=["ra-measure"])
        categories = sweep.categories
        if category.value not in categories and categories:
            category.value = categories[0]
        solara.Select(
            "Officers (table)", values=categories, value=category, classes=["ra-category"]
        )
        options = rs.breakdowns(sweep)
        if len(options) > 1:
            solara.ToggleButtonsSingle(value=breakdown, values=options, dense=True)
        if len(sweep.scenarios) > 1:
            solara.Select(
                "Scenario",
                values=[ALL_SCENARIOS, *sweep.scenarios],
                value=scenario,
                classes=["ra-scenario-filter"],
            )
        solara.InputText(
            "Filter rows (any column)",
            value=search,
            continuous_update=True,
            classes=["ra-filter"],
        )


@solara.component
def PointsTable(sweep: rs.Sweep) -> None:
    """One row per design point: mean and 95% CI of each choice, sortable and searchable."""
    table = sweep.point_table(measure.value, category.value)
    if table.empty:
        note("No finished runs to summarise yet.")
        return
    if scenario.value != ALL_SCENARIOS:
        table = table[table["scenario"] == scenario.value]
    columns = [Column("point", "point")]
    if len(sweep.scenarios) > 1:
        columns.append(Column("scenario", "scenario"))
    parameters = [p for p in sweep.parameters if p in table.columns]
    columns += [Column(column_name(p, parameters), p) for p in parameters]
    columns += [Column("runs", "runs"), Column("failed", "failed")]
    for choice in CHOICES:
        if f"{choice} %" in table.columns:
            columns += [Column(f"{choice} %", f"{choice} %"), Column("95% CI", f"{choice} 95% CI")]
    shown = "all officers" if category.value == "overall" else category.value
    solara.HTML(
        tag="h3",
        unsafe_innerHTML=esc(
            f"Design points: {charts.measure_label(measure.value)}, {shown} "
            f"({len(table)} of {len(sweep.point_labels())})"
        ),
    )
    note(
        "Mean over replications and its 95% confidence interval (Student t). Click a column "
        "to sort, a row to open the design point; the filter matches any column."
    )
    Table(
        table,
        columns,
        "point",
        "ra-points",
        on_pick=pick_point,
        picked=point.value,
        filter_text=search.value,
    )


@solara.component
def SweepFigures(sweep: rs.Sweep) -> None:
    """The figures that suit the design; click a point to open it."""
    shown = solara.use_reactive(0)
    chosen = None if scenario.value == ALL_SCENARIOS else scenario.value
    figures = rs.sweep_charts(sweep, measure.value, breakdown.value, chosen)
    visible = [
        p for p in sweep.point_labels() if chosen is None or _scenario_of(sweep, p) == chosen
    ]
    envelopes = rs.sweep_envelopes(sweep, visible, "overall")
    if envelopes is not None:
        figures.append(envelopes)
    if not figures:
        note("No figure suits this sweep's design.")
        return
    titles = [f"{index + 1}. {figure.title}" for index, figure in enumerate(figures)]
    if shown.value >= len(figures):
        shown.value = 0
    solara.HTML(tag="h3", unsafe_innerHTML="Figures")
    solara.Select(
        "Figure",
        values=titles,
        value=titles[shown.value],
        on_value=lambda title: shown.set(titles.index(title)),
        classes=["ra-figure-choice"],
    )
    figure = figures[shown.value]
    if figure.key in ("runs",):
        Chart(figure, lambda value: guarded(pick_run)(sweep, value))
    else:
        Chart(figure, pick_point)
    if figure.key == "envelope" and len(visible) > rs.MAX_ENVELOPES:
        note(f"The first {rs.MAX_ENVELOPES} of {len(visible)} design points; filter by scenario.")


def _scenario_of(sweep: rs.Sweep, value: int) -> str:
    rows = sweep.summary[sweep.summary["point"] == value]
    return str(rows["scenario"].iloc[0]) if not rows.empty else ""


@solara.component
def PointPanel(sweep: rs.Sweep) -> None:
    """A design point: its runs (pick one to replay), its shares over time, compare it."""
    router = solara.use_router()
    chosen = point.value
    if chosen is None:
        note("Pick a design point (a table row or a point of a figure) to see its runs.")
        return
    label = sweep.point_labels().get(chosen, f"point {chosen}")
    runs = sweep.runs_of(chosen)
    solara.HTML(tag="h3", unsafe_innerHTML=esc(f"Design point {chosen}: {label}"))
    prefix = "" if category.value == "overall" else f"{category.value}_"
    frame = runs.copy()
    columns = [
        Column("run", "run_index"),
        Column("replication", "replication"),
        Column("seed", "seed"),
    ]
    for choice in CHOICES:
        name = f"{measure.value}_{prefix}{choice}"
        if name in frame:
            frame[f"{choice} %"] = as_percent(frame[name])
            columns.append(Column(f"{choice} %", f"{choice} %"))
    columns += [Column("status", "status"), Column("months", "steps_run")]
    Table(
        frame,
        columns,
        "run_index",
        "ra-runs",
        on_pick=lambda value: guarded(pick_run)(sweep, value),
        picked=run.value,
        per_page=10,
    )
    chosen_run = (
        run.value
        if run.value is not None
        else (int(runs["run_index"].iloc[0]) if not runs.empty else None)
    )

    def replay() -> None:
        if chosen_run is None:
            return
        spec = sweep.replay(chosen_run)
        state.open_replay(spec)
        router.push("/")

    def put(slot: str, kind: str, value: int | None) -> None:
        if value is not None:
            slots.value = {**slots.value, slot: (kind, int(value))}
            compared.value = None

    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
        solara.Button(
            f"Replay run {chosen_run} in the model view",
            on_click=guarded(replay),
            color="primary",
            disabled=chosen_run is None,
            classes=["ra-replay-button"],
        )
        solara.Button("A ← this point", on_click=lambda: put("A", "point", chosen), outlined=True)
        solara.Button("B ← this point", on_click=lambda: put("B", "point", chosen), outlined=True)
        solara.Button(
            f"A ← run {chosen_run}", on_click=lambda: put("A", "run", chosen_run), outlined=True
        )
        solara.Button(
            f"B ← run {chosen_run}", on_click=lambda: put("B", "run", chosen_run), outlined=True
        )
    note(
        "Replay runs the model again with this run's resolved config and seed (from this "
        "folder's own copies), in the model view; its final shares are checked against the "
        "recorded ones."
    )
    trace_chart = rs.sweep_envelopes(sweep, [chosen], category.value) if sweep.has_series else None
    if trace_chart is not None:
        Chart(trace_chart)
    else:
        note("This sweep recorded no series over time; compare two runs to replay them.")


def _trace(sweep: rs.Sweep, kind: str, value: int) -> charts.Trace:
    columns = sweep.metrics or list(CHOICES)
    if kind == "point":
        runs = sweep.runs_of(value)
        ok = runs[runs["status"] == "ok"]
        label = f"point {value}: {sweep.point_labels().get(value, '')}"
        return rs.trace_of_runs(sweep, [int(i) for i in ok["run_index"]], label, columns)
    return rs.trace_of_runs(sweep, [value], f"run {value}", columns)


@solara.component
def ComparePanel(sweep: rs.Sweep) -> None:
    """Two runs or two design points over time, side by side."""
    chosen = slots.value
    if not chosen:
        return
    solara.HTML(tag="h3", unsafe_innerHTML="Comparison")
    described = "; ".join(
        f"{slot}: {kind} {value}" for slot, (kind, value) in sorted(chosen.items())
    )
    note(described + (" (pick B too)" if len(chosen) < 2 else ""))

    def compare() -> None:
        first = _trace(sweep, *chosen["A"])
        second = _trace(sweep, *chosen["B"])
        compared.value = charts.comparison_chart(first, second, category.value)

    with solara.Row():
        solara.Button(
            "Compare over time",
            on_click=guarded(compare),
            disabled=len(chosen) < 2,
            color="primary",
            classes=["ra-compare-button"],
        )
    if not sweep.has_series:
        note(
            f"No series was recorded: the runs are replayed (at most "
            f"{rs.MAX_REPLAYED_REPLICATIONS} per design point)."
        )
    if compared.value is not None:
        Chart(compared.value)


@solara.component
def SweepView(results: rs.Results) -> None:
    """A sweep (or any folder holding a sweep's tables)."""
    sweep = load_sweep(results.path)
    manifest = results.manifest
    facts = [
        f"design {manifest.get('design', '?')}",
        f"{manifest.get('n_points', len(sweep.point_labels()))} design points",
        f"{manifest.get('replications', '?')} replications",
        f"{len(sweep.runs)} of {manifest.get('n_runs', '?')} runs recorded",
        f"{int((sweep.runs.get('status', pd.Series(dtype=str)) != 'ok').sum())} failed",
        f"{manifest.get('steps', '?')} months",
        f"root seed {manifest.get('root_seed', '?')}",
        f"status {manifest.get('status', '?')}",
    ]
    note("; ".join(facts))
    SweepControls(sweep)
    PointsTable(sweep)
    SweepFigures(sweep)
    PointPanel(sweep)
    ComparePanel(sweep)


# ---------------------------------------------------------------------------- other kinds


@solara.component
def SensitivityView(results: rs.Results) -> None:
    """Sobol and Morris indices of each output, and links to the two sweeps."""
    chosen = solara.use_reactive("")
    indices = rs.sensitivity_indices(results)
    outputs = list(dict.fromkeys(indices["output"])) if "output" in indices else []
    if not outputs:
        note("No indices (every output was constant over the design).")
        return
    if chosen.value not in outputs:
        chosen.value = outputs[0]
    solara.Select("Output", values=outputs, value=chosen, classes=["ra-output"])
    Chart(charts.indices_chart(indices, chosen.value))
    part = indices[indices["output"] == chosen.value]
    columns = [Column(name, name) for name in part.columns if name != "output"]
    Table(part, columns, "parameter", "ra-indices")
    constant = results.manifest.get("constant") or []
    if constant:
        note("Constant over the design (no indices): " + ", ".join(map(str, constant)))
    for label, path in (results.manifest.get("sweeps") or {}).items():
        name = display_name(Path(str(path)))
        if name in listed_folders():
            solara.Button(
                f"Open the {label} sweep", on_click=lambda n=name: choose_folder(n), text=True
            )


@solara.component
def TippingView(results: rs.Results) -> None:
    """The tipping point with its uncertainty, and the rate at every probe."""
    data = rs.tipping_data(results)
    if data.get("crossed"):
        low, high = (data.get("uncertain_range") or [None, None])[:2]
        text = (
            f"{data.get('lever')} = {float(data['estimate']):.4g}: the {data.get('statistic')} "
            f"{data.get('metric')} share crosses {float(data['level']):g} (uncertain range "
            f"{low:.4g} to {high:.4g}, where the 95% CI of the rate covers the level)."
        )
    else:
        text = f"The rate does not cross {data.get('level')} in {data.get('search_range')}."
    solara.HTML(tag="p", unsafe_innerHTML=f"<b>{esc(text)}</b>")
    Chart(charts.tipping_chart(data))
    probes = pd.DataFrame(
        [{k: v for k, v in p.items() if k != "outcomes"} for p in data.get("probes", [])]
    )
    if not probes.empty:
        for name in ("mean", "ci_low", "ci_high"):
            if name in probes:
                probes[name] = as_percent(probes[name])
        headers = {"value": "lever value", "mean": "mean %", "ci_low": "95% CI low %"}
        headers["ci_high"] = "95% CI high %"
        columns = [Column(headers.get(c, c), c) for c in probes.columns]
        Table(probes, columns, "value", "ra-probes")


@solara.component
def DiscoveryView(results: rs.Results) -> None:
    """PRIM boxes and CART rules: where the case of interest lives, over the runs."""
    found = rs.discovery_data(results)
    data = found.data
    solara.HTML(
        tag="p",
        unsafe_innerHTML=esc(
            f"Case of interest: {data.get('case_of_interest')}: {data.get('cases_of_interest')} "
            f"of {data.get('runs')} runs."
        ),
    )
    regions = pd.DataFrame(data.get("regions") or [])
    if not regions.empty:
        regions["coverage"] = as_percent(regions["coverage"])
        regions["density"] = as_percent(regions["density"])
        regions["box"] = [
            f"{str(method).upper()} {index + 1}" for index, method in enumerate(regions["method"])
        ]
        columns = [
            Column("box", "box"),
            Column("rule", "rule"),
            Column("coverage %", "coverage"),
            Column("density %", "density"),
            Column("runs", "n_runs"),
        ]
        Table(regions, columns, "box", "ra-regions")
        note(
            "Coverage: share of all cases of interest inside the box; density: share of the "
            "box's runs that are cases of interest."
        )
    if found.inputs is not None and found.flags is not None:
        chart = charts.discovery_chart(
            found.inputs, found.flags, data.get("regions") or [], str(data.get("case_of_interest"))
        )
        Chart(chart)
    else:
        note("The sweep's runs are not where discovery found them: no plot of the runs.")


@solara.component
def RunView(results: rs.Results) -> None:
    """One run: its final and peak shares, its series, and a replay."""
    spec = rs.run_folder_replay(results)
    router = solara.use_router()

    def replay() -> None:
        state.open_replay(spec)
        router.push("/")

    solara.Button(
        "Replay this run in the model view",
        on_click=guarded(replay),
        color="primary",
        classes=["ra-replay-button"],
    )
    if results.has("timeseries.csv"):
        series = rs.read_csv(results.path / "timeseries.csv", results.path)
        columns = {c: series[c].tolist() for c in series.columns if c != "step"}
        if "comply" in columns:
            chart = charts.rates_chart(columns, charts.GROUPS, len(series) - 1)
            chart.title = f"Shares over time: {results.name}"
            Chart(chart)
    rows = [
        {"share": metric, "final %": round(value * 100.0, 2)}
        for metric, value in spec.recorded.items()
    ]
    if rows:
        columns = [Column("share", "share"), Column("final %", "final %")]
        Table(pd.DataFrame(rows), columns, "share", "ra-run-shares", per_page=25)


@solara.component
def ManifestView(results: rs.Results) -> None:
    """A kind this explorer does not know: its manifest as it is."""
    note(f"The explorer has no view for '{results.kind}' folders; their manifest says:")
    rows = pd.DataFrame(results.manifest_rows(), columns=["key", "value"])
    Table(rows, [Column("key", "key"), Column("value", "value")], "key", "ra-manifest", per_page=25)


VIEWS = {
    "sweep": SweepView,
    "sensitivity": SensitivityView,
    "tipping": TippingView,
    "discovery": DiscoveryView,
    "run": RunView,
}


@solara.component
def FolderView(name: str) -> None:
    """The chosen folder, by its kind; an unreadable folder gives one line."""
    path = listed_folders().get(name)
    if path is None:
        solara.Error("This folder is no longer listed.")
        return
    try:
        results = load(path)
    except ReluctantArmyError as error:
        solara.Error(str(error))
        return
    solara.HTML(tag="h2", unsafe_innerHTML=esc(results.title), classes=["ra-folder-title"])
    if results.description:
        solara.HTML(
            tag="div", unsafe_innerHTML=esc(results.description), classes=["ra-description"]
        )
    view = VIEWS.get(results.kind)
    if view is None:
        ManifestView(results)
        if results.holds_sweep:
            SweepView(results)
        return
    view(results)


@solara.component
def ErrorBoundary(name: str) -> None:
    """The folder view; if reading it fails, one line instead of a traceback."""
    failure, clear = solara.use_exception()
    if failure is not None:
        text = (
            str(failure)
            if isinstance(failure, ReluctantArmyError)
            else (
                f"this folder could not be shown ({type(failure).__name__}); the details are in "
                "the server's log"
            )
        )
        solara.Error(text)
        solara.Button("Try again", on_click=clear, text=True)
        return
    FolderView(name)


@solara.component
def ExplorerPage() -> None:
    """The explorer: a list of results folders, and the chosen one."""
    solara.Style(CSS)
    solara.Title("Reluctant Army: experiment explorer")
    listed = listed_folders()
    names = list(listed)
    if folder.value is None and names:
        folder.value = names[0]
    with solara.Column(classes=["ra-explorer"], style={"padding": "0 16px"}):
        roots = ", ".join(display_name(root) for root in results_roots())
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "12px"}):
            if names:
                with solara.Column(style={"flex": "1 1 420px", "max-width": "640px"}):
                    solara.Select(
                        "Results folder",
                        values=names,
                        value=folder.value if folder.value in listed else None,
                        on_value=choose_folder,
                        classes=["ra-folder"],
                    )
            note(f"{len(names)} results folder(s) found under {roots}.")
        if message.value:
            solara.Error(message.value)
        if state.error.value:
            solara.Error(state.error.value, classes=["ra-error"])
        if not names:
            solara.Info(
                "No results folder found. Run a sweep (reluctant-army sweep ...) or give "
                "folders: reluctant-army explore DIR ..."
            )
            return
        if folder.value in listed:
            ErrorBoundary(folder.value)
