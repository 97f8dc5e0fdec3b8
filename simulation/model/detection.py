"""Detection (docs/ODD.md §7.2, Epstein 2002): the enforcers each member faces, and the
probability that an act against the order is detected.

Complying complicit officers enforce (commanders with their own weight, the other
categories' loyal members with theirs), with outside enforcers per unit; the choice reads
the enforcers before it (:mod:`simulation.model.choice`), the consequences on this month's
acts (:mod:`simulation.model.consequences`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.model.decision import detection_probability
from simulation.model.personnel import commanders
from simulation.vocabulary import COMPLICIT, COMPLY, EVADE, REFUSE

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def unit_enforcement(model: ArmyModel) -> tuple[np.ndarray, np.ndarray]:
    """Enforcement each officer contributes now, and each unit's total (before D):
    complying complicit officers enforce, commanders with their own weight."""
    if model._enforcer_weight is None:
        # only the loyal (complicit) enforce: weighed over them alone, in slot order (the
        # same sums as over everyone, without the zeros)
        decision = model.config.decision
        loyal = np.flatnonzero(model.group == COMPLICIT)
        weight = np.where(
            commanders(model)[loyal],
            decision.commander_enforcer_weight,
            decision.complicit_enforcer_weight,
        )
        rules = model._category_rules
        if rules is not None:  # the other categories' loyal members with their own weight
            weight = np.where(rules.is_officer[loyal], weight, rules.enforcer_weight[loyal])
        weighed = weight != 0
        model._enforcers = loyal[weighed]
        model._enforcer_weight = weight[weighed]
        model._enforcers_unit = model.unit[model._enforcers]
    enforcers = model._enforcers
    own_enforcers = model._enforcer_weight * (
        (model.choice[enforcers] == COMPLY) & model.active[enforcers]
    )
    own = np.zeros(model.n_agents)
    own[enforcers] = own_enforcers
    by_unit = np.bincount(model._enforcers_unit, own_enforcers, minlength=model.n_units)
    if model._category_rules is not None:
        by_unit += model._outside_enforcers
    return own, by_unit


def detection_now(model: ArmyModel, slots: np.ndarray) -> np.ndarray:
    """Epstein's detection probability of `slots` on this month's acts (after the
    choices): the enforcers and non-compliant peers of their units now."""
    decision = model.config.decision
    own, by_unit = unit_enforcement(model)
    unit = model.unit[slots]
    enforcers = model.drivers["detection_capacity"] * (
        decision.external_enforcers_per_unit + by_unit[unit] - own[slots]
    )
    noncompliant = ((model.choice == EVADE) | (model.choice == REFUSE)) & model.active
    unit_noncompliant = unit_count(model, noncompliant)
    peers = unit_noncompliant[unit] - noncompliant[slots] + 1.0
    return detection_probability(
        enforcers, peers, decision.detection_steepness, decision.detection_ratio_rounding
    )


def unit_count(model: ArmyModel, flags: np.ndarray) -> np.ndarray:
    """Number of flagged officers (flags 0 or 1) in each unit: counted over the flagged
    ones only when they are few (a bincount over all officers otherwise)."""
    flagged = np.flatnonzero(flags)
    if flagged.shape[0] * 4 < flags.shape[0]:
        return np.bincount(model.unit[flagged], minlength=model.n_units).astype(float)
    return np.bincount(model.unit, flags, minlength=model.n_units)
