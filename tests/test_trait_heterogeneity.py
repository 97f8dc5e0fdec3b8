"""Specification of individual heterogeneity (docs/ODD.md §7.5, 'Individuals, not types'):
within each group, members differ in the traits that decide, so that some sit near each
decision boundary; with no spread the set-up draws are those of the model before it."""

from __future__ import annotations

import numpy as np

from simulation.model.choice import action_utilities
from simulation.model.model import ArmyModel
from simulation.vocabulary import GROUPS
from tests.conftest import small_config

NO_SPREAD = "population.trait_spread={moral_cost: 0, career: 0, fear: 0, ties: 0}"


def undecided_share(model: ArmyModel) -> float:
    """Share of serving officers whose most likely action has logit probability <= 0.99."""
    utilities, _ = action_utilities(model)
    model._seen = None
    scaled = utilities[model.active] / model.config.decision.temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return float((weights.max(axis=1) / weights.sum(axis=1) <= 0.99).mean())


def best_actions_by_group(model: ArmyModel) -> list[set[int]]:
    utilities, _ = action_utilities(model)
    model._seen = None
    best = utilities.argmax(axis=1)
    return [set(best[model.active & (model.group == g)].tolist()) for g in range(len(GROUPS))]


def test_trait_heterogeneity_puts_officers_near_the_boundary_in_the_support_role():
    spread = ArmyModel(small_config("drivers.war_order_level=1", n_officers=1500), seed=4)
    alike = ArmyModel(small_config("drivers.war_order_level=1", NO_SPREAD, n_officers=1500), seed=4)
    for _ in range(6):
        spread.step()
        alike.step()
    assert undecided_share(spread) > 2 * undecided_share(alike)


def test_with_trait_heterogeneity_no_group_acts_as_one_type_under_the_order_to_fight():
    model = ArmyModel(small_config("drivers.war_order_level=3", n_officers=1500), seed=4)
    for group, actions in zip(GROUPS, best_actions_by_group(model), strict=True):
        if group != "complicit":  # the complicit comply whatever their conscience
            assert len(actions) >= 2, group


def test_heterogeneity_off_reproduces_the_old_draws():
    spread = ArmyModel(small_config(n_officers=400), seed=9)
    alike = ArmyModel(small_config(NO_SPREAD, n_officers=400), seed=9)
    assert alike.traits == {}
    for name, values in alike.attitudes.items():
        assert np.array_equal(values, spread.attitudes[name]), name
    assert np.array_equal(alike.unit, spread.unit)
    assert np.array_equal(alike.taste, spread.taste)
    assert np.array_equal(alike.tenure, spread.tenure)


def test_trait_multipliers_have_mean_one_and_the_spread_asked():
    model = ArmyModel(
        small_config("population.trait_spread.moral_cost=0.5", n_officers=5000), seed=2
    )
    logs = np.log(model.traits["moral_cost"])
    assert abs(model.traits["moral_cost"].mean() - 1.0) < 0.03
    assert abs(logs.std() - 0.5) < 0.02
