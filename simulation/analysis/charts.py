"""Figures as data: each chart described once, drawn by the explorer and by the report.

The explorer draws these descriptions in the browser (ECharts, interactive: hover, zoom,
click a point to open it, see :mod:`simulation.viz.echarts`); the static report draws the
very same descriptions with matplotlib (:func:`png`). So the two always show the same
figures, from the same numbers, with the same colours and the same interval bands.

Four kinds cover every figure of the project: :class:`LineChart` (small multiples of lines
with interval bands and markers: outcome against a parameter, time series, envelopes,
comparisons, the browser view's rates), :class:`Heatmap` (two parameters),
:class:`BarChart` (scenarios, Sobol and Morris indices) and :class:`ScatterChart` (runs of
a sampled design, PRIM boxes and CART rules). Builders here take tables (pandas) and return
descriptions; nothing here reads files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS, RANKS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

Number = float | None
"""A value of a chart; None where there is none (drawn as a gap, never as 0)."""

CI_CAPTION = (
    "line: mean over replications; band: 95% percentile bootstrap interval of the mean (runs "
    "with no one of the group serving left out)"
)
DARK = "#333333"
BAND_OPACITY = 0.18
PALETTE: tuple[str, ...] = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3")
"""Colours of series that are not choices (indices, runs A and B, probes)."""


def number(value: Any) -> Number:
    """A float for a chart, or None for a missing value (NaN, None, inf)."""
    if value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def numbers(values: Sequence[Any]) -> list[Number]:
    """:func:`number` of each value."""
    return [number(value) for value in values]


def tick(value: Any) -> str:
    """A parameter value as an axis label: 3 significant digits for numbers, text as is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.3g}"


def short_name(parameter: str) -> str:
    """`population.group_shares.dissenting` -> `group_shares.dissenting` (the last two parts)."""
    return ".".join(parameter.split(".")[-2:])


# ---------------------------------------------------------------------------- descriptions


@dataclass
class Series:
    """One line (or set of bars) with an optional interval, one value per x position."""

    name: str
    colour: str
    values: list[Number]
    low: list[Number] | None = None
    high: list[Number] | None = None
    dashed: bool = False
    ids: list[int | None] | None = None
    """What each position stands for (a design point, a run), for clicks; None: nothing."""


@dataclass
class Marker:
    """A vertical line at `x` (e.g. the month a driver changes), labelled."""

    x: float
    label: str


@dataclass
class Level:
    """A horizontal line at `y` (e.g. the level a tipping-point search aims at)."""

    y: float
    label: str


@dataclass
class Panel:
    """One panel of a line chart: x positions and the series drawn over them."""

    title: str
    x: list[float]
    series: list[Series]
    markers: list[Marker] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    x_labels: list[str] | None = None
    """Labels of categorical x positions 0, 1, ... (text-valued parameters)."""


@dataclass
class LineChart:
    """Small multiples of lines with interval bands (panels share both axes)."""

    key: str
    title: str
    x_label: str
    y_label: str
    panels: list[Panel]
    percent: bool = True
    x_max: float | None = None
    """Right end of the x axis (e.g. a run's horizon while it is still running)."""
    caption: str = ""
    full_scale: bool = True
    """Shares on the whole 0-100% scale; False: the axis fits the values."""
    points: bool = False
    """Mark each value (design points, probes); series over time are plain lines."""
    kind: str = "line"


@dataclass
class HeatPanel:
    """One heatmap: values[row][column], row = a y value, column = an x value."""

    title: str
    values: list[list[Number]]
    ids: list[list[int | None]] | None = None


@dataclass
class Heatmap:
    """Heatmaps over two parameters, one panel per outcome, one shared colour scale."""

    key: str
    title: str
    x_label: str
    y_label: str
    x_values: list[str]
    y_values: list[str]
    panels: list[HeatPanel]
    percent: bool = True
    caption: str = ""
    kind: str = "heatmap"


@dataclass
class BarPanel:
    """One panel of bars: one bar per category and series, with an optional interval."""

    title: str
    series: list[Series]


@dataclass
class BarChart:
    """Bars by category (scenarios, parameters), horizontal so that long names read."""

    key: str
    title: str
    categories: list[str]
    panels: list[BarPanel]
    value_label: str
    percent: bool = True
    ids: list[int | None] | None = None
    caption: str = ""
    kind: str = "bar"


@dataclass
class Points:
    """A set of points (one colour) of a scatter panel."""

    name: str
    colour: str
    x: list[Number]
    y: list[Number]
    ids: list[int] | None = None


@dataclass
class Box:
    """A rectangle over a scatter panel (a PRIM box, a CART leaf); None: unbounded."""

    label: str
    colour: str
    x: tuple[Number, Number]
    y: tuple[Number, Number]


@dataclass
class ScatterPanel:
    """One scatter panel: its x parameter, points and boxes."""

    title: str
    x_label: str
    points: list[Points]
    boxes: list[Box] = field(default_factory=list)
    y_label: str | None = None
    """The panel's own y label when panels differ (discovery); else the chart's."""


@dataclass
class ScatterChart:
    """Points of runs against parameters (panels share the y axis unless they name one)."""

    key: str
    title: str
    y_label: str
    panels: list[ScatterPanel]
    percent: bool = True
    caption: str = ""
    kind: str = "scatter"


Chart = LineChart | Heatmap | BarChart | ScatterChart


# ---------------------------------------------------------------------------- sweeps


def category_label(category: str) -> str:
    """How a category is titled: 'overall' -> 'all officers'."""
    return "all officers" if category == "overall" else category


def ordered_categories(present: Sequence[str]) -> list[str]:
    """Categories in the vocabulary's order (overall, groups, ranks), then any others."""
    known = ["overall", *GROUPS, *RANKS]
    return [c for c in known if c in present] + sorted(set(present) - set(known))


def measure_label(measure: str) -> str:
    """'final' -> 'final share', 'peak' -> 'peak share', 'at_order_plus_12' -> 'share 12
    months after the order', other measures as they are."""
    if measure in ("final", "peak"):
        return f"{measure} share"
    lag = measure.removeprefix("at_order_plus_")
    if lag != measure and lag.isdigit():
        return f"share {int(lag)} month{'' if int(lag) == 1 else 's'} after the order"
    return measure


def _summary_part(summary: pd.DataFrame, measure: str, category: str) -> pd.DataFrame:
    return summary[(summary["measure"] == measure) & (summary["category"] == category)]


def _choices_in(part: pd.DataFrame) -> list[str]:
    present = set(part["choice"])
    return [c for c in CHOICES if c in present] + sorted(present - set(CHOICES))


def _colour(choice: str, index: int) -> str:
    return CHOICE_COLOURS.get(choice, PALETTE[index % len(PALETTE)])


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def parameter_chart(
    summary: pd.DataFrame,
    parameter: str,
    measure: str,
    categories: Sequence[str],
    title: str = "",
) -> LineChart:
    """Mean outcome against one swept parameter with its 95% CI band, a panel per category.

    `summary` holds the design points of one scenario (summary.csv rows). Where other
    parameters vary too, each x value pools its design points (the mean of their means).
    """
    panels = []
    for category in categories:
        part = _summary_part(summary, measure, category)
        if part.empty:
            continue
        values = list(dict.fromkeys(part.sort_values(parameter)[parameter]))
        numeric = _numeric(values)
        series = []
        for index, choice in enumerate(_choices_in(part)):
            rows = part[part["choice"] == choice]
            grouped = rows.groupby(parameter, sort=True)
            means = grouped["mean"].mean()
            lows = grouped["ci_low"].mean()
            highs = grouped["ci_high"].mean()
            points = grouped["point"].first()
            single = grouped.size().max() == 1
            series.append(
                Series(
                    choice,
                    _colour(choice, index),
                    numbers([means.get(v) for v in values]),
                    numbers([lows.get(v) for v in values]),
                    numbers([highs.get(v) for v in values]),
                    ids=[int(points[v]) if single else None for v in values],
                )
            )
        x = [float(v) for v in values] if numeric else list(map(float, range(len(values))))
        labels = None if numeric else [tick(v) for v in values]
        panels.append(Panel(category_label(category), x, series, x_labels=labels))
    return LineChart(
        key="parameter",
        title=title or f"{measure_label(measure)} against {short_name(parameter)}",
        x_label=parameter,
        y_label=measure_label(measure),
        panels=panels,
        caption=CI_CAPTION,
        points=True,
    )


def heatmap_chart(
    summary: pd.DataFrame, x: str, y: str, measure: str, category: str, title: str = ""
) -> Heatmap:
    """Mean outcome over two parameters: one heatmap per choice (one scenario's points)."""
    part = _summary_part(summary, measure, category)
    x_values = list(dict.fromkeys(part.sort_values(x)[x]))
    y_values = list(dict.fromkeys(part.sort_values(y)[y]))
    panels = []
    for choice in _choices_in(part):
        rows = part[part["choice"] == choice]
        table = rows.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
        table = table.reindex(index=y_values, columns=x_values)
        point_ids = rows.pivot_table(index=y, columns=x, values="point", aggfunc="first")
        point_ids = point_ids.reindex(index=y_values, columns=x_values)
        panels.append(
            HeatPanel(
                f"{measure} {choice}",
                [numbers(row) for row in table.to_numpy(dtype=float)],
                [[None if math.isnan(v) else int(v) for v in row] for row in point_ids.to_numpy()],
            )
        )
    return Heatmap(
        key="heatmap",
        title=title or f"{measure_label(measure)}, {category_label(category)}",
        x_label=x,
        y_label=y,
        x_values=[tick(v) for v in x_values],
        y_values=[tick(v) for v in y_values],
        panels=panels,
        caption="colour and number: mean over replications at each design point",
    )


def scenario_chart(
    summary: pd.DataFrame,
    labels: dict[int, str],
    measure: str,
    categories: Sequence[str],
    title: str = "",
) -> BarChart:
    """Mean outcome of each design point (named scenarios) with 95% CI whiskers, a panel
    per category; `labels` names each point, in the order shown."""
    points = list(labels)
    panels = []
    for category in categories:
        part = _summary_part(summary, measure, category)
        if part.empty:
            continue
        series = []
        for index, choice in enumerate(_choices_in(part)):
            rows = part[part["choice"] == choice].set_index("point").reindex(points)
            series.append(
                Series(
                    choice,
                    _colour(choice, index),
                    numbers(rows["mean"]),
                    numbers(rows["ci_low"]),
                    numbers(rows["ci_high"]),
                    ids=list(points),
                )
            )
        panels.append(BarPanel(category_label(category), series))
    return BarChart(
        key="scenarios",
        title=title or f"{measure_label(measure)} by scenario",
        categories=[labels[p] for p in points],
        panels=panels,
        value_label=measure_label(measure),
        ids=list(points),
        caption="bar: mean over replications; whisker: 95% percentile bootstrap interval of "
        "the mean (runs with no one of the group serving left out)",
    )


def runs_scatter_chart(
    runs: pd.DataFrame, parameters: Sequence[str], measure: str, category: str, title: str = ""
) -> ScatterChart:
    """Every finished run's outcome against each parameter of a sampled design."""
    ok = runs[runs["status"] == "ok"]
    prefix = "" if category == "overall" else f"{category}_"
    choices = [c for c in CHOICES if f"{measure}_{prefix}{c}" in ok.columns]
    panels = []
    for parameter in parameters:
        values = list(ok[parameter])
        if _numeric(values):
            x = numbers(values)
        else:
            order = {v: i for i, v in enumerate(dict.fromkeys(map(str, values)))}
            x = [float(order[str(v)]) for v in values]
        points = [
            Points(
                choice,
                CHOICE_COLOURS[choice],
                x,
                numbers(ok[f"{measure}_{prefix}{choice}"]),
                [int(i) for i in ok["run_index"]],
            )
            for choice in choices
        ]
        panels.append(ScatterPanel(short_name(parameter), parameter, points))
    return ScatterChart(
        key="runs",
        title=title or f"{measure_label(measure)} of every run, {category_label(category)}",
        y_label=measure_label(measure),
        panels=panels,
        caption="one point per run",
    )


# ---------------------------------------------------------------------------- over time


@dataclass
class Trace:
    """Shares over time of one run, or of a set of runs (a design point) as an envelope."""

    label: str
    steps: list[float]
    middle: dict[str, list[Number]]
    """Column -> value by step: the run's values, or the median over runs."""
    low: dict[str, list[Number]] | None = None
    high: dict[str, list[Number]] | None = None
    runs: int = 1


ENVELOPE_QUANTILES = (0.05, 0.5, 0.95)
ENVELOPE_CAPTION = (
    "line: median over replications; band: 5th-95th percentile of the replications "
    "(a single run: its own line)"
)


def envelope(series: pd.DataFrame, columns: Sequence[str], label: str) -> Trace:
    """Median and 5-95% band over the runs in `series` (rows run_index, step, columns)."""
    if series["run_index"].nunique() <= 1:
        ordered = series.sort_values("step")
        return Trace(
            label,
            [float(s) for s in ordered["step"]],
            {c: numbers(ordered[c]) for c in columns if c in ordered},
        )
    grouped = series.groupby("step", sort=True)
    low_q, mid_q, high_q = ENVELOPE_QUANTILES
    present = [c for c in columns if c in series]
    return Trace(
        label,
        [float(s) for s in grouped.size().index],
        {c: numbers(grouped[c].quantile(mid_q)) for c in present},
        {c: numbers(grouped[c].quantile(low_q)) for c in present},
        {c: numbers(grouped[c].quantile(high_q)) for c in present},
        runs=int(series["run_index"].nunique()),
    )


def _trace_series(trace: Trace, prefix: str, name: str | None = None, dashed: bool = False):
    series = []
    for index, choice in enumerate(CHOICES):
        column = f"{prefix}{choice}"
        if column not in trace.middle:
            continue
        series.append(
            Series(
                name or choice,
                _colour(choice, index),
                trace.middle[column],
                trace.low.get(column) if trace.low else None,
                trace.high.get(column) if trace.high else None,
                dashed=dashed,
            )
        )
    return series


def envelope_chart(traces: Sequence[Trace], category: str, title: str = "") -> LineChart:
    """Shares over time of several design points (one panel each): median and band."""
    prefix = "" if category == "overall" else f"{category}_"
    panels = [
        Panel(f"{trace.label} ({trace.runs} run{'s' * (trace.runs != 1)})", trace.steps, series)
        for trace in traces
        if (series := _trace_series(trace, prefix))
    ]
    return LineChart(
        key="envelope",
        title=title or f"shares over time, {category_label(category)}",
        x_label="step (month)",
        y_label="share of officers",
        panels=panels,
        caption=ENVELOPE_CAPTION,
    )


def comparison_chart(first: Trace, second: Trace, category: str) -> LineChart:
    """Two runs or two design points over time, a panel per choice: A solid, B dashed."""
    prefix = "" if category == "overall" else f"{category}_"
    panels = []
    for choice in CHOICES:
        column = f"{prefix}{choice}"
        series = []
        for index, (trace, dashed) in enumerate(((first, False), (second, True))):
            if column not in trace.middle:
                continue
            values = dict(zip(trace.steps, trace.middle[column], strict=True))
            low = dict(zip(trace.steps, trace.low[column], strict=True)) if trace.low else None
            high = dict(zip(trace.steps, trace.high[column], strict=True)) if trace.high else None
            series.append((index, trace, dashed, values, low, high))
        if not series:
            continue
        steps = sorted({s for _, trace, *_ in series for s in trace.steps})
        panel_series = [
            Series(
                f"{'AB'[index]}: {trace.label}",
                PALETTE[index],
                [values.get(s) for s in steps],
                [low.get(s) for s in steps] if low else None,
                [high.get(s) for s in steps] if high else None,
                dashed=dashed,
            )
            for index, trace, dashed, values, low, high in series
        ]
        panels.append(Panel(f"{category_label(category)}: {choice}", steps, panel_series))
    return LineChart(
        key="comparison",
        title=f"A: {first.label}  vs  B: {second.label}",
        x_label="step (month)",
        y_label="share of officers",
        panels=panels,
        caption="A solid, B dashed; " + ENVELOPE_CAPTION,
    )


def rates_chart(
    columns: dict[str, Sequence[float]],
    categories: Sequence[str],
    horizon: int,
    markers: Sequence[Marker] = (),
    title: str = "",
) -> LineChart:
    """Shares of each choice by step so far (a run under way): overall and per category."""
    steps = list(map(float, range(len(columns[CHOICES[0]]))))
    panels = []
    for category in ("overall", *categories):
        prefix = "" if category == "overall" else f"{category}_"
        series = [
            Series(choice, CHOICE_COLOURS[choice], numbers(columns[f"{prefix}{choice}"]))
            for choice in CHOICES
            if f"{prefix}{choice}" in columns
        ]
        panels.append(Panel(category_label(category), steps, series, list(markers)))
    return LineChart(
        key="rates",
        title=title,
        x_label="step (month)",
        y_label="share of officers",
        panels=panels,
        x_max=float(horizon),
    )


# ---------------------------------------------------------------------------- analyses


def indices_chart(indices: pd.DataFrame, output: str) -> BarChart:
    """Sobol S1 and ST (95% CI) and Morris mu* of one output, by parameter."""
    rows = indices[indices["output"] == output]
    sort_by = "ST" if "ST" in rows and rows["ST"].notna().any() else "mu_star"
    if sort_by in rows:
        rows = rows.sort_values(sort_by, ascending=False)
    parameters = list(rows["parameter"])
    panels = []
    sobol = [
        Series(
            name,
            PALETTE[index],
            numbers(rows[name]),
            numbers(rows[name] - rows[f"{name}_conf"]),
            numbers(rows[name] + rows[f"{name}_conf"]),
        )
        for index, name in enumerate(("S1", "ST"))
        if name in rows and rows[name].notna().any()
    ]
    if sobol:
        panels.append(BarPanel("Sobol indices (S1 first order, ST total)", sobol))
    if "mu_star" in rows and rows["mu_star"].notna().any():
        conf = rows.get("mu_star_conf", 0.0)
        panels.append(
            BarPanel(
                "Morris mu* (mean absolute elementary effect)",
                [
                    Series(
                        "mu*",
                        PALETTE[2],
                        numbers(rows["mu_star"]),
                        numbers(rows["mu_star"] - conf),
                        numbers(rows["mu_star"] + conf),
                    )
                ],
            )
        )
    return BarChart(
        key="indices",
        title=f"sensitivity of {output}",
        categories=[short_name(p) for p in parameters],
        panels=panels,
        value_label="index",
        percent=False,
        caption="bar: estimate; whisker: 95% confidence interval (SALib)",
    )


def tipping_chart(data: dict[str, Any]) -> LineChart:
    """The rate at every probe of a tipping-point search (mean, 95% CI), the level, and
    the tipping point with its uncertain range."""
    probes = sorted(data.get("probes", []), key=lambda p: p["value"])
    markers = []
    if data.get("crossed") and data.get("estimate") is not None:
        markers.append(Marker(float(data["estimate"]), f"tipping point {data['estimate']:.3g}"))
        for bound in data.get("uncertain_range") or []:
            markers.append(Marker(float(bound), "uncertain range"))
    metric = str(data.get("metric", ""))
    panel = Panel(
        f"{data.get('statistic', 'final')} {metric}",
        [float(p["value"]) for p in probes],
        [
            Series(
                f"{data.get('statistic', 'final')} {metric}",
                CHOICE_COLOURS.get(metric.rsplit("_", 1)[-1], PALETTE[0]),
                numbers([p.get("mean") for p in probes]),
                numbers([p.get("ci_low") for p in probes]),
                numbers([p.get("ci_high") for p in probes]),
            )
        ],
        markers,
        [Level(float(data["level"]), f"level {data['level']:g}")] if "level" in data else [],
    )
    return LineChart(
        key="tipping",
        title=f"{metric} against {data.get('lever', '')}",
        x_label=str(data.get("lever", "")),
        y_label="share of officers",
        panels=[panel],
        caption="points: probes (mean over replications, 95% bootstrap interval band); "
        "dotted: the level, the tipping point and its uncertain range",
        full_scale=False,
        points=True,
    )


def discovery_chart(
    inputs: pd.DataFrame, flags: Sequence[bool], regions: Sequence[dict[str, Any]], case: str
) -> ScatterChart:
    """Runs over the two parameters the regions restrict most, cases of interest
    highlighted, with each PRIM box and CART rule drawn as a rectangle."""
    counts: dict[str, int] = {}
    for region in regions:
        for name in region.get("limits", {}):
            if name in inputs.columns:
                counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts, key=lambda name: -counts[name])
    ranked += [c for c in inputs.columns if c not in ranked]
    x_name, y_name = (ranked + ranked)[:2] if ranked else ("", "")
    if not x_name:
        return ScatterChart("discovery", case, "", [], percent=False)
    flags = list(flags)
    ids = [int(i) for i in inputs.index]
    groups = [("case of interest", True, CHOICE_COLOURS["refuse"]), ("other", False, "#9E9E9E")]
    points = [
        Points(
            f"{name} ({sum(f == flag for f in flags)})",
            colour,
            numbers([v for v, f in zip(inputs[x_name], flags, strict=True) if f == flag]),
            numbers([v for v, f in zip(inputs[y_name], flags, strict=True) if f == flag]),
            [i for i, f in zip(ids, flags, strict=True) if f == flag],
        )
        for name, flag, colour in groups
    ]
    boxes = []
    for index, region in enumerate(regions):
        limits = region.get("limits", {})
        x_range = tuple(numbers(limits.get(x_name, (None, None))))
        y_range = tuple(numbers(limits.get(y_name, (None, None))))
        label = f"{str(region.get('method', '')).upper()} {index + 1}"
        boxes.append(Box(label, PALETTE[(index + 2) % len(PALETTE)], x_range, y_range))
    panel = ScatterPanel(short_name(x_name), x_name, points, boxes, y_label=y_name)
    return ScatterChart(
        key="discovery",
        title=f"runs where {case}",
        y_label=y_name,
        panels=[panel],
        percent=False,
        caption="points: runs; rectangles: PRIM boxes and CART rules (unbounded sides reach "
        "the edge)",
    )


# ---------------------------------------------------------------------------- matplotlib


def _percent_axis(axis: Any, which: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    target = axis.yaxis if which == "y" else axis.xaxis
    target.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _array(values: Sequence[Number]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _grid_shape(count: int, most: int = 4) -> tuple[int, int]:
    columns = min(count, most)
    return max(1, math.ceil(count / columns)), max(1, columns)


def _draw_lines(chart: LineChart) -> Figure:
    from matplotlib.figure import Figure

    rows, columns = _grid_shape(len(chart.panels))
    figure = Figure(figsize=(3.6 * columns + 0.6, 2.9 * rows + 0.9))
    axes = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    for index, panel in enumerate(chart.panels):
        axis = axes[index // columns][index % columns]
        for series in panel.series:
            axis.plot(
                panel.x,
                _array(series.values),
                color=series.colour,
                linestyle="--" if series.dashed else "-",
                marker="o" if chart.points else None,
                markersize=3,
                label=series.name,
            )
            if series.low is not None and series.high is not None:
                axis.fill_between(
                    panel.x,
                    _array(series.low),
                    _array(series.high),
                    color=series.colour,
                    alpha=BAND_OPACITY,
                    linewidth=0,
                )
        for marker in panel.markers:
            axis.axvline(marker.x, color=DARK, linestyle=":", linewidth=1)
            axis.annotate(
                marker.label,
                (marker.x, 1.0),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=7,
                va="top",
                ha="right",
                color=DARK,
            )
        for level in panel.levels:
            axis.axhline(level.y, color="grey", linestyle="--", linewidth=1)
        if panel.x_labels is not None:
            axis.set_xticks(range(len(panel.x_labels)), panel.x_labels, rotation=30)
        axis.set_title(panel.title, fontsize=9)
        axis.grid(alpha=0.3)
        if chart.percent:
            if chart.full_scale:
                axis.set_ylim(-0.02, 1.02)
            _percent_axis(axis)
        if chart.x_max is not None:
            axis.set_xlim(0, chart.x_max)
    for index in range(len(chart.panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel(chart.x_label, fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel(chart.y_label, fontsize=8)
    _legend(figure, [s for panel in chart.panels for s in panel.series])
    return figure


def _legend(figure: Figure, series: Sequence[Series | Points]) -> None:
    from matplotlib.lines import Line2D

    seen: dict[str, Line2D] = {}
    for item in series:
        if item.name not in seen:
            style = "--" if getattr(item, "dashed", False) else "-"
            seen[item.name] = Line2D([], [], color=item.colour, linestyle=style, linewidth=2)
    if seen:
        figure.legend(
            list(seen.values()),
            list(seen),
            loc="upper right",
            ncol=min(len(seen), 4),
            fontsize=8,
            frameon=False,
        )


def _draw_heatmap(chart: Heatmap) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    count = len(chart.panels)
    figure = Figure(figsize=(4.4 * count + 0.8, 4.0))
    axes = figure.subplots(1, count, squeeze=False)[0]
    image = None
    for axis, panel in zip(axes, chart.panels, strict=True):
        values = np.array([_array(row) for row in panel.values], dtype=float)
        image = axis.imshow(values, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        axis.set_xticks(range(len(chart.x_values)), chart.x_values, fontsize=7)
        axis.set_yticks(range(len(chart.y_values)), chart.y_values, fontsize=7)
        axis.set_xlabel(short_name(chart.x_label), fontsize=8)
        axis.set_ylabel(short_name(chart.y_label), fontsize=8)
        axis.set_title(panel.title, fontsize=9)
        for (row, column), value in np.ndenumerate(values):
            if not math.isnan(value):
                axis.text(
                    column,
                    row,
                    f"{value:.0%}" if chart.percent else f"{value:.2g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < 0.5 else "black",
                )
    if image is not None:
        figure.colorbar(image, ax=list(axes), fraction=0.03, format="{x:.0%}")
    return figure


def _draw_bars(chart: BarChart) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    count = len(chart.panels)
    height = max(2.2, 0.36 * len(chart.categories) * max(1, len(chart.panels[0].series)) / 2 + 1)
    rows, columns = _grid_shape(count, 2)
    figure = Figure(figsize=(4.6 * columns + 2.2, height * rows + 0.8))
    axes = figure.subplots(rows, columns, sharey=True, squeeze=False)
    positions = np.arange(len(chart.categories))
    for index, panel in enumerate(chart.panels):
        axis = axes[index // columns][index % columns]
        thickness = 0.8 / max(1, len(panel.series))
        for offset, series in enumerate(panel.series):
            values = np.array(_array(series.values), dtype=float)
            errors = None
            if series.low is not None and series.high is not None:
                low = np.array(_array(series.low), dtype=float)
                high = np.array(_array(series.high), dtype=float)
                errors = np.nan_to_num(np.vstack([values - low, high - values]))
            axis.barh(
                positions + (offset - (len(panel.series) - 1) / 2) * thickness,
                np.nan_to_num(values),
                thickness,
                xerr=errors,
                capsize=1.5,
                error_kw={"elinewidth": 0.8},
                color=series.colour,
                label=series.name,
            )
        axis.set_yticks(positions, chart.categories, fontsize=8)
        axis.set_title(panel.title, fontsize=9)
        axis.grid(alpha=0.3, axis="x")
        axis.set_xlabel(chart.value_label, fontsize=8)
        if chart.percent:
            axis.set_xlim(0, 1.02)
            _percent_axis(axis, "x")
    axes[0][0].invert_yaxis()
    for index in range(count, rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    _legend(figure, [s for panel in chart.panels for s in panel.series])
    return figure


def _draw_scatter(chart: ScatterChart) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    rows, columns = _grid_shape(len(chart.panels))
    shared = all(panel.y_label is None for panel in chart.panels)
    figure = Figure(figsize=(3.6 * columns + 0.8, 3.3 * rows + 0.8))
    axes = figure.subplots(rows, columns, sharey=shared, squeeze=False)
    for index, panel in enumerate(chart.panels):
        axis = axes[index // columns][index % columns]
        for points in panel.points:
            axis.scatter(
                _array(points.x),
                _array(points.y),
                s=7,
                alpha=0.6,
                color=points.colour,
                label=points.name,
            )
        x_low, x_high = axis.get_xlim()
        y_low, y_high = axis.get_ylim()
        for box in panel.boxes:
            left = box.x[0] if box.x[0] is not None else x_low
            right = box.x[1] if box.x[1] is not None else x_high
            bottom = box.y[0] if box.y[0] is not None else y_low
            top = box.y[1] if box.y[1] is not None else y_high
            axis.add_patch(
                Rectangle(
                    (left, bottom),
                    right - left,
                    top - bottom,
                    fill=False,
                    edgecolor=box.colour,
                    linewidth=1.6,
                    label=box.label,
                )
            )
        axis.set_xlim(x_low, x_high)
        axis.set_ylim(y_low, y_high)
        axis.set_xlabel(panel.x_label, fontsize=8)
        axis.set_ylabel(panel.y_label or chart.y_label, fontsize=8)
        axis.set_title(panel.title, fontsize=9)
        axis.grid(alpha=0.3)
        if chart.percent:
            _percent_axis(axis)
        if panel.boxes:
            axis.legend(fontsize=6, loc="best")
    for index in range(len(chart.panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    _legend(figure, [p for panel in chart.panels for p in panel.points])
    return figure


def draw(chart: Chart) -> Figure:
    """The chart as a matplotlib Figure (no pyplot: nothing is kept in a global registry)."""
    drawers = {"line": _draw_lines, "heatmap": _draw_heatmap, "bar": _draw_bars}
    figure = drawers.get(chart.kind, _draw_scatter)(chart)
    figure.suptitle(chart.title, x=0.02, ha="left", fontsize=11)
    if chart.caption:
        figure.text(0.5, 0.005, chart.caption, ha="center", va="bottom", fontsize=7, color="0.3")
    figure.tight_layout(rect=(0, 0.03, 1, 0.93))
    return figure


def png(chart: Chart, dpi: int = 100) -> bytes:
    """The chart drawn by matplotlib, as PNG bytes (for the self-contained report)."""
    buffer = io.BytesIO()
    draw(chart).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
