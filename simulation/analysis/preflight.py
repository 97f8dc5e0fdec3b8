"""Checks made before `calibrate` and `ensemble` run their first simulation.

A calibration or an ensemble can run for hours; a setting it cannot use must stop it at
once, with one line naming the file (or argument) and key, not after every simulation ran.
These functions check what the targets file's and the priors' validation cannot see on
their own: keyword settings that override the file (validated by the file's own rules),
statistics beyond the steps a scenario runs, targets that cannot be computed at all (a
pilot of a few draws, each NaN or infinite), priors that leave nothing to draw, and
options that contradict each other.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import ValidationError

from simulation.config.example_scale import scaled_abc, scaled_predictive_draws
from simulation.config.targets import AbcSpec, Targets, TargetsFileSpec
from simulation.errors import ArgumentError, ConfigError

PILOT_DRAWS = 3
"""Prior draws simulated before a calibration: a target non-finite in every one of them
cannot be computed (a ratio over a share that is always 0), whatever the draw."""


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    return f"{problem['msg'].lower()}, got {problem.get('input')!r}"


def abc_settings(targets: Targets, updates: dict[str, Any]) -> AbcSpec:
    """The file's ABC settings with the keyword `updates` (None: keep the file's), checked
    by the file's own rules: a finite min_epsilon >= 0, a seed >= 0, and so on."""
    given = {key: value for key, value in updates.items() if value is not None}
    try:
        return AbcSpec.model_validate(scaled_abc({**targets.spec.abc.model_dump(), **given}))
    except ValidationError as error:
        key = str(error.errors()[0]["loc"][0])
        raise ArgumentError(_first_problem(error), key) from None


def predictive_draws(targets: Targets, draws: int | None) -> int:
    """The predictive runs per scenario, checked by the targets file's own bounds."""
    if draws is None:
        return targets.spec.predictive_draws
    field = TargetsFileSpec.model_fields["predictive_draws"]
    low = next(m.ge for m in field.metadata if getattr(m, "ge", None) is not None)
    high = next(m.le for m in field.metadata if getattr(m, "le", None) is not None)
    if isinstance(draws, bool) or not low <= draws <= high:
        raise ArgumentError(
            f"expected a whole number in [{low}, {high}], got {draws}", "predictive_draws"
        )
    return scaled_predictive_draws(draws)


def check_statistics(targets: Targets) -> None:
    """Every target's and check's statistic is within the steps its scenario runs."""
    named = [("targets", t.name, t.output, t.scenario) for t in targets.targets]
    named += [("checks", c.name, c.output, c.scenario) for c in targets.checks]
    named += [("checks", c.name, c.output, c.versus) for c in targets.checks if c.versus]
    for section, name, output, scenario in named:
        steps = int(targets.scenarios[scenario].data["steps"])
        for prefix in ("step_", "at_order_plus_"):
            if output.statistic.startswith(prefix):
                step = int(output.statistic.removeprefix(prefix))
                if step > steps:
                    raise ConfigError(
                        f"{prefix}{step} is beyond the {steps} steps its scenario runs",
                        targets.source,
                        f"{section}.{name}.statistic",
                    )


def check_targets_computable(targets: Targets, seed: int, draws: int = PILOT_DRAWS) -> None:
    """Simulate the fitted scenarios at a few prior draws (in this process) and stop on a
    target that is NaN or infinite in every one of them."""
    from simulation.analysis.calibration import Problem, output_value, run_scenarios
    from simulation.config.targets import transform

    problem = Problem.from_targets(targets)
    rng = np.random.default_rng([seed, 0x9E3779B9])
    finite = {target.name: False for target in targets.targets}
    tried = 0
    for draw in targets.priors.sample(rng, draws):
        results = run_scenarios(problem, draw, int(rng.integers(0, 2**32)), fitted_only=True)
        if results is None:
            continue
        tried += 1
        for name, scenario, _, scale in problem.targets:
            value = transform(output_value(problem, results, name, scenario), scale)
            finite[name] = finite[name] or math.isfinite(value)
    if not tried:
        return
    for target in targets.targets:
        if not finite[target.name]:
            raise ConfigError(
                f"'{target.spec.output}' ({target.spec.statistic}) cannot be computed: NaN or "
                f"infinite in all {tried} pilot runs (a ratio over a share that stays 0?)",
                targets.source,
                f"targets.{target.name}.output",
            )


def check_ensemble_options(priors: Any, posterior: Any, seed: int | None) -> None:
    """Options of an ensemble that contradict each other or cannot be used."""
    if priors is not None and posterior is not None:
        raise ArgumentError(
            "give priors or a posterior, not both (a posterior replaces the priors: its "
            "calibration's priors file gives the others)",
            "priors",
        )
    if seed is not None and (isinstance(seed, bool) or seed < 0):
        raise ArgumentError(f"expected a whole number >= 0, got {seed}", "seed")


def check_something_drawn(experiment: Any, priors: Any) -> None:
    """An ensemble must draw at least one assumption: priors that give none (``priors:
    {}``), or all excluded, would run the config unchanged and call it an ensemble."""
    design = getattr(experiment, "prior", None)
    if design is not None and not design.columns:
        source = str(priors) if priors is not None else design.priors.source
        raise ConfigError(
            "nothing to draw: the priors give no assumption to vary (or every one is "
            "excluded or set by the scenarios)",
            source,
            "priors",
        )
