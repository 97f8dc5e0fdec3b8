"""Consequences (docs/ODD.md §7.6): what follows this month's acts, and the end of sentences.

Those who exit leave (resignation, or desertion: caught deserters are arrested); evaders and
deserters are detected with Epstein's probability on this month's state
(:mod:`simulation.model.detection`), evaders sanctioned. Open refusal is known to the
commander, and answered by the response ladder (pressure, reassignment, administrative
sanction, criminal case, with a capacity for cases, their delay and escalation); without the
ladder, refusers are detected as evaders are and arrested (jail) or dismissed. Jail terms and
benefit losses end when their time is served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.model.decision import ladder_sanction
from simulation.model.detection import detection_now, unit_enforcement
from simulation.model.personnel import resignation_open, set_active, vacate
from simulation.vocabulary import COMPLY, EVADE, EXIT, REFUSE

if TYPE_CHECKING:
    from simulation.config.schema import ResponseLadder
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
    model.rung = np.full(n, -1, dtype=np.int8)
    """The last rung of the response ladder each member met (-1: none yet)."""
    model.case_due = np.zeros(n, dtype=np.int64)
    """Step at which an open criminal case ends in arrest (0: no case)."""
    model.order_share = np.ones(n)
    model._reassigned = 0
    model.persuaded = np.zeros(n, dtype=bool)
    model.case_certainty = 1.0
    """Share of last month's wanted criminal cases the capacity let open (1: none wanted)."""
    model._sanction: np.ndarray | None = None
    """refusal_sanction's last answer for everyone (None: nobody had a record), kept up to
    date for the members whose record changed since (those in ``_record_changed``)."""
    model._sanction_certainty: tuple[float, float] | None = None
    """(case certainty, criminal share of a first refusal) the kept ``_sanction`` was
    computed with: either changing recomputes it for everyone."""
    model._record_changed: list[np.ndarray] = []


def record_changed(model: ArmyModel, slots: np.ndarray) -> None:
    """The ladder record (rung, open case) of `slots` changed: their expected sanction of
    refusal is computed again when next asked for (every write to ``rung`` or ``case_due``
    goes through here)."""
    if slots.shape[0]:
        model._record_changed.append(slots)


def clear_record(model: ArmyModel, slots: np.ndarray) -> None:
    """A new member of these slots starts with no record on the response ladder."""
    model.rung[slots] = -1
    model.case_due[slots] = 0
    record_changed(model, slots)
    model.persuaded[slots] = False
    if model._reassigned:  # those of them at a rear post leave the count
        model._reassigned -= np.unique(slots[model.order_share[slots] < 1.0]).shape[0]
        model.order_share[slots] = 1.0


def refusal_sanction(model: ArmyModel, slots: np.ndarray | None = None) -> np.ndarray | None:
    """The ladder's expected sanction of open refusal for each member (or `slots`), as
    decision.ladder_sanction's coefficients; one column for everyone while nobody has a
    record; None without the ladder (or without consequences)."""
    rules = model.config.consequences
    ladder = rules.response
    if not (rules.enabled and ladder.enabled):
        return None
    first = first_response_shares(ladder, model.drivers["punishment_severity"])
    # the coefficients of each possible next rung, -1 to 3: every member's are one of these
    # columns, so only the members whose record changed need theirs looked up again
    table = ladder_sanction(
        NEXT_RUNGS,
        first,
        ladder.pressure_cost,
        ladder.administrative_dismissal,
        model.case_certainty,
    )
    changed = model._record_changed
    key = (model.case_certainty, float(first[3]))
    if model._sanction is not None and model._sanction_certainty == key:
        if changed:
            slots_changed = np.unique(np.concatenate(changed))
            rungs = next_rung(model, slots_changed, ladder.escalation)
            model._sanction[:, slots_changed] = table[:, rungs + 1]
    elif model._sanction is not None or changed:
        recorded = (model.rung >= 0) | (model.case_due > 0)
        model._sanction = (
            np.take(table, next_rung(model, None, ladder.escalation) + 1, axis=1)
            if recorded.any()
            else None
        )
    changed.clear()
    model._sanction_certainty = key
    if model._sanction is None:  # nobody has a record: one column for everyone
        return table[:, :1]
    return model._sanction if slots is None else model._sanction[:, slots]


def first_response_shares(ladder: ResponseLadder, severity: float) -> np.ndarray:
    """The probabilities of the four rungs (pressure, reassignment, administrative, criminal
    case) a first refusal meets at this punishment severity: the criminal case's share times
    severity to `criminal_case_punishment_elasticity` (at most 1), the other rungs sharing
    the rest in their given proportions, or, where they were given none (a case for every
    first refusal), the administrative rung taking it, as it takes cases beyond the capacity
    (docs/ODD.md §7.6). Severity 1 gives the shares as configured, exactly."""
    shares = ladder.first_response
    first = np.array(
        [shares.pressure, shares.reassignment, shares.administrative, shares.criminal_case]
    )
    elasticity = ladder.criminal_case_punishment_elasticity
    if severity == 1.0 or elasticity == 0.0 or first[3] == 0.0:
        return first
    case = min(1.0, first[3] * float(severity) ** elasticity)
    rest = 1.0 - first[3]
    if rest > 0.0:
        first[:3] *= (1.0 - case) / rest
    else:
        first[2] = 1.0 - case
    first[3] = case
    return first


NEXT_RUNGS = np.arange(-1, 4)
"""The rungs of the response ladder a member can meet next (-1: a first refusal)."""


def next_rung(model: ArmyModel, slots: np.ndarray | None, escalation: int) -> np.ndarray:
    """The rung each member (or `slots`) would meet if he refused now: `escalation` above
    his last, pressure while his case awaits trial, -1 with no record."""
    rung = model.rung if slots is None else model.rung[slots]
    awaiting = model.case_due > 0 if slots is None else model.case_due[slots] > 0
    rungs = np.where(rung >= 0, np.minimum(rung.astype(np.int64) + escalation, 3), -1)
    rungs[awaiting] = 0  # awaiting trial: pressure until the arrest
    return rungs


def order_share(model: ArmyModel) -> np.ndarray | float:
    """Share of the order's costs each member bears (1.0 for everyone while nobody has
    been reassigned)."""
    return model.order_share if model._reassigned else 1.0


def end_sentences(model: ArmyModel) -> None:
    """Jail terms and benefit losses that end this month end (the released return to
    their posts, or are dismissed)."""
    now = model.steps
    jailed = np.flatnonzero(model.jailed)
    ending = jailed[model.release_step[jailed] <= now]
    if ending.shape[0]:
        release(model, ending)
    if model._benefits_lost:
        lost = np.flatnonzero(model.benefit_held < 1.0)
        restoring = lost[model.benefit_restore_step[lost] <= now]
        model.benefit_held[restoring] = 1.0
        model._benefits_lost = lost.shape[0] - restoring.shape[0]


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
    rules = model.config.consequences
    if rules.enabled and rules.response.enabled:
        # first, so that a member arrested now (out of the force, or dismissed at once with
        # no jail term) is not also answered for this month's act: one person, one route
        arrest_when_due(model)
    choice = model.choice
    exiting = np.flatnonzero(choice == EXIT)
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
    if refusing.shape[0] and rules.response.enabled:
        arrests.append(respond_to_refusal(model, refusing))
    elif refusing.shape[0]:
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


def arrest_when_due(model: ArmyModel) -> None:
    """Criminal cases whose investigation ends this month end in arrest (a case against a
    member who has left the force lapses)."""
    open_cases = np.flatnonzero(model.case_due)
    if open_cases.shape[0] == 0:
        return
    due = open_cases[model.case_due[open_cases] <= model.steps]
    model.case_due[due] = 0
    record_changed(model, due)
    arrest(model, due[model.active[due]])


def respond_to_refusal(model: ArmyModel, refusing: np.ndarray) -> np.ndarray:
    """The response ladder: every open refuser is known; a first refusal meets a rung drawn
    from first_response, a repeated one climbs `escalation` rungs above his last; criminal
    cases beyond the month's capacity become administrative sanctions. Returns those
    arrested at once (case_months 0); the others' cases end in arrest when due."""
    ladder = model.config.consequences.response
    rng = model.rng
    awaiting = model.case_due[refusing] > 0
    waiting, fresh = refusing[awaiting], refusing[~awaiting]
    record_changed(model, fresh)  # their rung now, and for some an open case
    last = model.rung[fresh].astype(np.int64)
    first = first_response_shares(ladder, model.drivers["punishment_severity"])
    bounds = np.cumsum(first[:3])
    draws = rng.random(fresh.shape[0])
    rung = np.where(
        last < 0,
        np.searchsorted(bounds, draws, side="right"),
        np.minimum(last + ladder.escalation, 3),
    )
    model.rung[fresh] = rung
    wanted = fresh[rung == 3]
    capacity = case_capacity(model)
    whole = np.floor(capacity)
    cases = int(whole + (rng.random() < capacity - whole))
    overflow = wanted[:0]
    if wanted.shape[0] > cases:
        order = rng.permutation(wanted.shape[0])
        wanted, overflow = wanted[order[:cases]], wanted[order[cases:]]
        model.case_certainty = cases / (cases + overflow.shape[0])
    else:
        model.case_certainty = 1.0
    pressured = np.concatenate([fresh[rung == 0], waiting])
    persuaded = pressured[rng.random(pressured.shape[0]) < ladder.persuasion_probability]
    model.persuaded[persuaded] = True
    reassigned = fresh[rung == 1]
    model.order_share[reassigned] = ladder.reassignment_order_share
    model._reassigned = int((model.order_share < 1.0).sum())
    sanctioned = np.concatenate([fresh[rung == 2], overflow])
    dismissed = rng.random(sanctioned.shape[0]) < ladder.administrative_dismissal
    counts = model.counts
    counts["pressured"] += int(pressured.shape[0])
    counts["persuaded"] += int(persuaded.shape[0])
    counts["reassigned"] += int(reassigned.shape[0])
    counts["sanctioned_refusers"] += int(sanctioned.shape[0])
    counts["cases_opened"] += int(wanted.shape[0])
    withhold_benefits(model, sanctioned[~dismissed])
    vacate(model, sanctioned[dismissed], "dismissed")
    if ladder.case_months == 0:
        return wanted
    model.case_due[wanted] = model.steps + ladder.case_months
    return wanted[:0]


def case_capacity(model: ArmyModel) -> float:
    """Criminal cases the command and military prosecutors can open this month:
    `case_capacity_per_1000` per 1,000 serving, times detection capacity, times punishment
    severity to `case_capacity_punishment_elasticity` (a regime that punishes harder also
    prosecutes more; docs/ODD.md §7.6). Severity 1 leaves the capacity as it was; severity 0
    with a positive elasticity opens no case (no criminal punishment)."""
    ladder = model.config.consequences.response
    prosecution = float(model.drivers["punishment_severity"]) ** (
        ladder.case_capacity_punishment_elasticity
    )
    return (
        ladder.case_capacity_per_1000
        * model.drivers["detection_capacity"]
        * prosecution
        * int(model.active.sum())
        / 1000.0
    )


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
    withhold_benefits(model, slots[losing])
    vacate(model, slots[dismissed], "dismissed")


def withhold_benefits(model: ArmyModel, slots: np.ndarray) -> None:
    """These members go without their benefits for consequences.benefit_loss_months."""
    model.benefit_held[slots] = 0.0
    model._benefits_lost += int(slots.shape[0])
    model.benefit_restore_step[slots] = (
        model.steps + model.config.consequences.benefit_loss_months + 1
    )
