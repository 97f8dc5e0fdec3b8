"""Chart descriptions as ECharts options: what the browser draws, and where a click lands.

ECharts (Apache) ships with ``solara-assets`` and is served by the Solara server itself, so
the charts work offline; Solara's ``FigureEcharts`` passes clicks back to Python. The
chart descriptions come from :mod:`simulation.analysis.charts`, which the report draws with
matplotlib: one description, two renderers, the same figure.

Options are plain JSON data (no JavaScript functions can travel over the widget channel):
percentages are sent as numbers from 0 to 100 with a ``{value}%`` axis label; interval
bands, and the whiskers of bars (at each bar's own position), are drawn by our template
(``echarts.vue``, see :mod:`simulation.viz.figure`) from plain data.

:func:`officers_option` and :func:`units_option` draw the browser view's officers (a
scatter, units as blocks) and units with their cross-unit ties (a graph).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.analysis.charts import (
    BAND_OPACITY,
    DARK,
    BarChart,
    Chart,
    Heatmap,
    LineChart,
    Number,
    ScatterChart,
    Series,
    short_name,
)

PANEL_HEIGHT = 210
"""Height of one panel row (pixels)."""
TOP = 58
"""Room above the panels for the title and the legend (pixels)."""
BOTTOM = 46
FONT = {"fontSize": 11}
TOOLTIP = {"confine": True, "renderMode": "richText"}
"""Tooltips drawn as text, not HTML: names from a results folder can never become markup."""
VIRIDIS = ["#440154", "#3B528B", "#21918C", "#5EC962", "#FDE725"]


@dataclass
class Figure:
    """An ECharts option and the height (pixels) its container needs."""

    option: dict[str, Any]
    height: int


def _scaled(values: Sequence[Number], percent: bool) -> list[Number]:
    """Values as sent: percentages 0-100 rounded to 0.01, other numbers to 4 significant."""
    if percent:
        return [None if v is None else round(v * 100.0, 2) for v in values]
    return [None if v is None else float(f"{v:.4g}") for v in values]


def _layout(count: int, most: int = 4) -> tuple[int, int]:
    columns = max(1, min(count, most))
    return max(1, math.ceil(count / columns)), columns


def _grids(count: int, most: int = 4, left: float = 7.0, height: int = PANEL_HEIGHT, gap: int = 52):
    """Grid rectangles of `count` panels laid out in rows (left/width in %, top in px);
    `gap` pixels of each row are left for the axis labels and the next row's title."""
    rows, columns = _layout(count, most)
    width = (97.0 - left) / columns
    grids = []
    for index in range(count):
        row, column = divmod(index, columns)
        grids.append(
            {
                "left": f"{left + column * width + 1.5:.2f}%",
                "width": f"{width - 4.0:.2f}%",
                "top": TOP + row * height + 18,
                "height": height - gap,
                "containLabel": False,
            }
        )
    return grids, rows, columns


def _title(chart: Chart) -> dict[str, Any]:
    return {"text": chart.title, "left": 8, "top": 4, "textStyle": {"fontSize": 14}}


def _legend(names: Sequence[str]) -> dict[str, Any]:
    return {"data": list(dict.fromkeys(names)), "top": 28, "left": "center", "textStyle": FONT}


def _panel_title(text: str, grid: dict[str, Any]) -> dict[str, Any]:
    """A panel's title, centred above its grid."""
    left, width = float(grid["left"][:-1]), float(grid["width"][:-1])
    return {
        "text": text,
        "left": f"{left + width / 2:.2f}%",
        "textAlign": "center",
        "top": grid["top"] - 20,
        "textStyle": {"fontSize": 12, "fontWeight": "normal"},
    }


def _value_axis(
    percent: bool, index: int, name: str = "", full: bool = True, **extra: Any
) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "type": "value",
        "gridIndex": index,
        "axisLabel": {"formatter": "{value}%" if percent else "{value}", **FONT},
        "splitLine": {"lineStyle": {"color": "#E6E6E6"}},
        "name": name,
        "nameLocation": "middle",
        "nameGap": 36,
        "nameTextStyle": FONT,
    }
    if percent and full:
        axis.update(min=0, max=100)
    elif not full:
        axis["scale"] = True
    axis.update(extra)
    return axis


def _band(series: Series, index: int, x: Sequence[float], percent: bool) -> dict[str, Any]:
    """The interval of `series` as a filled band (drawn by our template: data x, low, high)."""
    low = _scaled(series.low or [], percent)
    high = _scaled(series.high or [], percent)
    return {
        "type": "custom",
        "band": {"color": series.colour, "opacity": BAND_OPACITY},
        "name": series.name,
        "xAxisIndex": index,
        "yAxisIndex": index,
        "data": [[xi, lo, hi] for xi, lo, hi in zip(x, low, high, strict=True)],
        "silent": True,
        "tooltip": {"show": False},
        "z": 1,
    }


def line_option(chart: LineChart, most: int = 4) -> Figure:
    """Small multiples of lines with interval bands, markers and levels."""
    grids, rows, _ = _grids(len(chart.panels), most)
    titles = [_title(chart)]
    x_axes, y_axes, series_list, names = [], [], [], []
    for index, (panel, grid) in enumerate(zip(chart.panels, grids, strict=True)):
        titles.append(_panel_title(panel.title, grid))
        last_row = index >= len(chart.panels) - _layout(len(chart.panels), most)[1]
        axis: dict[str, Any] = {
            "type": "value",
            "gridIndex": index,
            "name": chart.x_label if last_row else "",
            "nameLocation": "middle",
            "nameGap": 26,
            "nameTextStyle": FONT,
            "axisLabel": FONT,
            "splitLine": {"show": False},
            "min": "dataMin" if panel.x_labels is None else -0.3,
        }
        if panel.x_labels is not None:
            axis["max"] = len(panel.x_labels) - 0.7
            axis["interval"] = 1
            axis["axisLabel"] = {**FONT, "show": False}
            axis["name"] = (
                f"{chart.x_label}: " + ", ".join(f"{i}={t}" for i, t in enumerate(panel.x_labels))
            )[:120]
        if chart.x_max is not None:
            axis.update(min=0, max=chart.x_max)
        x_axes.append(axis)
        y_label = chart.y_label if index % most == 0 else ""
        y_axes.append(_value_axis(chart.percent, index, y_label, chart.full_scale))
        for number, series in enumerate(panel.series):
            names.append(series.name)
            values = _scaled(series.values, chart.percent)
            line = {
                "type": "line",
                "name": series.name,
                "xAxisIndex": index,
                "yAxisIndex": index,
                "data": [[x, v] for x, v in zip(panel.x, values, strict=True)],
                "lineStyle": {
                    "color": series.colour,
                    "width": 2,
                    "type": "dashed" if series.dashed else "solid",
                },
                "itemStyle": {"color": series.colour},
                "showSymbol": chart.points,
                "symbolSize": 6,
                "connectNulls": False,
                "z": 3,
            }
            if number == 0 and (panel.markers or panel.levels):
                line["markLine"] = _mark_lines(panel)
            series_list.append(line)
            if series.low is not None and series.high is not None:
                series_list.append(_band(series, index, panel.x, chart.percent))
    option = _panels_option(titles, grids, x_axes, y_axes, series_list, names, "line")
    return Figure(option, TOP + rows * PANEL_HEIGHT + BOTTOM)


def _panels_option(
    titles: list[dict[str, Any]],
    grids: list[dict[str, Any]],
    x_axes: list[dict[str, Any]],
    y_axes: list[dict[str, Any]],
    series: list[dict[str, Any]],
    names: list[str],
    pointer: str | None,
) -> dict[str, Any]:
    """The option of small multiples: one legend, a tooltip by axis (`pointer` 'line' or
    'shadow') or by item (None), no animation (a redraw must be immediate)."""
    tooltip = (
        {**TOOLTIP, "trigger": "axis", "axisPointer": {"type": pointer}}
        if pointer
        else {**TOOLTIP, "trigger": "item"}
    )
    return {
        "animation": False,
        "title": titles,
        "legend": _legend(names),
        "tooltip": tooltip,
        "grid": grids,
        "xAxis": x_axes,
        "yAxis": y_axes,
        "series": series,
    }


def _mark_lines(panel: Any) -> dict[str, Any]:
    data: list[dict[str, Any]] = [
        {
            "xAxis": marker.x,
            "label": {"formatter": marker.label, "position": "insideEndTop", "fontSize": 10},
        }
        for marker in panel.markers
    ]
    data += [
        {"yAxis": level.y * 100.0, "label": {"formatter": level.label, "fontSize": 10}}
        for level in panel.levels
    ]
    return {
        "symbol": "none",
        "silent": True,
        "lineStyle": {"color": DARK, "type": "dotted", "width": 1.2},
        "data": data,
    }


def heatmap_option(chart: Heatmap) -> Figure:
    """One heatmap per panel over the two parameters, one colour scale (0-100%)."""
    grids, rows, _ = _grids(len(chart.panels), 3, left=9.0, height=PANEL_HEIGHT + 60)
    titles = [_title(chart)]
    x_axes, y_axes, series_list = [], [], []
    for index, (panel, grid) in enumerate(zip(chart.panels, grids, strict=True)):
        grid["width"] = f"{float(grid['width'][:-1]) - 3:.2f}%"
        titles.append(_panel_title(panel.title, grid))
        x_axes.append(
            {
                "type": "category",
                "gridIndex": index,
                "data": chart.x_values,
                "name": short_name(chart.x_label),
                "nameLocation": "middle",
                "nameGap": 28,
                "axisLabel": FONT,
            }
        )
        y_axes.append(
            {
                "type": "category",
                "gridIndex": index,
                "data": chart.y_values,
                "name": short_name(chart.y_label) if index == 0 else "",
                "nameLocation": "middle",
                "nameGap": 44,
                "axisLabel": FONT,
            }
        )
        data = []
        for row, values in enumerate(panel.values):
            for column, value in enumerate(values):
                if value is not None:
                    point = panel.ids[row][column] if panel.ids else None
                    shown = round(value * 100.0, 1) if chart.percent else value
                    data.append([column, row, shown, point])
        series_list.append(
            {
                "type": "heatmap",
                "name": panel.title,
                "xAxisIndex": index,
                "yAxisIndex": index,
                "data": data,
                "label": {
                    "show": True,
                    "formatter": "{@[2]}%" if chart.percent else "{@[2]}",
                    "fontSize": 10,
                },
            }
        )
    option = {
        "animation": False,
        "title": titles,
        "tooltip": {**TOOLTIP, "trigger": "item"},
        "grid": grids,
        "xAxis": x_axes,
        "yAxis": y_axes,
        "visualMap": {
            "min": 0,
            "max": 100 if chart.percent else 1,
            "dimension": 2,
            "calculable": True,
            "orient": "horizontal",
            "right": 10,
            "top": 22,
            "itemHeight": 120,
            "text": ["100%" if chart.percent else "1", "0"],
            "inRange": {"color": VIRIDIS},
            "textStyle": FONT,
        },
        "series": series_list,
    }
    return Figure(option, TOP + rows * (PANEL_HEIGHT + 60) + BOTTOM)


def bar_option(chart: BarChart) -> Figure:
    """Horizontal grouped bars (first category on top) with 95% whiskers."""
    count = len(chart.categories)
    height = max(PANEL_HEIGHT, 26 + count * 22 * max(1, len(chart.panels[0].series)) // 2)
    left = min(30.0, 3.0 + 0.9 * max((len(c) for c in chart.categories), default=4))
    grids, rows, columns = _grids(len(chart.panels), 2, left=left, height=height + 30, gap=82)
    titles = [_title(chart)]
    x_axes, y_axes, series_list, names = [], [], [], []
    for index, (panel, grid) in enumerate(zip(chart.panels, grids, strict=True)):
        titles.append(_panel_title(panel.title, grid))
        x_axes.append(_value_axis(chart.percent, index, chart.value_label))
        first_column = index % columns == 0
        y_axes.append(
            {
                "type": "category",
                "gridIndex": index,
                "data": chart.categories,
                "inverse": True,
                "axisLabel": {**FONT, "show": first_column},
            }
        )
        category_axis = len(y_axes) - 1
        for number, series in enumerate(panel.series):
            names.append(series.name)
            values = _scaled(series.values, chart.percent)
            series_list.append(
                {
                    "type": "bar",
                    "name": series.name,
                    "xAxisIndex": index,
                    "yAxisIndex": category_axis,
                    "data": values,
                    "itemStyle": {"color": series.colour},
                    "barGap": "0%",
                    "barCategoryGap": "20%",
                }
            )
            if series.low is None or series.high is None:
                continue
            low = _scaled(series.low, chart.percent)
            high = _scaled(series.high, chart.percent)
            series_list.append(
                {
                    "type": "custom",
                    "whiskers": {"color": DARK, "index": number, "count": len(panel.series)},
                    "name": series.name,
                    "xAxisIndex": index,
                    "yAxisIndex": category_axis,
                    "data": [
                        [position, lo, hi]
                        for position, (lo, hi) in enumerate(zip(low, high, strict=True))
                        if lo is not None and hi is not None
                    ],
                    "silent": True,
                    "tooltip": {"show": False},
                    "z": 4,
                }
            )
    option = _panels_option(titles, grids, x_axes, y_axes, series_list, names, "shadow")
    return Figure(option, TOP + rows * (height + 30) + BOTTOM)


def scatter_option(chart: ScatterChart) -> Figure:
    """Points of runs against parameters, with boxes (PRIM, CART) as shaded rectangles."""
    grids, rows, _ = _grids(len(chart.panels), 3, height=PANEL_HEIGHT + 40)
    titles = [_title(chart)]
    x_axes, y_axes, series_list, names = [], [], [], []
    for index, (panel, grid) in enumerate(zip(chart.panels, grids, strict=True)):
        titles.append(_panel_title(panel.title, grid))
        xs = [v for points in panel.points for v in points.x if v is not None]
        ys = [v for points in panel.points for v in points.y if v is not None]
        x_axes.append(
            {
                "type": "value",
                "gridIndex": index,
                "scale": True,
                "name": panel.x_label,
                "nameLocation": "middle",
                "nameGap": 26,
                "nameTextStyle": FONT,
                "axisLabel": FONT,
            }
        )
        y_label = panel.y_label or (chart.y_label if index % 3 == 0 else "")
        y_axes.append(
            _value_axis(chart.percent, index, y_label, **({} if chart.percent else {"scale": True}))
        )
        for number, points in enumerate(panel.points):
            names.append(points.name)
            ys_scaled = _scaled(points.y, chart.percent)
            ids = points.ids or [None] * len(points.x)
            entry = {
                "type": "scatter",
                "name": points.name,
                "xAxisIndex": index,
                "yAxisIndex": index,
                "symbolSize": 6,
                "itemStyle": {"color": points.colour, "opacity": 0.7},
                "data": [
                    [x, y, run]
                    for x, y, run in zip(points.x, ys_scaled, ids, strict=True)
                    if x is not None and y is not None
                ],
            }
            if number == 0 and panel.boxes:
                entry["markArea"] = _boxes(panel.boxes, xs, ys, chart.percent)
            series_list.append(entry)
    option = _panels_option(titles, grids, x_axes, y_axes, series_list, names, None)
    return Figure(option, TOP + rows * (PANEL_HEIGHT + 40) + BOTTOM)


def _boxes(boxes: Sequence[Any], xs: list[float], ys: list[float], percent: bool):
    """Rectangles of boxes; an unbounded side reaches the edge of the points."""
    scale = 100.0 if percent else 1.0
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y_low, y_high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    data = []
    for box in boxes:
        left = box.x[0] if box.x[0] is not None else x_low
        right = box.x[1] if box.x[1] is not None else x_high
        bottom = box.y[0] if box.y[0] is not None else y_low
        top = box.y[1] if box.y[1] is not None else y_high
        data.append(
            [
                {
                    "name": box.label,
                    "coord": [left, bottom * scale],
                    "itemStyle": {
                        "color": box.colour,
                        "opacity": 0.12,
                        "borderColor": box.colour,
                        "borderWidth": 2,
                    },
                    "label": {"fontSize": 10, "position": "insideTopLeft"},
                },
                {"coord": [right, top * scale]},
            ]
        )
    return {"silent": False, "data": data}


def option(chart: Chart) -> Figure:
    """Any chart description as an ECharts option with its height."""
    if isinstance(chart, LineChart):
        return line_option(chart)
    if isinstance(chart, Heatmap):
        return heatmap_option(chart)
    if isinstance(chart, BarChart):
        return bar_option(chart)
    return scatter_option(chart)


def clicked_id(chart: Chart, event: dict[str, Any]) -> int | None:
    """The design point or run a click on `chart` landed on (None: nothing to open)."""
    if not isinstance(event, dict):
        return None
    data = event.get("data")
    index = event.get("dataIndex")
    if isinstance(chart, BarChart) and chart.ids and isinstance(index, int):
        return chart.ids[index] if 0 <= index < len(chart.ids) else None
    if isinstance(chart, Heatmap | ScatterChart) and isinstance(data, list) and len(data) > 2:
        value = data[-1]
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    if isinstance(chart, LineChart) and isinstance(index, int):
        name = event.get("seriesName")
        x = data[0] if isinstance(data, list) and data else None
        for panel in chart.panels:
            for series in panel.series:
                if series.name == name and series.ids and x in panel.x:
                    return series.ids[panel.x.index(x)]
    return None


# ---------------------------------------------------------------------------- the view


def officers_option(
    xy: np.ndarray,
    slots: np.ndarray,
    choice: np.ndarray,
    group: np.ndarray,
    commander: np.ndarray,
    boxes: list[dict[str, Any]],
    size: tuple[int, int],
    title: str,
    symbol_size: float,
    selected: int | None = None,
) -> dict[str, Any]:
    """The officers in their units' blocks: colour = choice, shape = group, commanders
    larger and outlined, units as shaded blocks; one series per (group, choice) so that
    the payload is a list of [x, y, slot] per officer."""
    from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS

    shapes = {"complicit": "rect", "passive": "circle", "dissenting": "triangle"}
    series: list[dict[str, Any]] = []
    rows = np.column_stack([xy, slots]).astype(int)
    for group_code, group_name in enumerate(GROUPS):
        for choice_code, choice_name in enumerate(CHOICES):
            for is_commander in (False, True):
                mask = (group == group_code) & (choice == choice_code) & (commander == is_commander)
                if not mask.any():
                    continue
                entry: dict[str, Any] = {
                    "type": "scatter",
                    "name": f"{group_name}, {choice_name}" + (" (commander)" * is_commander),
                    "symbol": shapes[group_name],
                    "symbolSize": round(symbol_size * (1.6 if is_commander else 1.0), 1),
                    "itemStyle": {"color": CHOICE_COLOURS[choice_name], "opacity": 1},
                    "dimensions": ["x", "y", "officer"],
                    "data": rows[mask].tolist(),
                    "z": 3 if is_commander else 2,
                    "emphasis": {"scale": 1.8},
                    "large": True,
                    "largeThreshold": 200,
                }
                if is_commander:
                    entry["itemStyle"].update(borderColor="#111111", borderWidth=1.2)
                series.append(entry)
    width, height = size
    background: dict[str, Any] = {
        "type": "scatter",
        "name": "units",
        "data": [],
        "silent": True,
        "markArea": {"silent": True, "data": boxes},
        "z": 0,
    }
    if selected is not None and selected in set(slots.tolist()):
        where = int(np.flatnonzero(slots == selected)[0])
        background["markPoint"] = {
            "silent": True,
            "symbol": "circle",
            "symbolSize": symbol_size * 2.6,
            "itemStyle": {"color": "rgba(0,0,0,0)", "borderColor": "#000", "borderWidth": 2.5},
            "data": [{"coord": [int(xy[where, 0]), int(xy[where, 1])], "name": "selected"}],
        }
    series.insert(0, background)
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "top": 2, "textStyle": {"fontSize": 13}},
        "tooltip": {**TOOLTIP, "trigger": "item", "template": "officer {2}: {a}"},
        "grid": {"left": 4, "right": 4, "top": 28, "bottom": 4},
        "xAxis": {"type": "value", "min": -0.5, "max": width - 0.5, "show": False},
        "yAxis": {
            "type": "value",
            "min": -0.5,
            "max": height - 0.5,
            "show": False,
            "inverse": True,
        },
        "series": series,
    }


def unit_boxes(unit_xy: np.ndarray, unit_type: np.ndarray, colours: dict[int, str]):
    """markArea rectangles of the units' blocks (rows low_x, low_y, high_x, high_y)."""
    return [
        [
            {
                "coord": [float(low_x) - 0.5, float(low_y) - 0.5],
                "itemStyle": {
                    "color": colours.get(int(kind), "#EEEEEE"),
                    "borderColor": "#BBBBBB",
                    "borderWidth": 0.6,
                },
            },
            {"coord": [float(high_x) + 0.5, float(high_y) + 0.5]},
        ]
        for (low_x, low_y, high_x, high_y), kind in zip(unit_xy, unit_type, strict=True)
    ]


def units_option(
    positions: np.ndarray,
    sizes: np.ndarray,
    shares: np.ndarray,
    names: list[str],
    ties: list[tuple[int, int, int]],
    special: np.ndarray,
    title: str,
) -> dict[str, Any]:
    """Units as nodes (size: officers serving; colour: its officers' shares of comply,
    evade and refuse mixed; ring: special operations) and cross-unit ties as edges
    (width: number of ties)."""
    from simulation.vocabulary import CHOICE_COLOURS, CHOICES

    palette = np.array(
        [[int(CHOICE_COLOURS[c][i : i + 2], 16) for i in (1, 3, 5)] for c in CHOICES]
    )
    mixed = np.clip(shares @ palette, 0, 255).astype(int)
    largest = max(1.0, float(sizes.max())) if len(sizes) else 1.0
    nodes = [
        {
            "name": names[unit],
            "x": round(float(positions[unit, 0]), 2),
            "y": round(float(positions[unit, 1]), 2),
            "value": int(unit),
            "symbolSize": round(6 + 14 * float(sizes[unit]) / largest, 1),
            "itemStyle": {
                "color": "#{:02X}{:02X}{:02X}".format(*mixed[unit]),
                "borderColor": "#1F4E79" if special[unit] else "#FFFFFF",
                "borderWidth": 2.5 if special[unit] else 0.5,
            },
        }
        for unit in range(len(names))
    ]
    heaviest = max((count for _, _, count in ties), default=1)
    links = [
        {
            "source": int(a),
            "target": int(b),
            "value": int(count),
            "lineStyle": {"width": round(0.5 + 2.5 * count / heaviest, 2)},
        }
        for a, b, count in ties
    ]
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "top": 2, "textStyle": {"fontSize": 13}},
        "tooltip": {**TOOLTIP, "trigger": "item", "formatter": "{b}"},
        "series": [
            {
                "type": "graph",
                "layout": "none",
                "roam": True,
                "data": nodes,
                "links": links,
                "top": 34,
                "bottom": 10,
                "left": 10,
                "right": 10,
                "lineStyle": {"color": "#9AA4AE", "opacity": 0.3, "curveness": 0.08},
                "emphasis": {"focus": "adjacency", "lineStyle": {"width": 3}},
            }
        ],
    }
