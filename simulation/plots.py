"""Figures of simulation results (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.config import CHOICES, GROUPS  # noqa: E402

CHOICE_COLOURS: dict[str, str] = {"comply": "#4C72B0", "evade": "#DD8452", "refuse": "#C44E52"}


def plot_rates_over_time(series: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Comply / evade / refuse shares over time: one panel overall, one per group."""
    panels = [("all officers", "")] + [(group, f"{group}_") for group in GROUPS]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), sharey=True)
    for axis, (label, prefix) in zip(axes, panels, strict=True):
        for choice in CHOICES:
            axis.plot(
                series["step"],
                series[f"{prefix}{choice}"],
                label=choice,
                color=CHOICE_COLOURS[choice],
                linewidth=1.8,
            )
        axis.set_title(label)
        axis.set_xlabel("step (month)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("share of officers")
    axes[-1].legend(loc="center right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
    return path
