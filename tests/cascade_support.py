"""Helpers for the cascade tests: many seeds, intervals, curves over a lever."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.random import SeedSequence

from simulation.config.loading import load_config
from simulation.experiments.runner import run_model

SEEDS: list[int] = [int(c.generate_state(1)[0]) for c in SeedSequence(12).spawn(12)]
"""Twelve seeds from one root: every statistical test here runs over all of them."""


def interval(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """95% confidence interval of the mean (normal approximation over seeds)."""
    values = np.asarray(values, dtype=float)
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.shape[0])
    return values.mean() - half, values.mean() + half


def paired_interval(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """95% interval of mean(second - first) over seeds run with the same seeds."""
    return interval(np.asarray(second) - np.asarray(first))


def series(config_file: str | None, *overrides: str, seeds: Sequence[int] = SEEDS) -> dict:
    """Every per-step column, one row per seed: {column: array (seeds, steps + 1)}."""
    config = load_config(config_file, list(overrides))
    runs = [run_model(config, seed).columns for seed in seeds]
    return {name: np.array([run[name] for run in runs], dtype=float) for name in runs[0]}


def curve(
    config_file: str | None,
    lever: str,
    values: Sequence[float],
    metric: str,
    month: int,
    *overrides: str,
) -> np.ndarray:
    """The metric at `month` for each lever value (independent runs): (seeds, values)."""
    out = np.empty((len(SEEDS), len(values)))
    for column, value in enumerate(values):
        data = series(config_file, *overrides, f"steps={month}", f"{lever}={value}")
        out[:, column] = data[metric][:, month]
    return out
