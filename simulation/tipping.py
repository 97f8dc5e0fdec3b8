"""Tipping points: the value of one lever at which a rate crosses a level.

Bisection on the lever, with replications at every probe. Every probe uses the same seeds
(common random numbers), so differences between probes come from the lever, not from
sampling noise, and the search is reproducible whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.random import SeedSequence

from simulation.config import ConfigError, SimulationConfig, load_config
from simulation.model import rate_columns

STATISTICS = ("final", "peak", "mean")


@dataclass
class Probe:
    """The rate measured at one lever value, over replications."""

    value: float
    outcomes: list[float]

    @property
    def mean(self) -> float:
        """Mean of the rate over replications."""
        return float(np.mean(self.outcomes))

    @property
    def half_width(self) -> float:
        """Half-width of the 95% confidence interval of the mean (normal approximation)."""
        if len(self.outcomes) < 2:
            return 0.0
        return float(1.96 * np.std(self.outcomes, ddof=1) / np.sqrt(len(self.outcomes)))


@dataclass
class TippingResult:
    """Outcome of a search: where the rate crosses the level, if it does in the range."""

    lever: str
    metric: str
    statistic: str
    level: float
    low: float
    high: float
    crossed: bool
    estimate: float | None
    bracket: tuple[float, float] | None
    uncertain_range: tuple[float, float] | None
    probes: list[Probe] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, probes sorted by lever value."""
        return {
            "lever": self.lever,
            "metric": self.metric,
            "statistic": self.statistic,
            "level": self.level,
            "search_range": [self.low, self.high],
            "crossed": self.crossed,
            "estimate": self.estimate,
            "bracket": list(self.bracket) if self.bracket else None,
            "uncertain_range": list(self.uncertain_range) if self.uncertain_range else None,
            "probes": [
                {
                    "value": p.value,
                    "mean": p.mean,
                    "ci_low": p.mean - p.half_width,
                    "ci_high": p.mean + p.half_width,
                    "outcomes": p.outcomes,
                }
                for p in sorted(self.probes, key=lambda p: p.value)
            ],
        }


def replicate_outcome(task: tuple[dict[str, Any], int, str, str]) -> float:
    """One replication: run the config with a seed and reduce the metric (runs in a worker)."""
    from simulation.runner import simulate

    config_data, seed, metric, statistic = task
    series = simulate(SimulationConfig.model_validate(config_data), seed=seed).series[metric]
    after_start = series.iloc[1:] if len(series) > 1 else series
    if statistic == "final":
        return float(series.iloc[-1])
    if statistic == "peak":
        return float(after_start.max())
    return float(after_start.mean())


def check_request(
    config_path: str,
    lever: str,
    low: float,
    high: float,
    metric: str,
    statistic: str,
    overrides: list[str],
) -> None:
    """Fail early, with a ConfigError, on a lever, range or metric that cannot work."""
    if metric not in rate_columns():
        raise ConfigError(
            f"unknown metric '{metric}'; expected one of: {', '.join(rate_columns())}", "--metric"
        )
    if statistic not in STATISTICS:
        raise ConfigError(f"expected one of {', '.join(STATISTICS)}", "--statistic")
    if not low < high:
        raise ConfigError(f"--low ({low}) must be below --high ({high})", "--low/--high")
    for value in (low, high):
        load_config(config_path, [*overrides, f"{lever}={value}"])


def find_tipping_point(
    config_path: str,
    lever: str,
    low: float,
    high: float,
    metric: str,
    level: float,
    *,
    statistic: str = "final",
    replications: int = 10,
    iterations: int = 8,
    seed: int = 0,
    overrides: list[str] | None = None,
    evaluate_many: Callable[[list[tuple[dict[str, Any], int, str, str]]], list[float]]
    | None = None,
) -> TippingResult:
    """Bisect `lever` in [low, high] for where the mean `metric` crosses `level`.

    `evaluate_many` maps replicate_outcome over tasks (a process pool's map, say); by default
    the tasks run in this process.
    """
    overrides = list(overrides or [])
    check_request(config_path, lever, low, high, metric, statistic, overrides)
    evaluate_many = evaluate_many or (lambda tasks: [replicate_outcome(t) for t in tasks])
    seeds = [int(child.generate_state(1)[0]) for child in SeedSequence(seed).spawn(replications)]
    probes: dict[float, Probe] = {}

    def probe(value: float) -> Probe:
        if value not in probes:
            config = load_config(config_path, [*overrides, f"{lever}={value}"])
            data = config.to_dict()
            outcomes = evaluate_many([(data, s, metric, statistic) for s in seeds])
            probes[value] = Probe(value, [float(x) for x in outcomes])
        return probes[value]

    lower, upper = probe(low), probe(high)
    result = TippingResult(lever, metric, statistic, level, low, high, False, None, None, None)
    if (lower.mean - level) * (upper.mean - level) > 0:
        result.probes = list(probes.values())
        return result
    a, b = low, high
    side_a = np.sign(lower.mean - level)
    for _ in range(iterations):
        middle = (a + b) / 2
        if np.sign(probe(middle).mean - level) == side_a:
            a = middle
        else:
            b = middle
    mean_a, mean_b = probes[a].mean, probes[b].mean
    estimate = a if mean_b == mean_a else a + (level - mean_a) * (b - a) / (mean_b - mean_a)
    covering = [p.value for p in probes.values() if abs(p.mean - level) <= p.half_width] + [a, b]
    result.crossed = True
    result.estimate = float(np.clip(estimate, a, b))
    result.bracket = (a, b)
    result.uncertain_range = (float(min(covering)), float(max(covering)))
    result.probes = list(probes.values())
    return result


def plot_tipping(result: TippingResult, path: Any) -> None:
    """The rate against the lever at every probe (mean and 95% CI), the level and the point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probes = sorted(result.probes, key=lambda p: p.value)
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.errorbar(
        [p.value for p in probes],
        [p.mean for p in probes],
        yerr=[p.half_width for p in probes],
        fmt="o-",
        capsize=3,
        color="#C44E52",
        label=f"{result.statistic} {result.metric} (mean, 95% CI)",
    )
    axis.axhline(result.level, color="grey", linestyle="--", label=f"level {result.level:g}")
    if result.crossed and result.uncertain_range:
        axis.axvspan(*result.uncertain_range, color="#DD8452", alpha=0.2, label="uncertain range")
        axis.axvline(result.estimate, color="#DD8452", label=f"tipping point {result.estimate:.3g}")
    axis.set_xlabel(result.lever)
    axis.set_ylabel(f"share of officers ({result.metric})")
    axis.set_ylim(-0.02, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
