"""Run one simulation and reduce it: the one path shared by run, sweep, tipping and the view.

:func:`run_model` steps a model to its horizon (or an early stop) and keeps its per-step
columns; :func:`reduce_values` turns one column into its final, peak and mean value with
one rule for "after step 0" (step 0 is the initial state, when everyone complies, so peaks
and means are taken over steps >= 1), and into its value at fixed lags after the war-order
level changed (``at_order_plus_12``: twelve months after the order), so that scenarios of
different lengths are compared at the same time since their order. :func:`simulate` is
the notebook-friendly form: a :class:`RunResult` with the series as a DataFrame, the
summary and ``write(folder)``. Nothing here touches files;
:mod:`simulation.experiments.run_folder` writes them.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.config.limits import check_agent_data
from simulation.config.schema import SimulationConfig
from simulation.vocabulary import (
    CHOICES,
    COHORT_STATES,
    COUNT_COLUMNS,
    FLOWS,
    FORCE_SHARES,
    GROUPS,
    PERSONNEL,
    RANKS,
    REAR_POST_COMPLY,
    package_versions,
)

if TYPE_CHECKING:
    import pandas as pd

STATISTICS: tuple[str, ...] = ("final", "peak", "mean")
"""How a per-step column is reduced to one number (besides the lags after the order)."""

LAG_PREFIX = "at_order_plus_"
"""Name of the value a lag after the change of the war-order level: at_order_plus_<months>."""


def lag_measure(lag: int) -> str:
    """'at_order_plus_12' for a lag of 12 months."""
    return f"{LAG_PREFIX}{lag}"


def measure_lag(measure: str) -> int | None:
    """The lag of a lag measure ('at_order_plus_12' -> 12), None for final, peak, mean."""
    if measure.startswith(LAG_PREFIX) and measure[len(LAG_PREFIX) :].isdigit():
        return int(measure[len(LAG_PREFIX) :])
    return None


def outcome_measures(config: SimulationConfig) -> list[str]:
    """What a sweep records of each metric: final, peak and the config's lags after the order."""
    return ["final", "peak", *(lag_measure(lag) for lag in config.output.order_lags)]


def order_change_step(config: SimulationConfig) -> int:
    """The step from which the lags count: the first (or last, by output.lag_reference)
    change of the war-order level within the run, of the whole army or of any unit type
    with its own orders; 0 when the level never changes."""
    schedules = [config.drivers.war_order_level] + [
        unit_type.war_order_level
        for unit_type in config.structure.unit_types.values()
        if unit_type.war_order_level is not None
    ]
    changes = sorted(
        change.step
        for schedule in schedules
        if isinstance(schedule, list)
        for previous, change in zip(schedule, schedule[1:], strict=False)
        if change.value != previous.value and change.step <= config.steps
    )
    if not changes:
        return 0
    return changes[0] if config.output.lag_reference == "first_change" else changes[-1]


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


def reduce_values(
    values: list[float], order_step: int = 0, lags: tuple[int, ...] | list[int] = ()
) -> dict[str, float]:
    """Final, peak and mean of a per-step column (peak and mean over steps >= 1), and its
    value `lag` steps after `order_step` for each lag (NaN when the run stopped before).

    A share is NaN in the months its group or category has no one serving (the reserve
    before its call-up, a group all gone): peak and mean are over the months it exists,
    NaN only if it never does; the final value is NaN if it is empty at the end."""
    after_start = np.asarray(values[1:] if len(values) > 1 else values, dtype=float)
    existing = after_start[~np.isnan(after_start)]
    reduced = {
        "final": float(values[-1]),
        "peak": float(existing.max()) if existing.size else float("nan"),
        "mean": float(existing.mean()) if existing.size else float("nan"),
    }
    for lag in lags:
        step = order_step + lag
        reduced[lag_measure(lag)] = float(values[step]) if step < len(values) else float("nan")
    return reduced


@dataclass
class RunOutcome:
    """A finished run: its seed, how far it went, and every per-step column it recorded."""

    seed: int
    steps_run: int
    columns: dict[str, list]
    setup_seconds: float
    seconds: float
    model: Any = field(default=None, repr=False)
    order_step: int = 0
    lags: tuple[int, ...] = ()

    def reduce(self, metric: str, measures: list[str] | None = None) -> dict[str, float]:
        """Final, peak, mean and the lags after the order of one column (see
        :func:`reduce_values`); `measures` may ask for other lags than the config's."""
        lags = set(self.lags)
        for measure in measures or ():
            lag = measure_lag(measure)
            if lag is not None:
                lags.add(lag)
        return reduce_values(self.columns[metric], self.order_step, sorted(lags))

    def thinned(self, metrics: list[str], every: int) -> dict[str, list]:
        """Columns at steps 0, every, 2*every, ..., the last step, and the order's month and
        the month after it (month 1 without a change of order): the response to an order
        comes in its first month, which a yearly sample alone would draw as a straight line
        from month 0 to month 12."""
        last = len(self.columns[metrics[0]]) - 1
        marks = {last, self.order_step, self.order_step + 1}
        steps = sorted({*range(0, last + 1, every), *(s for s in marks if 0 <= s <= last)})
        series: dict[str, list] = {"step": steps}
        for metric in metrics:
            values = self.columns[metric]
            series[metric] = [float(values[s]) for s in steps]
        return series


class RunTimeoutError(TimeoutError):
    """A run took longer than it was allowed (a sweep records it as failed)."""


def run_model(
    config: SimulationConfig,
    seed: int | None = None,
    *,
    stop: StopRule | None = None,
    timeout: float | None = None,
    columns: list[str] | None = None,
) -> RunOutcome:
    """Build the model, step it to the config's horizon (or until `stop`), keep its columns
    (every per-step column, or only `columns` and the stop rule's metric: a sweep records
    what it reduces and nothing else, and needs no Mesa agents; the numbers are the same).

    `seed` defaults to the config's seed: the same config and seed give the same numbers.
    With `timeout` (seconds), a run still going after that long raises RunTimeoutError.
    """
    from simulation.model.model import ArmyModel

    seed = config.seed if seed is None else int(seed)
    started = time.perf_counter()
    record = None
    if columns is not None:
        record = list(dict.fromkeys([*columns, *([stop.metric] if stop else [])]))
    model = ArmyModel(config, seed=seed, record=record, views=record is None)
    setup = time.perf_counter() - started
    columns = model.datacollector.model_vars
    try:
        for _ in range(config.steps):
            model.step()
            if stop is not None and stop.met(model.steps, float(columns[stop.metric][-1])):
                break
            if timeout is not None and time.perf_counter() - started > timeout:
                raise RunTimeoutError(
                    f"timed out after {timeout:g} s (at step {model.steps} of {config.steps})"
                )
    finally:
        release_agent_ids(model)
    return RunOutcome(
        seed=seed,
        steps_run=int(model.steps),
        columns=columns,
        setup_seconds=setup,
        seconds=time.perf_counter() - started,
        model=model,
        order_step=order_change_step(config),
        lags=tuple(config.output.order_lags),
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


def _json_number(value: float) -> float | None:
    """A number for summary.json: NaN (a lag the run did not reach) becomes null."""
    return None if value != value else value


def final_and_peak(outcome: RunOutcome, prefix: str = "") -> dict[str, Any]:
    """Final and peak share of each choice for one category (e.g. prefix 'passive_'), the
    shares at each lag after the order (key at_order_plus_<lag>; null if not reached), and
    how many of the category serve at the end (`serving_at_end`; with none, the final
    shares are null: an empty group has no shares). Overall, beside `comply`, the share of
    those serving who comply at a rear post after reassignment (`comply_at_rear_post`, a part
    of `comply`) and, in a block of its own by measure, their number
    (`count_comply_at_rear_post`)."""
    reduced = {choice: outcome.reduce(f"{prefix}{choice}") for choice in CHOICES}
    rear = not prefix and REAR_POST_COMPLY in outcome.columns
    if rear:
        # beside comply, named: the share of those serving complying at a rear post
        reduced[REAR_POST_COMPLY] = outcome.reduce(REAR_POST_COMPLY)
    measures = ["final", "peak", *(lag_measure(lag) for lag in outcome.lags)]
    block: dict[str, Any] = {
        measure: {choice: _json_number(values[measure]) for choice, values in reduced.items()}
        for measure in measures
    }
    if rear:
        # ... and their number, kept out of the measures' blocks, which hold shares only
        count = outcome.reduce(f"count_{REAR_POST_COMPLY}")
        block[f"count_{REAR_POST_COMPLY}"] = {
            measure: _json_number(count[measure]) for measure in measures
        }
    size = f"n_{prefix.removesuffix('_')}" if prefix else "n_active"
    if size in outcome.columns:
        block["serving_at_end"] = int(outcome.columns[size][-1])
    return block


def summarise(outcome: RunOutcome, config: SimulationConfig) -> dict[str, Any]:
    """The script-friendly summary of a run: final and peak shares overall, by group, by rank
    and (with other personnel) by category; groups and ranks are the officers'."""
    columns = outcome.columns

    def last(name: str) -> int:
        return int(columns[name][-1])

    measures = ["final", *(lag_measure(lag) for lag in outcome.lags)]
    cohort = {f"cohort_{state}": outcome.reduce(f"cohort_{state}") for state in COHORT_STATES}
    force = {name: outcome.reduce(name) for name in FORCE_SHARES}
    headline = {
        state: (outcome.reduce(f"cohort_count_{state}"), outcome.reduce(f"cohort_{state}"))
        for state in COHORT_STATES
        if f"cohort_count_{state}" in columns
    }
    flow_names = [name for name in FLOWS if f"flow_{name}" in columns]
    flow_values = {
        column: outcome.reduce(column)
        for name in flow_names
        for column in (f"flow_{name}", f"flow_{name}_per_1000_serving")
    }
    if "n_serving_at_choice" in columns:
        flow_values["n_serving_at_choice"] = outcome.reduce("n_serving_at_choice")
    return {
        "name": config.name,
        "seed": outcome.seed,
        "steps": outcome.steps_run,
        "n_officers": config.population.n_officers,
        "n_personnel": config.n_personnel,
        "officers_serving_at_end": last("n_active"),
        "order_change_step": outcome.order_step,
        "overall": final_and_peak(outcome),
        "by_group": {group: final_and_peak(outcome, f"{group}_") for group in GROUPS},
        "by_rank": {rank: final_and_peak(outcome, f"{rank}_") for rank in RANKS},
        "by_category": {
            category: final_and_peak(outcome, f"{category}_")
            for category in PERSONNEL
            if f"{category}_comply" in columns
        },
        "cohort": {
            measure: {state: _json_number(values[measure]) for state, values in cohort.items()}
            for measure in measures
        },
        "headline": {
            "denominator": "the starting force (present at month 0)",
            "starting_force": int(columns["n_active"][0]),
            **{
                measure: {
                    state: {
                        "count": _json_number(count[measure]),
                        "share": _json_number(share[measure]),
                    }
                    for state, (count, share) in headline.items()
                }
                for measure in measures
            },
        },
        "flows": {
            "denominator": "per 1,000 of the force serving at that month's choice",
            **{
                measure: {
                    name: _json_number(values[measure]) for name, values in flow_values.items()
                }
                for measure in measures
            },
        },
        "force_shares": {
            measure: {name: _json_number(values[measure]) for name, values in force.items()}
            for measure in measures
        },
        "counts": {name: last(name) for name in COUNT_COLUMNS},
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

    def write(
        self, folder: str | Path, *, overwrite: bool = False, title: str | None = None
    ) -> dict[str, Path]:
        """Write the run's files into `folder` (see :mod:`simulation.experiments.run_folder`);
        a folder of other results is refused unless `overwrite` (and it holds a run).
        `title` names the run in its figure (default: the config's name)."""
        from simulation.experiments.run_folder import write_run

        return write_run(self, folder, overwrite=overwrite, title=title)


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
    check_agent_data(config.n_personnel, config.steps, config.output.collect_agent_data, None)
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
