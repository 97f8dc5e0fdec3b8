"""The decision rule: what each officer does this month, as a pure function of arrays.

No Mesa, no model object: :func:`choice_utilities` takes the officers' attitudes, what
they face this step (:class:`Situation`) and the rules (decision weights, exit routes,
sanctions), and returns the utility of each action — comply, evade, refuse, exit —;
:func:`choose` turns utilities into choices. The model assembles the situation
(:mod:`simulation.model.model`); tests and the reference reductions call these functions
directly.

Every term is documented, with its source passage, in docs/ODD.md ("Submodels / Choice").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config.schema import DecisionConfig, EvaderSanctions, ExitConfig
from simulation.vocabulary import ACTIONS, EVADE, EXIT, REFUSE


@dataclass(frozen=True)
class Situation:
    """What every officer faces this step (arrays of length n, one entry per officer).

    The last five fields default to "no career stake, resignation open, no chance to desert,
    no persistent tastes", so that a reference reduction (or a test) can leave them out.
    """

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
    training_debt: np.ndarray | float = 0.0
    pension_stake: np.ndarray | float = 0.0
    resignation_open: bool = True
    desertion_possible: np.ndarray | bool = False
    taste: np.ndarray | None = None
    """Persistent tastes, shape (4, n): one row per action (comply's row is 0)."""


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


def career_costs(
    attitudes: dict[str, np.ndarray],
    situation: Situation,
    decision: DecisionConfig,
    resignation: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """What ending the career costs, as (when dismissed or deserting, when resigning).

    Fear of civilian life, the training debt left, and the pension stake; an officer
    entitled to his pension (stake 1) keeps it when he resigns, not when he is dismissed or
    deserts. Without `resignation` the second array is the first (not computed).
    """
    forfeited = decision.exit_cost_weight * attitudes["exit_cost"]
    if decision.training_debt_weight:
        forfeited += decision.training_debt_weight * np.asarray(situation.training_debt)
    if not decision.pension_weight:
        return forfeited, forfeited
    stake = np.asarray(situation.pension_stake)
    forfeited += decision.pension_weight * stake
    if not resignation:
        return forfeited, forfeited
    return forfeited, forfeited - decision.pension_weight * (stake >= 1.0)


def choice_utilities(
    attitudes: dict[str, np.ndarray],
    situation: Situation,
    decision: DecisionConfig,
    detection_refuse: np.ndarray | None = None,
    exit_rules: ExitConfig | None = None,
    sanctions: EvaderSanctions | None = None,
) -> np.ndarray:
    """Utility of comply (0, the reference), evade, refuse and exit: shape (n, 4).

    See docs/ODD.md, 'Choice', for the equations and the passages they come from.
    `detection_refuse` may be passed when the caller has computed it already. Without
    `exit_rules` (or with exit disabled) exit is unavailable (utility -inf). Without
    `sanctions` a detected evader loses his benefits for certain (the rule before sanctions
    were drawn); with them his expected loss follows their probabilities.
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
    risk = attitudes["risk_aversion"] * (credibility * situation.punishment_severity)
    benefits = attitudes["benefit_value"] * (
        situation.benefit_multiplier * (decision.benefit_weight * (1.0 + situation.incentive_level))
    )
    lock_in = (
        decision.lock_in_weight
        * (1.0 - situation.regime_stability)
        * (1.0 - situation.amnesty)
        * attitudes["culpability"]
    )
    resignation = exit_rules is not None and exit_rules.enabled and situation.resignation_open
    forfeited, resigning = career_costs(attitudes, situation, decision, resignation)
    threshold = attitudes["threshold"]
    if decision.social_threshold_unit == "count":
        # whole officers: "count >= threshold" written as count - threshold + 1/2 > 0
        social_refuse = situation.refusing_neighbours - threshold + 0.5
        social_evade = situation.noncompliant_neighbours - threshold + 0.5
    else:
        social_refuse = situation.refusing_neighbours - threshold
        social_evade = situation.noncompliant_neighbours - threshold

    n = moral.shape[0]
    # (4, n) in memory, seen as (n, 4): each action's column is contiguous
    utilities = np.zeros((len(ACTIONS), n)).T
    relief = moral + hardship
    leaving = benefits + forfeited + lock_in  # what any end of the career costs
    utilities[:, REFUSE] = (
        relief
        - leaving
        - risk * detection_refuse
        - decision.refusal_threshold
        + decision.social_weight * social_refuse
    )
    if decision.enable_evasion:
        if sanctions is None:
            expected_sanction = risk * decision.evasion_punishment_share + benefits
        else:
            expected_sanction = (
                risk * decision.evasion_punishment_share
                + (sanctions.benefit_loss + sanctions.dismissal) * benefits
                + sanctions.dismissal * forfeited
            )
        utilities[:, EVADE] = (
            decision.evasion_moral_relief * moral
            + decision.evasion_hardship_relief * hardship
            - detection_evade * expected_sanction
            - decision.evasion_lock_in_share * lock_in
            - decision.evasion_threshold
            + decision.social_weight * social_evade
        )
    else:
        utilities[:, EVADE] = -np.inf
    utilities[:, EXIT] = exit_utility(
        relief, leaving, resigning, forfeited, risk * detection_refuse, situation, exit_rules
    )
    if situation.taste is not None:
        for action in range(1, len(ACTIONS)):
            utilities[:, action] += situation.taste[action]
    return utilities


def exit_utility(
    relief: np.ndarray,
    leaving: np.ndarray,
    resigning: np.ndarray,
    forfeited: np.ndarray,
    refusal_risk: np.ndarray,
    situation: Situation,
    exit_rules: ExitConfig | None,
) -> np.ndarray:
    """Utility of leaving the force: resignation while open, desertion when it is closed.

    Leaving spares the whole cost of the order and ends the career (benefits, debt, pension,
    fear of civilian life, lock-in); resignation is lawful (no sanction; an entitled officer
    keeps his pension), desertion costs more, is possible only with an opportunity and is
    detected with `desertion_visibility` times the refusal detection probability.
    """
    n = relief.shape[0]
    if exit_rules is None or not exit_rules.enabled:
        return np.full(n, -np.inf)
    if situation.resignation_open:
        return relief - leaving - exit_rules.exit_threshold + (forfeited - resigning)
    # desertion: computed only for the few with an opportunity this month
    possible = np.flatnonzero(np.broadcast_to(situation.desertion_possible, (n,)))
    utility = np.full(n, -np.inf)
    utility[possible] = (
        relief[possible]
        - leaving[possible]
        - (exit_rules.exit_threshold + exit_rules.desertion_cost)
        - exit_rules.desertion_visibility * refusal_risk[possible]
    )
    return utility


def choose(utilities: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Pick an action per officer: logit with `temperature`, the best action when it is 0.

    At temperature 0 ties go to the earlier action (comply before evade before refuse before
    exit), so an officer acts only when acting is strictly better: Epstein's "G - N > T".
    Unavailable actions have utility -inf and are never chosen.
    """
    if temperature <= 0:
        return np.argmax(utilities, axis=1).astype(np.int8)
    # Column by column (not along axis 1): the same arithmetic as a row-wise softmax and
    # cumulative sum, several times faster on an (n, k) array.
    columns = utilities.shape[1]
    scaled = [utilities[:, k] * (1.0 / temperature) for k in range(columns)]
    peak = scaled[0]
    for column in scaled[1:]:
        peak = np.maximum(peak, column)
    cumulative = []
    total = np.zeros_like(peak)
    for column in scaled:
        total += np.exp(column - peak)
        cumulative.append(total.copy())
    draws = rng.random(utilities.shape[0]) * total
    chosen = np.zeros(utilities.shape[0], dtype=np.int8)
    for bound in cumulative[:-1]:
        chosen += (draws >= bound).view(np.int8)
    return chosen
