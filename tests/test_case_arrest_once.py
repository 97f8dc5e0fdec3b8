"""A member whose criminal case ends in arrest this month is not also answered for this
month's act (issue 22's response ladder): each person leaves by one route."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.model.consequences import follow_choices
from simulation.model.model import ArmyModel
from simulation.vocabulary import DEPARTURES, EXIT, REFUSE
from tests.conftest import small_config


@pytest.mark.parametrize("act", [EXIT, REFUSE], ids=["leaves", "refuses"])
def test_a_member_arrested_when_his_case_is_due_is_not_also_answered_for_his_act(act) -> None:
    config = small_config(
        "drivers.war_order_level=3",
        "consequences.jail_term_months=0",
        "turnover.enabled=false",
        n_officers=40,
        steps=3,
    )
    model = ArmyModel(config, seed=1, views=False)
    model.step()
    member = int(np.flatnonzero(model.active)[0])
    model.case_due[member] = model.steps  # his case ends in arrest this month
    model.choice[member] = act
    before = {route: model.counts[route] for route in DEPARTURES}
    serving = int(model.active.sum())
    follow_choices(model)
    gone = sum(model.counts[route] - before[route] for route in DEPARTURES)
    assert not model.active[member]
    assert gone == serving - int(model.active.sum())
