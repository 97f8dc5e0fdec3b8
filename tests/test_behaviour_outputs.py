"""Specification of the outputs that measure behaviour, not depletion (issue 22): the
headline over the starting force (cohort numbers and shares), monthly flows per 1,000
serving, and summary.json carrying both at the lags after the order."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.experiments.runner import simulate
from simulation.model.model import ArmyModel
from simulation.vocabulary import COHORT_STATES, COMPLY, EVADE, FLOWS, REFUSE, flow_columns
from tests.conftest import small_config

SEEDS = range(12)
"""Paired seeds: each setting runs on the same twelve."""

FIGHT = ("drivers.war_order_level=[{step: 0, value: 1}, {step: 3, value: 3}]",)
"""The support role, then the order to fight from month 3."""


def cohort_at(overrides: tuple[str, ...], column: str, steps: int = 15) -> np.ndarray:
    """`column` at the last month of runs over SEEDS (150 officers)."""
    config = small_config(*FIGHT, *overrides, n_officers=150, steps=steps)
    values = []
    for seed in SEEDS:
        model = ArmyModel(config, seed=seed, views=False)
        for _ in range(steps):
            model.step()
        values.append(model.stats[column])
    return np.array(values, dtype=float)


def moral_cost(level_3: float) -> str:
    return f"decision.order_moral_cost=[0.0, 0.3, 0.8, {level_3}]"


def not_raised(lower: np.ndarray, higher: np.ndarray) -> bool:
    """Whether `higher` (paired seeds) does not exceed `lower` beyond chance: the mean
    paired rise is within two standard errors of 0 or below it."""
    rise = higher - lower
    error = rise.std(ddof=1) / np.sqrt(rise.shape[0])
    return bool(rise.mean() <= 2.0 * error)


def test_costlier_order_never_raises_the_number_of_compliers_over_the_starting_force():
    """Compliers at their own post over the starting force (a rear post after reassignment
    is a lighter order, counted apart): 23.3 -> 22.2 of 150 as the moral cost goes 0.6 ->
    3.4 (12 seeds; 23.3 -> 30.7 when the rear post's compliers were counted with them,
    docs/ODD.md §8.5)."""
    counts = {cost: cohort_at((moral_cost(cost),), "cohort_count_comply") for cost in (0.6, 3.4)}
    assert not_raised(counts[0.6], counts[3.4])


WITHDRAW = "consequences.response.persuaded_outcome=withdraw_refusal"
"""The persuaded give up open refusal for a month and choose again (docs/ODD.md §7.6)."""


def test_costlier_order_never_raises_the_compliers_when_the_persuaded_withdraw_refusal():
    """The same criterion with the persuaded choosing again without open refusal: 23.3 ->
    22.2 (23.3 -> 31.6 with the rear post's compliers counted in)."""
    counts = {
        cost: cohort_at((moral_cost(cost), WITHDRAW), "cohort_count_comply") for cost in (0.6, 3.4)
    }
    assert not_raised(counts[0.6], counts[3.4])


def reassigned_model(seed: int = 0) -> ArmyModel:
    """A run with members at rear posts: the order to fight at moral cost 3.4 brings open
    refusals, and the response ladder reassigns some of the refusers (150 officers, month
    15)."""
    config = small_config(*FIGHT, moral_cost(3.4), n_officers=150, steps=15)
    model = ArmyModel(config, seed=seed, views=False)
    for _ in range(15):
        model.step()
    return model


def test_compliers_at_a_rear_post_are_counted_in_their_own_state_not_in_comply():
    model = reassigned_model()
    serving = model.active & model.initial
    complying = serving & (model.choice == COMPLY)
    at_rear_post = complying & (model.order_share < 1.0)
    assert at_rear_post.any()
    assert model.stats["cohort_count_comply_at_rear_post"] == at_rear_post.sum()
    assert model.stats["cohort_count_comply"] == (complying & ~at_rear_post).sum()


def test_evaders_and_refusers_at_a_rear_post_stay_in_evade_and_refuse():
    model = reassigned_model(seed=3)
    serving = model.active & model.initial
    at_rear_post = serving & (model.order_share < 1.0)
    assert (at_rear_post & (model.choice != COMPLY)).any()
    assert model.stats["cohort_count_evade"] == (serving & (model.choice == EVADE)).sum()
    assert model.stats["cohort_count_refuse"] == (serving & (model.choice == REFUSE)).sum()


def test_the_serving_comply_share_keeps_the_rear_post_compliers_and_names_them_beside_it():
    model = reassigned_model()
    stats = model.stats
    at_rear_post = model.active & (model.choice == COMPLY) & (model.order_share < 1.0)
    assert stats["count_comply"] == (model.active & (model.choice == COMPLY)).sum()
    assert stats["count_comply_at_rear_post"] == at_rear_post.sum() > 0
    assert stats["comply_at_rear_post"] == pytest.approx(at_rear_post.sum() / stats["n_active"])


@pytest.mark.parametrize("outcome", ["comply", "withdraw_refusal"])
def test_compliers_do_not_rise_with_the_order_when_reassignment_relieves_nothing(outcome):
    """Where the rise comes from: with a reassigned refuser bearing the whole order
    (reassignment_order_share 1), a costlier order does not raise the compliers, whatever
    the persuaded do."""
    knock_out = (
        "consequences.response.reassignment_order_share=1",
        f"consequences.response.persuaded_outcome={outcome}",
    )
    counts = {
        cost: cohort_at((moral_cost(cost), *knock_out), "cohort_count_comply")
        for cost in (0.6, 3.4)
    }
    assert not_raised(counts[0.6], counts[3.4])


def test_costlier_order_or_harsher_punishment_never_raises_open_refusal_by_emptying_the_force():
    """Refusers over the starting force: punishment deters and arrests, both lower it; a
    costlier order raises it. Neither moves it the wrong way through the denominator.
    Punishment 0.5 -> 3: 0.75 -> 0 of 150 (evaders 84.8 -> 86.5) since case capacity rises
    with severity; 0.33 -> 2.50 without that (elasticity 0), docs/ODD.md §8.5."""
    mild = cohort_at(("drivers.punishment_severity=0.5",), "cohort_count_refuse")
    harsh = cohort_at(("drivers.punishment_severity=3",), "cohort_count_refuse")
    assert not_raised(mild, harsh)
    cheap = cohort_at((moral_cost(0.6),), "cohort_count_refuse")
    costly = cohort_at((moral_cost(3.4),), "cohort_count_refuse")
    assert not_raised(costly, cheap)


@pytest.mark.parametrize(
    "setting",
    [
        ("moral cost", [moral_cost(0.6)], [moral_cost(3.4)]),
        ("punishment", ["drivers.punishment_severity=0.5"], ["drivers.punishment_severity=3"]),
    ],
    ids=lambda setting: setting[0],
)
def test_headline_counts_over_the_starting_force_add_up_to_it_whatever_the_setting(setting):
    _, low, high = setting
    for overrides in (low, high):
        config = small_config(*FIGHT, *overrides, n_officers=150, steps=15)
        model = ArmyModel(config, seed=1, views=False)
        for _ in range(15):
            model.step()
            states = sum(model.stats[f"cohort_count_{state}"] for state in COHORT_STATES)
            assert states == model._initial_count


def test_departures_of_the_starting_force_only_accumulate_over_the_horizon():
    config = small_config(*FIGHT, n_officers=150, steps=40)
    series = simulate(config, seed=2).series
    for state in ("dismissed", "resigned", "deserted", "retired", "recruited_by_russia"):
        assert (series[f"cohort_count_{state}"].diff().dropna() >= 0).all(), state


def test_the_serving_share_can_rise_while_the_number_of_compliers_does_not():
    """The depletion artefact the headline removes: with arrests emptying the force the
    serving force's comply share rises from one year after the order to the next, while
    the starting force's compliers do not grow in number."""
    config = small_config(*FIGHT, moral_cost(3.4), n_officers=300, steps=40)
    series = simulate(config, seed=4).series
    year, later = series.iloc[15], series.iloc[40]
    assert later["cohort_count_comply"] <= year["cohort_count_comply"]
    assert later["count_comply"] / later["n_active"] == pytest.approx(later["comply"])


def test_monthly_flows_count_new_acts_and_events_per_1000_serving_at_the_choice():
    config = small_config(*FIGHT, n_officers=200, steps=10)
    series = simulate(config, seed=5).series
    assert set(flow_columns()) <= set(series.columns)
    for name in FLOWS:
        per_1000 = series[f"flow_{name}"] * 1000 / series["n_serving_at_choice"].clip(lower=1)
        np.testing.assert_allclose(series[f"flow_{name}_per_1000_serving"], per_1000)
    np.testing.assert_array_equal(series["flow_arrested"].cumsum(), series["arrested"])
    # the month of the order: someone starts refusing or evading
    assert series.loc[4, "flow_new_refusers"] + series.loc[4, "flow_new_evaders"] > 0
    assert series.loc[0, [f"flow_{name}" for name in FLOWS]].sum() == 0


def test_new_evaders_are_those_who_did_not_evade_the_month_before():
    config = small_config(*FIGHT, "consequences.enabled=false", n_officers=200, steps=12)
    series = simulate(config, seed=6).series
    evaders = series["count_evade"].to_numpy()
    new = series["flow_new_evaders"].to_numpy()
    # without consequences evaders stay: the rise of their number is at most the new ones
    assert (np.diff(evaders) <= new[1:]).all()


def test_summary_carries_the_headline_and_flows_at_the_lags_after_the_order():
    config = small_config(*FIGHT, "output.order_lags=[1, 6]", n_officers=150, steps=10)
    result = simulate(config, seed=7)
    summary, series = result.summary, result.series
    headline, flows = summary["headline"], summary["flows"]
    assert headline["starting_force"] == 150
    assert "starting force" in headline["denominator"]
    assert "1,000" in flows["denominator"]
    at_6 = series.iloc[3 + 6]
    assert headline["at_order_plus_6"]["comply"]["count"] == at_6["cohort_count_comply"]
    assert headline["at_order_plus_6"]["refuse"]["share"] == at_6["cohort_refuse"]
    assert flows["at_order_plus_1"]["flow_new_refusers_per_1000_serving"] == pytest.approx(
        series.iloc[4]["flow_new_refusers_per_1000_serving"]
    )
