"""Tipping points: the value of one lever at which a rate crosses a level.

Bisection on the lever, with replications at every probe. Every probe uses the same seeds
(common random numbers), so differences between probes come from the lever, not from
sampling noise, and the search is reproducible whatever the number of workers.

A lever that takes only whole numbers (a war-order level, a unit size) is searched over
whole numbers: the bisection ends when the bracket's ends are neighbours, and the tipping
point is the first value on the far side of the level. Everything that can be checked is
checked before the first run (finite numbers, a known metric, both ends of the range valid,
the results folder free), and the folder is written only once the search is done.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.random import SeedSequence

from simulation.config.limits import RUNS
from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig
from simulation.errors import ArgumentError, ConfigError
from simulation.experiments.backends import default_workers, local_backend
from simulation.experiments.cache import NEUTRAL_FIELDS
from simulation.experiments.files import (
    MANIFEST,
    FolderClaim,
    check_folder,
    new_manifest,
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


def _interval(outcomes: list[float]) -> dict[str, float]:
    """Mean and the reported 95% interval of a probe: the project's one interval of a mean
    over replications (percentile bootstrap, within the outcomes' range, so within [0, 1]
    for a share)."""
    from simulation.experiments.precision import mean_interval

    mean, _, low, high, _ = mean_interval(outcomes)
    return {"mean": mean, "ci_low": low, "ci_high": high}


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
    whole_numbers: bool = False
    """Whether the lever takes only whole numbers (the search was over whole numbers)."""
    config: str = ""
    """Name of the config searched."""

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
            "config": self.config,
            "lever": self.lever,
            "whole_numbers": self.whole_numbers,
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
                {"value": p.value, **_interval(p.outcomes), "outcomes": p.outcomes}
                for p in sorted(self.probes, key=lambda p: p.value)
            ],
        }


def replicate_outcome(task: tuple[dict[str, Any], int, str, str]) -> float:
    """One replication: run the config with a seed and reduce the metric (runs in a worker)."""
    config_data, seed, metric, statistic = task
    outcome = run_model(SimulationConfig.model_validate(config_data), seed)
    return outcome.reduce(metric)[statistic]


def check_request(
    base: SimulationConfig,
    lever: str,
    low: float,
    high: float,
    metric: str,
    statistic: str,
    level: float = 0.5,
) -> bool:
    """Fail early, with a clear error, on a lever, range, level or metric that cannot work.

    Returns whether the lever takes only whole numbers."""
    if metric not in share_columns():
        raise ArgumentError(
            f"unknown metric '{metric}'; expected one of: {', '.join(share_columns())}", "metric"
        )
    if statistic not in STATISTICS:
        raise ArgumentError(f"expected one of {', '.join(STATISTICS)}", "statistic")
    for name, value in (("low", low), ("high", high), ("level", level)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ArgumentError(f"expected a finite number, got {value}", name)
    if not 0 <= level <= 1:
        raise ArgumentError(f"expected a share between 0 and 1, got {level}", "level")
    if not low < high:
        raise ArgumentError(f"must be below high ({high}), got {low}", "low")
    ends = [_probe_config(base, lever, value) for value in (low, high)]
    neutral = NEUTRAL_FIELDS.get(lever) or next(
        (why for name, why in NEUTRAL_FIELDS.items() if lever.startswith(name + ".")), None
    )
    if neutral is not None or ends[0].to_dict() == ends[1].to_dict():
        reason = f" ({neutral})" if neutral else ""
        raise ArgumentError(
            f"'{lever}' changes nothing a run computes{reason}: choose a lever of the model",
            "lever",
        )
    return _whole_numbers_only(base, lever, low, high)


def _whole_numbers_only(base: SimulationConfig, lever: str, low: float, high: float) -> bool:
    """Whether the lever refuses fractional values that lie inside the range (then both
    ends must be whole numbers, and the search keeps to whole numbers)."""
    fractional = math.floor(low) + 0.5
    if fractional >= high:
        return False
    try:
        _probe_config(base, lever, fractional)
        return False
    except ConfigError as error:
        try:
            _probe_config(base, lever, math.floor(fractional))
        except ConfigError:
            raise error from None
    for name, value in (("low", low), ("high", high)):
        if value != int(value):
            raise ArgumentError(f"{lever} takes whole numbers only, got {value}", name)
    return True


def _probe_config(base: SimulationConfig, lever: str, value: float) -> SimulationConfig:
    """The base config with the lever set to `value`."""
    return load_config(base.to_dict(), {lever: value})


def tipping_folder_check(
    out: str | Path, config_name: str, lever: str, *, overwrite: bool = False
) -> None:
    """Refuse, before any run, a folder the result may not go to: one holding other files
    or other results (an earlier search of the same lever in the same config is replaced;
    with `overwrite`, any earlier search)."""
    check_folder(out, "tipping", _same_search(config_name, lever), overwrite=overwrite)


def _same_search(config_name: str, lever: str) -> Callable[[dict[str, Any]], bool]:
    return lambda held: held.get("config") == config_name and held.get("lever") == lever


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
    overwrite: bool = False,
    also_write: Callable[[Path], Iterable[str]] | None = None,
    evaluate_many: Callable[[list[tuple[dict[str, Any], int, str, str]]], list[float]]
    | None = None,
) -> TippingResult:
    """Bisect `lever` in [low, high] for where the mean `metric` crosses `level`.

    Every probe runs `replications` runs with the same seeds (common random numbers). Runs
    go to `workers` local processes (1: in this process), or through `evaluate_many` (a
    map over tasks, e.g. a process pool's). With `out` the result is written there
    (tipping.json, probes.csv, tipping.png) once the search is done; a folder of other
    results is refused before the first run unless `overwrite` (and it holds a search).
    `also_write(folder)` writes further files of the search into it under the same claim
    (the hysteresis ramp's) and returns their names.
    """
    for name, value, least in (
        ("replications", replications, 1),
        ("iterations", iterations, 0),
        ("workers", workers, 1),
        ("seed", seed, 0),
    ):
        if value is not None and (isinstance(value, bool) or value < least):
            raise ArgumentError(f"must be at least {least}, got {value}", name)
    if replications * (iterations + 2) > RUNS.value:
        raise ArgumentError(
            RUNS.exceeded(f"the search makes up to {replications * (iterations + 2):,} runs"),
            "replications",
        )
    if isinstance(config, SimulationConfig):
        base = load_config(config.to_dict(), overrides)
    else:
        base = load_config(config, overrides)
    whole = check_request(base, lever, low, high, metric, statistic, level)
    if out is not None:
        tipping_folder_check(out, base.name, lever, overwrite=overwrite)
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
            whole,
        )
    finally:
        if executor is not None:
            executor.shutdown()
    result.config = base.name
    if out is not None:
        with FolderClaim(
            out, "tipping", _same_search(base.name, lever), overwrite=overwrite
        ) as claim:
            write_tipping(result, claim.path)
            written = [*TIPPING_FILES, *(also_write(claim.path) if also_write else ())]
            claim.remove_stale(OWNED_FILES, written)
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
    whole: bool = False,
) -> TippingResult:
    """The bisection itself, probing through `evaluate_many` (over whole numbers only when
    `whole`: then it ends when the bracket's ends are neighbours)."""
    seeds = [int(child.generate_state(1)[0]) for child in SeedSequence(seed).spawn(replications)]
    probes: dict[float, Probe] = {}

    def probe(value: float) -> Probe:
        if value not in probes:
            data = _probe_config(base, lever, value).to_dict()
            outcomes = evaluate_many([(data, s, metric, statistic) for s in seeds])
            probes[value] = Probe(value, [float(x) for x in outcomes])
        return probes[value]

    if whole:
        low, high = int(low), int(high)
    lower, upper = probe(low), probe(high)
    result = TippingResult(lever, metric, statistic, level, low, high, False, None, None, None)
    result.whole_numbers = whole
    if (lower.mean - level) * (upper.mean - level) > 0:
        result.probes = list(probes.values())
        return result
    a, b = (int(low), int(high)) if whole else (low, high)
    side_a = np.sign(lower.mean - level)
    for _ in range(iterations):
        if whole and b - a <= 1:
            break
        middle = (a + b) // 2 if whole else (a + b) / 2
        if np.sign(probe(middle).mean - level) == side_a:
            a = middle
        else:
            b = middle
    mean_a, mean_b = probes[a].mean, probes[b].mean
    if whole:
        estimate = b if b - a <= 1 else a + (level - mean_a) * (b - a) / (mean_b - mean_a)
    else:
        estimate = a if mean_b == mean_a else a + (level - mean_a) * (b - a) / (mean_b - mean_a)
    covering = [p.value for p in probes.values() if abs(p.mean - level) <= p.half_width] + [a, b]
    result.crossed = True
    result.estimate = float(np.clip(estimate, a, b))
    result.bracket = (a, b)
    result.uncertain_range = (float(min(covering)), float(max(covering)))
    result.probes = list(probes.values())
    return result


TIPPING_FILES: tuple[str, ...] = (MANIFEST, "tipping.json", "probes.csv", "tipping.png")
"""Files every search writes."""
OWNED_FILES: tuple[str, ...] = (
    *TIPPING_FILES,
    "hysteresis.json",
    "hysteresis.csv",
    "hysteresis.png",
)
"""Files a tipping folder may hold (the hysteresis files only when the ramp was run)."""


def write_tipping(result: TippingResult, folder: Path) -> None:
    """The tipping folder's files (this module is their only writer)."""
    data = result.to_dict()
    write_json(
        folder / MANIFEST,
        new_manifest("tipping", config=result.config, lever=result.lever, metric=result.metric),
    )
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
    shown = [_interval(p.outcomes) for p in probes]
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.errorbar(
        [p.value for p in probes],
        [row["mean"] for row in shown],
        yerr=np.nan_to_num(
            [
                [row["mean"] - row["ci_low"] for row in shown],
                [row["ci_high"] - row["mean"] for row in shown],
            ]
        ),
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
