"""Shares over time as an SVG line chart, written directly (no plotting library).

One run's figure (``rates.svg``) is drawn here rather than with matplotlib: importing and
rendering matplotlib costs about a second on a small machine, as much as the whole
simulation of the baseline, and the command line's `run` should start fast. The chart is
plain SVG: vector, readable in any browser, and embedded as it is in the HTML report.
Sweep figures, which have more kinds of panels, use matplotlib
(:mod:`simulation.experiments.figures`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS

PANEL_WIDTH, PANEL_HEIGHT = 250.0, 180.0
MARGIN_LEFT, MARGIN_TOP, GAP, MARGIN_BOTTOM = 52.0, 46.0, 18.0, 58.0


def nice_ticks(last: float, count: int = 5) -> list[float]:
    """Round tick positions from 0 to `last` (steps of 1, 2 or 5 times a power of ten)."""
    if last <= 0:
        return [0.0]
    raw = last / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(last // step) + 1)]


def rates_svg(
    columns: Mapping[str, Sequence[float]],
    title: str = "",
    panels: Sequence[tuple[str, str]] | None = None,
) -> str:
    """Comply / evade / refuse shares against the step: one panel overall, one per group.

    `columns` maps a share column (``comply``, ``passive_evade``, ...) to its values by step;
    `panels` lists (title, column prefix) pairs.
    """
    panels = panels or [("all officers", ""), *((group, f"{group}_") for group in GROUPS)]
    steps = len(columns[f"{panels[0][1]}{CHOICES[0]}"])
    last = max(steps - 1, 1)
    width = MARGIN_LEFT + len(panels) * (PANEL_WIDTH + GAP) + 10
    height = MARGIN_TOP + PANEL_HEIGHT + MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    if title:
        parts.append(
            f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="14">'
            f"{html.escape(title)}</text>"
        )
    x_ticks = nice_ticks(last)
    for number, (label, prefix) in enumerate(panels):
        left = MARGIN_LEFT + number * (PANEL_WIDTH + GAP)

        def x(step: float, left: float = left) -> float:
            return left + step / last * PANEL_WIDTH

        def y(share: float) -> float:
            return MARGIN_TOP + (1.0 - share) * PANEL_HEIGHT

        parts.append(
            f'<text x="{left + PANEL_WIDTH / 2:.1f}" y="{MARGIN_TOP - 8:.1f}" '
            f'text-anchor="middle" font-size="12">{html.escape(label)}</text>'
        )
        for share in (0.0, 0.25, 0.5, 0.75, 1.0):
            parts.append(
                f'<line x1="{left:.1f}" x2="{left + PANEL_WIDTH:.1f}" y1="{y(share):.1f}" '
                f'y2="{y(share):.1f}" stroke="#e4e4e4"/>'
            )
            if number == 0:
                parts.append(
                    f'<text x="{left - 6:.1f}" y="{y(share) + 4:.1f}" text-anchor="end">'
                    f"{share:.0%}</text>"
                )
        for tick in x_ticks:
            parts.append(
                f'<text x="{x(tick):.1f}" y="{MARGIN_TOP + PANEL_HEIGHT + 15:.1f}" '
                f'text-anchor="middle">{tick:g}</text>'
            )
        parts.append(
            f'<rect x="{left:.1f}" y="{MARGIN_TOP:.1f}" width="{PANEL_WIDTH:.1f}" '
            f'height="{PANEL_HEIGHT:.1f}" fill="none" stroke="#888"/>'
        )
        for choice in CHOICES:
            values = columns[f"{prefix}{choice}"]
            points = " ".join(f"{x(step):.1f},{y(value):.1f}" for step, value in enumerate(values))
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{CHOICE_COLOURS[choice]}" '
                'stroke-width="1.8" stroke-linejoin="round"/>'
            )
    axis_y = MARGIN_TOP + PANEL_HEIGHT + 32
    parts.append(
        f'<text x="{width / 2:.1f}" y="{axis_y:.1f}" text-anchor="middle">step (month)</text>'
    )
    parts.append(
        f'<text transform="translate(14 {MARGIN_TOP + PANEL_HEIGHT / 2:.1f}) rotate(-90)" '
        'text-anchor="middle">share of officers</text>'
    )
    legend_x = width / 2 - 45 * len(CHOICES)
    for index, choice in enumerate(CHOICES):
        left = legend_x + index * 90
        parts.append(
            f'<line x1="{left:.1f}" x2="{left + 22:.1f}" y1="{axis_y + 16:.1f}" '
            f'y2="{axis_y + 16:.1f}" stroke="{CHOICE_COLOURS[choice]}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{left + 27:.1f}" y="{axis_y + 20:.1f}">{choice}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
