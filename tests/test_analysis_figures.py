"""Sweep figures handle every kind of parameter value, not only numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.cli import main

VARY = {
    "one": "  decision.social_threshold_unit: [share, count]\n",
    "two": "  decision.social_threshold_unit: [share, count]\n  drivers.war_order_level: [1, 3]\n",
    "three": (
        "  decision.social_threshold_unit: [share, count]\n  drivers.war_order_level: [1, 3]\n"
        "  decision.enable_evasion: [true, false]\n"
    ),
}
FIGURE = {"one": "sweep.png", "two": "heatmap.png", "three": "parameters.png"}


@pytest.mark.parametrize("shape", sorted(VARY))
def test_text_valued_parameter_gets_its_figure(shape: str, tmp_path: Path, repo: Path) -> None:
    experiment = tmp_path / "text.yaml"
    experiment.write_text(
        f"base:\n  config: {repo / 'configs' / 'baseline.yaml'}\n"
        "  overrides: {population.n_officers: 60}\n"
        f"vary:\n{VARY[shape]}replications: 1\nsteps: 3\n"
    )
    out = tmp_path / "out"
    assert (
        main(["sweep", str(experiment), "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    )
    assert (out / "figures" / FIGURE[shape]).read_bytes()[:4] == b"\x89PNG"
