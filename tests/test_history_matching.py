"""History matching's bookkeeping, on an analytic simulator whose plausible region is known.

The toy: two parameters uniform on [0, 1], statistics f1 = x + y and f2 = x − y, targets
1 and 0 with sd 0.05 and no discrepancy. Emulated exactly, a point is plausible when
|x + y − 1| ≤ 0.15 and |x − y| ≤ 0.15: a square of side 0.3 in (x + y, x − y), whose area
in (x, y) is 0.3² / 2 = 0.045, so 95.5 % of the prior is ruled out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.analysis.history_matching import (
    HistoryMatch,
    Observation,
    Space,
    history_match,
    plot_waves,
)

SD = 0.05
TARGETS = [Observation("sum", 1.0, SD), Observation("difference", 0.0, SD)]


def unit_space() -> Space:
    def from_unit(unit: np.ndarray) -> list[dict[str, float]]:
        return [{"x": float(a), "y": float(b)} for a, b in unit]

    return Space(
        names=["x", "y"],
        dimensions=2,
        from_unit=from_unit,
        sample=lambda rng, size: from_unit(rng.uniform(size=(size, 2))),
        positions=lambda draws: np.array([[d["x"], d["y"]] for d in draws]),
    )


def toy(item: tuple[dict[str, float], int], noise: float = 0.0) -> dict[str, float]:
    draw, seed = item
    shake = np.random.default_rng(seed).normal(0, noise, 2)
    return {
        "sum": draw["x"] + draw["y"] + shake[0],
        "difference": draw["x"] - draw["y"] + shake[1],
        "unreachable": 5.0 + draw["x"],
    }


def true_implausibility(points: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(points.sum(axis=1) - 1), np.abs(points[:, 0] - points[:, 1])) / SD


@pytest.fixture(scope="module")
def matched() -> HistoryMatch:
    return history_match(
        toy, unit_space(), TARGETS, waves=2, points=30, discrepancy=0.0, check_sample=4000
    )


def test_the_share_ruled_out_is_the_analytic_one(matched: HistoryMatch) -> None:
    assert matched.waves["ruled_out_total"].iloc[-1] == pytest.approx(0.955, abs=0.02)


def test_no_truly_plausible_point_is_ruled_out(matched: HistoryMatch) -> None:
    points = np.random.default_rng(5).uniform(size=(4000, 2))
    kept = matched.region.contains(points)
    assert kept[true_implausibility(points) <= 2.7].all()


def test_clearly_implausible_points_are_ruled_out(matched: HistoryMatch) -> None:
    points = np.random.default_rng(6).uniform(size=(4000, 2))
    kept = matched.region.contains(points)
    assert not kept[true_implausibility(points) >= 4].any()


def test_a_later_wave_designs_inside_the_space_not_ruled_out(matched: HistoryMatch) -> None:
    second = matched.runs.loc[matched.runs["wave"] == 2, ["x", "y"]].to_numpy()
    assert len(second) == 30
    assert (true_implausibility(second) <= 3.5).all()
    first = matched.waves.iloc[0]
    assert first["not_ruled_out_before"] == 1.0
    assert first["candidates_drawn"] == 30 and matched.waves.iloc[1]["candidates_drawn"] > 30


def test_each_wave_reports_what_it_ruled_out(matched: HistoryMatch) -> None:
    waves = matched.waves
    assert list(waves["wave"]) == [1, 2]
    assert (waves["ruled_out_by_wave"] >= 0).all()
    np.testing.assert_allclose(waves["ruled_out_total"], 1 - waves["not_ruled_out"], atol=1e-12)
    np.testing.assert_allclose(
        waves["ruled_out_by_wave"].sum(), waves["ruled_out_total"].iloc[-1], atol=1e-12
    )


def test_honest_emulators_of_a_noisy_simulator_pass_leave_one_out() -> None:
    noisy = history_match(
        lambda item: toy(item, noise=0.02),
        unit_space(),
        TARGETS,
        waves=1,
        points=40,
        discrepancy=0.0,
        check_sample=1000,
    )
    diagnostics = noisy.diagnostics
    assert set(diagnostics["target"]) == {"sum", "difference"}
    assert (diagnostics["loo_within_2"] >= 0.85).all()
    assert (diagnostics["loo_within_3"] >= 0.95).all()
    assert (diagnostics["nugget_sd"].between(0.01, 0.04)).all()


def test_an_unreachable_target_rules_out_everything_unless_the_second_maximum_is_used() -> None:
    targets = [*TARGETS, Observation("unreachable", 0.0, SD)]
    strict = history_match(toy, unit_space(), targets, waves=1, points=20, check_sample=1000)
    assert strict.kept_share == 0.0
    lenient = history_match(
        toy, unit_space(), targets, waves=1, points=20, order=2, check_sample=1000
    )
    assert 0.02 < lenient.kept_share < 0.2


def test_the_waves_figure_is_drawn(matched: HistoryMatch, tmp_path: Path) -> None:
    plot_waves(matched, tmp_path / "waves.png")
    assert (tmp_path / "waves.png").stat().st_size > 5000


def test_the_design_runs_are_kept_with_their_statistics(matched: HistoryMatch) -> None:
    runs = matched.runs
    assert isinstance(runs, pd.DataFrame) and len(runs) == 60
    assert {"statistic:sum", "statistic:difference", "seed", "not_ruled_out"} <= set(runs)
