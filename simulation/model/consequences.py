"""Consequences (docs/ODD.md §7.6): what follows this month's acts, and the end of sentences.

Those who exit leave (resignation, or desertion: caught deserters are arrested); refusers,
evaders and deserters are detected with Epstein's probability on this month's state
(:mod:`simulation.model.detection`); refusers are arrested (jail) or dismissed, evaders
sanctioned. Jail terms and benefit losses end when their time is served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.model.detection import detection_now, unit_enforcement
from simulation.model.personnel import resignation_open, set_active, vacate
from simulation.vocabulary import COMPLY, EVADE, EXIT, REFUSE

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def start(model: ArmyModel) -> None:
    """No one jailed or sanctioned at step 0."""
    n = model.n_agents
    model.jailed = np.zeros(n, dtype=bool)
    # whether the post's holder has ever been arrested: a person arrested again after
    # jail is counted once in `persons_arrested` (the next holder starts afresh)
    model.ever_arrested = np.zeros(n, dtype=bool)
    model.release_step = np.zeros(n, dtype=np.int64)
    model.benefit_held = np.ones(n)
    model._benefits_lost = 0
    model.benefit_restore_step = np.zeros(n, dtype=np.int64)


def end_sentences(model: ArmyModel) -> None:
    """Jail terms and benefit losses that end this month end (the released return to
    their posts, or are dismissed)."""
    now = model.steps
    if model.jailed.any():
        ending = np.flatnonzero(model.jailed & (model.release_step <= now))
        if ending.shape[0]:
            release(model, ending)
    if model._benefits_lost:
        restoring = (model.benefit_held < 1.0) & (model.benefit_restore_step <= now)
        model.benefit_held[restoring] = 1.0
        model._benefits_lost = int((model.benefit_held < 1.0).sum())


def release(model: ArmyModel, slots: np.ndarray) -> None:
    """Jail terms end: the officers return to their posts with grievance raised, or are
    dismissed (consequences.return_after_jail)."""
    rules = model.config.consequences
    model.jailed[slots] = False
    if not rules.return_after_jail:
        vacate(model, slots, "dismissed")
        return
    raised = rules.jail_grievance_increase
    if raised:
        aversion = model.attitudes["war_aversion"]
        aversion[slots] += raised * (1.0 - aversion[slots])
        model.attitudes["regime_alignment"][slots] *= 1.0 - raised
    set_active(model, slots, True)
    model.choice[slots] = COMPLY
    model.counts["released"] += int(slots.shape[0])


def follow_choices(model: ArmyModel) -> None:
    """Exits leave; detection of this month's acts brings arrest, jail, sanctions."""
    rng = model.rng
    choice = model.choice
    exiting = np.flatnonzero(choice == EXIT)
    rules = model.config.consequences
    if not rules.enabled:
        if exiting.shape[0]:
            route_open = np.broadcast_to(resignation_open(model), (model.n_agents,))
            vacate(model, exiting[route_open[exiting]], "resigned")
            vacate(model, exiting[~route_open[exiting]], "deserted")
        return
    refusing = np.flatnonzero(choice == REFUSE)
    evading = np.flatnonzero(choice == EVADE)
    if exiting.shape[0] == 0 and refusing.shape[0] == 0 and evading.shape[0] == 0:
        return
    acting = np.concatenate([exiting, refusing, evading])
    detection = np.empty(model.n_agents)
    detection[acting] = detection_now(model, acting)
    arrests: list[np.ndarray] = []
    if exiting.shape[0]:
        route_open = resignation_open(model)
        if isinstance(route_open, np.ndarray):
            vacate(model, exiting[route_open[exiting]], "resigned")
            exiting = exiting[~route_open[exiting]]
        elif route_open:
            vacate(model, exiting, "resigned")
            exiting = exiting[:0]
        if exiting.shape[0]:
            visibility = model.config.exit.desertion_visibility
            caught = rng.random(exiting.shape[0]) < visibility * detection[exiting]
            model.counts["caught_deserting"] += int(caught.sum())
            arrests.append(exiting[caught])
            vacate(model, exiting[~caught], "deserted")
    if refusing.shape[0]:
        if rules.arrest_rule == "capacity":
            arrests.append(arrests_by_capacity(model, refusing))
        else:
            detected = refusing[rng.random(refusing.shape[0]) < detection[refusing]]
            arrested = rng.random(detected.shape[0]) < rules.arrest_probability
            arrests.append(detected[arrested])
            vacate(model, detected[~arrested], "dismissed")
    if evading.shape[0]:
        visibility = model.config.decision.evasion_visibility
        detected = evading[rng.random(evading.shape[0]) < visibility * detection[evading]]
        sanction_evaders(model, detected)
    if arrests:
        arrest(model, np.concatenate(arrests))


def arrests_by_capacity(model: ArmyModel, refusing: np.ndarray) -> np.ndarray:
    """Epstein's cops: each enforcer of a unit arrests one of its refusers this month
    (a fractional enforcer with that probability), chosen at random."""
    _, by_unit = unit_enforcement(model)
    capacity = model.drivers["detection_capacity"] * (
        model.config.decision.external_enforcers_per_unit + by_unit
    )
    whole = np.floor(capacity)
    capacity = whole + (model.rng.random(model.n_units) < capacity - whole)
    units = model.unit[refusing]
    order = np.lexsort((model.rng.random(refusing.shape[0]), units))
    ordered_units = units[order]
    starts = np.searchsorted(ordered_units, ordered_units, side="left")
    rank_in_unit = np.arange(order.shape[0]) - starts
    return refusing[order[rank_in_unit < capacity[ordered_units]]]


def arrest(model: ArmyModel, slots: np.ndarray) -> None:
    """Arrested officers leave their units for their jail term (0: dismissed at once)."""
    if slots.shape[0] == 0:
        return
    rules = model.config.consequences
    model.counts["arrested"] += int(slots.shape[0])
    model.counts["persons_arrested"] += int((~model.ever_arrested[slots]).sum())
    model.ever_arrested[slots] = True
    if rules.jail_term_months == 0:
        vacate(model, slots, "dismissed")
        return
    if rules.jail_term_draw == "uniform":
        terms = model.rng.integers(1, rules.jail_term_months + 1, slots.shape[0])
    else:
        terms = np.full(slots.shape[0], rules.jail_term_months)
    set_active(model, slots, False)
    model.jailed[slots] = True
    model.choice[slots] = COMPLY
    model.release_step[slots] = model.steps + terms + 1


def sanction_evaders(model: ArmyModel, slots: np.ndarray) -> None:
    """Detected evaders: a reprimand, a loss of benefits, or dismissal."""
    if slots.shape[0] == 0:
        return
    sanctions = model.config.consequences.evader_sanctions
    draws = model.rng.random(slots.shape[0])
    reprimanded = draws < sanctions.reprimand
    dismissed = draws >= sanctions.reprimand + sanctions.benefit_loss
    losing = ~reprimanded & ~dismissed
    model.counts["reprimanded"] += int(reprimanded.sum())
    model.counts["lost_benefits"] += int(losing.sum())
    lost = slots[losing]
    model.benefit_held[lost] = 0.0
    model._benefits_lost += int(lost.shape[0])
    model.benefit_restore_step[lost] = (
        model.steps + model.config.consequences.benefit_loss_months + 1
    )
    vacate(model, slots[dismissed], "dismissed")
