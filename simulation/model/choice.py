"""Choice (docs/ODD.md §7.5): every serving member chooses comply, evade, refuse or exit.

The model's side of the decision rule (:mod:`simulation.model.decision`, a pure function of
arrays): :func:`situation` gathers what each member faces now (enforcers, peers, what he saw,
his belief, career stake, exit routes), and :func:`decide` applies the rule to everyone at
once, or one position of every unit after another with random activation. The numba kernels
(:mod:`simulation.model.kernels`) compute the same numbers with the same draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.model.consequences import order_share, refusal_sanction
from simulation.model.decision import (
    Situation,
    available_utilities,
    choice_utilities,
    choose,
    computes_with_numba,
    detection_probability,
    private_inclination,
)
from simulation.model.detection import unit_count, unit_enforcement
from simulation.model.observation import Seen, follow_officers, observe
from simulation.model.personnel import resignation_open
from simulation.model.population import draw_traits
from simulation.vocabulary import COMPLY, EVADE, REFUSE

if TYPE_CHECKING:
    from simulation.config.schema import DecisionConfig
    from simulation.model.model import ArmyModel


def bernoulli_mask(size: int, probability: float, rng: np.random.Generator) -> np.ndarray:
    """Independent Bernoulli(probability) draws for `size` officers, as a boolean mask.

    Drawn as geometric gaps between successes, so the cost follows the number of successes
    rather than `size` (a few percent of officers get an opportunity each month).
    """
    mask = np.zeros(size, dtype=bool)
    if probability <= 0 or size == 0:
        return mask
    if probability >= 0.2:
        return rng.random(size) < probability
    if probability < 1e-6:  # gaps too long for geometric draws: a binomial count instead
        mask[rng.choice(size, rng.binomial(size, probability), replace=False)] = True
        return mask
    positions: list[np.ndarray] = []
    last = -1
    while True:
        expected = int((size - last) * probability * 1.2) + 16
        gaps = rng.geometric(probability, expected)
        found = last + np.cumsum(gaps)
        positions.append(found[found < size])
        if found[-1] >= size:
            break
        last = int(found[-1])
    mask[np.concatenate(positions)] = True
    return mask


def start(model: ArmyModel) -> None:
    """Everyone complies at step 0 (the status quo of obedience)."""
    n = model.n_agents
    model.choice = np.zeros(n, dtype=np.int8)
    model.mean_detection_probability = 0.0


def start_memory(model: ArmyModel) -> None:
    """No private inclination yet, and the acts the first observation will see (after the
    call-up at step 0)."""
    model.private = np.zeros(model.n_agents, dtype=np.int8)
    model._acts = model.choice.copy()
    model._acted = model.active.copy()
    start_traits(model)


def start_traits(model: ArmyModel) -> None:
    """Every member's individual multipliers (population.trait_spread), drawn after every
    other draw of the set-up, so that with no spread the run is the one before them."""
    model.traits = draw_traits(model.config.population.trait_spread, model.n_agents, model.rng)


def new_traits(model: ArmyModel, slots: np.ndarray) -> None:
    """New members of `slots` draw their own multipliers."""
    fresh = draw_traits(model.config.population.trait_spread, slots.shape[0], model.rng)
    for name, values in fresh.items():
        model.traits[name][slots] = values


def decide(model: ArmyModel) -> None:
    """Every serving officer chooses, on what he saw (:func:`~simulation.model.observation.look`):
    synchronously from the previous step's state, or (random activation) one position of
    every unit after another. His public act and his private inclination are both kept (the
    inclination only while a recorded column needs it: it does not feed back into anything).
    Synchronously, the numba kernels compute the same numbers when performance.kernel
    chooses them (random activation always runs the numpy code)."""
    keep_private = "private" in model._stat_blocks
    if model.config.decision.activation == "random":
        decide_in_random_order(model, keep_private)
    else:
        if computes_with_numba(model.config.performance, model.n_agents):
            new_choice, private, detection = decide_with_kernels(model, keep_private)
        else:
            parts: dict[str, np.ndarray] | None = {} if keep_private else None
            utilities, detection = action_utilities(model, parts=parts)
            model._seen = None
            private = None if parts is None else private_inclination(utilities, parts)
            available = available_utilities(utilities, refusal_withdrawn(model))
            new_choice = choose(available, model.config.decision.temperature, model.rng)
            new_choice[~model.active] = COMPLY
        active_count = max(int(model.active.sum()), 1)
        model.mean_detection_probability = float(detection[model.active].sum() / active_count)
        model.choice = new_choice
        if private is not None:
            model.private = private
    talked_back(model)
    if keep_private:
        model.private[~model.active] = COMPLY
    model._acts = model.choice.copy()
    model._acted = model.active.copy()


def talked_back(model: ArmyModel) -> None:
    """Refusers the response ladder's pressure persuaded last month comply this month, or
    (persuaded_outcome withdraw_refusal) have already chosen without open refusal
    (docs/ODD.md §7.6, 'The response ladder'); either way the persuasion is spent."""
    persuaded = model.persuaded
    if persuaded.any():
        if model.config.consequences.response.persuaded_outcome == "comply":
            model.choice[persuaded & model.active] = COMPLY
        persuaded[:] = False


def refusal_withdrawn(model: ArmyModel, slots: np.ndarray | None = None) -> np.ndarray | None:
    """Members (or `slots`) for whom open refusal is not an act this month: those persuaded
    last month, when persuaded_outcome is withdraw_refusal; None when there are none."""
    if model.config.consequences.response.persuaded_outcome != "withdraw_refusal":
        return None
    persuaded = model.persuaded if slots is None else model.persuaded[slots]
    return persuaded if persuaded.any() else None


def decide_with_kernels(
    model: ArmyModel, keep_private: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(choices, private inclinations or None, detection) from the fused kernels: the
    numbers of action_utilities, choose and private_inclination, with the same draws."""
    from simulation.model import kernels

    situation = model.situation()
    model._seen = None
    decision = model.config.decision
    temperature = decision.temperature
    draws = model.rng.random(model.n_agents) if temperature > 0 else None
    choice, private, detection = kernels.decide(
        model.attitudes,
        situation,
        decision,
        model.config.exit,
        model.config.consequences.evader_sanctions,
        temperature,
        draws,
        model.active,
        keep_private,
    )
    return choice, private if keep_private else None, detection


def action_utilities(
    model: ArmyModel, slots: np.ndarray | None = None, parts: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Utilities of every action for every slot (or for `slots`), and the refusal
    detection probability (with `parts`, the fear and social terms too)."""
    situation = model.situation() if slots is None else model.situation(slots)
    decision = model.config.decision
    attitudes = (
        model.attitudes
        if slots is None
        else {name: values[slots] for name, values in model.attitudes.items()}
    )
    detection = detection_probability(
        situation.enforcers,
        situation.noncompliant_peers,
        decision.detection_steepness,
        decision.detection_ratio_rounding,
    )
    utilities = choice_utilities(
        attitudes,
        situation,
        decision,
        detection,
        model.config.exit,
        model.config.consequences.evader_sanctions,
        parts,
    )
    return utilities, detection


def decide_in_random_order(model: ArmyModel, keep_private: bool = True) -> None:
    """Random activation (Epstein): within each unit officers decide one after another in
    a fresh random order, each seeing the choices of those before him (and, with
    `keep_private`, their private inclinations are kept).

    Units do not see each other within a step when there are no cross-unit ties, so the
    k-th officer of every unit can decide at the same time: the loop runs over positions
    in a unit (unit_size iterations), each vectorised over all units.
    """
    order = np.lexsort((model.rng.random(model.n_agents), model.unit))
    starts = np.searchsorted(model.unit[order], np.arange(model.n_units))
    position = np.empty(model.n_agents, dtype=np.int64)
    position[order] = np.arange(model.n_agents) - starts[model.unit[order]]
    detection_sum = 0.0
    choice = model.choice.copy()
    choice[~model.active] = COMPLY
    model.choice = choice
    for k in range(int(position.max()) + 1):
        movers = np.flatnonzero(model.active & (position == k))
        if movers.shape[0] == 0:
            continue
        parts: dict[str, np.ndarray] | None = {} if keep_private else None
        utilities, detection = action_utilities(model, movers, parts)
        available = available_utilities(utilities, refusal_withdrawn(model, movers))
        model.choice[movers] = choose(available, model.config.decision.temperature, model.rng)
        if parts is not None:
            model.private[movers] = private_inclination(utilities, parts)
        detection_sum += float(detection.sum())
    model.mean_detection_probability = detection_sum / max(int(model.active.sum()), 1)


def situation(model: ArmyModel, slots: np.ndarray | None = None) -> Situation:
    """What each officer faces now: enforcers, non-compliant peers, what he saw his peers
    do, his perceived regime strength, his career stake and the exit routes open to him
    (for `slots` only, if given)."""
    d = model.drivers
    decision = model.config.decision
    own_enforcement, by_unit = unit_enforcement(model)
    seen = model._seen if model._seen is not None else observe(model)
    tie_peers = seen.tie_peers
    if slots is None and computes_with_numba(model.config.performance, model.n_agents):
        from simulation.model import kernels

        career = model.config.career
        fused = kernels.member_arrays(
            model.unit,
            model.n_units,
            model.choice,
            model.active,
            own_enforcement,
            by_unit,
            decision.external_enforcers_per_unit,
            d["detection_capacity"],
            seen.unit,
            seen.unit_peers,
            seen.ties,
            tie_peers,
            decision.social_threshold_unit == "share",
            model.tenure,
            career.training_obligation_years,
            career.pension_service_years,
        )
        enforcers, noncompliant_peers = fused.enforcers, fused.noncompliant_peers
        seen_unit, seen_ties = fused.seen_in_unit, fused.seen_in_ties
        training_debt, pension_stake = fused.training_debt, fused.pension_stake
    else:
        (enforcers, noncompliant_peers, seen_unit, seen_ties, training_debt, pension_stake) = (
            member_arrays(model, slots, seen, own_enforcement, by_unit)
        )
    leaders = model._category_rules is not None and model.config.personnel.leader_example_weight
    if leaders and decision.social_threshold_unit == "share":
        follow_officers(model, seen_unit, slots)
    if slots is not None and tie_peers is not None:
        tie_peers = tie_peers[slots]
    has_ties = None if tie_peers is None else tie_peers > 0

    size = model.n_agents if slots is None else slots.shape[0]
    level = model.order_levels
    route_open = resignation_open(model)
    if isinstance(level, np.ndarray) and slots is not None:
        level = level[slots]
        if isinstance(route_open, np.ndarray):
            route_open = route_open[slots]
    desertion_possible: np.ndarray | bool = False
    if model.config.exit.enabled and not np.all(route_open):
        desertion_possible = bernoulli_mask(size, d["desertion_opportunity"], model.rng)
    benefit = model._benefit_multiplier
    if model._benefits_lost:
        benefit = benefit * model.benefit_held
    hardship = model._hardship_multiplier
    taste = model.taste
    strength: np.ndarray | None = (
        model.perceived_strength if model.config.expectations.enabled else None
    )
    if slots is not None:
        benefit, hardship = benefit[slots], hardship[slots]
        taste = None if taste is None else taste[:, slots]
        strength = None if strength is None else strength[slots]
    punishment: float | np.ndarray = d["punishment_severity"]
    evasion_punishment = evasion_severity(model.config.decision, punishment)
    rules = model._category_rules
    if rules is not None:  # only officers owe the academy; not everyone earns a pension
        training_debt *= rules.debt if slots is None else rules.debt[slots]
        pension_stake *= rules.pension if slots is None else rules.pension[slots]
        if (rules.punishment != 1.0).any():
            weighed = rules.punishment if slots is None else rules.punishment[slots]
            punishment = punishment * weighed
            if evasion_punishment is not None:
                evasion_punishment = evasion_punishment * weighed
    ladder = refusal_sanction(model, slots)
    share = order_share(model)
    if slots is not None and isinstance(share, np.ndarray):
        share = share[slots]
    traits: dict[str, np.ndarray | float] = {
        name: values if slots is None else values[slots] for name, values in model.traits.items()
    }
    return Situation(
        war_order_level=level,
        punishment_severity=punishment,
        incentive_level=d["incentive_level"],
        regime_stability=d["regime_stability"],
        amnesty=d["amnesty"],
        enforcers=enforcers,
        noncompliant_peers=noncompliant_peers,
        seen_in_unit=seen_unit,
        benefit_multiplier=benefit,
        hardship_multiplier=hardship,
        training_debt=training_debt,
        pension_stake=pension_stake,
        resignation_open=route_open,
        desertion_possible=desertion_possible,
        taste=taste,
        seen_in_ties=seen_ties,
        has_ties=has_ties,
        perceived_strength=strength,
        career_dependence=model.config.expectations.career_dependence,
        refusal_sanction=ladder,
        order_share=share,
        moral_multiplier=traits.get("moral_cost", 1.0),
        career_multiplier=traits.get("career", 1.0),
        fear_multiplier=traits.get("fear", 1.0),
        social_multiplier=traits.get("ties", 1.0),
        refusal_withdrawn=refusal_withdrawn(model, slots),
        evasion_punishment_severity=evasion_punishment,
    )


def evasion_severity(decision: DecisionConfig, severity: float) -> float | None:
    """The punishment severity a caught evader fears: `severity` to
    `evasion_punishment_elasticity` (docs/ODD.md §7.5); None where it equals `severity`
    itself (severity 1 or elasticity 1), so those runs compute exactly as before."""
    elasticity = decision.evasion_punishment_elasticity
    if severity == 1.0 or elasticity == 1.0:
        return None
    return float(severity) ** elasticity


def member_arrays(
    model: ArmyModel,
    slots: np.ndarray | None,
    seen: Seen,
    own_enforcement: np.ndarray,
    by_unit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Each member's (or `slots`') enforcers, non-compliant peers he hides among, what he
    saw in his unit and among his ties (shares of whom he could see, with
    social_threshold_unit share), training debt and pension stake: the reference of
    kernels.member_arrays."""
    d = model.drivers
    decision = model.config.decision
    noncompliant = (((model.choice == EVADE) | (model.choice == REFUSE)) & model.active).astype(
        float
    )
    unit_noncompliant = unit_count(model, noncompliant)
    unit = model.unit
    if slots is not None:
        unit = unit[slots]
        noncompliant, own_enforcement = noncompliant[slots], own_enforcement[slots]
    enforcers = d["detection_capacity"] * (
        decision.external_enforcers_per_unit + by_unit[unit] - own_enforcement
    )
    noncompliant_peers = unit_noncompliant[unit] - noncompliant + 1.0

    seen_unit, seen_ties, tie_peers = seen.unit, seen.ties, seen.tie_peers
    unit_peers = seen.unit_peers
    if slots is not None:
        seen_unit, unit_peers = seen_unit[:, slots], unit_peers[slots]
        if seen_ties is not None and tie_peers is not None:
            seen_ties, tie_peers = seen_ties[:, slots], tie_peers[slots]
    if decision.social_threshold_unit == "share":  # shares, not whole officers
        seen_unit = seen_unit / np.maximum(unit_peers, 1.0)
        if seen_ties is not None and tie_peers is not None:
            seen_ties = seen_ties / np.maximum(tie_peers, 1.0)

    career = model.config.career
    tenure = model.tenure if slots is None else model.tenure[slots]
    training_debt = np.maximum(1.0 - tenure / career.training_obligation_years, 0.0)
    pension_stake = np.minimum(tenure / career.pension_service_years, 1.0)
    return enforcers, noncompliant_peers, seen_unit, seen_ties, training_debt, pension_stake
