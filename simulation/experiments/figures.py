"""Figures of a sweep (matplotlib, no display needed), chosen to suit its design: rates
against one parameter with confidence bands, a heatmap for two, bars for named scenarios,
scatter plots for sampled designs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.experiments.files import write_atomic  # noqa: E402
from simulation.vocabulary import CHOICE_COLOURS, CHOICES, GROUPS  # noqa: E402


def _panels(summary: pd.DataFrame) -> list[str]:
    """Categories to draw: overall first, then the groups that were recorded."""
    present = set(summary["category"])
    return [c for c in ("overall", *GROUPS) if c in present]


def _save(figure: plt.Figure, path: Path) -> Path:
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=110, format="png"))
    plt.close(figure)
    return path


def _tick(value: Any) -> str:
    """Axis label of a parameter value: 3 significant digits for numbers, text as it is."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return str(value)
    return f"{value:.3g}"


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions of parameter values: the values themselves if numeric, else 0, 1, ...
    with the values as tick labels (text-valued parameters such as a threshold unit)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    labels = [str(v) for v in values]
    order = {label: index for index, label in enumerate(dict.fromkeys(labels))}
    return np.array([order[label] for label in labels], dtype=float), list(order)


def plot_one_parameter(summary: pd.DataFrame, parameter: str, path: Path, title: str = "") -> Path:
    """Final and peak shares against one swept parameter, mean with 95% CI band."""
    panels = _panels(summary)
    figure, axes = plt.subplots(
        2, len(panels), figsize=(3.8 * len(panels), 6.4), sharex=True, sharey=True, squeeze=False
    )
    for row_index, measure in enumerate(("final", "peak")):
        for column, category in enumerate(panels):
            axis = axes[row_index][column]
            for choice in CHOICES:
                part = summary[
                    (summary["measure"] == measure)
                    & (summary["category"] == category)
                    & (summary["choice"] == choice)
                ].sort_values(parameter)
                if part.empty:
                    continue
                x, labels = _positions(part[parameter])
                if labels is not None:
                    axis.set_xticks(range(len(labels)), labels)
                colour = CHOICE_COLOURS[choice]
                axis.plot(x, part["mean"], marker="o", markersize=3, color=colour, label=choice)
                axis.fill_between(x, part["ci_low"], part["ci_high"], color=colour, alpha=0.2)
            axis.set_title(f"{category}: {measure}")
            axis.set_ylim(-0.02, 1.02)
            axis.grid(alpha=0.3)
            if row_index == 1:
                axis.set_xlabel(parameter)
        axes[row_index][0].set_ylabel(f"{measure} share of officers")
    axes[0][-1].legend(loc="best")
    figure.suptitle(title or f"rates against {parameter} (mean, 95% bootstrap interval)")
    figure.tight_layout()
    return _save(figure, path)


def plot_two_parameters(summary: pd.DataFrame, x: str, y: str, path: Path, title: str = "") -> Path:
    """Heatmaps of the mean final share of each choice (overall) over two parameters."""
    part = summary[(summary["measure"] == "final") & (summary["category"] == "overall")]
    choices = [c for c in CHOICES if c in set(part["choice"])]
    figure, axes = plt.subplots(1, len(choices), figsize=(4.6 * len(choices), 4), squeeze=False)
    for axis, choice in zip(axes[0], choices, strict=True):
        table = part[part["choice"] == choice].pivot_table(
            index=y, columns=x, values="mean", aggfunc="mean"
        )
        image = axis.imshow(
            table.to_numpy(dtype=float),
            origin="lower",
            aspect="auto",
            vmin=0,
            vmax=1,
            cmap="viridis",
        )
        axis.set_xticks(range(len(table.columns)), [_tick(v) for v in table.columns])
        axis.set_yticks(range(len(table.index)), [_tick(v) for v in table.index])
        axis.set_xlabel(x)
        axis.set_ylabel(y)
        axis.set_title(f"final {choice} (mean)")
        for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
            if not math.isnan(value):
                axis.text(
                    j,
                    i,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < 0.5 else "black",
                )
        figure.colorbar(image, ax=axis, fraction=0.046)
    figure.suptitle(title or f"final shares over {x} x {y}")
    figure.tight_layout()
    return _save(figure, path)


HORIZONTAL_FROM = 6
"""From this many scenarios on, the scenario bars are drawn horizontally (readable labels)."""


def _scenario_rows(part: pd.DataFrame, category: str, choice: str, scenarios: list[str]):
    """Final-share rows of one category and choice, one per scenario (in order), and their
    CI error bars (lower, upper) as offsets from the mean."""
    rows = (
        part[(part["category"] == category) & (part["choice"] == choice)]
        .set_index("scenario")
        .reindex(scenarios)
    )
    errors = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
    return rows, np.nan_to_num(errors)


def plot_scenarios(summary: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Side-by-side bars of the final shares per scenario, with 95% CI error bars: one panel
    overall and one per group; horizontal bars in a grid of panels for many scenarios."""
    panels = _panels(summary)
    part = summary[summary["measure"] == "final"]
    scenarios = list(dict.fromkeys(part.sort_values("point")["scenario"]))
    if len(scenarios) >= HORIZONTAL_FROM:
        return _plot_scenarios_horizontal(part, panels, scenarios, path, title)
    figure, axes = plt.subplots(
        1,
        len(panels),
        figsize=(max(4.0, 1.1 * len(scenarios) + 1.5) * len(panels) / 1.4, 4),
        sharey=True,
        squeeze=False,
    )
    width = 0.8 / len(CHOICES)
    positions = np.arange(len(scenarios))
    for axis, category in zip(axes[0], panels, strict=True):
        for offset, choice in enumerate(CHOICES):
            rows, errors = _scenario_rows(part, category, choice, scenarios)
            if rows["mean"].isna().all():
                continue
            axis.bar(
                positions + (offset - 1) * width,
                rows["mean"],
                width,
                yerr=errors,
                capsize=2,
                color=CHOICE_COLOURS[choice],
                label=choice,
            )
        axis.set_xticks(positions, scenarios, rotation=30, ha="right")
        axis.set_title(category)
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("final share of officers")
    axes[0][-1].legend(loc="best")
    figure.suptitle(title or "final shares by scenario (mean, 95% bootstrap interval)")
    figure.tight_layout()
    return _save(figure, path)


def _plot_scenarios_horizontal(
    part: pd.DataFrame, panels: list[str], scenarios: list[str], path: Path, title: str
) -> Path:
    """Many scenarios: horizontal bars (scenario names along the y axis, first on top),
    panels in a grid of two columns."""
    columns = min(2, len(panels))
    grid_rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(
        grid_rows,
        columns,
        figsize=(5.2 * columns + 1.8, 0.42 * len(scenarios) * grid_rows + 1.4),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    height = 0.8 / len(CHOICES)
    positions = np.arange(len(scenarios))
    drawn: set[str] = set()
    for index, category in enumerate(panels):
        axis = axes[index // columns][index % columns]
        for offset, choice in enumerate(CHOICES):
            rows, errors = _scenario_rows(part, category, choice, scenarios)
            if rows["mean"].isna().all():
                continue
            drawn.add(choice)
            axis.barh(
                positions + (offset - 1) * height,
                rows["mean"],
                height,
                xerr=errors,
                capsize=1.5,
                error_kw={"elinewidth": 0.8},
                color=CHOICE_COLOURS[choice],
                label=choice,
            )
        axis.set_yticks(positions, scenarios)
        axis.set_title(category)
        axis.set_xlim(0, 1.02)
        axis.grid(alpha=0.3, axis="x")
        for y in positions[:-1] + 0.5:
            axis.axhline(y, color="0.85", linewidth=0.6)
    axes[0][0].invert_yaxis()  # shared: the first scenario on top in every panel
    for axis in axes[-1]:
        axis.set_xlabel("final share of officers")
        axis.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    for index in range(len(panels), grid_rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    handles = [
        matplotlib.patches.Patch(color=CHOICE_COLOURS[c], label=c) for c in CHOICES if c in drawn
    ]
    figure.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False)
    heading = "final shares by scenario (mean, 95% bootstrap interval)"
    figure.suptitle(f"{title}: {heading}" if title else heading, x=0.02, ha="left")
    figure.text(
        0.5,
        0.005,
        "bars: mean final share over replications; whiskers: 95% confidence interval",
        ha="center",
        va="bottom",
        fontsize=8,
        color="0.3",
    )
    figure.tight_layout(rect=(0, 0.03, 1, 0.97))
    return _save(figure, path)


def plot_sampled(runs: pd.DataFrame, parameters: list[str], path: Path, title: str = "") -> Path:
    """Final overall shares of every run against each sampled parameter (scatter)."""
    ok = runs[runs["status"] == "ok"]
    choices = [c for c in CHOICES if f"final_{c}" in runs]
    figure, axes = plt.subplots(
        1, len(parameters), figsize=(3.6 * len(parameters), 3.6), sharey=True, squeeze=False
    )
    for axis, name in zip(axes[0], parameters, strict=True):
        x, labels = _positions(ok[name])
        if labels is not None:
            axis.set_xticks(range(len(labels)), labels)
        for choice in choices:
            axis.scatter(
                x,
                ok[f"final_{choice}"],
                s=6,
                alpha=0.5,
                color=CHOICE_COLOURS[choice],
                label=choice,
            )
        axis.set_xlabel(name)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("final share of officers")
    axes[0][-1].legend(loc="best")
    figure.suptitle(title or "final shares against each sampled parameter")
    figure.tight_layout()
    return _save(figure, path)


def make_figures(
    summary: pd.DataFrame, runs: pd.DataFrame, manifest: dict[str, Any], folder: Path
) -> list[Path]:
    """The figures that suit the design (see the module docstring)."""
    folder.mkdir(exist_ok=True)
    name = manifest["experiment_name"]
    axes = [axis[0] for axis in manifest["axes"]]
    scenarios: list[str] = manifest["scenarios"]
    written: list[Path] = []
    if summary.empty or manifest["design"] == "prior":  # an ensemble draws its own
        return written
    if manifest["design"] != "factorial":
        # the file's own ranges (a sampled design's axes), grouped for the indices or not;
        # the priors' inputs are left out: a design over every prior has too many panels
        if not axes:
            return written
        return [plot_sampled(runs, axes, folder / "sampled.png", name)]
    if not axes:
        if len(scenarios) > 1:
            written.append(plot_scenarios(summary, folder / "scenarios.png", name))
        return written
    for scenario in scenarios:
        part = summary[summary["scenario"] == scenario]
        suffix = f"_{scenario}" if len(scenarios) > 1 else ""
        label = f"{name}: {scenario}" if len(scenarios) > 1 else name
        if len(axes) == 1:
            written.append(plot_one_parameter(part, axes[0], folder / f"sweep{suffix}.png", label))
        elif len(axes) == 2:
            written.append(
                plot_two_parameters(part, axes[0], axes[1], folder / f"heatmap{suffix}.png", label)
            )
    if len(axes) > 2:
        written.append(plot_sampled(runs, axes, folder / "parameters.png", name))
    return written
