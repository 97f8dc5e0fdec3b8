"""Tipping points: the value of one lever at which a rate crosses a level.

Bisection on the lever, with replications at every probe. Every probe uses the same seeds
(common random numbers), so differences between probes come from the lever, not from
sampling noise, and the search is reproducible whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.random import SeedSequence

from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig
from simulation.errors import ArgumentError
from simulation.experiments.backends import default_workers, local_backend
from simulation.experiments.files import (
    MANIFEST,
    new_manifest,
    prepare_folder,
    write_atomic,
    write_json,
)
from simulation.experiments.runner import STATISTICS, run_model
from simulation.vocabulary import share_columns

if TYPE_CHECKING:
    import pandas as pd


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

    def steepness(self) -> dict[str, float] | None:
        """Largest slope between adjacent probes against the linear slope from low to high
        (and their ratio), with 95% bootstrap intervals over the replications (every probe
        has the same seeds). None with fewer than three probes."""
        from simulation.analysis.hysteresis import curve_steepness

        probes = sorted(self.probes, key=lambda p: p.value)
        if len(probes) < 3:
            return None
        runs = np.array([p.outcomes for p in probes]).T
        return curve_steepness(runs, np.array([p.value for p in probes]))

    def probes_table(self) -> pd.DataFrame:
        """One row per probe: lever value, mean and 95% CI of the rate."""
        import pandas as pd

        return pd.DataFrame(
            [{k: v for k, v in p.items() if k != "outcomes"} for p in self.to_dict()["probes"]]
        )

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
            "steepness": self.steepness(),
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
    config_data, seed, metric, statistic = task
    outcome = run_model(SimulationConfig.model_validate(config_data), seed)
    return outcome.reduce(metric)[statistic]


def check_request(
    base: SimulationConfig, lever: str, low: float, high: float, metric: str, statistic: str
) -> None:
    """Fail early, with a clear error, on a lever, range or metric that cannot work."""
    if metric not in share_columns():
        raise ArgumentError(
            f"unknown metric '{metric}'; expected one of: {', '.join(share_columns())}", "metric"
        )
    if statistic not in STATISTICS:
        raise ArgumentError(f"expected one of {', '.join(STATISTICS)}", "statistic")
    if not low < high:
        raise ArgumentError(f"must be below high ({high}), got {low}", "low")
    for value in (low, high):
        _probe_config(base, lever, value)


def _probe_config(base: SimulationConfig, lever: str, value: float) -> SimulationConfig:
    """The base config with the lever set to `value`."""
    return load_config(base.to_dict(), {lever: value})


def find_tipping_point(
    config: SimulationConfig | str | Path | dict[str, Any],
    lever: str,
    low: float,
    high: float,
    metric: str = "refuse",
    level: float = 0.5,
    *,
    statistic: str = "final",
    replications: int = 10,
    iterations: int = 8,
    seed: int = 0,
    overrides: list[str] | dict[str, Any] | None = None,
    workers: int | None = 1,
    out: str | Path | None = None,
    evaluate_many: Callable[[list[tuple[dict[str, Any], int, str, str]]], list[float]]
    | None = None,
) -> TippingResult:
    """Bisect `lever` in [low, high] for where the mean `metric` crosses `level`.

    Every probe runs `replications` runs with the same seeds (common random numbers). Runs
    go to `workers` local processes (1: in this process), or through `evaluate_many` (a
    map over tasks, e.g. a process pool's). With `out` the result is written there
    (tipping.json, probes.csv, tipping.png).
    """
    if replications < 1:
        raise ArgumentError(f"must be at least 1, got {replications}", "replications")
    if iterations < 0:
        raise ArgumentError(f"must be at least 0, got {iterations}", "iterations")
    if workers is not None and workers < 1:
        raise ArgumentError(f"must be at least 1, got {workers}", "workers")
    if isinstance(config, SimulationConfig):
        base = load_config(config.to_dict(), overrides)
    else:
        base = load_config(config, overrides)
    check_request(base, lever, low, high, metric, statistic)
    folder = prepare_folder(out) if out is not None else None
    executor = None
    if evaluate_many is None:
        backend = local_backend(min(workers or default_workers(), replications))
        executor = backend.make()
        evaluate_many = lambda tasks: list(executor.map(replicate_outcome, tasks))  # noqa: E731
    try:
        result = _bisect(
            base,
            lever,
            low,
            high,
            metric,
            level,
            statistic,
            replications,
            iterations,
            seed,
            evaluate_many,
        )
    finally:
        if executor is not None:
            executor.shutdown()
    if folder is not None:
        write_tipping(result, folder)
    return result


def _bisect(
    base: SimulationConfig,
    lever: str,
    low: float,
    high: float,
    metric: str,
    level: float,
    statistic: str,
    replications: int,
    iterations: int,
    seed: int,
    evaluate_many: Callable[[list[tuple[dict[str, Any], int, str, str]]], list[float]],
) -> TippingResult:
    """The bisection itself, probing through `evaluate_many`."""
    seeds = [int(child.generate_state(1)[0]) for child in SeedSequence(seed).spawn(replications)]
    probes: dict[float, Probe] = {}

    def probe(value: float) -> Probe:
        if value not in probes:
            data = _probe_config(base, lever, value).to_dict()
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


def write_tipping(result: TippingResult, folder: Path) -> None:
    """The tipping folder's files (this module is their only writer)."""
    data = result.to_dict()
    write_json(folder / MANIFEST, new_manifest("tipping", lever=result.lever, metric=result.metric))
    write_json(folder / "tipping.json", data)
    probes = result.probes_table()
    write_atomic(folder / "probes.csv", lambda tmp: probes.to_csv(tmp, index=False))
    write_atomic(folder / "tipping.png", lambda tmp: plot_tipping(result, tmp))


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
