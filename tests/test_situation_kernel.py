"""The situation kernel (kernels.member_arrays) gives choice.member_arrays' numbers bit for
bit: each member's enforcers, non-compliant peers, what he saw (shares or counts), training
debt and pension stake, on a force in mid-run (departures, jail, refusers, evaders)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.model import kernels
from simulation.model.choice import member_arrays
from simulation.model.decision import KERNEL_ENVIRONMENT
from simulation.model.detection import unit_enforcement
from simulation.model.model import ArmyModel
from simulation.model.observation import observe
from simulation.vocabulary import EVADE, REFUSE
from tests.conftest import small_config

SETTINGS: dict[str, tuple[str, ...]] = {
    "shares, with ties": ("drivers.war_order_level=3",),
    "counts, with ties": ("drivers.war_order_level=3", "decision.social_threshold_unit=count"),
    "shares, no ties": ("drivers.war_order_level=3", "structure.cross_unit_ties=0"),
    "soldiers and outside enforcers": (
        "drivers.war_order_level=3",
        "personnel.categories.conscript.per_officer=2",
        "personnel.external_enforcers_per_100=3",
        "drivers.detection_capacity=0.7",
    ),
}

FIELDS = (
    "enforcers",
    "noncompliant_peers",
    "seen_in_unit",
    "seen_in_ties",
    "training_debt",
    "pension_stake",
)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_kernel_member_arrays_equal_the_numpy_ones(name: str, monkeypatch) -> None:
    monkeypatch.setenv(KERNEL_ENVIRONMENT, "numpy")
    model = ArmyModel(small_config(*SETTINGS[name], n_officers=600, steps=12), seed=4)
    for _ in range(8):
        model.step()
    defiant = ((model.choice == EVADE) | (model.choice == REFUSE)) & model.active
    assert defiant.any() and not model.active.all()
    seen = observe(model)
    own, by_unit = unit_enforcement(model)
    decision, career = model.config.decision, model.config.career
    fused = kernels.member_arrays(
        model.unit,
        model.n_units,
        model.choice,
        model.active,
        own,
        by_unit,
        decision.external_enforcers_per_unit,
        model.drivers["detection_capacity"],
        seen.unit,
        seen.unit_peers,
        seen.ties,
        seen.tie_peers,
        decision.social_threshold_unit == "share",
        model.tenure,
        career.training_obligation_years,
        career.pension_service_years,
    )
    reference = member_arrays(model, None, seen, own, by_unit)
    for field, mine, theirs in zip(FIELDS, fused, reference, strict=True):
        if theirs is None:
            assert mine is None, field
        else:
            np.testing.assert_array_equal(mine, theirs, field)
