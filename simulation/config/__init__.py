"""Configuration: the schema (:mod:`.schema`), loading files (:mod:`.loading`), readable
validation messages (:mod:`.messages`) and the schema as documentation (:mod:`.docs`)."""

from simulation.config.loading import apply_overrides, deep_merge, load_config, validate_config
from simulation.config.schema import (
    DEFAULT_DATA,
    DRIVER_NAMES,
    DecisionConfig,
    SimulationConfig,
    schedule_value,
)

__all__ = [
    "DEFAULT_DATA",
    "DRIVER_NAMES",
    "DecisionConfig",
    "SimulationConfig",
    "apply_overrides",
    "deep_merge",
    "load_config",
    "schedule_value",
    "validate_config",
]
