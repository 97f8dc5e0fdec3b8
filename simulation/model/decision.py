"""The decision rule: what each officer does this month, as a pure function of arrays.

No Mesa, no model object: :func:`choice_utilities` takes the officers' attitudes, what
they face this step (:class:`Situation`) and the rules (decision weights, exit routes,
sanctions), and returns the utility of each action — comply, evade, refuse, exit —;
:func:`choose` turns utilities into choices. The model assembles the situation
(:func:`simulation.model.choice.situation`); tests and the reference reductions call these
functions directly.

Every term is documented, with its source passage, in docs/ODD.md ("Submodels / Choice").
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from simulation.config.schema import (
    DecisionConfig,
    EvaderSanctions,
    ExitConfig,
    PerformanceConfig,
    numba_installed,
)
from simulation.errors import ConfigError
from simulation.vocabulary import ACTIONS, EVADE, EXIT, REFUSE


@dataclass(frozen=True)
class Situation:
    """What every officer faces this step (arrays of length n, one entry per officer).

    The fields with defaults mean "no career stake, resignation open, no chance to desert,
    no persistent tastes, no cross-unit ties, beliefs equal to the regime_stability driver",
    so that a reference reduction (or a test) can leave them out.
    """

    war_order_level: int | np.ndarray
    """The order's level, for everyone or per officer (orders per unit type)."""
    punishment_severity: float | np.ndarray
    """The sanction for detected refusal: the driver, or per slot when personnel categories
    weigh it differently (personnel.categories.<name>.punishment_multiplier)."""
    incentive_level: float
    regime_stability: float
    amnesty: float
    enforcers: np.ndarray
    noncompliant_peers: np.ndarray
    seen_in_unit: np.ndarray
    """Shape (4, n): per action (row; comply's row unused), the share of his unit peers
    (or their number, in count mode) he saw take it last month: refusal and exit for
    certain, evasion with `evasion_peer_visibility`."""
    benefit_multiplier: np.ndarray
    hardship_multiplier: np.ndarray
    training_debt: np.ndarray | float = 0.0
    pension_stake: np.ndarray | float = 0.0
    resignation_open: bool | np.ndarray = True
    desertion_possible: np.ndarray | bool = False
    taste: np.ndarray | None = None
    """Persistent tastes, shape (4, n): one row per action (comply's row is 0)."""
    seen_in_ties: np.ndarray | None = None
    """Shape (4, n): as seen_in_unit, over his ties to other units (0 for an officer
    without such ties, who has `has_ties` False); None when nobody has any."""
    has_ties: np.ndarray | None = None
    perceived_strength: np.ndarray | float | None = None
    """Each officer's perceived regime strength; None: the regime_stability driver."""
    career_dependence: float = 0.0
    """Share of a career's worth that rests on the regime standing (with beliefs only)."""
    refusal_sanction: np.ndarray | None = None
    """The response ladder's expected sanction of open refusal, shape (4, n): coefficients
    of (risk, benefits, forfeited career, 1) (:func:`ladder_sanction`); None: refusal is
    detected with Epstein's probability and ends the career (no ladder)."""
    order_share: np.ndarray | float = 1.0
    """Share of the order's costs each member bears (a reassigned refuser less than 1)."""
    moral_multiplier: np.ndarray | float = 1.0
    """Individual multiplier of the order's moral cost (trait heterogeneity)."""
    career_multiplier: np.ndarray | float = 1.0
    """Individual multiplier of what his career is worth to him: benefits and forfeits."""
    fear_multiplier: np.ndarray | float = 1.0
    """Individual multiplier of the feared sanction (risk attitude)."""
    social_multiplier: np.ndarray | float = 1.0
    """Individual susceptibility to his peers: multiplier of every social term."""
    refusal_withdrawn: np.ndarray | None = None
    """Members for whom open refusal is not an act this month (persuaded last month, with
    consequences.response.persuaded_outcome withdraw_refusal): their utilities and private
    inclination are unchanged; :func:`available_utilities` takes refusal out of their choice
    set (the kernels read it here). None: nobody."""
    evasion_punishment_severity: float | np.ndarray | None = None
    """The severity a caught evader fears: punishment severity to
    decision.evasion_punishment_elasticity, times the category's multiplier (docs/ODD.md
    §7.5); None: the same as punishment_severity (at severity 1, or elasticity 1)."""


def seen_share(situation: Situation, action: int) -> tuple[np.ndarray, np.ndarray | None]:
    """What he saw of `action` last month: in his unit, and among his cross-unit ties."""
    ties = None if situation.seen_in_ties is None else situation.seen_in_ties[action]
    return situation.seen_in_unit[action], ties


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
    if isinstance(level, np.ndarray):  # orders per unit type
        moral_weight = np.asarray(decision.order_moral_cost)[level]
        hardship_weight = np.asarray(decision.order_hardship)[level]
    else:
        moral_weight = decision.order_moral_cost[level]
        hardship_weight = decision.order_hardship[level]
    moral = moral_weight * attitudes["war_aversion"] * (1.0 - aligned)
    hardship = (
        hardship_weight
        * situation.hardship_multiplier
        * (1.0 - decision.hardship_alignment_relief * aligned)
    )
    share = situation.order_share
    if isinstance(share, np.ndarray):  # reassigned members bear part of the order
        moral = moral * share
        hardship = hardship * share
    if isinstance(situation.moral_multiplier, np.ndarray):
        moral = moral * situation.moral_multiplier
    return moral, hardship


def perceived_strength(situation: Situation) -> np.ndarray | float:
    """Each officer's perceived regime strength (the driver when beliefs are off)."""
    if situation.perceived_strength is None:
        return situation.regime_stability
    return situation.perceived_strength


def social_response(gap: np.ndarray, decision: DecisionConfig, weight: float = 1.0) -> np.ndarray:
    """`weight` times the response to (seen - threshold): linear, or logistic from -1/2 to
    1/2 (a threshold: seeing no one and seeing everyone take the action differ by one
    weight, as in the linear response over shares). Computed in place: `gap` is
    overwritten."""
    if decision.social_response == "linear":
        gap *= weight
        return gap
    gap *= 0.5 / decision.social_response_width
    np.tanh(gap, out=gap)
    gap *= 0.5 * weight  # exact: halving changes no digit, so this is weight * (tanh / 2)
    return gap


def social_term(
    situation: Situation, action: int, threshold: np.ndarray, decision: DecisionConfig
) -> np.ndarray | float:
    """Social utility of `action`: unit (strong) ties and cross-unit (weak) ties, each the
    response to the share of peers seen taking it against his threshold (Granovetter).
    Written with in-place operations: the step computes it for three actions over every
    officer."""
    correction = 0.5 if decision.social_threshold_unit == "count" else 0.0
    unit, ties = seen_share(situation, action)
    term: np.ndarray | float = 0.0
    if decision.social_weight:
        gap = unit - threshold
        if correction:
            gap += correction
        term = social_response(gap, decision, decision.social_weight)
    if ties is not None and decision.cross_unit_social_weight:
        gap = ties - threshold
        if correction:
            gap += correction
        weak = social_response(gap, decision, decision.cross_unit_social_weight)
        if situation.has_ties is not None:
            weak *= situation.has_ties
        if isinstance(term, np.ndarray):
            term += weak
        else:
            term = weak
    return term


def susceptible(term: np.ndarray | float, situation: Situation) -> np.ndarray | float:
    """A social term times each member's susceptibility to his peers (when drawn)."""
    if isinstance(situation.social_multiplier, np.ndarray):
        return term * situation.social_multiplier
    return term


def ladder_sanction(
    next_rung: np.ndarray,
    first_response: np.ndarray,
    pressure_cost: float,
    administrative_dismissal: float,
    case_certainty: float,
) -> np.ndarray:
    """Coefficients (4, n) of (risk, benefits, forfeited career, 1) in the expected sanction
    of open refusal, from the rung each member would meet next (-1: a first refusal, met
    with `first_response`'s probabilities over the four rungs).

    Pressure costs `pressure_cost`; reassignment nothing now (its price is the order he
    still bears); an administrative sanction his benefits, and his career with
    `administrative_dismissal`; a criminal case, with `case_certainty` (the share of wanted
    cases the capacity let open last month), jail (risk) and the career, else the
    administrative sanction.
    """
    # Five possible next rungs (-1 to 3), so the coefficients are a (4, 5) table, one column
    # per rung, read for every member by his rung: one gather instead of n-long arithmetic.
    shares = np.zeros((4, 5))
    shares[:, 0] = first_response
    shares[np.arange(4), np.arange(1, 5)] = 1.0
    pressure, _, administrative, case = shares
    dismissal = administrative_dismissal
    table = np.empty((4, 5))
    table[0] = case * case_certainty
    table[1] = administrative + case
    table[2] = administrative * dismissal + case * (
        case_certainty + (1.0 - case_certainty) * dismissal
    )
    table[3] = pressure * pressure_cost
    return np.take(table, next_rung + 1, axis=1)


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
    parts: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Utility of comply (0, the reference), evade, refuse and exit: shape (n, 4).

    See docs/ODD.md, 'Choice', for the equations and the passages they come from.
    `detection_refuse` may be passed when the caller has computed it already. Without
    `exit_rules` (or with exit disabled) exit is unavailable (utility -inf). Without
    `sanctions` a detected evader loses his benefits for certain (the rule before sanctions
    were drawn); with them his expected loss follows their probabilities. With `parts`,
    the expected sanctions ("fear") and social terms ("social") of each action are stored
    in it, shape (n, 4), so that the caller can tell what he would do if safe.
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
    strength = perceived_strength(situation)
    risk = attitudes["risk_aversion"] * (strength * situation.punishment_severity)
    if isinstance(situation.fear_multiplier, np.ndarray):
        risk = risk * situation.fear_multiplier
    incentive = situation.incentive_level
    stake: np.ndarray | float = 1.0  # share of the career's worth he would forfeit
    if situation.perceived_strength is not None and situation.career_dependence:
        dependence = situation.career_dependence
        stake = (1.0 - dependence) + dependence * strength
        if incentive:  # the regime's extra promise rests on it entirely
            incentive = incentive * strength / stake
    benefits = attitudes["benefit_value"] * (
        situation.benefit_multiplier * (decision.benefit_weight * (1.0 + incentive))
    )
    if not isinstance(stake, float):
        benefits = benefits * stake
    career = situation.career_multiplier
    if isinstance(career, np.ndarray):
        benefits = benefits * career
    lock_in = (
        decision.lock_in_weight
        * (1.0 - strength)
        * (1.0 - situation.amnesty)
        * attitudes["culpability"]
    )
    open_route = situation.resignation_open
    resignation = exit_rules is not None and exit_rules.enabled and bool(np.any(open_route))
    forfeited, resigning = career_costs(attitudes, situation, decision, resignation)
    if not isinstance(stake, float):
        forfeited, resigning = forfeited * stake, resigning * stake
    if isinstance(career, np.ndarray):
        forfeited, resigning = forfeited * career, resigning * career
    threshold = attitudes["threshold"]

    n = moral.shape[0]
    # (4, n) in memory, seen as (n, 4): each action's column is contiguous
    utilities = np.zeros((len(ACTIONS), n)).T
    fear = social = None
    if parts is not None:
        fear = parts["fear"] = np.zeros((len(ACTIONS), n)).T
        social = parts["social"] = np.zeros((len(ACTIONS), n)).T
    relief = moral + hardship
    leaving = benefits + forfeited + lock_in  # what any end of the career costs
    arrest_risk = risk * detection_refuse  # Epstein's detection, then arrest
    refusal_relief = (
        decision.refusal_moral_relief * moral + decision.refusal_hardship_relief * hardship
    )
    social_refuse = susceptible(social_term(situation, REFUSE, threshold, decision), situation)
    ladder = situation.refusal_sanction
    if ladder is None:  # detected with Epstein's probability; the career ends for certain
        refusal_fear = arrest_risk
        refusal_cost = leaving
    else:  # known for certain; the ladder's expected sanction (docs/ODD.md §7.6)
        refusal_fear = ladder[0] * risk + ladder[1] * benefits + ladder[2] * forfeited + ladder[3]
        refusal_cost = lock_in
    utilities[:, REFUSE] = (
        refusal_relief - refusal_cost - refusal_fear - decision.refusal_threshold + social_refuse
    )
    if parts is not None:
        fear[:, REFUSE] = refusal_fear
        social[:, REFUSE] = social_refuse
    if decision.enable_evasion:
        evasion_risk = risk
        if situation.evasion_punishment_severity is not None:
            evasion_risk = attitudes["risk_aversion"] * (
                strength * situation.evasion_punishment_severity
            )
            if isinstance(situation.fear_multiplier, np.ndarray):
                evasion_risk = evasion_risk * situation.fear_multiplier
        if sanctions is None:
            expected_sanction = evasion_risk * decision.evasion_punishment_share + benefits
        else:
            expected_sanction = (
                evasion_risk * decision.evasion_punishment_share
                + (sanctions.benefit_loss + sanctions.dismissal) * benefits
                + sanctions.dismissal * forfeited
            )
        evasion_fear = detection_evade * expected_sanction
        social_evade = susceptible(social_term(situation, EVADE, threshold, decision), situation)
        utilities[:, EVADE] = (
            decision.evasion_moral_relief * moral
            + decision.evasion_hardship_relief * hardship
            - evasion_fear
            - decision.evasion_lock_in_share * lock_in
            - decision.evasion_threshold
            + social_evade
        )
        if parts is not None:
            fear[:, EVADE] = evasion_fear
            social[:, EVADE] = social_evade
    else:
        utilities[:, EVADE] = -np.inf
    utilities[:, EXIT] = exit_utility(
        relief, leaving, resigning, forfeited, arrest_risk, situation, exit_rules
    )
    if exit_rules is not None and exit_rules.enabled:
        social_exit = susceptible(social_term(situation, EXIT, threshold, decision), situation)
        utilities[:, EXIT] += social_exit
        if parts is not None:
            social[:, EXIT] = social_exit
            if not isinstance(open_route, np.ndarray):  # one route for everyone
                if not open_route:  # deserters fear detection like refusers (less)
                    fear[:, EXIT] = exit_rules.desertion_visibility * arrest_risk
            elif not open_route.all():
                closed = ~open_route
                fear[closed, EXIT] = exit_rules.desertion_visibility * arrest_risk[closed]
    if situation.taste is not None:
        for action in range(1, len(ACTIONS)):
            utilities[:, action] += situation.taste[action]
    return utilities


def private_inclination(utilities: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
    """What each officer would do if safe: the best action with no expected sanction and
    no social pressure (Kuran's private preference; his public act is his choice)."""
    fear, social = parts["fear"], parts["social"]
    # column by column, as in `choose` (utilities are stored action by action); ties go to
    # the earlier action, as with np.argmax
    best = utilities[:, 0] + fear[:, 0]
    best -= social[:, 0]
    chosen = np.zeros(utilities.shape[0], dtype=np.int8)
    for action in range(1, utilities.shape[1]):
        value = utilities[:, action] + fear[:, action]
        value -= social[:, action]
        better = value > best
        chosen[better] = action
        np.maximum(best, value, out=best)
    return chosen


def exit_utility(
    relief: np.ndarray,
    leaving: np.ndarray,
    resigning: np.ndarray,
    forfeited: np.ndarray,
    arrest_risk: np.ndarray,
    situation: Situation,
    exit_rules: ExitConfig | None,
) -> np.ndarray:
    """Utility of leaving the force: resignation while open, desertion when it is closed.

    Leaving spares the whole cost of the order and ends the career (benefits, debt, pension,
    fear of civilian life, lock-in); resignation is lawful (no sanction; an entitled officer
    keeps his pension), desertion costs more, is possible only with an opportunity and is
    detected with `desertion_visibility` times the refusal detection probability. With
    orders per unit type resignation may be open for some officers and closed for others.
    """
    n = relief.shape[0]
    if exit_rules is None or not exit_rules.enabled:
        return np.full(n, -np.inf)
    open_route = situation.resignation_open
    if isinstance(open_route, np.ndarray) and open_route.all():
        open_route = True
    if isinstance(open_route, np.ndarray) or open_route:
        resign = relief - leaving - exit_rules.exit_threshold + (forfeited - resigning)
        if not isinstance(open_route, np.ndarray):
            return resign
    # desertion: computed only for the few with an opportunity this month
    possible = np.broadcast_to(situation.desertion_possible, (n,))
    if isinstance(open_route, np.ndarray):
        possible = possible & ~open_route
    possible = np.flatnonzero(possible)
    utility = np.full(n, -np.inf)
    if isinstance(open_route, np.ndarray):
        utility[open_route] = resign[open_route]
    utility[possible] = (
        relief[possible]
        - leaving[possible]
        - (exit_rules.exit_threshold + exit_rules.desertion_cost)
        - exit_rules.desertion_visibility * arrest_risk[possible]
    )
    return utility


def available_utilities(utilities: np.ndarray, withdrawn: np.ndarray | None) -> np.ndarray:
    """The utilities the choice is made from: open refusal unavailable (utility -inf) for
    the `withdrawn` (Situation.refusal_withdrawn; a copy, when there are any).

    The private inclination is read from the utilities before this: pressure suppresses
    his open defiance, not what he would do if safe (Kuran's private preference)."""
    if withdrawn is None or not withdrawn.any():
        return utilities
    available = utilities.copy(order="K")
    available[withdrawn, REFUSE] = -np.inf
    return available


def choose(utilities: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Pick an action per officer: logit with `temperature`, the best action when it is 0.

    At temperature 0 ties go to the earlier action (comply before evade before refuse before
    exit), so an officer acts only when acting is strictly better: Epstein's "G - N > T".
    Unavailable actions have utility -inf and are never chosen.
    """
    if temperature <= 0:
        return np.argmax(utilities, axis=1).astype(np.int8)
    # Column by column (not along axis 1): the same arithmetic as a row-wise softmax and
    # cumulative sum, several times faster on an (n, k) array; in place where it can be.
    columns, size = utilities.shape[1], utilities.shape[0]
    scaled = [utilities[:, k] * (1.0 / temperature) for k in range(columns)]
    peak = scaled[0].copy()
    for column in scaled[1:]:
        np.maximum(peak, column, out=peak)
    cumulative = np.empty((columns, size))
    for k, column in enumerate(scaled):
        column -= peak
        np.exp(column, out=column)
        np.add(cumulative[k - 1] if k else 0.0, column, out=cumulative[k])
    draws = rng.random(size)
    draws *= cumulative[-1]
    chosen = np.zeros(utilities.shape[0], dtype=np.int8)
    for bound in cumulative[:-1]:
        chosen += (draws >= bound).view(np.int8)
    return chosen


KERNEL_ENVIRONMENT = "RELUCTANT_ARMY_KERNEL"
"""Environment variable that overrides performance.kernel (numpy or numba), e.g. to run a
test suite on both paths."""


@functools.cache
def _numba_available() -> bool:
    return numba_installed()


def uses_numba(performance: PerformanceConfig, n_officers: int) -> bool:
    """Whether the step's hot parts run as numba kernels (:mod:`simulation.model.kernels`)
    rather than as the numpy code here: performance.kernel, or RELUCTANT_ARMY_KERNEL when
    set; auto takes numba for a force of at least performance.numba_from_officers when
    numba is installed. Both paths give the same numbers."""
    kernel = os.environ.get(KERNEL_ENVIRONMENT) or performance.kernel
    if kernel == "numpy":
        return False
    if kernel == "numba":
        if not _numba_available():
            raise ConfigError(
                "numba is not installed: install it, or use auto or numpy",
                None,
                "performance.kernel",
            )
        return True
    if kernel != "auto":
        raise ConfigError(
            f"{KERNEL_ENVIRONMENT}={kernel!r}: expected auto, numpy or numba",
            None,
            "performance.kernel",
        )
    return n_officers >= performance.numba_from_officers and _numba_available()


def computes_with_numba(performance: PerformanceConfig, n_officers: int) -> bool:
    """Whether this step's hot parts run as the numba kernels now: as :func:`uses_numba`
    chooses, except that auto waits for their on-disk cache (numpy meanwhile, the same
    numbers; the cache is built in the background: :mod:`simulation.model.kernel_cache`),
    so that no run waits for their compilation. numba asked for by name (config or
    RELUCTANT_ARMY_KERNEL) compiles them on first call if needed."""
    if not uses_numba(performance, n_officers):
        return False
    if (os.environ.get(KERNEL_ENVIRONMENT) or performance.kernel) == "numba":
        return True
    from simulation.model import kernel_cache

    return kernel_cache.ready()
