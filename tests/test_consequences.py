"""Specification of consequences, exits and tenure: jail on schedule, exits by route,
cohort and serving shares, debt and pension by tenure, outcomes at lags after the order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.config.loading import load_config
from simulation.experiments.runner import order_change_step, reduce_values, simulate
from simulation.model.choice import action_utilities
from simulation.model.consequences import arrest, follow_choices
from simulation.model.model import ArmyModel
from simulation.vocabulary import CHOICES, COHORT_STATES, COMPLY, EXIT, REFUSE
from tests.conftest import small_config

QUIET = (
    "drivers.war_order_level=0",
    "decision.temperature=0",
    "decision.taste_sd=0",
    "turnover.enabled=false",
)
"""Nobody acts, leaves or enters (peacetime, no noise, a closed force): whatever happens to an
officer is what a test does."""


def jail_model(*overrides: str) -> ArmyModel:
    return ArmyModel(small_config(*QUIET, *overrides, n_officers=100, steps=40), seed=3)


def test_jailed_officer_leaves_his_unit_for_the_term_and_returns():
    model = jail_model("consequences.jail_term_months=3", "consequences.return_after_jail=true")
    model.step()  # step 1
    arrest(model, np.array([5]))  # arrested at the end of step 1
    serving = []
    for _ in range(6):
        serving.append((bool(model.active[5]), bool(model.jailed[5])))
        model.step()
    # absent from the decisions of steps 2, 3, 4 (three months), back at step 5
    assert serving == [(False, True)] * 4 + [(True, False)] * 2
    assert model.counts["arrested"] == 1 and model.counts["released"] == 1
    assert model.counts["dismissed"] == 0


def test_returning_officer_comes_back_with_his_grievance_raised():
    model = jail_model(
        "consequences.jail_term_months=1",
        "consequences.return_after_jail=true",
        "consequences.jail_grievance_increase=0.5",
    )
    aversion, loyalty = model.attitudes["war_aversion"][7], model.attitudes["regime_alignment"][7]
    arrest(model, np.array([7]))
    model.step()
    model.step()
    assert model.active[7]
    assert model.attitudes["war_aversion"][7] == pytest.approx(aversion + 0.5 * (1 - aversion))
    assert model.attitudes["regime_alignment"][7] == pytest.approx(0.5 * loyalty)


def test_officer_who_does_not_return_is_dismissed_at_the_end_of_his_term():
    model = jail_model("consequences.jail_term_months=2", "consequences.return_after_jail=false")
    arrest(model, np.array([9]))
    for _ in range(3):
        assert model.jailed[9] and model.counts["dismissed"] == 0
        model.step()
    assert not model.jailed[9] and not model.active[9]
    assert model.counts["dismissed"] == 1
    assert model.stats["cohort_dismissed"] == pytest.approx(0.01)


def test_jail_term_zero_dismisses_at_arrest():
    model = jail_model("consequences.jail_term_months=0")
    arrest(model, np.array([2, 3]))
    assert not model.jailed.any()
    assert model.counts["dismissed"] == 2 and model.counts["arrested"] == 2
    assert len(model.agents) == 98


def test_jailed_officers_are_counted_every_step_in_both_views():
    model = jail_model("consequences.jail_term_months=12")
    arrest(model, np.arange(10))
    model.step()
    assert model.stats["jailed"] == 10 and model.stats["n_active"] == 90
    assert model.stats["cohort_jailed"] == pytest.approx(0.1)
    assert sum(model.stats[c] for c in CHOICES) == pytest.approx(1.0)


def test_uniform_jail_terms_lie_between_one_month_and_the_maximum():
    model = jail_model("consequences.jail_term_months=5", "consequences.jail_term_draw=uniform")
    arrest(model, np.arange(100))
    terms = model.release_step - model.steps - 1
    assert terms.min() >= 1 and terms.max() <= 5 and len(set(terms.tolist())) == 5


def test_capacity_rule_arrests_one_refuser_per_enforcer_and_unit():
    config = small_config(
        *QUIET,
        "consequences.response.enabled=false",  # Epstein's detection and arrest rule
        "consequences.arrest_rule=capacity",
        "consequences.jail_term_months=6",
        "decision.external_enforcers_per_unit=2",
        "decision.commander_enforcer_weight=0",
        "decision.complicit_enforcer_weight=0",
        n_officers=100,
    )
    model = ArmyModel(config, seed=1)
    model.choice[:] = REFUSE
    follow_choices(model)
    arrested_per_unit = np.bincount(model.unit[model.jailed], minlength=model.n_units)
    assert (arrested_per_unit == 2).all()


def exit_config(*overrides: str, steps: int = 12):
    """The order to fight with leaving made cheap: officers leave in numbers."""
    return small_config(
        "drivers.war_order_level=3",
        "decision.benefit_weight=0",
        "decision.exit_cost_weight=0",
        "decision.training_debt_weight=0",
        "decision.pension_weight=0",
        "decision.lock_in_weight=0",
        "exit.desertion_cost=0",
        *overrides,
        n_officers=400,
        steps=steps,
    )


def test_resigning_officers_leave_and_are_counted_as_resigned():
    closed = ("exit.stop_loss_from_level=4", "turnover.enabled=false")
    series = simulate(exit_config(*closed), seed=1).series
    last = series.iloc[-1]
    assert last["resigned"] > 50
    assert last["deserted"] == 0 and last["caught_deserting"] == 0
    assert last["exited"] == last["resigned"]
    assert last["n_active"] == 400 - last["resigned"] - last["jailed"] - last["dismissed"]
    assert last["cohort_resigned"] == pytest.approx(last["resigned"] / 400)


def test_with_resignation_closed_officers_desert_and_some_are_caught():
    overrides = ("exit.stop_loss_from_level=4", "drivers.resignation_open=0")
    series = simulate(exit_config(*overrides, "drivers.desertion_opportunity=1"), seed=1).series
    last = series.iloc[-1]
    assert last["resigned"] == 0
    assert last["deserted"] > 20 and last["caught_deserting"] > 0
    assert last["arrested"] >= last["caught_deserting"]
    assert last["exited"] == last["deserted"]


def test_stop_loss_closes_resignation_from_its_war_order_level():
    opened = simulate(exit_config("exit.stop_loss_from_level=4"), seed=2).series.iloc[-1]
    closed = simulate(exit_config("exit.stop_loss_from_level=3"), seed=2).series.iloc[-1]
    assert opened["resigned"] > 0 and closed["resigned"] == 0


def test_without_an_opportunity_nobody_deserts():
    config = exit_config("drivers.resignation_open=0", "drivers.desertion_opportunity=0")
    last = simulate(config, seed=1).series.iloc[-1]
    assert last["exited"] == 0


def test_exit_is_unavailable_when_disabled():
    config = exit_config("exit.stop_loss_from_level=4", "exit.enabled=false")
    model = ArmyModel(config, seed=1)
    utilities, _ = action_utilities(model)
    assert (utilities[:, EXIT] == -np.inf).all()


def test_cohort_and_serving_shares_each_sum_to_one_every_step():
    series = simulate(exit_config("turnover.enabled=true", steps=36), seed=4).series
    serving = series[list(CHOICES)].sum(axis=1)
    cohort = series[[f"cohort_{state}" for state in COHORT_STATES]].sum(axis=1)
    np.testing.assert_allclose(serving, 1.0)
    np.testing.assert_allclose(cohort, 1.0)
    assert series["n_active"].iloc[-1] < 400  # the serving denominator shrank meanwhile


# ------------------------------------------------------------------------------ tenure


def test_training_debt_falls_with_tenure_to_zero_at_the_end_of_the_obligation():
    model = ArmyModel(small_config(*QUIET, n_officers=300), seed=2)
    tenure = model.tenure.copy()
    debt = model.situation().training_debt
    np.testing.assert_allclose(debt, np.maximum(1 - tenure / 5.0, 0))
    for _ in range(12):
        model.step()
    later = model.situation().training_debt
    indebted = tenure < 4.0
    np.testing.assert_allclose(later[indebted], debt[indebted] - 1 / 5.0)
    assert (later[tenure >= 5.0] == 0).all()


def test_pension_stake_rises_with_tenure_and_is_kept_on_resignation_once_entitled():
    model = ArmyModel(small_config(*QUIET, n_officers=300), seed=2)
    stake = model.situation().pension_stake
    np.testing.assert_allclose(stake, np.minimum(model.tenure / 20.0, 1.0))
    from simulation.model.decision import career_costs

    forfeited, resigning = career_costs(model.attitudes, model.situation(), model.config.decision)
    entitled = stake >= 1.0
    assert entitled.any() and (~entitled).any()
    np.testing.assert_allclose(forfeited[entitled] - resigning[entitled], 0.4)
    np.testing.assert_allclose(forfeited[~entitled], resigning[~entitled])


def test_tenure_is_drawn_by_rank_and_advances_a_month_per_step():
    model = ArmyModel(small_config(*QUIET, n_officers=600), seed=1)
    ranges = {0: (18, 30), 1: (5, 18), 2: (0, 5)}
    for rank, (low, high) in ranges.items():
        drawn = model.tenure[model.rank == rank]
        assert drawn.min() >= low and drawn.max() <= high
    before = model.tenure.copy()
    model.step()
    np.testing.assert_allclose(model.tenure - before, 1 / 12)


def test_promotion_and_retirement_use_tenure():
    config = small_config(
        *QUIET,
        "turnover.enabled=true",
        "turnover.civilian_resignation_rate_per_year=0",
        "turnover.promotion_rate_per_year={field: 1.0, junior: 1.0}",
        "turnover.retirement_rate_per_year={senior: 1.0, field: 1.0, junior: 1.0}",
        n_officers=600,
        steps=1,
    )
    model = ArmyModel(config, seed=1)
    rank = model.rank.copy()
    model.step()
    tenure = model.tenure  # the tenure at which they were promoted or retired
    stayed = model.active & model.initial
    promoted = stayed & (model.rank < rank)
    assert promoted.any()
    assert (tenure[promoted & (rank == 2)] >= 4.0).all()
    assert (tenure[promoted & (rank == 1)] >= 12.0).all()
    retired = ~model.active & (rank >= 0) & ~model.jailed
    assert retired.any() and (tenure[retired] >= 20.0).all()


# -------------------------------------------------------------------------------- lags


def test_order_change_step_is_the_first_change_of_the_war_order_level():
    schedule = "drivers.war_order_level=[{step: 0, value: 1}, {step: 12, value: 3}]"
    assert order_change_step(small_config(schedule, steps=60)) == 12
    assert order_change_step(small_config("drivers.war_order_level=1")) == 0
    escalation = (
        "drivers.war_order_level="
        "[{step: 0, value: 1}, {step: 5, value: 1}, {step: 10, value: 2}, {step: 20, value: 3}]"
    )
    assert order_change_step(small_config(escalation, steps=30)) == 10
    last = small_config(escalation, "output.lag_reference=last_change", steps=30)
    assert order_change_step(last) == 20
    beyond = small_config("drivers.war_order_level=[{step: 0, value: 1}, {step: 50, value: 3}]")
    assert order_change_step(beyond) == 0  # the change lies past the horizon (30)


def test_lag_outcomes_are_the_values_months_after_the_order():
    schedule = "drivers.war_order_level=[{step: 0, value: 1}, {step: 6, value: 3}]"
    result = simulate(small_config(schedule, "output.order_lags=[1, 12]", steps=24), seed=2)
    series = result.series
    overall = result.summary["overall"]
    assert overall["at_order_plus_1"]["refuse"] == series["refuse"].iloc[7]
    assert overall["at_order_plus_12"]["evade"] == series["evade"].iloc[18]
    assert result.summary["order_change_step"] == 6


def test_a_lag_past_the_end_of_the_run_is_missing_not_invented():
    reduced = reduce_values([0.0, 0.1, 0.2], order_step=1, lags=(1, 5))
    assert reduced["at_order_plus_1"] == 0.2
    assert math.isnan(reduced["at_order_plus_5"])
    summary = simulate(small_config("output.order_lags=[100]", steps=5), seed=1).summary
    assert summary["overall"]["at_order_plus_100"]["comply"] is None


def test_bad_consequence_values_are_refused_with_the_key(tmp_path):
    from simulation.errors import ConfigError

    with pytest.raises(ConfigError, match="evader_sanctions"):
        load_config(None, ["consequences.evader_sanctions.reprimand=0.9"])
    with pytest.raises(ConfigError, match="resignation_open"):
        load_config(None, ["drivers.resignation_open=0.5"])
    with pytest.raises(ConfigError, match="jail_term_months"):
        load_config(None, ["consequences.jail_term_months=-1"])


def test_released_officers_start_complying_and_decide_again():
    model = jail_model("consequences.jail_term_months=1", "consequences.return_after_jail=true")
    arrest(model, np.array([1]))
    model.step()
    model.step()
    assert model.active[1] and model.choice[1] == COMPLY


def test_kept_up_commanders_equal_a_fresh_choice():
    """The commanders kept when no commander left, as officers leave, go to jail and
    return, equal what a full recount gives."""
    from simulation.model.population import choose_commanders

    config = small_config(
        "drivers.war_order_level=3",
        "structure.cross_unit_ties=3",
        "consequences.return_after_jail=true",
        "consequences.jail_term_months=2",
        "turnover.enabled=true",
        n_officers=600,
        steps=30,
    )
    model = ArmyModel(config, seed=5)
    for _ in range(30):
        model.step()
        expected = choose_commanders(model.unit, model.rank, model.active, model._tiebreak)
        np.testing.assert_array_equal(model.is_commander, expected)
    assert model.counts["released"] > 0 and model.counts["arrested"] > 0


@pytest.mark.parametrize("probability", [0.0, 5e-324, 1e-9, 0.001, 0.05, 0.19, 0.5, 1.0])
def test_desertion_opportunities_are_bernoulli_draws_at_any_probability(probability):
    from simulation.model.choice import bernoulli_mask

    rng = np.random.default_rng(1)
    counts = [int(bernoulli_mask(20_000, probability, rng).sum()) for _ in range(20)]
    expected = 20_000 * probability
    assert abs(np.mean(counts) - expected) <= 4 * math.sqrt(expected / 20 + 1e-12) + 1e-9
