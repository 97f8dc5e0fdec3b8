"""Run one simulation and reduce it to a time series and a summary (no file I/O here)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pandas as pd

from simulation.config import CHOICES, GROUPS, RANKS, SimulationConfig
from simulation.model import ArmyModel


def package_versions() -> dict[str, str]:
    """Versions that a result depends on, recorded with every result."""
    versions = {}
    for package in ("reluctant-army", "mesa", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


@dataclass
class RunResult:
    """Outcome of one run: the per-step series, the summary and the agent data if asked."""

    config: SimulationConfig
    series: pd.DataFrame
    summary: dict[str, Any]
    agent_data: pd.DataFrame | None = None


def final_and_peak(series: pd.DataFrame, prefix: str = "") -> dict[str, dict[str, float]]:
    """Final and peak share of each choice for one category (peak over steps >= 1)."""
    after_start = series[series["step"] >= 1] if len(series) > 1 else series
    return {
        "final": {c: float(series[f"{prefix}{c}"].iloc[-1]) for c in CHOICES},
        "peak": {c: float(after_start[f"{prefix}{c}"].max()) for c in CHOICES},
    }


def summarise(series: pd.DataFrame, config: SimulationConfig, seed: int) -> dict[str, Any]:
    """The script-friendly summary of a run: final and peak shares overall, by group, by rank."""
    last = series.iloc[-1]
    return {
        "name": config.name,
        "seed": seed,
        "steps": int(last["step"]),
        "n_officers": config.population.n_officers,
        "officers_serving_at_end": int(last["n_active"]),
        "overall": final_and_peak(series),
        "by_group": {g: final_and_peak(series, f"{g}_") for g in GROUPS},
        "by_rank": {r: final_and_peak(series, f"{r}_") for r in RANKS},
        "recruited_by_russia": int(last["recruited_by_russia"]),
        "retired": int(last["retired"]),
        "entered": int(last["entered"]),
    }


def simulate(config: SimulationConfig, seed: int | None = None) -> RunResult:
    """Run `config` for `config.steps` steps and collect its results."""
    seed = config.seed if seed is None else seed
    started = time.perf_counter()
    model = ArmyModel(config, seed=seed)
    setup_seconds = time.perf_counter() - started
    for _ in range(config.steps):
        model.step()
    wall = time.perf_counter() - started
    series = model.datacollector.get_model_vars_dataframe()
    series.insert(0, "step", range(len(series)))
    series = series.reset_index(drop=True)
    summary = summarise(series, config, seed)
    summary["setup_seconds"] = setup_seconds
    summary["wall_time_seconds"] = wall
    summary["versions"] = package_versions()
    agent_data = None
    if config.output.collect_agent_data:
        agent_data = model.datacollector.get_agent_vars_dataframe().reset_index()
    return RunResult(
        config=config.model_copy(update={"seed": seed}),
        series=series,
        summary=summary,
        agent_data=agent_data,
    )
