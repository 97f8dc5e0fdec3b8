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


@pytest.fixture(autouse=True)
def private_run_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own, empty run cache (never the user's), through XDG_CACHE_HOME,
    which sweeps started in subprocesses inherit too."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("RELUCTANT_ARMY_CACHE", raising=False)


@pytest.fixture
def no_run_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """No run is served from the run cache (tests of faults: an injected fault must
    happen, not be skipped because the run was cached by an earlier, clean sweep)."""
    monkeypatch.setenv("RELUCTANT_ARMY_CACHE", "off")


@pytest.fixture
def repo() -> Path:
    """The repository root (configs/, experiments/ live there)."""
    return REPO
