"""The whole force: personnel categories under the officers, and mobilisation of the reserve
(docs/ODD.md, 'Personnel' and 'Mobilisation')."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config.loading import load_config
from simulation.errors import ConfigError
from simulation.model.agents import Officer, Soldier
from simulation.model.model import ArmyModel
from simulation.model.personnel import resignation_open, set_active
from simulation.model.population import choose_commanders
from simulation.vocabulary import (
    COMPLICIT,
    COMPLY,
    DEPARTURES,
    EVADE,
    OFFICER,
    PERSONNEL,
    REFUSE,
)
from tests.conftest import REPO, small_config

SOLDIERS = (
    "personnel.categories.contract_soldier.per_officer=1.5",
    "personnel.categories.conscript.per_officer=2",
)
RESERVE = (
    *SOLDIERS,
    "personnel.categories.reservist.per_officer=6",
    "personnel.categories.territorial_defence.per_officer=2",
    "drivers.mobilisation=[{step: 0, value: 0}, {step: 4, value: 0.25}, "
    "{step: 6, value: 0.5}, {step: 8, value: 1}]",
    "drivers.war_order_level=[{step: 0, value: 1}, {step: 4, value: 3}]",
)


def model_with(*overrides: str, n_officers: int = 200, steps: int = 20, seed: int = 3):
    return ArmyModel(small_config(*overrides, n_officers=n_officers, steps=steps), seed=seed)


def code(name: str) -> int:
    return PERSONNEL.index(name)


def test_categories_are_absent_unless_a_config_gives_them_a_number() -> None:
    model = model_with()
    assert model.n_agents == model.n_officers == 200
    assert "conscript_comply" not in model.stats and "officer_comply" not in model.stats


def test_each_category_has_its_number_per_officer_after_the_officers() -> None:
    model = model_with(*SOLDIERS)
    assert model.n_agents == 200 + 300 + 400
    assert (model.category[:200] == OFFICER).all()
    assert (model.category == code("contract_soldier")).sum() == 300
    assert (model.category == code("conscript")).sum() == 400


def test_every_unit_gets_its_share_of_each_category() -> None:
    model = model_with(*SOLDIERS)
    conscripts = np.bincount(
        model.unit[model.category == code("conscript")], minlength=model.n_units
    )
    assert conscripts.max() - conscripts.min() <= 1


def test_a_category_draws_its_own_attitudes_and_keeps_the_officers_for_the_rest() -> None:
    model = model_with(
        *SOLDIERS,
        "personnel.categories.conscript.attitudes.culpability={mean: 0.01, sd: 0.0}",
        n_officers=400,
    )
    conscripts = model.category == code("conscript")
    assert np.all(model.attitudes["culpability"][conscripts] == 0.01)
    passive_officers = (model.category == OFFICER) & (model.group == 1)
    passive_conscripts = conscripts & (model.group == 1)
    officers_aversion = model.attitudes["war_aversion"][passive_officers].mean()
    conscripts_aversion = model.attitudes["war_aversion"][passive_conscripts].mean()
    assert conscripts_aversion == pytest.approx(officers_aversion, abs=0.03)


def test_the_reserve_does_not_serve_before_the_call_up() -> None:
    model = model_with(*RESERVE)
    reserve = np.isin(model.category, [code("reservist"), code("territorial_defence")])
    assert not model.active[reserve].any() and model.in_reserve[reserve].all()
    assert model.stats["n_reservist"] == 0 and model.stats["n_active"] == 200 + 700


def test_reservists_appear_on_the_mobilisation_schedule() -> None:
    model = model_with(*RESERVE)
    called = {}
    for _ in range(10):
        model.step()
        called[model.steps] = model.stats["called_up"]
    reserve = 200 * 6 + 200 * 2
    assert called[3] == 0
    assert called[4] == round(0.25 * 1200) + round(0.25 * 400)
    assert called[6] == 600 + 200
    assert called[8] == called[9] == reserve


def test_a_called_reservist_serves_in_an_officers_unit() -> None:
    model = model_with(*RESERVE)
    for _ in range(9):
        model.step()
    called = (model.category == code("reservist")) & ~model.in_reserve
    assert called.sum() == 1200
    assert set(model.unit[called].tolist()) <= set(model.unit[: model.n_officers].tolist())


def test_counts_are_conserved_by_category_every_month() -> None:
    """Every slot of a category is serving, in jail, in the reserve, evading the call-up,
    prosecuted for evading it, or vacant, and every vacancy is a departure: serving + jailed
    + reserve + call-up evaders + prosecuted + departures = the slots ever filled."""
    model = model_with(*RESERVE, "turnover.enabled=true", steps=24)
    for _ in range(24):
        model.step()
        stats = model.stats
        serving = sum(stats[f"n_{name}"] for name in model.personnel_counts)
        assert serving == stats["n_active"] == int(model.active.sum())
        for name, count in model.personnel_counts.items():
            mine = model.category == code(name)
            assert stats[f"n_{name}"] == int((model.active & mine).sum())
            held = model.active | model.jailed | model.in_reserve
            assert int((held & mine).sum()) + int((~held & mine).sum()) == count
        departed = sum(stats[route] for route in DEPARTURES)
        reserve = int(model.in_reserve.sum())
        outside = stats["evading_call_up"] + stats["call_up_prosecuted"]
        held = serving + stats["jailed"] + reserve + outside
        assert held + departed == model.n_agents + stats["entered"]


def test_only_officers_command() -> None:
    model = model_with(*SOLDIERS)
    commanders = np.flatnonzero(model.is_commander)
    assert (model.category[commanders] == OFFICER).all()
    unit = int(model.unit[commanders[0]])
    officers = np.flatnonzero((model.unit == unit) & (model.category == OFFICER))
    set_active(model, officers, False)
    assert not model.is_commander[model.unit == unit].any()


def test_commanders_kept_month_by_month_are_those_chosen_afresh() -> None:
    """Only the units whose members changed choose their commander again each month; the
    result is the whole force's choice made from scratch (arrivals, departures, arrests,
    promotions, call-ups)."""
    model = model_with(*RESERVE, "turnover.promotion_rate_per_year={field: 0.5, junior: 0.5}")
    for _ in range(12):
        model.step()
        serving = model.active & (model.category == OFFICER)
        afresh = choose_commanders(model.unit, model.rank, serving, model._tiebreak)
        np.testing.assert_array_equal(model.is_commander, afresh)


def test_soldiers_are_more_likely_detected_when_their_loyal_officers_comply() -> None:
    """Officers' choices weigh on their soldiers' detection: complying complicit officers
    and commanders enforce; when they evade, their soldiers face fewer enforcers."""
    model = model_with(*SOLDIERS, n_officers=400)
    loyal = np.flatnonzero((model.category == OFFICER) & (model.group == COMPLICIT))
    unit = int(np.bincount(model.unit[loyal]).argmax())
    soldiers = np.flatnonzero((model.unit == unit) & (model.category != OFFICER))
    before = model.situation().enforcers[soldiers]
    model.choice[loyal[model.unit[loyal] == unit]] = EVADE
    after = model.situation().enforcers[soldiers]
    assert (after < before).all()


def test_soldiers_see_their_officers_refuse_more_with_the_leader_example() -> None:
    """Officers' choices weigh on their soldiers' social context: with a leader-example
    weight, refusing officers count for more of what a soldier sees in his unit."""
    seen = {}
    for weight in (0.0, 0.8):
        model = model_with(*SOLDIERS, f"personnel.leader_example_weight={weight}")
        unit = 0
        officers = np.flatnonzero((model.unit == unit) & (model.category == OFFICER))
        model.choice[officers] = REFUSE
        model._acts = model.choice.copy()
        soldiers = np.flatnonzero((model.unit == unit) & (model.category != OFFICER))
        seen[weight] = model.situation().seen_in_unit[REFUSE][soldiers]
    assert (seen[0.8] > seen[0.0]).all()
    assert seen[0.8] == pytest.approx(0.2 * seen[0.0] + 0.8 * 1.0)


def test_conscripts_cannot_resign_and_service_staff_are_not_held_by_stop_loss() -> None:
    model = model_with(
        *SOLDIERS,
        "personnel.categories.service_staff.per_officer=1",
        "drivers.war_order_level=3",
    )
    route = resignation_open(model)
    assert not route[model.category == code("conscript")].any()
    assert not route[model.category == OFFICER].any()  # stop-loss from level 2
    assert route[model.category == code("service_staff")].all()


def test_only_officers_owe_the_academy() -> None:
    model = model_with(*SOLDIERS)
    situation = model.situation()
    soldiers = model.category != OFFICER
    assert (situation.training_debt[soldiers] == 0).all()
    assert (situation.training_debt[~soldiers] > 0).any()


def test_conscripts_are_discharged_at_the_end_of_their_term_and_replaced() -> None:
    model = model_with(*SOLDIERS, "turnover.enabled=true")
    conscripts = model.category == code("conscript")
    for _ in range(20):
        model.step()
    assert model.stats["retired"] > 0.3 * conscripts.sum()
    assert model.stats["n_conscript"] > 0.9 * conscripts.sum()
    assert (model.tenure[conscripts & model.active] <= 1.5 + 1 / 12 + 1e-9).all()


def test_stop_loss_holds_conscripts_past_their_term() -> None:
    model = model_with(*SOLDIERS, "turnover.enabled=true", "drivers.war_order_level=3")
    for _ in range(20):
        model.step()
    conscripts = model.category == code("conscript")
    assert (model.tenure[conscripts & model.active] > 1.5).any()


def test_groups_and_ranks_are_the_officers_and_categories_cover_everyone() -> None:
    model = model_with(*SOLDIERS)
    stats = model.stats
    assert stats["n_complicit"] + stats["n_passive"] + stats["n_dissenting"] == 200
    assert stats["n_officer"] == 200 and stats["n_conscript"] == 400
    assert stats["n_active"] == 900


def test_soldiers_are_mesa_agents_of_their_own_type() -> None:
    model = model_with(*SOLDIERS)
    by_type = model.agents_by_type
    assert len(by_type[Officer]) == 200 and len(by_type[Soldier]) == 700
    soldier = next(iter(by_type[Soldier]))
    assert soldier.rank == "enlisted" and soldier.category in PERSONNEL[1:]


def test_mobilised_reservists_become_mesa_agents_when_called() -> None:
    model = model_with(*RESERVE)
    before = len(model.agents)
    for _ in range(9):
        model.step()
    serving_or_jailed = int((model.active | model.jailed).sum())
    assert len(model.agents) == serving_or_jailed > before - 200


def test_the_same_seed_gives_the_same_mobilisation() -> None:
    def run() -> list[float]:
        model = model_with(*RESERVE, steps=12)
        for _ in range(12):
            model.step()
        return [model.stats[key] for key in sorted(model.stats)]

    assert run() == run()


def test_an_officers_only_run_is_unchanged_by_the_personnel_section() -> None:
    """Categories draw their numbers after the officers', and only when present."""
    plain = model_with(steps=6)
    other = model_with("personnel.leader_example_weight=0.9", steps=6)
    for _ in range(6):
        plain.step()
        other.step()
    assert plain.stats == other.stats


def test_an_unknown_category_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="personnel.categories"):
        small_config("personnel.categories.generals.per_officer=1")


def test_a_force_beyond_the_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="personnel"):
        small_config("personnel.categories.reservist.per_officer=1000", n_officers=100_000)


def test_the_shipped_mobilisation_is_the_seeds_475000() -> None:
    config = load_config(REPO / "configs" / "scenarios" / "mobilisation.yaml")
    assert config.n_personnel == 65_000 + 290_000 + 120_000
    full = load_config(REPO / "configs" / "full_force.yaml")
    assert full.n_personnel == 65_000


def test_a_comply_choice_is_the_state_of_the_newly_called() -> None:
    model = model_with(*RESERVE)
    for _ in range(4):
        model.step()
    assert model.choice[model.in_reserve].max(initial=COMPLY) == COMPLY
