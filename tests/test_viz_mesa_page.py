"""ArmyModel as Mesa's SolaraViz sees it: its signature, the page's parameters, Reset's path."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from mesa.visualization import Slider
from mesa.visualization.solara_viz import _check_model_params

from simulation.errors import ArgumentError
from simulation.model.model import ArmyModel, lever_keys
from simulation.viz import mesa_page


def named_levers() -> list[str]:
    """The levers ArmyModel names in its signature (keyword-only, after seed)."""
    parameters = inspect.signature(ArmyModel.__init__).parameters
    skip = {"self", "config", "seed", "overrides", "record", "views", "kwargs"}
    return [name for name in parameters if name not in skip]


def shares(model: ArmyModel) -> np.ndarray:
    return model.datacollector.get_model_vars_dataframe()[["comply", "evade", "refuse"]].to_numpy()


def test_solaraviz_accepts_armymodel_without_model_params() -> None:
    _check_model_params(ArmyModel.__init__, {})


def test_solaraviz_accepts_the_pages_model_params() -> None:
    _check_model_params(ArmyModel.__init__, mesa_page.model_params)


def test_solaraviz_accepts_a_lever_that_is_not_named_in_the_signature() -> None:
    _check_model_params(ArmyModel.__init__, {"temperature": Slider("T", 0.1, 0.0, 1.0, 0.05)})


def test_every_lever_named_in_the_signature_is_a_schema_lever() -> None:
    assert set(named_levers()) <= set(lever_keys())


def test_every_slider_of_the_page_is_named_in_the_signature() -> None:
    sliders = [name for name, p in mesa_page.model_params.items() if isinstance(p, Slider)]
    assert set(sliders) <= set(named_levers())


def test_named_levers_default_to_none_and_keep_the_configs_value() -> None:
    parameters = inspect.signature(ArmyModel.__init__).parameters
    assert all(parameters[name].default is None for name in named_levers())
    model = ArmyModel(n_officers=100, seed=1)
    assert model.config.drivers.war_order_level == ArmyModel(seed=1).config.drivers.war_order_level


def test_a_named_lever_sets_the_config() -> None:
    model = ArmyModel(war_order_level=3, n_officers=150, steps=7, seed=1)
    assert model.config.drivers.war_order_level == 3
    assert model.config.population.n_officers == 150
    assert model.config.steps == 7


def test_an_unknown_keyword_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ArgumentError, match="did you mean 'war_order_level'"):
        ArmyModel(war_ordr_level=3)


def test_resets_path_builds_the_same_run_as_the_first_model() -> None:
    first = ArmyModel(**mesa_page.initial_parameters())
    again = first.__class__(**mesa_page.initial_parameters())
    for _ in range(3):
        first.step()
        again.step()
    np.testing.assert_array_equal(shares(first), shares(again))


def test_a_seed_typed_into_mesas_input_text_is_the_same_number() -> None:
    typed = ArmyModel(seed="42", war_order_level=3, n_officers=200)
    given = ArmyModel(seed=42, war_order_level=3, n_officers=200)
    for _ in range(3):
        typed.step()
        given.step()
    assert typed.seed == 42
    np.testing.assert_array_equal(shares(typed), shares(given))


def test_the_page_starts_at_the_order_to_fight_with_a_fixed_horizon() -> None:
    parameters = mesa_page.initial_parameters()
    assert parameters["war_order_level"] == mesa_page.FIRST_ORDER == 3
    assert parameters["steps"] == mesa_page.MONTHS


def test_the_run_summary_names_the_war_order_level_in_force_now() -> None:
    model = ArmyModel(
        war_order_level=[{"step": 0, "value": 1}, {"step": 2, "value": 3}], seed=1, n_officers=100
    )
    for _ in range(3):
        model.step()
    text = mesa_page.run_summary(model).args[0]
    assert text.startswith("Month 3 of ")
    assert "War-order level 3 (order to fight in Ukraine)" in text


def test_a_blank_seed_box_draws_a_fresh_seed_as_none_does() -> None:
    model = ArmyModel(seed="  ", n_officers=50)
    assert isinstance(model.seed, int)
