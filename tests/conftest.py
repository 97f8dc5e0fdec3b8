"""Shared fixtures: small configs that run in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig

REPO = Path(__file__).resolve().parent.parent


def small_config(*overrides: str, n_officers: int = 300, steps: int = 30) -> SimulationConfig:
    """The built-in defaults at a small size, with `key.path=value` overrides."""
    return load_config(
        None,
        [f"population.n_officers={n_officers}", f"steps={steps}", *overrides],
    )


@pytest.fixture
def repo() -> Path:
    """The repository root (configs/, experiments/ live there)."""
    return REPO
