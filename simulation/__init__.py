"""Reluctant Army: an agent-based model of an officer corps facing war orders.

Explorations of "what if", not forecasts. See README.md and docs/ODD.md.
"""

from simulation.agents import Officer
from simulation.config import ConfigError, SimulationConfig, load_config
from simulation.model import ArmyModel

__all__ = ["ArmyModel", "ConfigError", "Officer", "SimulationConfig", "load_config"]
__version__ = "0.1.0"
