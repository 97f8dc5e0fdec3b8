"""Specification of the call-up as a choice (issue 22): the called report or evade, the
war-averse evade more, enforcement deters and finds evaders, and the counts add up."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.model.model import ArmyModel
from simulation.model.personnel import call_up_evasion
from tests.conftest import small_config

CALL_UP = (
    "personnel.categories.reservist.per_officer=5",
    "drivers.mobilisation=[{step: 0, value: 0.0}, {step: 2, value: 1.0}]",
    "drivers.war_order_level=[{step: 0, value: 1}, {step: 2, value: 3}]",
)
"""100 officers and 500 reservists, all called up at month 2 with the order to fight."""


def called(*overrides: str, steps: int = 2, seed: int = 1) -> ArmyModel:
    model = ArmyModel(small_config(*CALL_UP, *overrides, n_officers=100, steps=steps), seed=seed)
    for _ in range(steps):
        model.step()
    return model


def test_everyone_called_either_reports_or_evades_the_call_up():
    model = called()
    counts = model.counts
    assert counts["called_up"] == 500
    assert counts["reported"] + counts["evaded_call_up"] == 500
    assert 0 < counts["evaded_call_up"] < 500
    assert model.stats["reported_share_of_called_up"] == pytest.approx(counts["reported"] / 500)


def test_those_who_evade_the_call_up_do_not_serve():
    model = called()
    assert not (model.active & model.evading_call_up).any()
    assert int(model.evading_call_up.sum()) == model.counts["evaded_call_up"]


def test_nobody_evades_the_call_up_without_the_propensity():
    model = called("personnel.call_up.evasion_propensity=0")
    assert model.counts["evaded_call_up"] == 0
    assert model.counts["mobilised"] == 500


def test_the_war_averse_evade_the_call_up_more():
    model = called(steps=0)
    slots = np.flatnonzero(model.category != 0)
    chance = call_up_evasion(model, slots)
    aversion = model.attitudes["war_aversion"][slots]
    fear = model.attitudes["risk_aversion"][slots]
    calm = np.abs(fear - fear.mean()) < 0.1
    assert np.corrcoef(aversion[calm], chance[calm])[0, 1] > 0.5


def test_fear_of_being_found_deters_evading_the_call_up():
    lax = called("personnel.call_up.detection_per_month=0.0").counts["evaded_call_up"]
    strict = called("personnel.call_up.detection_per_month=0.3").counts["evaded_call_up"]
    assert strict < lax


def test_found_evaders_are_sent_to_serve_or_prosecuted():
    model = called(
        "personnel.call_up.detection_per_month=0.5",
        "personnel.call_up.forced_to_serve_share=0.5",
        steps=8,
    )
    counts = model.counts
    assert counts["call_up_found"] > 0
    assert 0 < counts["call_up_prosecuted"] < counts["call_up_found"]
    joined = counts["reported"] + counts["call_up_found"] - counts["call_up_prosecuted"]
    assert counts["mobilised"] == joined
    still = counts["evaded_call_up"] - counts["call_up_found"]
    assert int(model.evading_call_up.sum()) == still
