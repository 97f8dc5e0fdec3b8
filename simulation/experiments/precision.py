"""Shares shown with the precision their uncertainty allows (never "± 0.0%").

An interval is clipped to [0, 1] (a share cannot leave it, whatever the normal or Student-t
approximation says) and shown with as many decimals as its half-width needs for one
significant digit; replications that all agree are said to agree.
"""

from __future__ import annotations

import math


def format_share(mean: float, low: float, high: float, sd: float = math.nan) -> str:
    """'12.3% ± 0.4%': the mean and the half-width of its interval, to the precision the
    interval allows; the interval is clipped to [0, 1] and shown as bounds when clipping
    makes it lopsided; 'all runs 100%' when every replication gave the same value."""
    if math.isnan(mean):
        return "-"
    if sd == 0.0:
        return f"all runs {_percent(mean, 1)}"
    if math.isnan(low) or math.isnan(high):
        return _percent(mean, 1)
    low, high = max(low, 0.0), min(high, 1.0)
    half = (high - low) / 2
    decimals = 1 if half <= 0 else min(3, max(0, -math.floor(math.log10(half * 100))))
    if low == 0.0 or high == 1.0:
        return f"{_percent(mean, decimals)} [{_percent(low, decimals)}, {_percent(high, decimals)}]"
    return f"{_percent(mean, decimals)} ± {_percent(half, decimals)}"


def _percent(value: float, decimals: int) -> str:
    return f"{100 * value:.{decimals}f}%"
