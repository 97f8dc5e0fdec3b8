"""Properties that hold for every valid configuration, and the direction of each lever.

Hypothesis draws small random configs (20-300 officers, up to 30 steps, random driver
values and schedules, random group shares summing to 1, temperature 0 or positive, with
or without evasion, turnover and Russian recruitment) and seeds, and checks bookkeeping:
shares in [0, 1] that sum to 1 for every category with members, NaN (no shares) for a
category with none and no NaN elsewhere, counts that add up, group sizes conserved when
nobody enters or leaves, and determinism.

The levers are checked on fixed representative configs averaged over 12 seeds (common
random numbers: the same seeds at each lever value), with a tolerance: war-order level up
-> compliance down; punishment up -> refusal down, evasion and exits up; closing resignation
-> exits down, evasion or desertion up; incentives up -> passive compliance up;
propaganda up -> compliance not down; disillusion up -> compliance not up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig
from simulation.experiments.runner import simulate
from simulation.model.population import apportion
from simulation.vocabulary import (
    CALL_UP_SHARES,
    CHOICES,
    COHORT_STATES,
    DEPARTURES,
    GROUPS,
    RANKS,
)

# ---------------------------------------------------------------------- random configs

DRIVER_RANGES: dict[str, tuple[float, float]] = {
    "detection_capacity": (0.0, 3.0),
    "punishment_severity": (0.0, 3.0),
    "russian_propaganda": (0.0, 0.05),
    "russian_contact": (0.0, 0.05),
    "isolation": (0.0, 1.0),
    "incentive_level": (0.0, 2.0),
    "disillusion": (0.0, 0.05),
    "regime_stability": (0.0, 1.0),
    "amnesty": (0.0, 1.0),
}


def schedule(values: st.SearchStrategy[float], steps: int) -> st.SearchStrategy[Any]:
    """A constant, or changes at step 0 and at increasing later steps."""

    @st.composite
    def changes(draw: st.DrawFn) -> list[dict[str, Any]]:
        later = draw(st.lists(st.integers(1, max(steps, 1)), max_size=3, unique=True))
        return [{"step": step, "value": draw(values)} for step in [0, *sorted(later)]]

    return values | changes()


@st.composite
def group_shares(draw: st.DrawFn) -> dict[str, float]:
    weights = draw(st.lists(st.integers(0, 20), min_size=3, max_size=3).filter(any))
    total = sum(weights)
    return {group: weight / total for group, weight in zip(GROUPS, weights, strict=True)}


@st.composite
def configs(draw: st.DrawFn, movement: bool = True) -> SimulationConfig:
    """A small random valid config; with `movement`, turnover and recruitment may be on."""
    n = draw(st.integers(20, 300))
    steps = draw(st.integers(0, 30))
    overrides: dict[str, Any] = {
        "population.n_officers": n,
        "steps": steps,
        "population.group_shares": draw(group_shares()),
        "structure.unit_size": draw(st.integers(1, min(n, 40))),
        "structure.cross_unit_ties": draw(st.floats(0.0, 5.0)),
        "decision.temperature": draw(st.just(0.0) | st.floats(0.001, 1.0)),
        "decision.enable_evasion": draw(st.booleans()),
        "decision.social_threshold_unit": draw(st.sampled_from(["share", "count"])),
        "decision.social_weight": draw(st.floats(0.0, 2.0)),
        "decision.detection_ratio_rounding": draw(st.sampled_from(["none", "floor", "round"])),
        "drivers.war_order_level": draw(schedule(st.integers(0, 3).map(float), steps)),
    }
    for name, (low, high) in DRIVER_RANGES.items():
        overrides[f"drivers.{name}"] = draw(schedule(st.floats(low, high), steps))
    if movement:
        overrides["turnover.enabled"] = draw(st.booleans())
        overrides["drivers.russian_recruitment_rate"] = draw(
            st.just(0.0) | schedule(st.floats(0.0, 0.5), steps)
        )
        overrides["consequences.enabled"] = draw(st.booleans())
        overrides["consequences.jail_term_months"] = draw(st.integers(0, 12))
        overrides["consequences.return_after_jail"] = draw(st.booleans())
        overrides["consequences.arrest_rule"] = draw(st.sampled_from(["detection", "capacity"]))
        overrides["exit.enabled"] = draw(st.booleans())
        overrides["exit.stop_loss_from_level"] = draw(st.integers(0, 4))
        overrides["drivers.desertion_opportunity"] = draw(schedule(st.floats(0.0, 1.0), steps))
        overrides["decision.taste_sd"] = draw(st.just(0.0) | st.floats(0.0, 0.5))
        overrides["decision.activation"] = draw(st.sampled_from(["synchronous", "random"]))
    else:
        overrides["turnover.enabled"] = False
        overrides["drivers.russian_recruitment_rate"] = 0.0
        overrides["consequences.enabled"] = False
        overrides["exit.enabled"] = False
    return load_config(None, overrides)


seeds = st.integers(0, 2**32 - 1)


def check_bookkeeping(series: pd.DataFrame, config: SimulationConfig) -> None:
    numeric = series.select_dtypes("number")
    empty_shares = [f"{category}_{choice}" for category in (*GROUPS, *RANKS) for choice in CHOICES]
    undefined = [*empty_shares, *CALL_UP_SHARES]
    assert not numeric.drop(columns=undefined).isna().any().any(), "NaN in the series"
    called = series["called_up"].to_numpy() > 0
    call_up = series[list(CALL_UP_SHARES)].to_numpy()
    assert np.isnan(call_up[~called]).all(), "call-up shares before anyone is called up"
    assert ((call_up[called] >= 0) & (call_up[called] <= 1)).all()
    assert (call_up[called].sum(axis=1) <= 1 + 1e-9).all()
    assert len(series) == config.steps + 1
    n_active = series["n_active"].to_numpy()
    assert (n_active >= 0).all() and (n_active <= config.population.n_officers).all()
    counts = sum(series[f"count_{choice}"] for choice in CHOICES)
    np.testing.assert_array_equal(counts, n_active)
    shares = series[list(CHOICES)].to_numpy()
    assert ((shares >= 0) & (shares <= 1)).all()
    np.testing.assert_allclose(shares.sum(axis=1)[n_active > 0], 1.0, atol=1e-9)
    for categories in (GROUPS, RANKS):
        members = sum(series[f"n_{category}"] for category in categories)
        np.testing.assert_array_equal(members, n_active)
        for category in categories:
            size = series[f"n_{category}"].to_numpy()
            block = series[[f"{category}_{choice}" for choice in CHOICES]].to_numpy()
            assert ((block[size > 0] >= 0) & (block[size > 0] <= 1)).all(), category
            np.testing.assert_allclose(block.sum(axis=1)[size > 0], 1.0, atol=1e-9)
            assert np.isnan(block[size == 0]).all(), "an empty category has no shares"
            category_counts = sum(series[f"count_{category}_{c}"] for c in CHOICES)
            np.testing.assert_array_equal(category_counts, size)
    if not config.decision.enable_evasion:
        assert (series["count_evade"] == 0).all()
    cohort = series[[f"cohort_{state}" for state in COHORT_STATES]].to_numpy()
    assert ((cohort >= 0) & (cohort <= 1)).all()
    np.testing.assert_allclose(cohort.sum(axis=1), 1.0, atol=1e-9)
    start = config.population.n_officers
    gone = sum(series[route] for route in DEPARTURES)
    np.testing.assert_array_equal(n_active + series["jailed"] + gone - series["entered"], start)
    np.testing.assert_array_equal(series["exited"], series["resigned"] + series["deserted"])


@settings(max_examples=30, deadline=None)
@given(config=configs(), seed=seeds)
def test_shares_are_shares(config, seed):
    """Every step: shares in [0, 1], summing to 1 for categories with members; no NaN."""
    check_bookkeeping(simulate(config, seed).series, config)


@settings(max_examples=25, deadline=None)
@given(config=configs(movement=False), seed=seeds)
def test_group_and_rank_sizes_conserved_without_movement(config, seed):
    """Turnover off and no Russian recruitment: nobody enters or leaves, sizes are exact."""
    series = simulate(config, seed).series
    check_bookkeeping(series, config)
    n = config.population.n_officers
    assert (series["n_active"] == n).all()
    expected = apportion(n, [config.population.group_shares[g] for g in GROUPS])
    for group, size in zip(GROUPS, expected, strict=True):
        assert (series[f"n_{group}"] == size).all(), group
    for category in (*GROUPS, *RANKS):
        assert series[f"n_{category}"].nunique() == 1, category
    assert (series["recruited_by_russia"] == 0).all()
    assert (series["retired"] == 0).all() and (series["entered"] == 0).all()
    for route in DEPARTURES:
        assert (series[route] == 0).all(), route


@settings(max_examples=25, deadline=None)
@given(config=configs(), seed=seeds)
def test_same_config_and_seed_same_series(config, seed):
    first = simulate(config, seed)
    second = simulate(config, seed)
    pd.testing.assert_frame_equal(first.series, second.series)
    assert first.summary["overall"] == second.summary["overall"]


# ----------------------------------------------------------------------------- levers

SEEDS = range(12)
TOLERANCE = 0.01  # share of officers


def mean_share(overrides: list[str], column: str) -> float:
    """Share `column` averaged over steps 1.. and over SEEDS, for 500 officers, 24 steps."""
    config = load_config(None, ["population.n_officers=500", "steps=24", *overrides])
    values = [simulate(config, seed).series[column].iloc[1:].mean() for seed in SEEDS]
    return float(np.mean(values))


def ladder(lever: str, values: list[float], column: str, base: list[str]) -> list[float]:
    return [mean_share([*base, f"{lever}={value}"], column) for value in values]


def assert_non_decreasing(means: list[float]) -> None:
    for lower, higher in zip(means, means[1:], strict=False):
        assert higher >= lower - TOLERANCE, means


def assert_non_increasing(means: list[float]) -> None:
    assert_non_decreasing([-mean for mean in means])


def test_war_order_level_lowers_compliance():
    means = ladder("drivers.war_order_level", [0, 1, 2, 3], "comply", [])
    assert_non_increasing(means)
    assert means[3] < means[0] - 0.2, means


def test_punishment_lowers_refusal():
    """A regime that punishes harder also prosecutes more (case capacity rises with
    severity, docs/ODD.md §7.6), so open refusal does not grow with punishment. Measured
    (level 3, 500 officers, 12 seeds, severity 0/0.5/1/2/4): 0.079, 0.079, 0.085, 0.090,
    0.049: flat within the tolerance to severity 2, then about halved."""
    base = ["drivers.war_order_level=3"]
    means = ladder("drivers.punishment_severity", [0.0, 0.5, 1.0, 2.0, 4.0], "refuse", base)
    assert_non_increasing(means)
    assert means[-1] < means[0] - TOLERANCE, means


def test_incentives_raise_passive_compliance():
    base = ["drivers.war_order_level=2"]
    means = ladder("drivers.incentive_level", [0.0, 0.5, 1.0, 2.0], "passive_comply", base)
    assert_non_decreasing(means)
    assert means[-1] > means[0] + TOLERANCE, means


@pytest.mark.parametrize("level", [1, 2, 3])
def test_propaganda_does_not_lower_compliance(level):
    base = [f"drivers.war_order_level={level}"]
    means = ladder("drivers.russian_propaganda", [0.0, 0.01, 0.03], "comply", base)
    assert_non_decreasing(means)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_disillusion_does_not_raise_compliance(level):
    base = [f"drivers.war_order_level={level}"]
    means = ladder("drivers.disillusion", [0.0, 0.01, 0.03], "comply", base)
    assert_non_increasing(means)


def test_punishment_lowers_refusal_and_raises_evasion_and_exit():
    """More punishment: fewer refusers, more evaders and leavers (starting-force view).

    Holds since punishment reaches open refusal and covert non-performance differently
    (docs/ODD.md §7.6, §8.6): before, severity 0/1/2/4 gave the starting force's refusal
    0.064, 0.070, 0.074, 0.045 and evasion + exit 0.561, 0.510, 0.468, 0.617 (a strict xfail).
    """
    base = ["drivers.war_order_level=3"]
    values = [0.0, 1.0, 2.0, 4.0]
    refusing = ladder("drivers.punishment_severity", values, "cohort_refuse", base)
    evading = ladder("drivers.punishment_severity", values, "cohort_evade", base)
    leaving = ladder("drivers.punishment_severity", values, "exited_share", base)
    assert_non_increasing(refusing)
    assert refusing[-1] < refusing[0] - TOLERANCE, refusing
    quiet_or_gone = [evade + exit for evade, exit in zip(evading, leaving, strict=True)]
    assert_non_decreasing(quiet_or_gone)
    assert quiet_or_gone[-1] > quiet_or_gone[0] + TOLERANCE, quiet_or_gone


CLOSED_EXIT_MEANS_REFUSAL = (
    "Does not hold under border deployment since the response ladder (issue 22, docs/ODD.md "
    "§8.5): with resignation closed the would-be leavers refuse openly and are dismissed by "
    "the ladder's administrative rung (refusal 0.021 -> 0.040, dismissed 0.037 -> 0.080) and "
    "evasion falls (0.076 -> 0.061; with turnover off 0.074 -> 0.048). Missing: dismissal is "
    "a way out the refuser does not weigh as one; reported, not tuned"
)


@pytest.mark.parametrize(
    "level",
    [pytest.param(2, marks=pytest.mark.xfail(strict=True, reason=CLOSED_EXIT_MEANS_REFUSAL)), 3],
)
def test_closing_resignation_lowers_exits_and_raises_evasion_or_desertion(level):
    """Resignation open (no stop-loss) against closed: fewer leave, more stay and evade."""
    base = [f"drivers.war_order_level={level}", "exit.stop_loss_from_level=4"]
    opened = {c: mean_share(base, c) for c in ("exited_share", "cohort_evade", "deserted_share")}
    closed_base = [*base, "drivers.resignation_open=0"]
    closed = {c: mean_share(closed_base, c) for c in opened}
    assert closed["exited_share"] < opened["exited_share"] - TOLERANCE, (opened, closed)
    evade_or_desert = closed["cohort_evade"] + closed["deserted_share"]
    assert evade_or_desert > opened["cohort_evade"] + opened["deserted_share"] + TOLERANCE
