"""Reluctant Army: an agent-based model of an officer corps facing war orders.

Explorations of "what if" under stated assumptions, never forecasts. See README.md
("Use from Python") and docs/ODD.md.

The public API, importable from here::

    from simulation import load_config, simulate, Experiment, run_experiment

    config = load_config("configs/baseline.yaml", {"drivers.war_order_level": 3})
    result = simulate(config, seed=1)          # RunResult: series, summary, write(folder)
    sweep = run_experiment(Experiment.from_dict({...}), workers=2)   # no files needed

Names are imported on first use, so that ``import simulation`` (and the command line's
``--help``) stays fast and does not import Mesa until a model is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS: dict[str, str] = {
    "ArmyModel": "simulation.model.model",
    "Officer": "simulation.model.agents",
    "SimulationConfig": "simulation.config.schema",
    "load_config": "simulation.config.loading",
    "simulate": "simulation.experiments.runner",
    "RunResult": "simulation.experiments.runner",
    "Experiment": "simulation.experiments.design",
    "load_experiment": "simulation.experiments.design",
    "run_experiment": "simulation.experiments.sweep",
    "SweepResult": "simulation.experiments.sweep",
    "verify_sweep": "simulation.experiments.verify",
    "find_tipping_point": "simulation.analysis.tipping",
    "run_sensitivity": "simulation.analysis.sensitivity",
    "discover": "simulation.analysis.discovery",
    "build_report": "simulation.analysis.report",
    "load_priors": "simulation.config.priors",
    "Priors": "simulation.config.priors",
    "load_targets": "simulation.config.targets",
    "run_ensemble": "simulation.analysis.ensemble",
    "EnsembleResult": "simulation.analysis.ensemble",
    "calibrate": "simulation.analysis.calibration",
    "CalibrationResult": "simulation.analysis.calibration",
    "recovery_study": "simulation.analysis.calibration",
    "results_table": "simulation.analysis.tables",
    "ReluctantArmyError": "simulation.errors",
    "ConfigError": "simulation.errors",
    "ArgumentError": "simulation.errors",
    "ResultsError": "simulation.errors",
    "UnguardedScriptError": "simulation.errors",
    "AllRunsFailedError": "simulation.errors",
}

__all__ = [
    "AllRunsFailedError",
    "ArgumentError",
    "ArmyModel",
    "CalibrationResult",
    "ConfigError",
    "EnsembleResult",
    "Experiment",
    "Officer",
    "Priors",
    "ReluctantArmyError",
    "ResultsError",
    "RunResult",
    "SimulationConfig",
    "SweepResult",
    "UnguardedScriptError",
    "__version__",
    "build_report",
    "calibrate",
    "discover",
    "find_tipping_point",
    "load_config",
    "load_experiment",
    "load_priors",
    "load_targets",
    "recovery_study",
    "results_table",
    "run_ensemble",
    "run_experiment",
    "run_sensitivity",
    "simulate",
    "verify_sweep",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulation' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from simulation.analysis.calibration import CalibrationResult, calibrate, recovery_study
    from simulation.analysis.discovery import discover
    from simulation.analysis.ensemble import EnsembleResult, run_ensemble
    from simulation.analysis.report import build_report
    from simulation.analysis.sensitivity import run_sensitivity
    from simulation.analysis.tables import results_table
    from simulation.analysis.tipping import find_tipping_point
    from simulation.config.loading import load_config
    from simulation.config.priors import Priors, load_priors
    from simulation.config.schema import SimulationConfig
    from simulation.config.targets import load_targets
    from simulation.errors import (
        AllRunsFailedError,
        ArgumentError,
        ConfigError,
        ReluctantArmyError,
        ResultsError,
        UnguardedScriptError,
    )
    from simulation.experiments.design import Experiment, load_experiment
    from simulation.experiments.runner import RunResult, simulate
    from simulation.experiments.sweep import SweepResult, run_experiment
    from simulation.experiments.verify import verify_sweep
    from simulation.model.agents import Officer
    from simulation.model.model import ArmyModel
