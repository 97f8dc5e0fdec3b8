"""Specification of how punishment severity reaches open refusal and covert evasion
(docs/ODD.md §7.5-7.6, issue 22): a harsher regime answers more first refusals with a
criminal case (`response.criminal_case_punishment_elasticity`, ζ), and a caught evader's
feared punishment grows as severity to `decision.evasion_punishment_elasticity` (ν)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.runner import simulate
from simulation.model.choice import action_utilities, evasion_severity
from simulation.model.consequences import first_response_shares, follow_choices, refusal_sanction
from simulation.model.model import ArmyModel
from simulation.vocabulary import EVADE, REFUSE
from tests.conftest import small_config
from tests.test_response_ladder import sanction_computed_afresh

CONFIGURED = np.array([0.5, 0.2, 0.2, 0.1])
"""The default first response: pressure, reassignment, administrative sanction, case."""


def ladder_of(*overrides: str):
    return small_config(*overrides, n_officers=50, steps=2).consequences.response


def test_at_severity_one_a_first_refusal_meets_the_configured_rungs():
    shares = first_response_shares(ladder_of(), 1.0)
    np.testing.assert_array_equal(shares, CONFIGURED)


def test_a_harsher_regime_answers_more_first_refusals_with_a_case():
    shares = first_response_shares(ladder_of(), 3.0)
    assert shares[3] == pytest.approx(0.3)  # 0.1 * 3 ** 1
    # the other rungs share the rest in their configured proportions
    np.testing.assert_allclose(shares[:3], CONFIGURED[:3] * 0.7 / 0.9)
    assert shares.sum() == pytest.approx(1.0)


def test_the_case_share_follows_severity_to_its_elasticity():
    shares = first_response_shares(
        ladder_of("consequences.response.criminal_case_punishment_elasticity=2"), 3.0
    )
    assert shares[3] == pytest.approx(0.9)  # 0.1 * 3 ** 2


def test_the_case_share_is_at_most_one():
    shares = first_response_shares(
        ladder_of("consequences.response.criminal_case_punishment_elasticity=3"), 4.0
    )
    np.testing.assert_allclose(shares, [0.0, 0.0, 0.0, 1.0])


def test_a_milder_regime_gives_an_all_case_ladders_rest_to_the_administrative_rung():
    ladder = ladder_of(
        "consequences.response.first_response.pressure=0",
        "consequences.response.first_response.reassignment=0",
        "consequences.response.first_response.administrative=0",
        "consequences.response.first_response.criminal_case=1",
    )
    np.testing.assert_allclose(first_response_shares(ladder, 0.5), [0.0, 0.0, 0.5, 0.5])


def test_without_punishment_no_first_refusal_meets_a_case():
    shares = first_response_shares(ladder_of(), 0.0)
    assert shares[3] == 0.0
    assert shares.sum() == pytest.approx(1.0)


def test_elasticity_zero_keeps_the_configured_rungs_at_any_severity():
    ladder = ladder_of("consequences.response.criminal_case_punishment_elasticity=0")
    np.testing.assert_array_equal(first_response_shares(ladder, 3.0), CONFIGURED)


def test_first_refusals_are_answered_with_the_severitys_shares():
    """Every one of 2,000 members refuses for the first time at severity 3: about 30% are
    wanted for a case (capacity unlimited), against 10% at severity 1."""
    wanted = {}
    for severity in (1, 3):
        model = ArmyModel(
            small_config(
                "drivers.war_order_level=0",
                f"drivers.punishment_severity={severity}",
                "consequences.response.case_capacity_per_1000=1000",
                "consequences.response.case_capacity_punishment_elasticity=0",
                n_officers=2000,
                steps=2,
            ),
            seed=3,
        )
        model.choice[:] = REFUSE
        follow_choices(model)
        wanted[severity] = model.counts["cases_opened"] / 2000
    assert wanted[1] == pytest.approx(0.1, abs=0.02)
    assert wanted[3] == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize(
    "setting",
    [
        "consequences.response.criminal_case_punishment_elasticity",
        "decision.evasion_punishment_elasticity",
    ],
)
def test_at_severity_one_the_elasticities_change_nothing(setting: str):
    """Every run at the default severity is as it was (the regression pins did not move)."""
    series = [
        simulate(
            small_config(
                "drivers.war_order_level=3", f"{setting}={value}", n_officers=300, steps=12
            ),
            seed=2,
        ).series
        for value in (0.0, 2.0)
    ]
    assert series[0]["cases_opened"].sum() > 0
    pd.testing.assert_frame_equal(series[0], series[1])


def test_the_expected_sanction_follows_a_change_of_severity():
    """The expected sanction of refusal kept month by month is the one computed afresh with
    this month's shares, as a schedule raises severity and the case capacity binds."""
    model = ArmyModel(
        small_config(
            "drivers.war_order_level=3",
            "drivers.punishment_severity=[{step: 0, value: 1}, {step: 6, value: 3}]",
            n_officers=300,
            steps=12,
        ),
        seed=2,
    )
    ladder = model.config.consequences.response
    criminal_shares = set()
    for _ in range(12):
        model.step()
        kept = refusal_sanction(model)
        afresh = sanction_computed_afresh(model)
        np.testing.assert_array_equal(np.broadcast_to(kept, afresh.shape), afresh)
        first = first_response_shares(ladder, model.drivers["punishment_severity"])
        criminal_shares.add(round(float(first[3]), 6))
    assert criminal_shares == {0.1, 0.3}


def test_an_evader_fears_severity_to_its_elasticity():
    decision = small_config("decision.evasion_punishment_elasticity=0.5").decision
    assert evasion_severity(decision, 4.0) == 2.0
    assert evasion_severity(decision, 0.0) == 0.0
    assert evasion_severity(decision, 1.0) is None  # the same as refusal's: computed as before


def test_at_elasticity_one_an_evader_fears_severity_as_a_refuser_does():
    decision = small_config("decision.evasion_punishment_elasticity=1").decision
    assert evasion_severity(decision, 4.0) is None


def fear_at(severity: float, elasticity: float) -> np.ndarray:
    model = ArmyModel(
        small_config(
            "drivers.war_order_level=3",
            f"drivers.punishment_severity={severity}",
            f"decision.evasion_punishment_elasticity={elasticity}",
            n_officers=300,
            steps=2,
        ),
        seed=4,
    )
    parts: dict[str, np.ndarray] = {}
    action_utilities(model, parts=parts)
    return parts["fear"]


def test_a_caught_evader_fears_the_punishment_of_severity_to_the_elasticity():
    """At severity 4 and ν = 0.5 an evader fears what he would at severity 2 and ν = 1
    (4 ** 0.5 = 2), while open refusal's expected sanction is severity 4's."""
    halved, proportional = fear_at(4.0, 0.5), fear_at(2.0, 1.0)
    assert halved[:, EVADE].max() > 0
    np.testing.assert_array_equal(halved[:, EVADE], proportional[:, EVADE])
    assert (halved[:, REFUSE] > proportional[:, REFUSE]).any()


def test_a_less_exposed_evader_fears_less_under_a_harsh_regime():
    unexposed, exposed = fear_at(3.0, 0.0)[:, EVADE], fear_at(3.0, 1.0)[:, EVADE]
    fearing = exposed > 0
    assert fearing.any()
    np.testing.assert_array_less(unexposed[fearing], exposed[fearing])
