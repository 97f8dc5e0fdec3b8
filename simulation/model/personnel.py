"""Personnel and mobilisation (docs/ODD.md §7.9): who serves where, and the call-up.

The force is drawn here (officers, units and ties, then the men of the personnel
categories), and every submodel that moves people in or out of service goes through the
membership changes below (:func:`set_active`, :func:`vacate`, :func:`enter`), so commanders,
vacancies, counts and Mesa views stay in step. :func:`mobilise` is the schedule's call-up:
the called decide whether to report, and those who evade may be found later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.config.schema import SimulationConfig
from simulation.model.observation import starting_belief
from simulation.model.population import (
    ENLISTED,
    CategoryRules,
    UnitIndex,
    build_structure,
    choose_commanders,
    draw_attitudes,
    draw_belief_bias,
    draw_groups,
    draw_personnel,
    draw_ranks,
    draw_tastes,
    draw_tenure,
    override_thresholds,
    pad_ties,
    refresh_commanders,
    same_group_share,
)
from simulation.vocabulary import ATTITUDES, COMPLY, GROUPS, OFFICER, PERSONNEL

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def draw_officers(model: ArmyModel, config: SimulationConfig) -> None:
    """The officers: groups, ranks, attitudes, units and ties, tenure, tastes and belief
    biases, in the order the model has always drawn them (so the numbers stay the same)."""
    rng = model.rng
    population = config.population
    n = model.n_officers
    model.group = draw_groups(population, n, rng)
    model.rank = draw_ranks(population, model.group, rng)
    model.attitudes = draw_attitudes(population, model.group, model.rank, rng)
    thresholds = override_thresholds(population, rng)
    if thresholds is not None:
        model.attitudes["threshold"] = thresholds

    structure = config.structure
    model.unit_type_names = list(structure.unit_types)
    mixes = [
        None if t.group_mix is None else [t.group_mix[g] for g in GROUPS]
        for t in structure.unit_types.values()
    ]
    built = build_structure(
        n,
        structure.unit_size,
        [t.share for t in structure.unit_types.values()],
        structure.cross_unit_ties,
        rng,
        groups=model.group,
        group_mixes=mixes,
        clustering=structure.group_clustering,
    )
    model.unit = built.unit
    model.n_units = built.n_units
    model.unit_type_of_unit = built.unit_type_of_unit
    model.cross_ties = built.cross_ties
    model.cross_degree = np.asarray(model.cross_ties.sum(axis=1)).ravel()
    # each tie as (officer, peer): what ties see is one bincount over them
    model._tie_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(model.cross_ties.indptr))
    model._tie_cols = model.cross_ties.indices.astype(np.int64)
    unit_types = list(structure.unit_types.values())
    unit_type = model.unit_type_of_unit[model.unit]
    model._unit_type = unit_type
    model._type_orders = [t.war_order_level for t in unit_types]
    model._typed_orders = any(order is not None for order in model._type_orders)
    model._benefit_multiplier = np.array([t.benefit_multiplier for t in unit_types])[unit_type]
    model._hardship_multiplier = np.array([t.order_hardship_multiplier for t in unit_types])[
        unit_type
    ]
    model._tiebreak = rng.random(n)
    model._unit_index = UnitIndex.of(model.unit, model.n_units)
    # drawn after everything the model had before tenure, so that switching the new
    # mechanisms off leaves the older draws as they were
    model.tenure = draw_tenure(population, model.rank, rng)
    model.taste = draw_tastes(n, config.decision.taste_sd, rng)
    # drawn after everything the model had before expectations, likewise
    expectations = config.expectations
    model.russia_anchor = model.attitudes["russia_alignment"].copy()
    model.belief_bias = (
        draw_belief_bias(n, expectations.prior_sd, rng) if expectations.enabled else np.zeros(n)
    )


def start_service(model: ArmyModel) -> None:
    """Everyone not in the reserve serves at step 0 (the starting force, the cohort)."""
    model.active = ~model.in_reserve
    model.initial = model.active.copy()
    model._initial_count = int(model.initial.sum())
    model._is_commander = None
    model._changed_units = []
    model._enforcer_weight = None
    model._enforcers = model._enforcers_unit = np.empty(0, dtype=np.int64)


def measure_mixing(model: ArmyModel) -> None:
    """The share of each serving officer's unit peers in his own group (at set-up)."""
    model.same_group_share = same_group_share(model.unit, model.group, model.active)


def add_categories(model: ArmyModel, config: SimulationConfig) -> None:
    """The men the officers command (personnel categories), after the officers' slots.

    Drawn after everything the officers need, and only when a category is present, so an
    officers-only config draws exactly the numbers it drew before categories existed.
    Sets the per-slot category arrays used by the step (``n_agents`` slots in all).
    """
    counts = config.personnel.counts(model.n_officers)
    n_officers = model.n_officers
    model.personnel_counts: dict[str, int] = {PERSONNEL[OFFICER]: n_officers, **counts}
    if not counts:
        model.n_agents = n_officers
        model.category = np.zeros(n_officers, dtype=np.int8)
        model.in_reserve = np.zeros(n_officers, dtype=bool)
        model._category_rules: CategoryRules | None = None
        model._call_order: dict[int, np.ndarray] = {}
        model._called: dict[int, int] = {}
        model.evading_call_up = np.zeros(n_officers, dtype=bool)
        return
    rng = model.rng
    categories = config.personnel.categories
    drawn = draw_personnel(config.population, categories, counts, model.n_units, rng)
    extra = drawn.size
    model.n_agents = n = n_officers + extra
    model.category = np.concatenate([np.zeros(n_officers, dtype=np.int8), drawn.category])
    model.group = np.concatenate([model.group, drawn.group])
    model.rank = np.concatenate([model.rank, np.full(extra, ENLISTED, dtype=np.int8)])
    for name in ATTITUDES:
        model.attitudes[name] = np.concatenate([model.attitudes[name], drawn.attitudes[name]])
    model.unit = np.concatenate([model.unit, drawn.unit])
    model.cross_ties = pad_ties(model.cross_ties, n)
    model.cross_degree = np.concatenate([model.cross_degree, np.zeros(extra)])
    model._unit_type = model.unit_type_of_unit[model.unit]
    rules = CategoryRules.of(config, model.category)
    model._category_rules = rules
    model._benefit_multiplier = (
        np.concatenate([model._benefit_multiplier, np.ones(extra)]) * rules.benefit
    )
    model._hardship_multiplier = (
        np.concatenate([model._hardship_multiplier, np.ones(extra)]) * rules.hardship
    )
    model._tiebreak = np.concatenate([model._tiebreak, np.ones(extra)])
    model._unit_index = UnitIndex.of(model.unit, model.n_units)
    model.tenure = np.concatenate([model.tenure, drawn.tenure])
    if model.taste is not None:
        model.taste = np.hstack([model.taste, draw_tastes(extra, config.decision.taste_sd, rng)])
    model.russia_anchor = model.attitudes["russia_alignment"].copy()
    if config.expectations.enabled:
        bias = draw_belief_bias(extra, config.expectations.prior_sd, rng)
        model.belief_bias = np.concatenate([model.belief_bias, bias])
    else:
        model.belief_bias = np.zeros(n)
    model.in_reserve = rules.reserve[model.category]
    model.evading_call_up = np.zeros(n, dtype=bool)
    model._outside_enforcers = np.zeros(model.n_units)
    post_outside_enforcers(model, np.flatnonzero(~rules.is_officer & ~model.in_reserve))
    model._called = {}
    # who is called up first: a fixed random order within each reserve category
    model._call_order = {
        code: rng.permutation(np.flatnonzero(model.category == code))
        for code in np.flatnonzero(rules.reserve).tolist()
        if (model.category == code).any()
    }


def post_outside_enforcers(model: ArmyModel, slots: np.ndarray) -> None:
    """Outside enforcers (military police, counter-intelligence) come with the men posted
    to a unit: personnel.external_enforcers_per_100 per 100 of them (by establishment,
    whether or not they still serve)."""
    per_member = model.config.personnel.external_enforcers_per_100 / 100.0
    if per_member and slots.shape[0]:
        model._outside_enforcers += per_member * np.bincount(
            model.unit[slots], minlength=model.n_units
        )


def mobilise(model: ArmyModel) -> None:
    """The mobilisation driver calls up reservists and territorial defence: each reserve
    category's share called so far rises to the driver's value (never falls); those
    called join their units, in a fixed random order drawn at set-up."""
    if not model._call_order:
        return
    if model.evading_call_up.any():
        find_call_up_evaders(model)
    wanted_share = model.drivers["mobilisation"]
    for code, order in model._call_order.items():
        called = model._called.get(code, 0)
        wanted = int(np.floor(wanted_share * order.shape[0] + 0.5))
        if wanted <= called:
            continue
        slots = order[called:wanted]
        model._called[code] = wanted
        model.in_reserve[slots] = False
        post_outside_enforcers(model, slots)
        model.counts["called_up"] += int(slots.shape[0])
        evading = model.rng.random(slots.shape[0]) < call_up_evasion(model, slots)
        model.evading_call_up[slots[evading]] = True
        model.counts["evaded_call_up"] += int(evading.sum())
        model.counts["reported"] += int((~evading).sum())
        join(model, slots[~evading])


def call_up_evasion(model: ArmyModel, slots: np.ndarray) -> np.ndarray:
    """Each called man's chance of evading the call-up: personnel.call_up.evasion_propensity
    x his war aversion x (1 - his risk aversion x the chance of being found within a
    year)."""
    rules = model.config.personnel.call_up
    found_within_year = 1.0 - (1.0 - rules.detection_per_month) ** 12
    attitudes = model.attitudes
    fear = attitudes["risk_aversion"][slots] * found_within_year
    return rules.evasion_propensity * attitudes["war_aversion"][slots] * (1.0 - fear)


def find_call_up_evaders(model: ArmyModel) -> None:
    """Each month an evader of the call-up is found with personnel.call_up.detection_per_month:
    a share is sent to his unit (personnel.call_up.forced_to_serve_share), the rest are
    prosecuted and stay out of the force."""
    rules = model.config.personnel.call_up
    evaders = np.flatnonzero(model.evading_call_up)
    found = evaders[model.rng.random(evaders.shape[0]) < rules.detection_per_month]
    if found.shape[0] == 0:
        return
    model.evading_call_up[found] = False
    model.counts["call_up_found"] += int(found.shape[0])
    serving = model.rng.random(found.shape[0]) < rules.forced_to_serve_share
    model.counts["call_up_prosecuted"] += int((~serving).sum())
    join(model, found[serving])


def join(model: ArmyModel, slots: np.ndarray) -> None:
    """Called-up men join their units, complying at first."""
    if slots.shape[0] == 0:
        return
    set_active(model, slots, True)
    model.choice[slots] = COMPLY
    model.counts["mobilised"] += int(slots.shape[0])
    model._make_views(slots)


def structure_changed(model: ArmyModel, slots: np.ndarray, rising: bool = False) -> None:
    """Ranks, groups or who serves changed in `slots` (promotion, new officers, a commander
    leaving): the commanders of their units and the enforcer weights are recomputed when
    next needed (once, however many changes a step brings; only those units' commanders).
    `rising`: the slots serve now with their present rank (arrivals, promotions), so their
    unit's commander changes only where one of them ranks at least as high as he does."""
    if model._is_commander is not None:
        units = model.unit[slots]
        if rising:
            key = model.rank[slots] + 0.5 * model._tiebreak[slots]
            units = units[key <= model._least_key[units]]
        model._changed_units.append(units)
    model._enforcer_weight = None


def set_active(model: ArmyModel, slots: np.ndarray, serving: bool) -> None:
    """Officers start or stop serving in their units (leaving, arrest, return, entry).

    Commanders are recomputed only if one of the changed officers left a command or
    someone arrived.
    """
    changed = slots[model.active[slots] != serving]
    if changed.shape[0] == 0:
        return
    rules = model._category_rules
    if serving:  # an officer who arrives may take a command; soldiers never do
        if rules is None or rules.is_officer[changed].any():
            structure_changed(model, changed, rising=True)
    elif model._is_commander is None or model._is_commander[changed].any():
        structure_changed(model, changed)
    model.active[changed] = serving


def commanders(model: ArmyModel) -> np.ndarray:
    """Whether each slot holds its unit's commander: its most senior serving officer
    (computed when first needed, then for the units whose members changed since)."""
    if model._is_commander is None or model._changed_units:
        serving = model.active
        if model._category_rules is not None:
            serving = serving & model._category_rules.is_officer
        if model._is_commander is None:
            model._is_commander = choose_commanders(
                model.unit, model.rank, serving, model._tiebreak, model._unit_index
            )
            # each unit's least key (its commander's; none: inf), to tell which arrivals
            # and promotions can change a command
            holders = np.flatnonzero(model._is_commander)
            model._least_key = np.full(model.n_units, np.inf)
            model._least_key[model.unit[holders]] = (
                model.rank[holders] + 0.5 * model._tiebreak[holders]
            )
        else:
            units = np.unique(np.concatenate(model._changed_units))
            model._least_key[units] = refresh_commanders(
                model._is_commander, units, model.rank, serving, model._tiebreak, model._unit_index
            )
        model._changed_units.clear()
    return model._is_commander


def vacate(model: ArmyModel, slots: np.ndarray, route: str) -> None:
    """Officers leave for good by `route` (one of DEPARTURES); their posts fall vacant."""
    if slots.shape[0] == 0:
        return
    if model._views_built:
        officers = model._officers
        for slot in slots.tolist():
            officer = officers[slot]
            if officer is not None:
                officer.remove()
                officers[slot] = None
    model.counts[route] += int(slots.shape[0])
    model.cohort_departed[route] += int(model.initial[slots].sum())
    set_active(model, slots, False)
    model.jailed[slots] = False
    model.ever_arrested[slots] = False
    model.initial[slots] = False
    model.choice[slots] = COMPLY
    model._vacancies.append(slots)


def enter(
    model: ArmyModel,
    filled: np.ndarray,
    groups: np.ndarray,
    fresh: dict[str, np.ndarray],
    ranks: np.ndarray,
) -> None:
    """New members take vacant posts `filled`: their groups, attitudes and ranks, no
    tenure, full benefits, fresh tastes and beliefs (the academy's officers, or new
    conscripts and contract soldiers)."""
    for name in ATTITUDES:
        model.attitudes[name][filled] = fresh[name]
    model.group[filled] = groups
    model.rank[filled] = ranks
    if (ranks != ENLISTED).any():
        structure_changed(model, filled, rising=True)
    set_active(model, filled, True)
    model.choice[filled] = COMPLY
    model.tenure[filled] = 0.0
    model.benefit_held[filled] = 1.0
    if model.taste is not None:
        tastes = draw_tastes(filled.shape[0], model.config.decision.taste_sd, model.rng)
        model.taste[:, filled] = tastes
    model.russia_anchor[filled] = model.attitudes["russia_alignment"][filled]
    expectations = model.config.expectations
    if expectations.enabled:
        model.belief_bias[filled] = draw_belief_bias(
            filled.shape[0], expectations.prior_sd, model.rng
        )
        model.perceived_strength[filled] = starting_belief(
            model.drivers["regime_stability"], model.belief_bias[filled]
        )
    from simulation.model.choice import new_traits  # choice and consequences import
    from simulation.model.consequences import clear_record  # this module

    clear_record(model, filled)
    new_traits(model, filled)
    model.counts["entered"] += int(filled.shape[0])
    model._make_views(filled)


def resignation_open(model: ArmyModel, lawful_only: bool = True) -> bool | np.ndarray:
    """Resignation is open unless the driver closes it or the stop-loss level is reached
    (per officer when unit types have their own orders). With personnel categories it is
    per slot: only those who may resign at all can (`lawful_only`; conscripts and
    mobilised reservists may not), and stop-loss binds only the categories it binds."""
    if model.drivers["resignation_open"] < 0.5:
        return False
    below = model.order_levels < model.config.exit.stop_loss_from_level
    rules = model._category_rules
    if rules is None:
        return below if isinstance(below, np.ndarray) else bool(below)
    route = below | ~rules.stop_loss
    if lawful_only:
        route = route & rules.can_resign
    return route
