"""Fused kernels (numba) for the hot parts of a step, giving the numpy path's numbers exactly.

The numpy code (:mod:`~simulation.model.decision`, :mod:`~simulation.model.observation`,
:mod:`~simulation.model.choice`) stays the reference; these kernels compute the same
quantities in a few passes over the officers instead of about a hundred array operations,
with the same floating-point operations in the same order (no fastmath, no fused
multiply-add), so the numbers are bit-identical. Only the transcendental functions are left
to numpy: numpy's SIMD ``exp`` and
``tanh`` differ from the C library's (which a numba loop calls) by one ulp in 5% and 47% of
arguments on this machine, and are about 8 and 14 times faster. So each kernel writes the
arguments of its ``exp``/``tanh`` into one contiguous buffer, numpy transforms the buffer in
place, and the next kernel reads it:

- :func:`decide`: social gaps and the detection exponent (pass 1), numpy ``tanh`` and
  ``exp``; the utilities of comply, evade, refuse and exit, the private inclination and the
  logit's exponents (pass 2), numpy ``exp``; the logit choice from the model's uniform draws
  (pass 3). At temperature 0 pass 2 chooses and there is no pass 3.
- :func:`observe`: the unit table, each officer's unit counts and his ties' counts in three
  integer passes (exact whatever the order).
- :func:`update_beliefs`: the seen defection and the exponent of the belief target (one
  pass), numpy ``exp``, the belief update (one pass).

Random numbers are drawn by the caller with the model's generator, in the numpy path's
order, and passed in. This module imports numba: the model imports it only when the numba
path is chosen (``performance.kernel``), so a run that does not use it pays nothing for it.
Kernels are compiled on first use and cached on disk (``cache=True``): a later process loads
them instead of compiling again.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.config.schema import DecisionConfig, EvaderSanctions, ExitConfig
from simulation.model.decision import Situation, perceived_strength
from simulation.vocabulary import ACTIONS, ATTITUDES, EVADE, EXIT, REFUSE

ROUNDING = {"none": 0, "floor": 1, "round": 2}
"""decision.detection_ratio_rounding as the kernel's integer code."""

SOCIAL_ACTIONS = (REFUSE, EVADE, EXIT)
"""The actions with a social term, in the order of the kernel's gap buffer."""


class Rules(NamedTuple):
    """The decision rule's scalars, computed once per step exactly as decision.py computes
    them (the same Python float operations), so that the kernel's arithmetic matches."""

    russia_weight: float
    regime_weight: float
    hardship_relief: float
    negative_steepness: float
    rounding: int
    evasion_visibility: float
    incentive: float
    use_stake: bool
    stake_per_officer: bool
    independent_share: float
    dependence: float
    benefit_weight: float
    lock_in_weight: float
    amnesty_share: float
    exit_cost_weight: float
    training_debt_weight: float
    pension_weight: float
    resignation: bool
    refusal_threshold: float
    refusal_moral_relief: float
    refusal_hardship_relief: float
    ladder: bool
    evasion: bool
    evasion_punishment_share: float
    evasion_own_severity: bool
    sanctions_given: bool
    sanction_benefit_share: float
    sanction_dismissal: float
    evasion_moral_relief: float
    evasion_hardship_relief: float
    evasion_lock_in_share: float
    evasion_threshold: float
    exit_enabled: bool
    exit_threshold: float
    desertion_threshold: float
    desertion_visibility: float
    use_unit: bool
    use_ties: bool
    has_ties_given: bool
    logistic: bool
    gap_scale: float
    count_correction: float
    unit_response: float
    ties_response: float
    tastes: bool
    keep_private: bool
    logit: bool
    inverse_temperature: float


@njit(cache=True, error_model="numpy")
def _gaps_kernel(
    rules: Rules,
    active: np.ndarray,
    threshold: np.ndarray,
    seen_unit: np.ndarray,
    seen_ties: np.ndarray,
    enforcers: np.ndarray,
    noncompliant_peers: np.ndarray,
    gaps: np.ndarray,
    exponent: np.ndarray,
) -> None:
    """Pass 1: the logistic social gaps (before tanh) and the detection exponent of the
    active officers, the j-th active officer in column j."""
    n = active.shape[0]
    unit_row = 0
    ties_row = 1 if rules.use_unit else 0
    j = -1
    for i in range(n):
        if not active[i]:
            continue
        j += 1
        ratio = enforcers[i] / max(noncompliant_peers[i], 1.0)
        if rules.rounding == 1:
            ratio = np.floor(ratio)
        elif rules.rounding == 2:
            ratio = np.rint(ratio)
        exponent[j] = rules.negative_steepness * ratio
        if not rules.logistic:
            continue
        own = threshold[i]
        for k in range(3):
            action = 2 if k == 0 else (1 if k == 1 else 3)  # SOCIAL_ACTIONS
            if rules.use_unit:
                gap = seen_unit[action, i] - own
                if rules.count_correction:
                    gap += rules.count_correction
                gaps[k, unit_row, j] = gap * rules.gap_scale
            if rules.use_ties:
                gap = seen_ties[action, i] - own
                if rules.count_correction:
                    gap += rules.count_correction
                gaps[k, ties_row, j] = gap * rules.gap_scale


@njit(inline="always")
def _response(rules: Rules, weight: float, value: float, own: float) -> float:
    """decision.social_response of one gap: `value` is the tanh already taken (logistic)
    or the share (or count) seen (linear)."""
    if rules.logistic:
        return value * weight
    gap = value - own
    if rules.count_correction:
        gap += rules.count_correction
    return gap * weight


@njit(inline="always")
def _social(rules: Rules, unit_value: float, ties_value: float, has_tie: bool, own: float) -> float:
    """The social term of one action, as decision.social_term. Scalars only: an array passed
    to a helper costs two atomic reference counts per call."""
    term = 0.0
    if rules.use_unit:
        term = _response(rules, rules.unit_response, unit_value, own)
    if rules.use_ties:
        weak = _response(rules, rules.ties_response, ties_value, own)
        if rules.has_ties_given:
            weak = weak * (1.0 if has_tie else 0.0)
        term = term + weak if rules.use_unit else weak
    return term


@njit(cache=True, error_model="numpy")
def _utilities_kernel(
    rules: Rules,
    active: np.ndarray,
    attitudes: tuple,  # every attitude, in vocabulary.ATTITUDES order
    level: np.ndarray,
    moral_table: np.ndarray,
    hardship_table: np.ndarray,
    hardship_multiplier: np.ndarray,
    benefit_multiplier: np.ndarray,
    strength: np.ndarray,
    severity: np.ndarray,
    evasion_severity: np.ndarray,
    training_debt: np.ndarray,
    pension_stake: np.ndarray,
    resignation_open: np.ndarray,
    desertion_possible: np.ndarray,
    taste: np.ndarray,
    seen_unit: np.ndarray,
    seen_ties: np.ndarray,
    has_ties: np.ndarray,
    traits: tuple,  # order share, moral, career, fear and social multipliers
    ladder: np.ndarray,
    withdrawn: np.ndarray,
    responses: np.ndarray,
    detection_exp: np.ndarray,
    detection: np.ndarray,
    choice: np.ndarray,
    private: np.ndarray,
    exponents: np.ndarray,
    utilities: np.ndarray,
) -> None:
    """Pass 2: every officer's utilities (decision.choice_utilities), his private
    inclination (decision.private_inclination) and the logit's exponents (decision.choose),
    or his choice at temperature 0; `utilities` (4, n) is filled only when it has n columns.
    `responses`, `detection_exp` and `exponents` hold the active officers only (the j-th
    active officer in column j).
    """
    regime, russia, war_aversion, risk_aversion = (
        attitudes[0],
        attitudes[1],
        attitudes[2],
        attitudes[3],
    )
    benefit_value, exit_cost, culpability = attitudes[4], attitudes[5], attitudes[6]
    threshold = attitudes[7]
    n = active.shape[0]
    store = utilities.shape[1] == n
    minus_infinity = -np.inf
    ties_row = 1 if rules.use_unit else 0
    # a field given once for everyone has length 1: index min(i, last) reads it
    last_level, last_hardship = level.shape[0] - 1, hardship_multiplier.shape[0] - 1
    last_benefit, last_strength = benefit_multiplier.shape[0] - 1, strength.shape[0] - 1
    last_severity = severity.shape[0] - 1
    last_evasion_severity = evasion_severity.shape[0] - 1
    last_debt, last_pension = training_debt.shape[0] - 1, pension_stake.shape[0] - 1
    last_open, last_desertion = resignation_open.shape[0] - 1, desertion_possible.shape[0] - 1
    last_ties, last_has_ties = seen_ties.shape[1] - 1, has_ties.shape[0] - 1
    order_share, moral_multiplier, career_multiplier = traits[0], traits[1], traits[2]
    fear_multiplier, social_multiplier = traits[3], traits[4]
    last_share, last_moral = order_share.shape[0] - 1, moral_multiplier.shape[0] - 1
    last_career, last_fear = career_multiplier.shape[0] - 1, fear_multiplier.shape[0] - 1
    last_social, last_ladder = social_multiplier.shape[0] - 1, ladder.shape[1] - 1
    last_withdrawn = withdrawn.shape[0] - 1
    j = -1
    for i in range(n):
        if not active[i]:
            choice[i] = 0
            private[i] = 0
            detection[i] = 0.0
            continue
        j += 1
        # order costs
        aligned = rules.russia_weight * russia[i] + rules.regime_weight * regime[i]
        officer_level = level[min(i, last_level)]
        moral = moral_table[officer_level] * war_aversion[i] * (1.0 - aligned)
        hardship = (
            hardship_table[officer_level]
            * hardship_multiplier[min(i, last_hardship)]
            * (1.0 - rules.hardship_relief * aligned)
        )
        share = order_share[min(i, last_share)]  # multiplying by 1.0 changes no digit
        moral = moral * share
        hardship = hardship * share
        moral = moral * moral_multiplier[min(i, last_moral)]
        # detection, fear, career
        detection_refuse = 1.0 - detection_exp[j]
        detection[i] = detection_refuse
        detection_evade = rules.evasion_visibility * detection_refuse
        belief = strength[min(i, last_strength)]
        risk = risk_aversion[i] * (belief * severity[min(i, last_severity)])
        risk = risk * fear_multiplier[min(i, last_fear)]
        incentive = rules.incentive
        stake = 1.0
        if rules.use_stake:
            stake = rules.independent_share + rules.dependence * belief
            if incentive:
                incentive = incentive * belief / stake
        benefits = benefit_value[i] * (
            benefit_multiplier[min(i, last_benefit)] * (rules.benefit_weight * (1.0 + incentive))
        )
        if rules.stake_per_officer:
            benefits = benefits * stake
        career = career_multiplier[min(i, last_career)]
        benefits = benefits * career
        lock_in = rules.lock_in_weight * (1.0 - belief) * rules.amnesty_share * culpability[i]
        forfeited = rules.exit_cost_weight * exit_cost[i]
        if rules.training_debt_weight:
            forfeited += rules.training_debt_weight * training_debt[min(i, last_debt)]
        resigning = forfeited
        if rules.pension_weight:
            pension = pension_stake[min(i, last_pension)]
            forfeited += rules.pension_weight * pension
            resigning = forfeited
            if rules.resignation:
                resigning = forfeited - rules.pension_weight * (1.0 if pension >= 1.0 else 0.0)
        if rules.stake_per_officer:
            forfeited, resigning = forfeited * stake, resigning * stake
        forfeited, resigning = forfeited * career, resigning * career
        own = threshold[i]
        susceptibility = social_multiplier[min(i, last_social)]

        relief = moral + hardship
        leaving = benefits + forfeited + lock_in
        arrest_risk = risk * detection_refuse
        refusal_relief = (
            rules.refusal_moral_relief * moral + rules.refusal_hardship_relief * hardship
        )
        social_refuse = (
            _social(
                rules,
                responses[0, 0, j] if rules.logistic else seen_unit[2, i],
                responses[0, ties_row, j] if rules.logistic else seen_ties[2, min(i, last_ties)],
                has_ties[min(i, last_has_ties)],
                own,
            )
            * susceptibility
        )
        if rules.ladder:
            rung = min(i, last_ladder)
            refusal_fear = (
                ladder[0, rung] * risk
                + ladder[1, rung] * benefits
                + ladder[2, rung] * forfeited
                + ladder[3, rung]
            )
            refusal_cost = lock_in
        else:
            refusal_fear = arrest_risk
            refusal_cost = leaving
        refuse = (
            refusal_relief - refusal_cost - refusal_fear - rules.refusal_threshold + social_refuse
        )
        fear_evade = 0.0
        social_evade = 0.0
        evade = minus_infinity
        if rules.evasion:
            evasion_risk = risk
            if rules.evasion_own_severity:
                evasion_risk = risk_aversion[i] * (
                    belief * evasion_severity[min(i, last_evasion_severity)]
                )
                evasion_risk = evasion_risk * fear_multiplier[min(i, last_fear)]
            if rules.sanctions_given:
                expected_sanction = (
                    evasion_risk * rules.evasion_punishment_share
                    + rules.sanction_benefit_share * benefits
                    + rules.sanction_dismissal * forfeited
                )
            else:
                expected_sanction = evasion_risk * rules.evasion_punishment_share + benefits
            fear_evade = detection_evade * expected_sanction
            social_evade = (
                _social(
                    rules,
                    responses[1, 0, j] if rules.logistic else seen_unit[1, i],
                    responses[1, ties_row, j]
                    if rules.logistic
                    else seen_ties[1, min(i, last_ties)],
                    has_ties[min(i, last_has_ties)],
                    own,
                )
                * susceptibility
            )
            evade = (
                rules.evasion_moral_relief * moral
                + rules.evasion_hardship_relief * hardship
                - fear_evade
                - rules.evasion_lock_in_share * lock_in
                - rules.evasion_threshold
                + social_evade
            )
        leave = minus_infinity
        fear_exit = 0.0
        social_exit = 0.0
        if rules.exit_enabled:
            route_open = resignation_open[min(i, last_open)]
            if route_open:
                leave = relief - leaving - rules.exit_threshold + (forfeited - resigning)
            elif desertion_possible[min(i, last_desertion)]:
                leave = (
                    relief
                    - leaving
                    - rules.desertion_threshold
                    - rules.desertion_visibility * arrest_risk
                )
            social_exit = (
                _social(
                    rules,
                    responses[2, 0, j] if rules.logistic else seen_unit[3, i],
                    responses[2, ties_row, j]
                    if rules.logistic
                    else seen_ties[3, min(i, last_ties)],
                    has_ties[min(i, last_has_ties)],
                    own,
                )
                * susceptibility
            )
            leave += social_exit
            if not route_open:
                fear_exit = rules.desertion_visibility * arrest_risk
        if rules.tastes:
            evade += taste[EVADE, i]
            refuse += taste[REFUSE, i]
            leave += taste[EXIT, i]
        if store:
            utilities[0, i] = 0.0
            utilities[EVADE, i] = evade
            utilities[REFUSE, i] = refuse
            utilities[EXIT, i] = leave

        if rules.keep_private:  # as decision.private_inclination: (utility + fear) - social
            best = 0.0  # comply: (0 + 0) - 0
            inclined = 0
            for action, value in (
                (1, evade + fear_evade - social_evade),
                (2, refuse + refusal_fear - social_refuse),
                (3, leave + fear_exit - social_exit),
            ):
                if value > best:
                    inclined = action
                best = np.maximum(best, value)
            private[i] = inclined

        if withdrawn[min(i, last_withdrawn)]:  # as decision.available_utilities
            refuse = minus_infinity
        if rules.logit:  # as decision.choose: scaled utilities less their peak
            scaled_comply = 0.0 * rules.inverse_temperature
            scaled_evade = evade * rules.inverse_temperature
            scaled_refuse = refuse * rules.inverse_temperature
            scaled_exit = leave * rules.inverse_temperature
            peak = np.maximum(
                np.maximum(np.maximum(scaled_comply, scaled_evade), scaled_refuse), scaled_exit
            )
            exponents[0, j] = scaled_comply - peak
            exponents[EVADE, j] = scaled_evade - peak
            exponents[REFUSE, j] = scaled_refuse - peak
            exponents[EXIT, j] = scaled_exit - peak
        else:  # the best action; ties to the earlier one (np.argmax)
            chosen = 0
            best_utility = 0.0
            if evade > best_utility:
                chosen, best_utility = 1, evade
            if refuse > best_utility:
                chosen, best_utility = 2, refuse
            if leave > best_utility:
                chosen = 3
            choice[i] = chosen


@njit(cache=True, error_model="numpy")
def _pick_kernel(
    active: np.ndarray, weights: np.ndarray, draws: np.ndarray, choice: np.ndarray
) -> None:
    """Pass 3: the logit choice from exp(scaled utility - peak) (the j-th active officer's
    in column j) and a uniform draw, with decision.choose's cumulative sums and comparisons."""
    j = -1
    for i in range(active.shape[0]):
        if not active[i]:
            continue
        j += 1
        first = 0.0 + weights[0, j]
        second = first + weights[1, j]
        third = second + weights[2, j]
        total = third + weights[3, j]
        draw = draws[i] * total
        choice[i] = (draw >= first) + (draw >= second) + (draw >= third)


def _per_officer(values: object, n: int, dtype: type = np.float64) -> np.ndarray:
    """A Situation field as a contiguous array of n values, or of 1 value for everyone."""
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))
    if array.shape[0] not in (1, n):
        raise ValueError(f"expected 1 or {n} values, got {array.shape[0]}")
    return array


def _rows(values: np.ndarray | None) -> np.ndarray:
    """A (4, n) Situation field as a contiguous float array (a placeholder when None)."""
    if values is None:
        return np.zeros((len(ACTIONS), 1))
    return np.ascontiguousarray(values, dtype=np.float64)


def rules_of(
    situation: Situation,
    decision: DecisionConfig,
    exit_rules: ExitConfig | None,
    sanctions: EvaderSanctions | None,
    temperature: float,
    keep_private: bool,
) -> Rules:
    """The kernel's scalars for this step, computed as decision.choice_utilities does."""
    strength = perceived_strength(situation)
    use_stake = bool(situation.perceived_strength is not None and situation.career_dependence)
    dependence = situation.career_dependence
    open_route = situation.resignation_open
    exit_enabled = exit_rules is not None and exit_rules.enabled
    resignation = exit_enabled and bool(np.any(open_route))
    use_ties = situation.seen_in_ties is not None and bool(decision.cross_unit_social_weight)
    logistic = decision.social_response == "logistic"

    def response(weight: float) -> float:
        return 0.5 * weight if logistic else weight

    return Rules(
        russia_weight=decision.russia_alignment_weight,
        regime_weight=1.0 - decision.russia_alignment_weight,
        hardship_relief=decision.hardship_alignment_relief,
        negative_steepness=-decision.detection_steepness,
        rounding=ROUNDING[decision.detection_ratio_rounding],
        evasion_visibility=decision.evasion_visibility,
        incentive=float(situation.incentive_level),
        use_stake=use_stake,
        stake_per_officer=use_stake and isinstance(strength, np.ndarray),
        independent_share=1.0 - dependence,
        dependence=float(dependence),
        benefit_weight=decision.benefit_weight,
        lock_in_weight=decision.lock_in_weight,
        amnesty_share=1.0 - situation.amnesty,
        exit_cost_weight=decision.exit_cost_weight,
        training_debt_weight=decision.training_debt_weight,
        pension_weight=decision.pension_weight,
        resignation=resignation,
        refusal_threshold=decision.refusal_threshold,
        refusal_moral_relief=decision.refusal_moral_relief,
        refusal_hardship_relief=decision.refusal_hardship_relief,
        ladder=situation.refusal_sanction is not None,
        evasion=decision.enable_evasion,
        evasion_punishment_share=decision.evasion_punishment_share,
        evasion_own_severity=situation.evasion_punishment_severity is not None,
        sanctions_given=sanctions is not None,
        sanction_benefit_share=(
            0.0 if sanctions is None else sanctions.benefit_loss + sanctions.dismissal
        ),
        sanction_dismissal=0.0 if sanctions is None else sanctions.dismissal,
        evasion_moral_relief=decision.evasion_moral_relief,
        evasion_hardship_relief=decision.evasion_hardship_relief,
        evasion_lock_in_share=decision.evasion_lock_in_share,
        evasion_threshold=decision.evasion_threshold,
        exit_enabled=exit_enabled,
        exit_threshold=0.0 if exit_rules is None else exit_rules.exit_threshold,
        desertion_threshold=(
            0.0 if exit_rules is None else exit_rules.exit_threshold + exit_rules.desertion_cost
        ),
        desertion_visibility=0.0 if exit_rules is None else exit_rules.desertion_visibility,
        use_unit=bool(decision.social_weight),
        use_ties=use_ties,
        has_ties_given=situation.has_ties is not None,
        logistic=logistic,
        gap_scale=0.5 / decision.social_response_width,
        count_correction=0.5 if decision.social_threshold_unit == "count" else 0.0,
        unit_response=response(decision.social_weight),
        ties_response=response(decision.cross_unit_social_weight),
        tastes=situation.taste is not None,
        keep_private=keep_private,
        logit=temperature > 0,
        inverse_temperature=1.0 / temperature if temperature > 0 else 0.0,
    )


def decide(
    attitudes: dict[str, np.ndarray],
    situation: Situation,
    decision: DecisionConfig,
    exit_rules: ExitConfig | None,
    sanctions: EvaderSanctions | None,
    temperature: float,
    draws: np.ndarray | None,
    active: np.ndarray,
    keep_private: bool = True,
    utilities: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(choice, private inclination, refusal detection probability) of every officer: the
    numbers of decision.choice_utilities, decision.choose and decision.private_inclination.

    `draws` are choose's uniform draws (n of them, from the model's generator; None at
    temperature 0). Officers who are not `active` get comply for both (and detection 0).
    With `utilities`, an (n, 4) array, the utilities are also written into it (for tests).
    """
    n = active.shape[0]
    rules = rules_of(situation, decision, exit_rules, sanctions, temperature, keep_private)
    threshold = attitudes["threshold"]
    seen_unit = _rows(situation.seen_in_unit)
    seen_ties = _rows(situation.seen_in_ties if rules.use_ties else None)
    sources = int(rules.use_unit) + int(rules.use_ties)
    # numpy's exp and tanh run over the active officers only, gathered in contiguous buffers
    # (contiguous, as in the numpy path: a strided call may take another code path)
    acting = int(np.count_nonzero(active))
    responses = np.empty((len(SOCIAL_ACTIONS), sources if rules.logistic else 0, acting))
    exponent = np.empty(acting)
    _gaps_kernel(
        rules,
        active,
        threshold,
        seen_unit,
        seen_ties,
        _per_officer(situation.enforcers, n),
        _per_officer(situation.noncompliant_peers, n),
        responses,
        exponent,
    )
    np.tanh(responses, out=responses)
    np.exp(exponent, out=exponent)

    level = situation.war_order_level
    choice = np.empty(n, dtype=np.int8)
    private = np.empty(n, dtype=np.int8)
    detection = np.empty(n)
    exponents = np.empty((len(ACTIONS), acting if rules.logit else 0))
    stored = np.empty((len(ACTIONS), 0)) if utilities is None else np.empty((len(ACTIONS), n))
    has_ties = situation.has_ties
    _utilities_kernel(
        rules,
        active,
        tuple(np.ascontiguousarray(attitudes[name], dtype=np.float64) for name in ATTITUDES),
        _per_officer(level, n, np.int64),
        np.asarray(decision.order_moral_cost, dtype=np.float64),
        np.asarray(decision.order_hardship, dtype=np.float64),
        _per_officer(situation.hardship_multiplier, n),
        _per_officer(situation.benefit_multiplier, n),
        _per_officer(perceived_strength(situation), n),
        _per_officer(situation.punishment_severity, n),
        _per_officer(
            situation.punishment_severity
            if situation.evasion_punishment_severity is None
            else situation.evasion_punishment_severity,
            n,
        ),
        _per_officer(situation.training_debt, n),
        _per_officer(situation.pension_stake, n),
        _per_officer(situation.resignation_open, n, np.bool_),
        _per_officer(situation.desertion_possible, n, np.bool_),
        _rows(situation.taste),
        seen_unit,
        seen_ties,
        _per_officer(True if has_ties is None else has_ties, n, np.bool_),
        tuple(
            _per_officer(values, n)
            for values in (
                situation.order_share,
                situation.moral_multiplier,
                situation.career_multiplier,
                situation.fear_multiplier,
                situation.social_multiplier,
            )
        ),
        _rows(situation.refusal_sanction),
        _per_officer(
            False if situation.refusal_withdrawn is None else situation.refusal_withdrawn,
            n,
            np.bool_,
        ),
        responses,
        exponent,
        detection,
        choice,
        private,
        exponents,
        stored,
    )
    if utilities is not None:
        utilities[...] = stored.T
    if rules.logit:
        if draws is None or draws.shape[0] != n:
            raise ValueError(f"give {n} uniform draws for the logit choice")
        np.exp(exponents, out=exponents)
        _pick_kernel(active, exponents, draws, choice)
    return choice, private, detection


# ---------------------------------------------------------------------------- situation


class MemberArrays(NamedTuple):
    """The per-member fields of choice.situation that the situation kernel computes."""

    enforcers: np.ndarray
    noncompliant_peers: np.ndarray
    seen_in_unit: np.ndarray
    seen_in_ties: np.ndarray | None
    training_debt: np.ndarray
    pension_stake: np.ndarray


@njit(cache=True, error_model="numpy")
def _situation_kernel(
    unit: np.ndarray,
    choice: np.ndarray,
    active: np.ndarray,
    own_enforcement: np.ndarray,
    by_unit: np.ndarray,
    outside: float,
    capacity: float,
    seen_unit: np.ndarray,
    unit_peers: np.ndarray,
    seen_ties: np.ndarray,
    tie_peers: np.ndarray,
    with_ties: bool,
    shares: bool,
    tenure: np.ndarray,
    obligation_years: float,
    pension_years: float,
    unit_noncompliant: np.ndarray,
    enforcers: np.ndarray,
    noncompliant_peers: np.ndarray,
    unit_shares: np.ndarray,
    tie_shares: np.ndarray,
    training_debt: np.ndarray,
    pension_stake: np.ndarray,
) -> None:
    """choice.situation's per-member arithmetic in two passes: each unit's non-compliant
    (evading or refusing, serving) members counted, then each member's enforcers, peers
    to hide among, seen shares (with `shares`), training debt and pension stake."""
    n = unit.shape[0]
    for i in range(n):
        if active[i] and (choice[i] == EVADE or choice[i] == REFUSE):
            unit_noncompliant[unit[i]] += 1.0
    for i in range(n):
        u = unit[i]
        noncompliant = 1.0 if active[i] and (choice[i] == EVADE or choice[i] == REFUSE) else 0.0
        enforcers[i] = capacity * (outside + by_unit[u] - own_enforcement[i])
        noncompliant_peers[i] = unit_noncompliant[u] - noncompliant + 1.0
        if shares:
            peers = max(unit_peers[i], 1.0)
            for action in range(seen_unit.shape[0]):
                unit_shares[action, i] = seen_unit[action, i] / peers
            if with_ties:
                peers = max(tie_peers[i], 1.0)
                for action in range(seen_ties.shape[0]):
                    tie_shares[action, i] = seen_ties[action, i] / peers
        training_debt[i] = max(1.0 - tenure[i] / obligation_years, 0.0)
        pension_stake[i] = min(tenure[i] / pension_years, 1.0)


def member_arrays(
    unit: np.ndarray,
    n_units: int,
    choice: np.ndarray,
    active: np.ndarray,
    own_enforcement: np.ndarray,
    by_unit: np.ndarray,
    outside: float,
    capacity: float,
    seen_unit: np.ndarray,
    unit_peers: np.ndarray,
    seen_ties: np.ndarray | None,
    tie_peers: np.ndarray | None,
    shares: bool,
    tenure: np.ndarray,
    obligation_years: float,
    pension_years: float,
) -> MemberArrays:
    """What choice.situation computes for every member from the unit's enforcement, what
    he saw and his tenure, in one fused kernel (the seen counts pass through as they are
    without `shares`)."""
    n = unit.shape[0]
    with_ties = seen_ties is not None and tie_peers is not None
    seen_unit = np.ascontiguousarray(seen_unit, dtype=np.float64)
    seen_ties = np.ascontiguousarray(seen_ties, dtype=np.float64) if with_ties else None
    unit_shares = np.empty_like(seen_unit) if shares else seen_unit
    tie_shares = seen_ties
    if shares and seen_ties is not None:
        tie_shares = np.empty_like(seen_ties)
    enforcers, peers = np.empty(n), np.empty(n)
    training_debt, pension_stake = np.empty(n), np.empty(n)
    placeholder = np.zeros((len(ACTIONS), 1))
    _situation_kernel(
        unit,
        choice,
        active,
        own_enforcement,
        by_unit,
        outside,
        capacity,
        seen_unit,
        unit_peers,
        placeholder if seen_ties is None else seen_ties,
        np.zeros(1) if tie_peers is None else tie_peers,
        with_ties,
        shares,
        tenure,
        obligation_years,
        pension_years,
        np.zeros(n_units),
        enforcers,
        peers,
        unit_shares,
        placeholder if tie_shares is None else tie_shares,
        training_debt,
        pension_stake,
    )
    return MemberArrays(enforcers, peers, unit_shares, tie_shares, training_debt, pension_stake)


# ---------------------------------------------------------------------------- observation


@njit(cache=True)
def _observe_kernel(
    unit: np.ndarray,
    choice: np.ndarray,
    previous_acts: np.ndarray,
    active: np.ndarray,
    acted: np.ndarray,
    n_units: int,
    evasion_visibility: float,
    tie_starts: np.ndarray,
    tie_peers_of: np.ndarray,
    with_ties: bool,
    table: np.ndarray,
    unit_count: np.ndarray,
    unit_peers: np.ndarray,
    ties_count: np.ndarray,
    tie_peers: np.ndarray,
) -> int:
    """The seen acts of observation.observe, counted: returns how many officers were seen.

    codes: each officer's seen act (4 = not seen: out of the force since before the last
    decision); table: per unit, how many were seen taking each action (int32, 16 bytes a
    unit, so that its random reads stay in L2); then per officer his unit's counts
    less his own, and his ties' counts."""
    n = unit.shape[0]
    unseen = 4
    codes = np.empty(n, dtype=np.int8)
    seen_count = 0
    for i in range(n):
        if active[i]:
            code = choice[i]
        elif acted[i]:
            code = previous_acts[i]
        else:
            code = unseen
        codes[i] = code
        if code != unseen:
            table[unit[i], code] += 1
            seen_count += 1
    for i in range(n):
        u = unit[i]
        code = codes[i]
        seen = code != unseen
        unit_peers[i] = float(table[u, 0] + table[u, 1] + table[u, 2] + table[u, 3] - seen)
        unit_count[0, i] = 0.0
        for action in range(1, 4):
            count = float(table[u, action] - (seen and code == action))
            if action == 1 and evasion_visibility != 1.0:
                count *= evasion_visibility
            unit_count[action, i] = count
    if with_ties:
        counts = np.zeros(unseen + 1, dtype=np.int64)  # per code, for one officer at a time
        for i in range(n):
            counts[:] = 0
            for j in range(tie_starts[i], tie_starts[i + 1]):
                counts[codes[tie_peers_of[j]]] += 1
            tie_peers[i] = float(counts[0] + counts[1] + counts[2] + counts[3])
            ties_count[0, i] = 0.0
            evading = float(counts[1])
            if evasion_visibility != 1.0:
                evading *= evasion_visibility
            ties_count[1, i] = evading
            ties_count[2, i] = float(counts[2])
            ties_count[3, i] = float(counts[3])
    return seen_count


def observe(
    unit: np.ndarray,
    n_units: int,
    choice: np.ndarray,
    previous_acts: np.ndarray,
    active: np.ndarray,
    acted: np.ndarray,
    evasion_visibility: float,
    tie_starts: np.ndarray | None,
    tie_peers_of: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    """What observation.observe counts: (unit table (n_units, 4), unit counts (4, n), unit
    peers, ties counts (4, n) or None, tie peers or None, officers seen). Ties are given as
    CSR rows (`tie_starts`, `tie_peers_of`), None when there are none."""
    n = unit.shape[0]
    with_ties = tie_starts is not None and tie_peers_of is not None
    table = np.zeros((n_units, len(ACTIONS)), dtype=np.int32)  # 16 bytes a unit: L2-resident
    unit_count = np.empty((len(ACTIONS), n))
    unit_peers = np.empty(n)
    ties_count = np.empty((len(ACTIONS), n if with_ties else 0))
    tie_peers = np.empty(n if with_ties else 0)
    empty = np.zeros(1, dtype=np.int64)
    seen_count = _observe_kernel(
        unit,
        choice,
        previous_acts,
        active,
        acted,
        n_units,
        evasion_visibility,
        empty if tie_starts is None else tie_starts,
        empty if tie_peers_of is None else tie_peers_of,
        with_ties,
        table,
        unit_count,
        unit_peers,
        ties_count,
        tie_peers,
    )
    if not with_ties:
        return table, unit_count, unit_peers, None, None, seen_count
    return table, unit_count, unit_peers, ties_count, tie_peers, seen_count


# ---------------------------------------------------------------------------- beliefs


@njit(cache=True, error_model="numpy")
def _evidence_kernel(
    unit_count: np.ndarray,
    unit_peers: np.ndarray,
    ties_count: np.ndarray,
    tie_peers: np.ndarray,
    with_ties: bool,
    rumour: np.ndarray,
    with_rumour_noise: bool,
    army: float,
    unit_weight: float,
    tie_weight: float,
    rumour_weight: float,
    steady_rumour: float,
    belief_bias: np.ndarray,
    prior_log_odds: float,
    defection_weight: float,
    exponent: np.ndarray,
) -> None:
    """The exponent -(bias + logit(stability) - defection_weight * seen defection) of each
    officer's belief target, with observation.seen_defection's weights and operation order."""
    for i in range(unit_peers.shape[0]):
        peers = unit_peers[i]
        weight_unit = unit_weight * (1.0 if peers > 0 else 0.0)
        total = weight_unit + rumour_weight
        evidence = unit_count[1, i] + unit_count[2, i] + unit_count[3, i]
        evidence /= max(peers, 1.0)
        evidence *= weight_unit
        if with_ties:
            tie_total = tie_peers[i]
            weight_ties = tie_weight * (1.0 if tie_total > 0 else 0.0)
            tie_share = ties_count[1, i] + ties_count[2, i] + ties_count[3, i]
            tie_share /= max(tie_total, 1.0)
            tie_share *= weight_ties
            evidence += tie_share
            total += weight_ties
        if with_rumour_noise:
            heard = min(max(rumour[i] + army, 0.0), 1.0)
            evidence += heard * rumour_weight
        elif rumour_weight:
            evidence += steady_rumour
        evidence /= max(total, 1e-12)
        exponent[i] = -(belief_bias[i] + prior_log_odds - evidence * defection_weight)


@njit(cache=True, error_model="numpy")
def _belief_kernel(weights: np.ndarray, update_rate: float, belief: np.ndarray) -> None:
    """belief += (1 / (1 + exp(exponent)) - belief) * update_rate, in place."""
    for i in range(belief.shape[0]):
        belief[i] += (1.0 / (weights[i] + 1.0) - belief[i]) * update_rate


def update_beliefs(
    belief: np.ndarray,
    unit_count: np.ndarray,
    unit_peers: np.ndarray,
    ties_count: np.ndarray | None,
    tie_peers: np.ndarray | None,
    army: float,
    rumour: np.ndarray | None,
    belief_bias: np.ndarray,
    prior_log_odds: float,
    unit_weight: float,
    tie_weight: float,
    rumour_weight: float,
    defection_weight: float,
    update_rate: float,
) -> None:
    """observation.update_beliefs with beliefs on, in place on `belief`: `rumour` holds the
    rumour's normal draws (None without rumour noise), `prior_log_odds` is
    logit(regime_stability)."""
    with_ties = ties_count is not None and tie_peers is not None and bool(tie_weight)
    exponent = np.empty(belief.shape[0])
    placeholder = np.zeros((len(ACTIONS), 1))
    _evidence_kernel(
        unit_count,
        unit_peers,
        ties_count if with_ties else placeholder,
        tie_peers if with_ties else placeholder[0],
        with_ties,
        placeholder[0] if rumour is None else rumour,
        rumour is not None and bool(rumour_weight),
        army,
        unit_weight,
        tie_weight,
        rumour_weight,
        rumour_weight * army,
        belief_bias,
        prior_log_odds,
        defection_weight,
        exponent,
    )
    np.exp(exponent, out=exponent)
    _belief_kernel(exponent, update_rate, belief)
