"""Intervals of shares, one method per kind of quantity, and shares shown with the precision
their uncertainty allows (never "± 0.0%").

Two kinds of share are summarised, each with one interval method used everywhere (CLI,
summary.csv, the report, the explorer, the figures):

- a **mean of per-run shares** over replications (a sweep's design point): the 95%
  percentile bootstrap of the mean (:func:`mean_interval`, 10,000 resamples drawn from a
  fixed seed, so the same runs always give the same interval). A bootstrap mean of values in
  [0, 1] lies between their least and their greatest, so the interval lies in [0, 1] by
  construction; runs with no value (their group had no one serving) are left out, and the
  number of runs that contributed is reported beside it.
- a **share of n observations** (k of n runs, k of n officers): the 95% Wilson score
  interval (:func:`wilson_interval`), which lies in [0, 1] by construction.

An ensemble's spread over the priors is a different quantity (a distribution, not an
estimate): its median and 5%-95% quantiles, also in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

LEVEL = 0.95
"""Confidence level of every interval of a share."""

RESAMPLES = 10_000
"""Bootstrap resamples of a mean over replications."""

BOOTSTRAP_SEED = 20_251_128
"""Seed of the bootstrap's resampling: the same values always give the same interval."""

METHOD = (
    "95% percentile bootstrap interval of the mean over replications (10,000 resamples; "
    "runs whose group had no one serving left out)"
)
"""How the interval of a mean over replications is computed, for captions and docs."""


def mean_interval(values: np.ndarray | list[float]) -> tuple[float, float, float, float, int]:
    """Mean, sd, the 95% percentile-bootstrap interval of the mean, and the number of values
    that contributed (NaN values, empty groups, are left out).

    The interval is undefined (NaN) for fewer than two values; it is [v, v] when every value
    is v. It lies within [min, max] of the values, so within [0, 1] for shares.
    """
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    n = int(data.shape[0])
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(data.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan, 1
    sd = float(data.std(ddof=1))
    if sd == 0.0:
        return mean, 0.0, mean, mean, n
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = data[rng.integers(0, n, size=(RESAMPLES, n))].mean(axis=1)
    tail = (1.0 - LEVEL) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    # a bootstrap mean never leaves [min, max]; rounding in the quantile must not either
    return mean, sd, float(max(low, data.min())), float(min(high, data.max())), n


def runs_completed(row: Mapping[str, Any]) -> int:
    """Completed runs of a summary.csv row's design point, with or without a value (`n`
    contributed, `n_empty` had no one of the group serving)."""
    empty = row.get("n_empty", 0)
    return int(row["n"]) + (int(empty) if empty == empty else 0)


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a share of `successes` in `n` observations
    (NaN for n = 0); within [0, 1] by construction."""
    from scipy import stats

    if n <= 0:
        return math.nan, math.nan
    interval = stats.binomtest(int(successes), int(n)).proportion_ci(LEVEL, method="wilson")
    return max(0.0, float(interval.low)), min(1.0, float(interval.high))


def format_share(
    mean: float,
    low: float,
    high: float,
    sd: float = math.nan,
    *,
    runs: int | None = None,
    of: int | None = None,
) -> str:
    """'12.3% ± 0.4%': the mean and the half-width of its interval, to the precision the
    interval allows; bounds in brackets when the interval is lopsided around the mean;
    'all runs 100%' when every replication gave the same value ('all 4 runs 100% (16 of 20
    empty)' when only 4 had anyone of the group serving); 'empty (0 serving)' when none had.
    With `runs` fewer than `of`, says how many contributed ('80% [60%, 95%] (4 of 20 runs)')."""
    if math.isnan(mean):
        return "empty (0 serving)" if of else "-"
    note = f" ({runs} of {of} runs)" if runs is not None and of and runs < of else ""
    if sd == 0.0:
        if note:
            return f"all {runs} runs {_percent(mean, 1)} ({of - runs} of {of} empty)"
        return f"all runs {_percent(mean, 1)}"
    if math.isnan(low) or math.isnan(high):
        return _percent(mean, 1) + note
    low, high = max(low, 0.0), min(high, 1.0)
    half = (high - low) / 2
    decimals = 1 if half <= 0 else min(3, max(0, -math.floor(math.log10(half * 100))))
    below, above = mean - low, high - mean
    # '± half' only where it reads true: symmetric enough, and mean ± half as written stays
    # within 0-100% (else '0.008% ± 0.009%' would suggest a negative bound)
    step = 10.0**-decimals
    shown_mean, shown_half = round(100 * mean, decimals), round(100 * half, decimals)
    outside = shown_mean - shown_half < -step / 2 or shown_mean + shown_half > 100 + step / 2
    if half > 0 and (abs(below - above) > 0.2 * half or outside):
        bounds = f"[{_percent(low, decimals)}, {_percent(high, decimals)}]"
        return f"{_percent(mean, decimals)} {bounds}{note}"
    return f"{_percent(mean, decimals)} ± {_percent(half, decimals)}{note}"


def _percent(value: float, decimals: int) -> str:
    return f"{100 * value:.{decimals}f}%"
