"""Examples at small size: one switch that caps every size an input file sets.

With ``RELUCTANT_ARMY_EXAMPLE_SCALE=small`` in the environment, every config, experiment and
targets file is loaded at a small size: at most 200 officers and 24 months (unless a driver
schedule changes later: then the schedule sets the horizon), 2 replications,
8 sampled design points (or prior draws; 2 base samples for Sobol and Morris designs, whose
runs grow with the number of parameters), and a calibration of 20 particles, 3 generations,
200 simulations and 5 predictive draws (from the targets file or the command line alike).
The documentation's examples run this way in the test suite (tests/test_doc_examples.py),
so that every documented command is run as written in a few seconds each; the numbers they
then print are not the documented ones. Unset (or empty), nothing changes. The variable is
read here and nowhere else.
"""

from __future__ import annotations

import os
from typing import Any

from simulation.errors import ConfigError

VARIABLE = "RELUCTANT_ARMY_EXAMPLE_SCALE"

SMALL: dict[str, int] = {
    "officers": 200,
    "steps": 24,
    "replications": 2,
    "samples": 8,
    "screening_samples": 2,
    "particles": 20,
    "generations": 3,
    "simulations": 200,
    "predictive_draws": 5,
}
"""The caps of the `small` scale."""

SCREENING = ("sobol", "morris")
"""Designs whose runs grow with the number of parameters (samples x (parameters + 2)), so
that they get `screening_samples` rather than `samples`."""


def example_caps() -> dict[str, int] | None:
    """The caps in force, or None when the examples run at their own size."""
    value = os.environ.get(VARIABLE, "").strip().lower()
    if not value:
        return None
    if value != "small":
        raise ConfigError(f"expected 'small' (or nothing), got {value!r}", VARIABLE)
    return SMALL


def _capped(data: dict[str, Any], key: str, cap: int, *, when_missing: bool = False) -> dict:
    """`data` with `key` lowered to `cap` if it is a larger whole number (or set to `cap` when
    missing, for keys whose default is larger)."""
    value = data.get(key, cap + 1 if when_missing else None)
    if isinstance(value, int) and value > cap:
        return {**data, key: cap}
    return data


def scaled_config(data: dict[str, Any]) -> dict[str, Any]:
    """Config data (a file's, before any override) with its officers and steps capped
    (unchanged without the switch). Overrides given with it stand: a horizon a tool computes
    (a hysteresis ramp, a swept `steps`) is part of the example, not its size."""
    caps = example_caps()
    if caps is None or not isinstance(data, dict):
        return data
    population = data.get("population")
    population = population if isinstance(population, dict) else {}
    result = {
        **data,
        "population": _capped(population, "n_officers", caps["officers"], when_missing=True),
    }
    if _last_scheduled_change(data) >= caps["steps"]:
        return result  # the schedule sets the horizon (e.g. a hysteresis ramp): keep it
    return _capped(result, "steps", caps["steps"], when_missing=True)


def _last_scheduled_change(data: dict[str, Any]) -> int:
    """The latest step at which a driver schedule of the config data changes (0 if none)."""
    drivers = data.get("drivers")
    changes = [
        change.get("step")
        for schedule in (drivers.values() if isinstance(drivers, dict) else [])
        if isinstance(schedule, list)
        for change in schedule
        if isinstance(change, dict)
    ]
    return max([step for step in changes if isinstance(step, int)], default=0)


def scaled_experiment(data: dict[str, Any]) -> dict[str, Any]:
    """Experiment data with replications, steps and sampled points capped."""
    caps = example_caps()
    if caps is None or not isinstance(data, dict):
        return data
    result = _capped(_capped(data, "replications", caps["replications"]), "steps", caps["steps"])
    rule = result.get("replications")
    if isinstance(rule, dict):  # adaptive: at most the cap, and min never above max
        limit = caps["replications"]
        result["replications"] = {**rule, "min": min(rule.get("min", 2), limit), "max": limit}
    design = result.get("design")
    if isinstance(design, dict):
        cap = caps["screening_samples" if design.get("kind") in SCREENING else "samples"]
        result["design"] = _capped(design, "samples", cap)
    return result


def scaled_targets(data: dict[str, Any]) -> dict[str, Any]:
    """Targets data with the calibration's particles, generations, simulations and predictive
    draws capped (its scenarios' configs are capped as they load)."""
    caps = example_caps()
    if caps is None or not isinstance(data, dict):
        return data
    result = {**data, "abc": scaled_abc(dict(data.get("abc") or {}))}
    return _capped(result, "predictive_draws", caps["predictive_draws"], when_missing=True)


def scaled_abc(settings: dict[str, Any]) -> dict[str, Any]:
    """ABC settings with particles, generations and simulations capped, wherever they come
    from (a targets file, the command line or a Python call): a documented command that sets
    its own budget still runs at the small size."""
    caps = example_caps()
    if caps is None:
        return settings
    for key, cap in (
        ("population_size", caps["particles"]),
        ("generations", caps["generations"]),
        ("max_simulations", caps["simulations"]),
    ):
        settings = _capped(settings, key, cap, when_missing=True)
    return settings


def scaled_predictive_draws(draws: int) -> int:
    """Predictive draws capped at the small size (given on the command line or in Python)."""
    caps = example_caps()
    return draws if caps is None else min(draws, caps["predictive_draws"])
