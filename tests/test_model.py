"""Specification of the core model: reproducibility, bookkeeping and synchronous choice."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from simulation.experiments.runner import simulate
from simulation.model.decision import choice_utilities, choose
from simulation.model.drivers import drivers_at
from simulation.model.model import ArmyModel
from simulation.vocabulary import CHOICES, COMPLY, DEPARTURES, GROUPS, RANKS, REFUSE
from tests.conftest import small_config


def test_same_seed_gives_identical_time_series() -> None:
    config = small_config("drivers.war_order_level=3")
    first = simulate(config, seed=7).series
    second = simulate(config, seed=7).series
    pd.testing.assert_frame_equal(first, second)


def test_different_seeds_give_different_officers() -> None:
    config = small_config("drivers.war_order_level=3")
    first = ArmyModel(config, seed=1).attitudes["war_aversion"]
    second = ArmyModel(config, seed=2).attitudes["war_aversion"]
    assert not np.array_equal(first, second)


def test_shares_are_in_unit_interval_and_sum_to_one_every_step() -> None:
    """Over every category that has serving officers; an emptied one (all its members
    arrested or gone) has no shares: NaN, with its count 0."""
    series = simulate(small_config("drivers.war_order_level=3", "decision.temperature=0.2")).series
    for prefix in ["", *(f"{c}_" for c in (*GROUPS, *RANKS))]:
        shares = series[[f"{prefix}{choice}" for choice in CHOICES]]
        size = series["n_active" if not prefix else f"n_{prefix[:-1]}"]
        serving = shares[size > 0]
        assert ((serving >= 0) & (serving <= 1)).all().all()
        np.testing.assert_allclose(serving.sum(axis=1), 1.0)
        assert shares[size == 0].isna().all().all()


def test_group_counts_are_conserved_when_nobody_leaves() -> None:
    """No turnover, no consequences of detection, no exit: every officer stays."""
    quiet = ("consequences.enabled=false", "exit.enabled=false", "turnover.enabled=false")
    series = simulate(small_config("drivers.war_order_level=3", *quiet)).series
    for group in GROUPS:
        assert series[f"n_{group}"].nunique() == 1


def test_group_counts_follow_configured_shares_exactly() -> None:
    model = ArmyModel(small_config(n_officers=1000))
    counts = np.bincount(model.group, minlength=3)
    assert counts.tolist() == [150, 650, 200]


def test_complicit_are_concentrated_in_senior_posts() -> None:
    model = ArmyModel(small_config(n_officers=2000))
    senior = model.rank == RANKS.index("senior")
    complicit = model.group == GROUPS.index("complicit")
    assert complicit[senior].mean() > complicit.mean() * 2


def test_every_unit_has_exactly_one_commander() -> None:
    model = ArmyModel(small_config(n_officers=1000))
    commanders_per_unit = np.bincount(model.unit[model.is_commander], minlength=model.n_units)
    assert (commanders_per_unit == 1).all()


def test_commanders_are_the_most_senior_officers_of_their_unit() -> None:
    model = ArmyModel(small_config(n_officers=1000))
    best_rank = np.full(model.n_units, 9)
    np.minimum.at(best_rank, model.unit, model.rank)
    assert (model.rank[model.is_commander] == best_rank[model.unit[model.is_commander]]).all()


def test_choices_use_only_the_previous_step_state() -> None:
    """Synchronous update: recomputing from a snapshot of the state gives the same choices.

    (Consequences off, so that no one is arrested between the choice and the snapshot.)
    """
    config = small_config(
        "drivers.war_order_level=3",
        "decision.temperature=0",
        "drivers.russian_propaganda=0",
        "drivers.russian_contact=0",
        "drivers.disillusion=0",
        "consequences.enabled=false",
        "exit.enabled=false",
        "expectations.enabled=false",
        "turnover.enabled=false",
    )
    model = ArmyModel(config, seed=3)
    for _ in range(3):
        model.step()
    model.drivers = drivers_at(config, model.steps + 1)
    model.tenure += 1 / 12  # the month that passes before the choice
    situation = model.situation()
    model.tenure -= 1 / 12
    rules = (None, config.exit, config.consequences.evader_sanctions)
    expected = choose(
        choice_utilities(model.attitudes, situation, config.decision, *rules), 0.0, model.rng
    )
    model.step()
    assert (model.choice == expected).all()


def test_officer_agents_are_views_onto_the_arrays() -> None:
    model = ArmyModel(small_config(n_officers=50, steps=2))
    officer = model.officers[10]
    model.choice[10] = REFUSE
    assert officer.choice == "refuse"
    assert officer.group == GROUPS[model.group[10]]
    assert officer.war_aversion == model.attitudes["war_aversion"][10]
    assert len(model.agents) == 50


def test_data_collector_has_one_row_per_step_plus_the_initial_state() -> None:
    model = ArmyModel(small_config(steps=5))
    for _ in range(5):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 6
    assert frame["comply"].iloc[0] == 1.0


def test_agent_level_data_is_collected_only_when_asked() -> None:
    without = simulate(small_config(n_officers=30, steps=2))
    with_agents = simulate(small_config("output.collect_agent_data=true", n_officers=30, steps=2))
    assert without.agent_data is None
    assert len(with_agents.agent_data) == 30 * 3
    assert set(with_agents.agent_data["choice"]) <= set(CHOICES)


def test_stepping_past_the_horizon_stops_the_model_and_changes_nothing() -> None:
    model = ArmyModel(small_config(steps=3), seed=1)
    while model.running:
        model.step()
    rows = model.datacollector.model_vars["comply"]
    assert len(rows) == 4  # the initial state and months 1-3: the last row is month 3
    assert model.steps == 4 and not model.running


def test_turnover_replaces_under_half_of_vacancies_with_juniors() -> None:
    config = small_config("turnover.enabled=true", n_officers=2000, steps=120)
    series = simulate(config, seed=5).series
    last = series.iloc[-1]
    vacated = sum(last[route] for route in DEPARTURES)
    assert last["retired"] > 0
    assert 0.3 * vacated < last["entered"] < 0.6 * vacated
    assert last["n_active"] == 2000 - vacated - last["jailed"] + last["entered"]


def test_new_cohorts_are_less_aligned_with_russia() -> None:
    config = small_config(
        "turnover.enabled=true",
        "turnover.retirement_rate_per_year={senior: 0.5, field: 0.5, junior: 0.5}",
        "turnover.academy_fill_share=1.0",
        "drivers.russian_propaganda=0",
        "drivers.russian_contact=0",
        n_officers=2000,
        steps=60,
    )
    series = simulate(config, seed=5).series
    assert series["mean_russia_alignment"].iloc[-1] < series["mean_russia_alignment"].iloc[0] - 0.02


def test_russian_recruitment_removes_pro_russian_seniors() -> None:
    config = small_config(
        "drivers.russian_recruitment_rate=0.05",
        "consequences.enabled=false",
        "exit.enabled=false",
        "turnover.enabled=false",
        n_officers=2000,
        steps=24,
    )
    model = ArmyModel(config, seed=2)
    seniors_before = int((model.rank == RANKS.index("senior")).sum())
    for _ in range(24):
        model.step()
    serving_seniors = model.active & (model.rank == RANKS.index("senior"))
    assert model.recruited_by_russia > 0
    assert serving_seniors.sum() == seniors_before - model.recruited_by_russia
    assert len(model.agents) == model.active.sum()


def test_grid_places_every_officer_in_its_own_cell_grouped_by_unit() -> None:
    model = ArmyModel(small_config(n_officers=200))
    grid = model.grid
    cells = [officer.cell for officer in model.officers]
    assert len({cell.coordinate for cell in cells}) == 200
    assert all(cell in grid.all_cells for cell in cells[:5])


def test_initial_state_is_everyone_complying() -> None:
    model = ArmyModel(small_config())
    assert (model.choice == COMPLY).all()


def test_departing_officers_leave_the_model_and_their_cell_once_the_grid_is_built() -> None:
    model = ArmyModel(small_config("drivers.war_order_level=3", n_officers=400), seed=3)
    model.grid  # noqa: B018 (built on first use)
    cells = {officer.index: officer.cell for officer in model.officers}
    for _ in range(12):
        model.step()
    gone = np.flatnonzero(~model.active & ~model.jailed)
    assert gone.shape[0] > 0
    assert len(model.agents) == len(model.officers)
    assert all(len(cells[slot].agents) == 0 for slot in gone)


def test_removing_an_officer_twice_is_a_no_op_as_in_mesa() -> None:
    model = ArmyModel(small_config(n_officers=50))
    officer = model.officers[0]
    officer.remove()
    officer.remove()
    assert len(model.agents) == 49


def test_officer_views_are_built_on_first_use_for_everyone_still_in_the_force() -> None:
    model = ArmyModel(small_config("drivers.war_order_level=3", n_officers=400), seed=4)
    for _ in range(6):
        model.step()
    assert len(mesa.Model.agents.fget(model)) == 0  # nobody has looked at them yet
    in_force = np.flatnonzero(model.active | model.jailed)
    assert in_force.shape[0] < 400
    assert sorted(officer.index for officer in model.agents) == in_force.tolist()
    for _ in range(6):
        model.step()
    assert len(model.agents) == int((model.active | model.jailed).sum())
