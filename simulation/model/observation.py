"""Observation and beliefs (docs/ODD.md §3 step 5, §7.5 "Expectations"): what each member
saw his peers do last month, and his perceived regime strength.

Each month, before the choice, every member sees the public acts of his unit peers and his
cross-unit ties (evasion only partly) and hears a noisy rumour of the army-wide level; his
belief about the regime's strength moves towards the regime_stability driver lowered by the
defection he saw. Soldiers weigh their officers' example (§7.9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model.decision import computes_with_numba
from simulation.vocabulary import ACTIONS, COMPLY, EVADE, EXIT, REFUSE

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def logit(probability: np.ndarray | float) -> np.ndarray | float:
    """Log-odds, with the probability kept inside [1e-6, 1 - 1e-6]."""
    clipped = np.clip(probability, 1e-6, 1.0 - 1e-6)
    return np.log(clipped / (1.0 - clipped))


def expit(log_odds: np.ndarray | float) -> np.ndarray | float:
    """Probability of given log-odds (the logistic function)."""
    return 1.0 / (1.0 + np.exp(-log_odds))


def starting_belief(stability: float, bias: np.ndarray) -> np.ndarray:
    """Perceived regime strength of members who have seen nothing yet: the driver, shifted
    by each one's belief bias on the log-odds scale."""
    return expit(logit(stability) + bias)  # type: ignore[return-value]


@dataclass
class Seen:
    """What officers saw of each other's public acts last month (see :func:`observe`).

    Counts are per action (row: comply, evade, refuse, exit; comply's row unused): how many
    of his unit peers, and of his ties to other units, he saw take it (evasion counted with
    evasion_peer_visibility); `unit_peers` and `tie_peers` are how many of each he could
    see; `army` is the share of the whole force seen defecting.
    """

    unit: np.ndarray
    unit_peers: np.ndarray
    ties: np.ndarray | None
    tie_peers: np.ndarray | None
    army: float


def start(model: ArmyModel) -> None:
    """Beliefs at step 0 (the driver shifted by each member's bias); nothing seen yet."""
    model.perceived_strength = starting_belief(model.drivers["regime_stability"], model.belief_bias)
    model._seen = None
    model.seen_defection = 0.0


def look(model: ArmyModel) -> None:
    """Everyone sees last month's acts and updates his belief. With synchronous activation
    what was seen is kept for this month's choice; with random activation each decides on
    what he sees when his turn comes."""
    seen = observe(model)
    update_beliefs(model, seen)
    if model.config.decision.activation != "random":
        model._seen = seen


def observe(model: ArmyModel) -> Seen:
    """What each officer saw of his peers' public acts last month.

    Serving officers are seen by what they do now; those who left the unit since the
    last decision (exit, arrest, dismissal) by the act that made them leave. Refusal and
    exit are seen for certain, evasion with decision.evasion_peer_visibility: a share
    of peers seen taking an action, per action, in his unit and among his cross-unit
    ties, and the share of the whole force seen defecting (rumours). Counted by a numba
    kernel when performance.kernel chooses it (the same counts)."""
    visibility = np.array([0.0, model.config.decision.evasion_peer_visibility, 1.0, 1.0])
    if computes_with_numba(model.config.performance, model.n_agents):
        from simulation.model import kernels

        ties = model.cross_ties if model.cross_ties.nnz else None
        table, unit_count, unit_peers, ties_count, tie_peers, seen_count = kernels.observe(
            model.unit,
            model.n_units,
            model.choice,
            model._acts,
            model.active,
            model._acted,
            float(visibility[EVADE]),
            None if ties is None else ties.indptr,
            None if ties is None else ties.indices,
        )
        return seen_by_all(
            model, table, seen_count, visibility, unit_count, unit_peers, ties_count, tie_peers
        )
    active = model.active
    gone = model._acted & ~active
    seen = active | gone
    acts = model.choice if not gone.any() else np.where(active, model.choice, model._acts)
    codes = np.where(seen, acts, len(ACTIONS)).astype(np.int64)
    table = np.bincount(
        model.unit * (len(ACTIONS) + 1) + codes,
        minlength=model.n_units * (len(ACTIONS) + 1),
    ).reshape(model.n_units, len(ACTIONS) + 1)
    unit_seen = table[:, : len(ACTIONS)].sum(axis=1)
    own_codes = np.where(seen, acts, 0).astype(np.int64)
    unit_peers = (unit_seen[model.unit] - seen).astype(float)
    unit_count = np.empty((len(ACTIONS), model.n_agents))
    unit_count[COMPLY] = 0.0
    for action in (EVADE, REFUSE, EXIT):  # own_codes is comply (0) where unseen
        unit_count[action] = table[:, action][model.unit] - (own_codes == action)
        if visibility[action] != 1.0:
            unit_count[action] *= visibility[action]
    ties_count = tie_peers = None
    if model.cross_ties.nnz:  # ties are 0/1: count each peer's seen act per officer
        n = model.n_agents
        per_code = np.bincount(
            codes[model._tie_cols] * n + model._tie_rows, minlength=(len(ACTIONS) + 1) * n
        ).reshape(len(ACTIONS) + 1, n)
        tie_peers = per_code[: len(ACTIONS)].sum(axis=0).astype(float)
        ties_count = per_code[: len(ACTIONS)].astype(float)
        ties_count[COMPLY] = 0.0
        for action in (EVADE, REFUSE, EXIT):
            if visibility[action] != 1.0:
                ties_count[action] *= visibility[action]
    return seen_by_all(
        model, table, int(seen.sum()), visibility, unit_count, unit_peers, ties_count, tie_peers
    )


def seen_by_all(
    model: ArmyModel,
    table: np.ndarray,
    seen_count: int,
    visibility: np.ndarray,
    unit_count: np.ndarray,
    unit_peers: np.ndarray,
    ties_count: np.ndarray | None,
    tie_peers: np.ndarray | None,
) -> Seen:
    """The Seen of _observe, with the army-wide share seen defecting from the unit
    table (per unit, how many were seen taking each action)."""
    defecting = (
        table[:, EVADE].sum() * visibility[EVADE] + table[:, REFUSE].sum() + table[:, EXIT].sum()
    )
    army = float(defecting / seen_count) if seen_count else 0.0
    model.seen_defection = army
    return Seen(unit_count, unit_peers, ties_count, tie_peers, army)


def update_beliefs(model: ArmyModel, seen: Seen) -> None:
    """Perceived regime strength moves towards this month's evidence: the
    regime_stability driver, lowered by the defection he saw, by this month's news of
    Russian setbacks (the disillusion driver) and by his own loss of faith in Russia since
    he joined (docs/ODD.md, 'Expectations'); without beliefs it is the driver for everyone.
    Through perceived strength these reach behaviour: the fear of the regime's sanctions
    falls for all, the complicit's fear of justice after a fall rises (eased by amnesty)."""
    expectations = model.config.expectations
    stability = model.drivers["regime_stability"]
    if not expectations.enabled:
        model.perceived_strength = np.full(model.n_agents, stability)
        return
    prior_log_odds = float(logit(stability))
    if expectations.setback_news_weight:
        prior_log_odds -= expectations.setback_news_weight * model.drivers["disillusion"]
    bias = belief_bias_now(model, expectations)
    if computes_with_numba(model.config.performance, model.n_agents):
        from simulation.model import kernels

        rumour = None
        if expectations.rumour_weight and expectations.rumour_noise:
            rumour = model.rng.normal(0.0, expectations.rumour_noise, model.n_agents)
        kernels.update_beliefs(
            model.perceived_strength,
            seen.unit,
            seen.unit_peers,
            seen.ties,
            seen.tie_peers,
            seen.army,
            rumour,
            bias,
            prior_log_odds,
            expectations.unit_weight,
            expectations.tie_weight,
            expectations.rumour_weight,
            expectations.defection_weight,
            expectations.update_rate,
        )
        return
    evidence = seen_defection(model, seen, expectations)
    # target = expit(prior log-odds + bias - defection_weight * evidence), in place
    target = bias + prior_log_odds
    evidence *= expectations.defection_weight
    target -= evidence
    np.negative(target, out=target)
    np.exp(target, out=target)
    target += 1.0
    np.divide(1.0, target, out=target)
    belief = model.perceived_strength
    target -= belief
    target *= expectations.update_rate
    belief += target


def belief_bias_now(model: ArmyModel, expectations: Any) -> np.ndarray:
    """Each member's log-odds shift of his belief target besides seen defection: his
    persistent bias, plus russia_doubt_weight x (Russia alignment - his anchor): a member
    who has lost faith in Russia since he joined (disillusion, setbacks) expects less of
    the regime that Russia props up, one whom propaganda has won over expects more. The
    persistent bias itself when the weight is 0 (no new array)."""
    if not expectations.russia_doubt_weight:
        return model.belief_bias
    shift = model.attitudes["russia_alignment"] - model.russia_anchor
    shift *= expectations.russia_doubt_weight
    shift += model.belief_bias
    return shift


def seen_defection(model: ArmyModel, seen: Seen, expectations: Any) -> np.ndarray:
    """The share of officers each one saw defecting: his unit, his ties and a noisy
    rumour of the army-wide level, weighted over the sources he has (a new array)."""
    weight_unit = expectations.unit_weight * (seen.unit_peers > 0)
    total = weight_unit + expectations.rumour_weight
    evidence = seen.unit[1:].sum(axis=0)
    evidence /= np.maximum(seen.unit_peers, 1.0)
    evidence *= weight_unit
    if seen.ties is not None and seen.tie_peers is not None and expectations.tie_weight:
        weight_ties = expectations.tie_weight * (seen.tie_peers > 0)
        tie_share = seen.ties[1:].sum(axis=0)
        tie_share /= np.maximum(seen.tie_peers, 1.0)
        tie_share *= weight_ties
        evidence += tie_share
        total += weight_ties
    if expectations.rumour_weight:
        if expectations.rumour_noise:
            rumour = model.rng.normal(0.0, expectations.rumour_noise, model.n_agents)
            rumour += seen.army
            np.clip(rumour, 0.0, 1.0, out=rumour)
            rumour *= expectations.rumour_weight
            evidence += rumour
        else:
            evidence += expectations.rumour_weight * seen.army
    np.maximum(total, 1e-12, out=total)
    evidence /= total
    return evidence


def follow_officers(model: ArmyModel, seen_unit: np.ndarray, slots: np.ndarray | None) -> None:
    """Soldiers follow their officers' example: what a soldier saw in his unit becomes
    (1 - w) x the share of all his unit peers + w x the share of the unit's officers,
    per action (w = personnel.leader_example_weight), in units where he saw officers.
    `seen_unit` holds shares, shape (4, len(slots)), and is changed in place."""
    weight = model.config.personnel.leader_example_weight
    example, has_officers = officer_example(model)
    unit = model.unit if slots is None else model.unit[slots]
    soldier = ~model._category_rules.is_officer  # type: ignore[union-attr]
    if slots is not None:
        soldier = soldier[slots]
    following = np.flatnonzero(soldier & has_officers[unit])
    units = unit[following]
    for action in (EVADE, REFUSE, EXIT):
        row = seen_unit[action]
        row[following] = (1.0 - weight) * row[following] + weight * example[action][units]


def officer_example(model: ArmyModel) -> tuple[np.ndarray, np.ndarray]:
    """Share of each unit's officers seen taking each action last month (shape (4,
    n_units); evasion seen with decision.evasion_peer_visibility), as officers see each
    other (_observe), and whether the unit had officers to see. Officers hold the first
    n_officers slots."""
    officers = slice(0, model.n_officers)
    active = model.active[officers]
    gone = model._acted[officers] & ~active
    acts = np.where(active, model.choice[officers], model._acts[officers])
    codes = np.where(active | gone, acts, len(ACTIONS)).astype(np.int64)
    width = len(ACTIONS) + 1
    table = np.bincount(
        model.unit[officers] * width + codes, minlength=model.n_units * width
    ).reshape(model.n_units, width)
    seen = table[:, : len(ACTIONS)].sum(axis=1)
    example = table[:, : len(ACTIONS)].T / np.maximum(seen, 1)
    example[COMPLY] = 0.0
    example[EVADE] *= model.config.decision.evasion_peer_visibility
    return example, seen > 0
