"""Hysteresis and steepness: raise a driver past a tipping point, lower it back, compare.

A bisection (:mod:`simulation.analysis.tipping`) finds where a rate crosses a level; it
says nothing about how sharp the transition is, nor whether the way back is the way up.
Here one run per replication moves a driver through a grid of values, holding each for
`hold` months, up from `low` to `high` and back down (a quasi-static ramp), and records
the metric at the end of every hold. Two things follow:

* **hysteresis**: at the same lever value, the state on the way down minus the state on
  the way up (per replication, then the mean with a 95% interval); a gap that stays after
  the lever is back where it started means the system remembers (cascades, beliefs,
  removals), not only responds;
* **steepness**: the largest change of the metric between adjacent grid values, per unit of
  the lever, against the lever's linear effect (the change from one end of the grid to the
  other, per unit): 1 for a straight line, up to `points - 1` for a step.

Every replication uses its own seed from one root seed (SeedSequence), the same seeds
whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.random import SeedSequence

from simulation.config.loading import load_config
from simulation.config.schema import DRIVER_NAMES, SimulationConfig
from simulation.errors import ArgumentError
from simulation.experiments.backends import default_workers, local_backend
from simulation.experiments.runner import order_change_step, run_model
from simulation.vocabulary import metric_names

if TYPE_CHECKING:
    import pandas as pd

Task = tuple[dict[str, Any], int, str, list[int]]


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% confidence interval (normal approximation) over the first axis; NaNs
    (undefined replications) are left out."""
    finite = values[np.isfinite(values)]
    if finite.shape[0] == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(finite.mean())
    if finite.shape[0] < 2:
        return mean, mean, mean
    half = float(1.96 * finite.std(ddof=1) / np.sqrt(finite.shape[0]))
    return mean, mean - half, mean + half


def steepness(values: np.ndarray, levels: np.ndarray) -> tuple[float, float, float]:
    """(largest slope between adjacent levels, linear slope end to end, their ratio) of one
    curve; slopes are absolute, per unit of the lever. The ratio is NaN when the curve has
    no net change (a linear effect of zero)."""
    slopes = np.abs(np.diff(values) / np.diff(levels))
    largest = float(slopes.max()) if slopes.shape[0] else 0.0
    linear = float(abs(values[-1] - values[0]) / abs(levels[-1] - levels[0]))
    ratio = largest / linear if linear > 1e-9 else float("nan")
    return largest, linear, ratio


def curve_steepness(
    runs: np.ndarray, levels: np.ndarray, resamples: int = 2000
) -> dict[str, float]:
    """Steepness of the mean curve over runs (runs x levels), with 95% bootstrap intervals
    (runs resampled with replacement; a fixed generator, so the same numbers every time).

    Taken on the mean curve rather than run by run: the largest of several noisy slopes
    of one run overstates the steepness."""
    figures = {"largest_slope": 0, "linear_slope": 1, "ratio": 2}
    point = steepness(runs.mean(axis=0), levels)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, runs.shape[0], (resamples, runs.shape[0]))
    resampled = np.array([steepness(runs[pick].mean(axis=0), levels) for pick in picks])
    summary: dict[str, float] = {}
    for name, column in figures.items():
        values = resampled[:, column]
        values = values[np.isfinite(values)]
        low, high = (
            (float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975)))
            if values.shape[0]
            else (float("nan"), float("nan"))
        )
        summary.update({name: point[column], f"{name}_low": low, f"{name}_high": high})
    return summary


@dataclass
class HysteresisResult:
    """Up and down sweeps of one lever: the metric at the end of every hold, per run."""

    lever: str
    metric: str
    levels: list[float]
    hold: int
    start: int
    seeds: list[int]
    up: np.ndarray
    """(replications, points): the metric at each level on the way up."""
    down: np.ndarray
    """(replications, points): on the way down, at the same levels (the turning level is
    measured once and shared by both legs)."""
    reverse: bool = False
    """True when the ramp went from high to low and back (then "down" is the first leg)."""
    control: np.ndarray | None = None
    """(replications,): control runs' metric at the ramp's last month, the lever held at
    its first level throughout."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> np.ndarray:
        """Down minus up at each level, per replication."""
        return self.down - self.up

    def table(self) -> pd.DataFrame:
        """One row per level: up, down and their gap, each a mean with a 95% interval."""
        import pandas as pd

        rows = []
        for index, level in enumerate(self.levels):
            row: dict[str, float] = {"level": level}
            for name, values in (("up", self.up), ("down", self.down), ("gap", self.gap)):
                mean, low, high = interval(values[:, index])
                row.update({name: mean, f"{name}_low": low, f"{name}_high": high})
            rows.append(row)
        return pd.DataFrame(rows)

    def steepness_summary(self) -> dict[str, dict[str, float]]:
        """Per leg: the largest slope of the mean curve, its linear slope and their ratio,
        with 95% bootstrap intervals (see :func:`curve_steepness`)."""
        levels = np.asarray(self.levels)
        return {leg: curve_steepness(values, levels) for leg, values in self.legs().items()}

    def legs(self) -> dict[str, np.ndarray]:
        """The two legs by name, first the one the ramp went out on."""
        if self.reverse:
            return {"down": self.down, "up": self.up}
        return {"up": self.up, "down": self.down}

    def _ends(self) -> tuple[np.ndarray, np.ndarray]:
        """(before, after): the metric at the ramp's first level when it left it and when it
        came back, per replication."""
        first, second = self.legs().values()
        index = -1 if self.reverse else 0
        return first[:, index], second[:, index]

    def returned_gap(self) -> tuple[float, float, float]:
        """State after the lever came back to where it started, minus the state before it
        left (mean and 95% interval)."""
        before, after = self._ends()
        return interval(after - before)

    def lasting_effect(self) -> tuple[float, float, float] | None:
        """State at the end of the ramp minus the state of control runs (same seeds, the
        lever held at its first level throughout) at the same month: what the excursion
        left behind, net of everything else that changed meanwhile (mean, 95% interval)."""
        if self.control is None:
            return None
        return interval(self._ends()[1] - self.control)

    def largest_gap(self) -> tuple[float, float, float, float]:
        """(level, mean, low, high) of the gap of largest absolute mean."""
        means = np.array([interval(self.gap[:, i])[0] for i in range(len(self.levels))])
        index = int(np.nanargmax(np.abs(means)))
        mean, low, high = interval(self.gap[:, index])
        return self.levels[index], mean, low, high

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the design, the table, the steepness, the gaps and every run."""
        level, mean, low, high = self.largest_gap()
        returned = self.returned_gap()
        lasting = self.lasting_effect()
        return {
            "lever": self.lever,
            "metric": self.metric,
            "levels": self.levels,
            "hold_months": self.hold,
            "ramp_start": self.start,
            "direction": "high-low-high" if self.reverse else "low-high-low",
            "replications": len(self.seeds),
            "seeds": self.seeds,
            "table": self.table().to_dict(orient="records"),
            "steepness": self.steepness_summary(),
            "largest_gap": {"level": level, "mean": mean, "ci_low": low, "ci_high": high},
            "returned_gap": dict(zip(("mean", "ci_low", "ci_high"), returned, strict=True)),
            "lasting_effect": None
            if lasting is None
            else dict(zip(("mean", "ci_low", "ci_high"), lasting, strict=True)),
            "up": self.up.tolist(),
            "down": self.down.tolist(),
            "control": None if self.control is None else self.control.tolist(),
            **self.extra,
        }


def ramp_levels(low: float, high: float, points: int, whole: bool) -> list[float]:
    """The grid of lever values from low to high (whole numbers for integer drivers)."""
    values = np.linspace(low, high, points)
    if whole:
        values = np.unique(np.round(values))
    return [float(v) for v in values]


def ramp_schedule(
    levels: list[float], hold: int, start: int
) -> tuple[list[dict[str, float]], list[int]]:
    """The driver's schedule for a ramp through `levels` and back, and the month at which
    each hold is measured (its last month). The first level applies from month 0, so that
    the run settles at it before the ramp moves (its first hold ends at `start` + `hold`)."""
    path = [*levels, *levels[-2::-1]]
    changes = [{"step": 0, "value": path[0]}]
    changes += [{"step": start + k * hold, "value": value} for k, value in enumerate(path) if k]
    measured = [start + (k + 1) * hold - 1 for k in range(len(path))]
    return changes, measured


def ramp_outcome(task: Task) -> list[float]:
    """One run: the config (ramped, or a control) and the metric at the measured months."""
    data, seed, metric, measured = task
    outcome = run_model(SimulationConfig.model_validate(data), seed)
    values = outcome.columns[metric]
    return [float(values[month]) for month in measured]


@dataclass(frozen=True)
class Ramp:
    """A validated ramp: the ramped config, the path of lever values, the measured months."""

    config: SimulationConfig
    lever: str
    levels: list[float]
    path: list[float]
    measured: list[int]
    start: int
    hold: int


def plan_ramp(
    config: SimulationConfig | str | Path | dict[str, Any],
    lever: str,
    low: float,
    high: float,
    metric: str = "refuse",
    *,
    points: int = 9,
    hold: int = 12,
    ramp_start: int | None = None,
    reverse: bool = False,
    overrides: list[str] | dict[str, Any] | None = None,
) -> Ramp:
    """Check a ramp request and build its config (nothing runs): ArgumentError or
    ConfigError on a lever that is not a driver, a bad range, metric or count."""
    if not lever.startswith("drivers.") or lever.removeprefix("drivers.") not in DRIVER_NAMES:
        raise ArgumentError(
            "a ramp moves a driver over time; expected drivers.<name> "
            f"({', '.join(DRIVER_NAMES)}), got {lever}",
            "lever",
        )
    if metric not in metric_names():
        raise ArgumentError(f"unknown metric '{metric}'", "metric")
    if not low < high:
        raise ArgumentError(f"must be below high ({high}), got {low}", "low")
    for name, value, least in (("points", points, 3), ("hold", hold, 1)):
        if value < least:
            raise ArgumentError(f"must be at least {least}, got {value}", name)
    data = config.to_dict() if isinstance(config, SimulationConfig) else config
    base = load_config(data, overrides)
    driver = lever.removeprefix("drivers.")
    start = order_change_step(base) + 12 if ramp_start is None else ramp_start
    if start < 0:
        raise ArgumentError(f"must be at least 0, got {start}", "ramp_start")
    levels = ramp_levels(low, high, points, driver == "war_order_level")
    path = levels[::-1] if reverse else levels
    schedule, measured = ramp_schedule(path, hold, start)
    settings = {lever: schedule, "steps": measured[-1] + 1, "output.figure": False}
    ramped = load_config(base.to_dict(), settings)
    return Ramp(ramped, lever, levels, path, measured, start, hold)


def run_hysteresis(
    config: SimulationConfig | str | Path | dict[str, Any],
    lever: str,
    low: float,
    high: float,
    metric: str = "refuse",
    *,
    points: int = 9,
    hold: int = 12,
    ramp_start: int | None = None,
    reverse: bool = False,
    control: bool = True,
    replications: int = 12,
    seed: int = 0,
    overrides: list[str] | dict[str, Any] | None = None,
    workers: int | None = 1,
    evaluate_many: Callable[[list[Task]], list[list[float]]] | None = None,
) -> HysteresisResult:
    """Move driver `lever` from `low` to `high` in `points` steps of `hold` months each and
    back (from high to low and back with `reverse`), leaving the first value at month
    `ramp_start` (default: a year after the config's change of war-order level), in
    `replications` runs. With `control`, each seed also runs with the lever held at its
    first value throughout, so that what the excursion left behind is measured net of
    everything else that changes over the months of the ramp (attitudes, tenure, removals).

    The config's horizon becomes the end of the ramp. Runs go to `workers` local processes
    (1: in this process) or through `evaluate_many`.
    """
    if replications < 2:
        raise ArgumentError(f"must be at least 2, got {replications}", "replications")
    if workers is not None and workers < 1:
        raise ArgumentError(f"must be at least 1, got {workers}", "workers")
    ramp = plan_ramp(
        config,
        lever,
        low,
        high,
        metric,
        points=points,
        hold=hold,
        ramp_start=ramp_start,
        reverse=reverse,
        overrides=overrides,
    )
    seeds = [int(c.generate_state(1)[0]) for c in SeedSequence(seed).spawn(replications)]
    tasks = [(ramp.config.to_dict(), s, metric, ramp.measured) for s in seeds]
    if control:
        held = load_config(ramp.config.to_dict(), {lever: ramp.path[0]}).to_dict()
        tasks += [(held, s, metric, ramp.measured[-1:]) for s in seeds]
    executor = None
    if evaluate_many is None:
        backend = local_backend(min(workers or default_workers(), len(tasks)))
        executor = backend.make()
        evaluate_many = lambda many: list(executor.map(ramp_outcome, many))  # noqa: E731
    try:
        results = evaluate_many(tasks)
    finally:
        if executor is not None:
            executor.shutdown()
    outcomes = np.array(results[:replications], dtype=float)
    held_end = np.array(results[replications:], dtype=float)[:, 0] if control else None
    count = len(ramp.path)
    first_leg = outcomes[:, :count]
    second_leg = np.concatenate([outcomes[:, count:][:, ::-1], first_leg[:, -1:]], axis=1)
    up, down = first_leg, second_leg
    if reverse:  # out on the way down, back on the way up; both by increasing lever value
        up, down = second_leg[:, ::-1], first_leg[:, ::-1]
    return HysteresisResult(
        lever, metric, ramp.levels, hold, ramp.start, seeds, up, down, reverse, held_end
    )


HYSTERESIS_FILES: tuple[str, ...] = ("hysteresis.json", "hysteresis.csv", "hysteresis.png")


def write_hysteresis(result: HysteresisResult, folder: Path) -> tuple[str, ...]:
    """hysteresis.json, hysteresis.csv and hysteresis.png in `folder` (their only writer);
    the names written."""
    from simulation.experiments.files import write_atomic, write_json

    write_json(folder / "hysteresis.json", result.to_dict())
    table = result.table()
    write_atomic(folder / "hysteresis.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_atomic(folder / "hysteresis.png", lambda tmp: plot_hysteresis(result, tmp))
    return HYSTERESIS_FILES


def plot_hysteresis(result: HysteresisResult, path: Any) -> None:
    """Both legs against the lever (mean and 95% band), arrows showing the way round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table()
    figure, axis = plt.subplots(figsize=(6.5, 4))
    first, second = list(result.legs())
    for leg, colour, label in (
        (first, "#C44E52", "out"),
        (second, "#4C72B0", "back"),
    ):
        axis.plot(table["level"], table[leg], "o-", color=colour, label=f"{label} ({leg})")
        axis.fill_between(
            table["level"], table[f"{leg}_low"], table[f"{leg}_high"], color=colour, alpha=0.2
        )
    axis.set_xlabel(f"{result.lever} (held {result.hold} months at each value)")
    axis.set_ylabel(result.metric)
    ratio = result.steepness_summary()[first]["ratio"]
    axis.set_title(
        f"hysteresis of {result.metric}: {len(result.seeds)} runs; steepness x{ratio:.1f} "
        "the linear effect",
        fontsize=9,
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
