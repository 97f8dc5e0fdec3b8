"""Specification of the response ladder (docs/ODD.md §7.6): open refusal is known to the
commander; the response — pressure, reassignment, administrative sanction, criminal case —
varies, with a capacity for cases, their delay and escalation of repeated refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.runner import simulate
from simulation.model.choice import action_utilities
from simulation.model.consequences import (
    first_response_shares,
    follow_choices,
    refusal_sanction,
)
from simulation.model.decision import ladder_sanction
from simulation.model.model import ArmyModel
from simulation.vocabulary import COMPLY, EVADE, REFUSE
from tests.conftest import small_config

QUIET = ("drivers.war_order_level=0", "decision.temperature=0", "decision.taste_sd=0")
"""Nobody acts by himself: whatever happens to a member is what a test does."""
UNSEEN = (
    "decision.external_enforcers_per_unit=0",
    "decision.commander_enforcer_weight=0",
    "decision.complicit_enforcer_weight=0",
)
"""No enforcer anywhere: Epstein's detection probability is 0 for everyone."""


def ladder_model(*overrides: str, n_officers: int = 200) -> ArmyModel:
    return ArmyModel(small_config(*QUIET, *overrides, n_officers=n_officers, steps=40), seed=5)


def answered(model: ArmyModel) -> int:
    counts = model.counts
    return (
        counts["pressured"]
        + counts["reassigned"]
        + counts["sanctioned_refusers"]
        + counts["cases_opened"]
    )


def test_open_refusal_is_known_to_the_commander():
    model = ladder_model(*UNSEEN)
    model.choice[:] = REFUSE
    follow_choices(model)
    assert answered(model) == 200


def test_without_the_ladder_unseen_refusal_goes_unanswered():
    model = ladder_model(*UNSEEN, "consequences.response.enabled=false")
    model.choice[:] = REFUSE
    follow_choices(model)
    assert answered(model) == 0 and model.counts["arrested"] == 0


def test_case_capacity_bounds_criminal_cases_per_month():
    model = ladder_model(
        "consequences.response.first_response.pressure=0",
        "consequences.response.first_response.criminal_case=0.6",
        "consequences.response.case_capacity_per_1000=10",  # 2 cases for 200 serving
        n_officers=200,
    )
    model.choice[:] = REFUSE
    follow_choices(model)
    assert model.counts["cases_opened"] == 2
    assert model.case_certainty < 0.05  # about 120 cases wanted, 2 opened


def cases_opened_by_all_refusing(*overrides: str) -> int:
    """Every one of 200 members refuses for the first time; 60% would meet a criminal case,
    at most 2 per 1 of severity (10 per 1,000 serving) are opened."""
    model = ladder_model(
        "consequences.response.first_response.pressure=0",
        "consequences.response.first_response.criminal_case=0.6",
        "consequences.response.case_capacity_per_1000=10",
        *overrides,
        n_officers=200,
    )
    model.choice[:] = REFUSE
    follow_choices(model)
    return model.counts["cases_opened"]


@pytest.mark.parametrize("severity, cases", [(0.5, 1), (1.0, 2), (3.0, 6)])
def test_a_harsher_regime_opens_more_cases_in_proportion_at_elasticity_one(severity, cases):
    assert cases_opened_by_all_refusing(f"drivers.punishment_severity={severity}") == cases


def test_case_capacity_follows_severity_to_the_elasticity():
    # 2 * 4 ** 0.5 = 4 cases
    assert (
        cases_opened_by_all_refusing(
            "drivers.punishment_severity=4",
            "consequences.response.case_capacity_punishment_elasticity=0.5",
        )
        == 4
    )


def test_without_punishment_no_criminal_case_is_opened():
    assert cases_opened_by_all_refusing("drivers.punishment_severity=0") == 0


def test_at_severity_one_the_elasticity_changes_nothing():
    """The link leaves the default runs as they were (the regression pins did not move)."""
    series = [
        simulate(
            small_config(
                "drivers.war_order_level=3",
                f"consequences.response.case_capacity_punishment_elasticity={elasticity}",
                n_officers=300,
                steps=12,
            ),
            seed=2,
        ).series
        for elasticity in (0.0, 3.0)
    ]
    assert series[0]["cases_opened"].sum() > 0
    pd.testing.assert_frame_equal(series[0], series[1])


def test_elasticity_zero_makes_case_capacity_independent_of_severity():
    assert (
        cases_opened_by_all_refusing(
            "drivers.punishment_severity=3",
            "consequences.response.case_capacity_punishment_elasticity=0",
        )
        == 2
    )


def test_escalation_climbs_the_ladder():
    model = ladder_model(
        "consequences.response.persuasion_probability=0",
        "consequences.response.administrative_dismissal=0",
        "consequences.response.case_capacity_per_1000=1000",
    )
    rungs = []
    for _ in range(5):
        model.choice[:] = COMPLY
        model.choice[7] = REFUSE
        follow_choices(model)
        rungs.append(int(model.rung[7]))
    first = rungs[0]
    assert rungs == [min(first + k, 3) for k in range(5)]


def test_a_criminal_case_ends_in_arrest_after_its_months():
    model = ladder_model(
        "consequences.response.first_response.pressure=0",
        "consequences.response.first_response.criminal_case=0.6",
        "consequences.response.case_capacity_per_1000=1000",
        "consequences.response.case_months=2",
        "consequences.response.persuasion_probability=0",
    )
    model.choice[:] = REFUSE
    follow_choices(model)
    accused = np.flatnonzero(model.case_due)
    assert accused.shape[0] > 0 and not model.jailed.any()
    start = model.steps
    model.choice[:] = COMPLY
    for months in (1, 2):
        model.steps = start + months
        follow_choices(model)
        assert model.jailed[accused].all() == (months == 2)


def test_a_pressured_refuser_is_talked_back_and_complies_next_month():
    model = ladder_model(
        "consequences.response.first_response.pressure=1",
        "consequences.response.first_response.reassignment=0",
        "consequences.response.first_response.administrative=0",
        "consequences.response.first_response.criminal_case=0",
        "consequences.response.persuasion_probability=1",
        "drivers.war_order_level=3",
        "turnover.enabled=false",  # the same members: no post refilled by a newcomer
    )
    model.choice[:] = REFUSE
    follow_choices(model)
    model.step()
    assert (model.choice[model.active] == COMPLY).all()


def withdrawing_model(activation: str = "synchronous") -> ArmyModel:
    """Every member refuses, is pressured and persuaded; persuasion withdraws refusal."""
    model = ladder_model(
        f"decision.activation={activation}",
        "consequences.response.first_response.pressure=1",
        "consequences.response.first_response.reassignment=0",
        "consequences.response.first_response.administrative=0",
        "consequences.response.first_response.criminal_case=0",
        "consequences.response.persuasion_probability=1",
        "consequences.response.persuaded_outcome=withdraw_refusal",
        "drivers.war_order_level=3",
        "turnover.enabled=false",
    )
    model.choice[:] = REFUSE
    follow_choices(model)
    return model


@pytest.mark.parametrize("activation", ["synchronous", "random"])
def test_a_persuaded_refuser_who_withdraws_refusal_takes_his_best_other_act(activation):
    model = withdrawing_model(activation)
    persuaded = model.persuaded.copy()
    model.step()
    acted = persuaded & model.active
    assert acted.sum() > 100
    assert not (model.choice[acted] == REFUSE).any()
    # not talked back to compliance for free: some turn to covert non-performance
    assert (model.choice[acted] == EVADE).any()


def test_withdrawn_refusal_is_open_to_him_again_the_month_after():
    model = withdrawing_model()
    model.step()
    assert not model.persuaded.any()
    model.step()
    assert (model.choice[model.active] == REFUSE).any()


def test_a_reassigned_member_bears_part_of_the_order():
    model = ladder_model(
        "drivers.war_order_level=3",
        "consequences.response.reassignment_order_share=0.25",
        "consequences.response.first_response.pressure=0",
        "consequences.response.first_response.reassignment=0.7",
    )
    before, _ = action_utilities(model)
    model.choice[:] = REFUSE
    follow_choices(model)
    moved = np.flatnonzero(model.order_share < 1.0)
    assert moved.shape[0] > 0
    model.choice[:] = COMPLY
    after, _ = action_utilities(model)
    # comply is the reference: a lighter order makes every other action less attractive
    assert (after[moved, REFUSE] < before[moved, REFUSE]).all()


def test_refusal_relieves_only_its_share_of_the_order():
    full = ladder_model(
        "drivers.war_order_level=3",
        "decision.refusal_moral_relief=1",
        "decision.refusal_hardship_relief=1",
    )
    partial = ladder_model(
        "drivers.war_order_level=3",
        "decision.refusal_moral_relief=0.5",
        "decision.refusal_hardship_relief=0.5",
    )
    assert (action_utilities(partial)[0][:, REFUSE] < action_utilities(full)[0][:, REFUSE]).all()


def test_the_expected_sanction_follows_the_rung_he_would_meet():
    first = np.array([0.5, 0.2, 0.2, 0.1])
    coefficients = ladder_sanction(np.array([-1, 0, 1, 2, 3]), first, 0.1, 0.2, 0.5)
    risk, benefits, career, fixed = coefficients
    assert np.allclose(risk, [0.05, 0, 0, 0, 0.5])
    assert np.allclose(benefits, [0.3, 0, 0, 1, 1])
    assert np.allclose(career, [0.2 * 0.2 + 0.1 * 0.6, 0, 0, 0.2, 0.6])
    assert np.allclose(fixed, [0.05, 0.1, 0, 0, 0])


def sanction_computed_afresh(model: ArmyModel) -> np.ndarray:
    """Every member's expected sanction of refusal now, computed from scratch: the rung he
    would meet next and the first response at this month's severity."""
    ladder = model.config.consequences.response
    rung = np.where(model.rung >= 0, np.minimum(model.rung + ladder.escalation, 3), -1)
    rung[model.case_due > 0] = 0
    return ladder_sanction(
        rung,
        first_response_shares(ladder, model.drivers["punishment_severity"]),
        ladder.pressure_cost,
        ladder.administrative_dismissal,
        model.case_certainty,
    )


def test_expected_sanction_kept_month_by_month_is_the_one_computed_afresh():
    """The expected sanction of refusal is looked up again only for members whose record
    changed (answered, accused, arrested, replaced); it stays each member's sanction from
    his rung and open case, month after month, as the case capacity binds and eases."""
    model = ArmyModel(
        small_config(
            "drivers.war_order_level=3",
            "consequences.response.case_capacity_per_1000=5",
            n_officers=300,
            steps=24,
        ),
        seed=2,
    )
    certainties, accused = set(), False
    for _ in range(24):
        model.step()
        kept = refusal_sanction(model)
        afresh = sanction_computed_afresh(model)
        np.testing.assert_array_equal(np.broadcast_to(kept, afresh.shape), afresh)
        certainties.add(model.case_certainty)
        accused = accused or bool(model.case_due.any())
    assert len(certainties) > 2 and accused
