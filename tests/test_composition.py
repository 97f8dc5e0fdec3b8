"""Who serves with whom, and who is ordered to what: clustering, group mixes, orders per
unit type (docs/ODD.md, 'Initialisation' and 'Orders per unit type')."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config.loading import load_config
from simulation.errors import ConfigError
from simulation.experiments.runner import order_change_step, simulate
from simulation.model.model import ArmyModel
from simulation.model.personnel import resignation_open
from simulation.model.population import same_group_share
from simulation.vocabulary import COMPLICIT, GROUPS
from tests.conftest import REPO, small_config

SOF_LOYAL = (
    "structure.unit_types.special_operations.group_mix="
    "{complicit: 0.4, passive: 0.5, dissenting: 0.1}"
)
SOF_FIGHTS = (
    "structure.unit_types.special_operations.war_order_level="
    "[{step: 0, value: 1}, {step: 3, value: 3}]"
)


def homophily(*overrides: str, seed: int = 0) -> float:
    model = ArmyModel(small_config(*overrides, n_officers=2000), seed=seed)
    return same_group_share(model.unit, model.group, model.active)


def test_random_postings_mix_groups_as_chance_does() -> None:
    """Clustering 0: a peer shares one's group about as often as two random officers do."""
    shares = np.array([0.15, 0.65, 0.20])
    assert homophily() == pytest.approx(float((shares**2).sum()), abs=0.02)


def test_sorted_postings_make_units_homogeneous() -> None:
    assert homophily("structure.group_clustering=1") > 0.95


def test_clustering_sorts_units_step_by_step() -> None:
    values = [homophily(f"structure.group_clustering={c}") for c in (0.0, 0.5, 0.8, 1.0)]
    assert values == sorted(values)


def test_clustering_keeps_every_officer_in_a_unit_of_the_configured_size() -> None:
    model = ArmyModel(small_config("structure.group_clustering=0.7", n_officers=1000), seed=1)
    sizes = np.bincount(model.unit, minlength=model.n_units)
    assert (sizes == 20).all()
    counts = np.bincount(model.group, minlength=len(GROUPS))
    np.testing.assert_array_equal(counts, [150, 650, 200])


def test_a_unit_type_with_a_group_mix_is_staffed_by_it() -> None:
    model = ArmyModel(small_config(SOF_LOYAL, n_officers=2000), seed=2)
    special = model.unit_type_names.index("special_operations")
    in_special = model.unit_type_of_unit[model.unit] == special
    shares = np.bincount(model.group[in_special], minlength=len(GROUPS)) / in_special.sum()
    np.testing.assert_allclose(shares, [0.4, 0.5, 0.1], atol=0.01)
    elsewhere = np.mean(model.group[~in_special] == COMPLICIT)
    assert elsewhere == pytest.approx((300 - 0.4 * in_special.sum()) / (~in_special).sum())


def test_group_mixes_that_need_more_officers_than_there_are_are_refused() -> None:
    with pytest.raises(ConfigError, match="structure.unit_types: the group mixes give"):
        small_config(
            "structure.unit_types.special_operations.share=0.5",
            "structure.unit_types.regular.share=0.5",
            "structure.unit_types.special_operations.group_mix="
            "{complicit: 0.9, passive: 0.1, dissenting: 0.0}",
        )


def test_a_group_mix_must_name_the_groups_and_sum_to_one() -> None:
    with pytest.raises(ConfigError, match="group_mix"):
        small_config(
            "structure.unit_types.special_operations.group_mix={complicit: 0.5, loyal: 0.5}"
        )


def test_orders_per_unit_type_reach_only_their_units() -> None:
    config = small_config(SOF_FIGHTS, steps=6)
    model = ArmyModel(config, seed=3)
    for _ in range(4):
        model.step()
    special = model.unit_type_names.index("special_operations")
    in_special = model.unit_type_of_unit[model.unit] == special
    levels = model.order_levels
    assert isinstance(levels, np.ndarray)
    assert (levels[in_special] == 3).all() and (levels[~in_special] == 1).all()
    assert model.drivers["war_order_level"] == 1


def test_stop_loss_follows_each_officers_own_orders() -> None:
    config = small_config(SOF_FIGHTS, steps=6)
    model = ArmyModel(config, seed=4)
    for _ in range(4):
        model.step()
    open_route = resignation_open(model)
    special = model.unit_type_of_unit[model.unit] == model.unit_type_names.index(
        "special_operations"
    )
    assert not open_route[special].any() and open_route[~special].all()


def test_orders_to_one_unit_type_move_its_officers_more_than_the_rest() -> None:
    result = simulate(small_config(SOF_FIGHTS, "population.n_officers=1000", steps=6), seed=5)
    model_refusal = result.series["refuse"].iloc[-1] + result.series["evade"].iloc[-1]
    fight_all = simulate(
        small_config("drivers.war_order_level=3", "population.n_officers=1000", steps=6), seed=5
    )
    everyone = fight_all.series["refuse"].iloc[-1] + fight_all.series["evade"].iloc[-1]
    assert 0 < model_refusal < everyone


def test_lags_count_from_the_first_order_of_any_unit_type() -> None:
    assert order_change_step(small_config(SOF_FIGHTS)) == 3
    config = load_config(REPO / "configs" / "scenarios" / "elite_units_fight.yaml")
    assert order_change_step(config) == 12


def test_bad_unit_type_orders_are_refused_with_the_key() -> None:
    with pytest.raises(ConfigError, match="war_order_level"):
        small_config("structure.unit_types.special_operations.war_order_level=2.5")
