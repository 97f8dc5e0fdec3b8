"""Every file of the scenario library runs and cites the seed passage it encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.config.loading import load_config
from simulation.experiments.runner import simulate

SCENARIOS = sorted(
    (Path(__file__).resolve().parent.parent / "configs" / "scenarios").glob("*.yaml")
)


def test_library_has_the_scenarios_of_the_seed() -> None:
    names = {path.stem for path in SCENARIOS}
    assert {
        "status_quo",
        "border_deployment",
        "fight_order",
        "crackdown",
        "incentive_package",
        "propaganda_surge",
        "russian_setbacks",
        "regime_wobble",
        "regime_wobble_amnesty",
        "generational_turnover",
        "russian_recruitment",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_scenario_file_starts_by_quoting_the_seed(path: Path) -> None:
    header = path.read_text().split("\nextends:")[0]
    assert header.startswith("#") and "Seed" in header


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_scenario_file_runs(path: Path) -> None:
    config = load_config(path, ["population.n_officers=150"])
    result = simulate(config)
    assert result.summary["steps"] == config.steps
    assert result.series["n_active"].iloc[-1] > 0
