"""The decision rule: what each officer does this month, as a pure function of arrays.

No Mesa, no model object: :func:`choice_utilities` takes the officers' attitudes, what
they face this step (:class:`Situation`) and the decision weights, and returns the utility
of each action; :func:`choose` turns utilities into choices. The model assembles the
situation (:mod:`simulation.model.model`); tests and the reference reductions call these
functions directly.

Every term is documented, with its source passage, in docs/ODD.md ("Submodels / Choice").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config.schema import DecisionConfig
from simulation.vocabulary import EVADE, REFUSE


@dataclass(frozen=True)
class Situation:
    """What every officer faces this step (arrays of length n, one entry per officer)."""

    war_order_level: int
    punishment_severity: float
    incentive_level: float
    regime_stability: float
    amnesty: float
    enforcers: np.ndarray
    noncompliant_peers: np.ndarray
    refusing_neighbours: np.ndarray
    noncompliant_neighbours: np.ndarray
    benefit_multiplier: np.ndarray
    hardship_multiplier: np.ndarray


def detection_probability(
    enforcers: np.ndarray,
    noncompliant_peers: np.ndarray,
    steepness: float,
    rounding: str = "none",
) -> np.ndarray:
    """Epstein (2002): P = 1 - exp(-k * E / A), A counting the officer himself (A >= 1)."""
    ratio = enforcers / np.maximum(noncompliant_peers, 1.0)
    if rounding == "floor":
        ratio = np.floor(ratio)
    elif rounding == "round":
        ratio = np.round(ratio)
    return 1.0 - np.exp(-steepness * ratio)


def alignment(attitudes: dict[str, np.ndarray], russia_weight: float) -> np.ndarray:
    """Alignment that makes war orders acceptable: regime and Russia alignment combined."""
    return (
        russia_weight * attitudes["russia_alignment"]
        + (1.0 - russia_weight) * attitudes["regime_alignment"]
    )


def order_costs(
    attitudes: dict[str, np.ndarray], situation: Situation, decision: DecisionConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Cost of carrying out the current order, as (moral cost, hardship).

    Moral cost rises with the war-order level and war aversion and falls with alignment;
    hardship (inconvenience, danger) rises with the level and is eased a little by alignment.
    """
    aligned = alignment(attitudes, decision.russia_alignment_weight)
    level = situation.war_order_level
    moral = decision.order_moral_cost[level] * attitudes["war_aversion"] * (1.0 - aligned)
    hardship = (
        decision.order_hardship[level]
        * situation.hardship_multiplier
        * (1.0 - decision.hardship_alignment_relief * aligned)
    )
    return moral, hardship


def choice_utilities(
    attitudes: dict[str, np.ndarray],
    situation: Situation,
    decision: DecisionConfig,
    detection_refuse: np.ndarray | None = None,
) -> np.ndarray:
    """Utility of comply (0, the reference), evade and refuse for every officer: shape (n, 3).

    See docs/ODD.md, 'Choice', for the equations and the passages they come from.
    `detection_refuse` may be passed when the caller has computed it already.
    """
    moral, hardship = order_costs(attitudes, situation, decision)
    if detection_refuse is None:
        detection_refuse = detection_probability(
            situation.enforcers,
            situation.noncompliant_peers,
            decision.detection_steepness,
            decision.detection_ratio_rounding,
        )
    detection_evade = decision.evasion_visibility * detection_refuse
    credibility = situation.regime_stability
    risk = attitudes["risk_aversion"] * credibility * situation.punishment_severity
    benefits = (
        attitudes["benefit_value"]
        * situation.benefit_multiplier
        * (1.0 + situation.incentive_level)
    )
    lock_in = (
        decision.lock_in_weight
        * attitudes["culpability"]
        * (1.0 - situation.regime_stability)
        * (1.0 - situation.amnesty)
    )
    threshold = attitudes["threshold"]
    if decision.social_threshold_unit == "count":
        # whole officers: "count >= threshold" written as count - threshold + 1/2 > 0
        social_refuse = situation.refusing_neighbours - threshold + 0.5
        social_evade = situation.noncompliant_neighbours - threshold + 0.5
    else:
        social_refuse = situation.refusing_neighbours - threshold
        social_evade = situation.noncompliant_neighbours - threshold

    # (3, n) in memory, seen as (n, 3): each action's column is contiguous
    utilities = np.zeros((3, moral.shape[0])).T
    utilities[:, REFUSE] = (
        moral
        + hardship
        - risk * detection_refuse
        - decision.benefit_weight * benefits
        - decision.exit_cost_weight * attitudes["exit_cost"]
        - lock_in
        - decision.refusal_threshold
        + decision.social_weight * social_refuse
    )
    if decision.enable_evasion:
        utilities[:, EVADE] = (
            decision.evasion_moral_relief * moral
            + decision.evasion_hardship_relief * hardship
            - risk * decision.evasion_punishment_share * detection_evade
            - detection_evade * decision.benefit_weight * benefits
            - decision.evasion_lock_in_share * lock_in
            - decision.evasion_threshold
            + decision.social_weight * social_evade
        )
    else:
        utilities[:, EVADE] = -np.inf
    return utilities


def choose(utilities: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Pick a choice per officer: logit with `temperature`, the best choice when it is 0.

    At temperature 0 ties go to the earlier choice (comply before evade before refuse),
    so an officer acts only when acting is strictly better: Epstein's "G - N > T".
    """
    if temperature <= 0:
        return np.argmax(utilities, axis=1).astype(np.int8)
    # Column by column (not along axis 1): the same arithmetic as a row-wise softmax and
    # cumulative sum, several times faster on an (n, 3) array.
    scaled = [utilities[:, k] / temperature for k in range(3)]
    peak = np.maximum(np.maximum(scaled[0], scaled[1]), scaled[2])
    first = np.exp(scaled[0] - peak)
    second = first + np.exp(scaled[1] - peak)
    total = second + np.exp(scaled[2] - peak)
    draws = rng.random(utilities.shape[0]) * total
    return ((draws >= first).view(np.int8) + (draws >= second).view(np.int8)).astype(np.int8)
