"""Specification of how Russian setbacks and disillusion reach expectations (issue 22): news
of setbacks and lost faith in Russia lower perceived regime strength, and through it the
fear of the regime."""

from __future__ import annotations

import numpy as np

from simulation.model.model import ArmyModel
from simulation.model.observation import Seen, belief_bias_now, update_beliefs
from tests.conftest import small_config


def strength_after(*overrides: str, steps: int = 6) -> float:
    model = ArmyModel(small_config(*overrides, n_officers=200, steps=steps), seed=11)
    for _ in range(steps):
        model.step()
    return float(model.perceived_strength[model.active].mean())


def test_news_of_russian_setbacks_lowers_perceived_regime_strength():
    calm = strength_after("drivers.disillusion=0.004", "expectations.russia_doubt_weight=0")
    shock = strength_after("drivers.disillusion=0.05", "expectations.russia_doubt_weight=0")
    assert shock < calm - 0.02


def test_setback_news_does_not_touch_beliefs_when_its_weight_is_zero():
    off = ("expectations.setback_news_weight=0", "expectations.russia_doubt_weight=0")
    calm = strength_after("drivers.disillusion=0.004", *off)
    shock = strength_after("drivers.disillusion=0.05", *off)
    assert shock == calm


def test_an_officer_who_lost_faith_in_russia_expects_less_of_the_regime():
    model = ArmyModel(small_config("expectations.setback_news_weight=0", n_officers=100), seed=2)
    model.attitudes["russia_alignment"][:50] = model.russia_anchor[:50] - 0.2
    seen = _nothing_seen(model)
    before = model.perceived_strength.copy()
    update_beliefs(model, seen)
    fell = model.perceived_strength - before
    assert (fell[:50] < fell[50:].min()).all()


def test_the_bias_shift_follows_russia_alignment_with_the_doubt_weight():
    model = ArmyModel(small_config("expectations.russia_doubt_weight=4", n_officers=50), seed=3)
    model.attitudes["russia_alignment"] = model.russia_anchor + 0.1
    shift = belief_bias_now(model, model.config.expectations) - model.belief_bias
    np.testing.assert_allclose(shift, 0.4)


def test_russian_setbacks_lower_perceived_strength_under_the_order_to_fight_too():
    fight = "drivers.war_order_level=3"
    calm = ArmyModel(small_config(fight, "drivers.disillusion=0.004", n_officers=200), seed=5)
    shock = ArmyModel(small_config(fight, "drivers.disillusion=0.05", n_officers=200), seed=5)
    for model in (calm, shock):
        for _ in range(6):
            model.step()
    assert shock.stats["mean_perceived_strength"] < calm.stats["mean_perceived_strength"]


def _nothing_seen(model: ArmyModel) -> Seen:
    n = model.n_agents
    return Seen(np.zeros((4, n)), np.ones(n), None, None, 0.0)
