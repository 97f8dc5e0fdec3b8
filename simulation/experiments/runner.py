"""Run one simulation and reduce it: the one path shared by run, sweep, tipping and the view.

:func:`run_model` steps a model to its horizon (or an early stop) and keeps its per-step
columns; :func:`reduce_values` turns one column into its final, peak and mean value with
one rule for "after step 0" (step 0 is the initial state, when everyone complies, so peaks
and means are taken over steps >= 1). :func:`simulate` is the notebook-friendly form:
a :class:`RunResult` with the series as a DataFrame, the summary and ``write(folder)``.
Nothing here touches files; :mod:`simulation.experiments.run_folder` writes them.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.config.schema import SimulationConfig
from simulation.vocabulary import CHOICES, GROUPS, RANKS, package_versions

if TYPE_CHECKING:
    import pandas as pd

STATISTICS: tuple[str, ...] = ("final", "peak", "mean")
"""How a per-step column is reduced to one number."""

STOP_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class StopRule:
    """Stop a run early once `metric` compares `op` to `value`, from step `after` on."""

    metric: str
    op: str = ">="
    value: float = 0.0
    after: int = 1

    def met(self, step: int, current: float) -> bool:
        """Whether the run should stop after `step`, where the metric is `current`."""
        return step >= self.after and STOP_OPERATORS[self.op](current, self.value)


def reduce_values(values: list[float]) -> dict[str, float]:
    """Final, peak and mean of a per-step column; peak and mean over steps >= 1."""
    after_start = values[1:] if len(values) > 1 else values
    return {
        "final": float(values[-1]),
        "peak": float(max(after_start)),
        "mean": float(np.mean(after_start)),
    }


@dataclass
class RunOutcome:
    """A finished run: its seed, how far it went, and every per-step column it recorded."""

    seed: int
    steps_run: int
    columns: dict[str, list]
    setup_seconds: float
    seconds: float
    model: Any = field(default=None, repr=False)

    def reduce(self, metric: str) -> dict[str, float]:
        """Final, peak and mean of one column (see :func:`reduce_values`)."""
        return reduce_values(self.columns[metric])

    def thinned(self, metrics: list[str], every: int) -> dict[str, list]:
        """Columns at steps 0, every, 2*every, ... and always the last step."""
        last = len(self.columns[metrics[0]]) - 1
        steps = list(range(0, last + 1, every))
        if steps[-1] != last:
            steps.append(last)
        series: dict[str, list] = {"step": steps}
        for metric in metrics:
            values = self.columns[metric]
            series[metric] = [float(values[s]) for s in steps]
        return series


def run_model(
    config: SimulationConfig, seed: int | None = None, *, stop: StopRule | None = None
) -> RunOutcome:
    """Build the model, step it to the config's horizon (or until `stop`), keep its columns.

    `seed` defaults to the config's seed: the same config and seed give the same numbers.
    """
    from simulation.model.model import ArmyModel

    seed = config.seed if seed is None else int(seed)
    started = time.perf_counter()
    model = ArmyModel(config, seed=seed)
    setup = time.perf_counter() - started
    columns = model.datacollector.model_vars
    for _ in range(config.steps):
        model.step()
        if stop is not None and stop.met(model.steps, float(columns[stop.metric][-1])):
            break
    release_agent_ids(model)
    return RunOutcome(
        seed=seed,
        steps_run=int(model.steps),
        columns=columns,
        setup_seconds=setup,
        seconds=time.perf_counter() - started,
        model=model,
    )


def release_agent_ids(model: Any) -> None:
    """Let a finished model be garbage-collected: Mesa 3.3's ``Agent._ids`` (a class-level
    dict keyed by model, mesa issue #3179, fixed in later releases) holds every model
    forever, so a worker running thousands of runs would grow by megabytes per run. Called
    once the run adds no more agents."""
    import mesa

    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def final_and_peak(outcome: RunOutcome, prefix: str = "") -> dict[str, dict[str, float]]:
    """Final and peak share of each choice for one category (e.g. prefix 'passive_')."""
    reduced = {choice: outcome.reduce(f"{prefix}{choice}") for choice in CHOICES}
    return {
        "final": {choice: values["final"] for choice, values in reduced.items()},
        "peak": {choice: values["peak"] for choice, values in reduced.items()},
    }


def summarise(outcome: RunOutcome, config: SimulationConfig) -> dict[str, Any]:
    """The script-friendly summary of a run: final and peak shares overall, by group, by rank."""
    columns = outcome.columns

    def last(name: str) -> int:
        return int(columns[name][-1])

    return {
        "name": config.name,
        "seed": outcome.seed,
        "steps": outcome.steps_run,
        "n_officers": config.population.n_officers,
        "officers_serving_at_end": last("n_active"),
        "overall": final_and_peak(outcome),
        "by_group": {group: final_and_peak(outcome, f"{group}_") for group in GROUPS},
        "by_rank": {rank: final_and_peak(outcome, f"{rank}_") for rank in RANKS},
        "recruited_by_russia": last("recruited_by_russia"),
        "retired": last("retired"),
        "entered": last("entered"),
        "setup_seconds": outcome.setup_seconds,
        "wall_time_seconds": outcome.seconds,
        "versions": package_versions(),
    }


@dataclass
class RunResult:
    """One run, reduced: the per-step series, the summary, and the agent data if asked."""

    config: SimulationConfig
    series: pd.DataFrame
    summary: dict[str, Any]
    agent_data: pd.DataFrame | None = None

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write the run's files into `folder` (see :mod:`simulation.experiments.run_folder`)."""
        from simulation.experiments.run_folder import write_run

        return write_run(self, folder)


def simulate(
    config: SimulationConfig | Mapping[str, Any] | str | Path | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run one simulation and collect its results (no files are written).

    `config` is a validated config, config data, a config file or None (the defaults);
    `seed` defaults to the config's seed.
    """
    import pandas as pd

    if not isinstance(config, SimulationConfig):
        from simulation.config.loading import load_config

        config = load_config(config)
    outcome = run_model(config, seed)
    series = pd.DataFrame(outcome.columns)
    series.insert(0, "step", range(len(series)))
    agent_data = None
    if config.output.collect_agent_data:
        agent_data = outcome.model.datacollector.get_agent_vars_dataframe().reset_index()
    return RunResult(
        config=config.model_copy(update={"seed": outcome.seed}),
        series=series,
        summary=summarise(outcome, config),
        agent_data=agent_data,
    )
