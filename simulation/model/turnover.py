"""Leaving and entering (docs/ODD.md §7.4): time passes, and officers leave and enter.

Serving members gain a month of tenure; seniors are recruited by the Russian army; with
turnover on (the default), officers retire, resign for civilian jobs (fewer with extra pay)
and are promoted by tenure, conscripts at the end of their term are discharged, and the
vacant posts are refilled (the academy's juniors, new conscripts and contract soldiers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.model.personnel import enter, resignation_open, structure_changed, vacate
from simulation.model.population import (
    ENLISTED,
    CategoryRules,
    draw_attitudes,
    draw_category_members,
)
from simulation.vocabulary import FIELD, GROUPS, JUNIOR, PERSONNEL, RANKS, SENIOR

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel

MONTH = 1.0 / 12.0
"""One step in years (tenure is kept in years)."""


def monthly(rate_per_year: float) -> float:
    """Per-step (monthly) probability equivalent to a yearly rate."""
    return 1.0 - (1.0 - rate_per_year) ** (1.0 / 12.0)


def start(model: ArmyModel) -> None:
    """No posts vacant at step 0."""
    model._vacancies = []


def pass_time(model: ArmyModel) -> None:
    """A month of tenure for serving members."""
    np.add(model.tenure, MONTH, out=model.tenure, where=model.active)


def leave_and_enter(model: ArmyModel) -> None:
    """Russian recruitment of seniors; retirement and promotion by tenure; academy intake."""
    rng = model.rng
    rate = model.drivers["russian_recruitment_rate"]
    if rate > 0:
        draws = rng.random(model.n_agents)
        recruited = (
            model.active
            & (model.rank == SENIOR)
            & (draws < rate * model.attitudes["russia_alignment"])
        )
        vacate(model, np.flatnonzero(recruited), "recruited_by_russia")
    turnover = model.config.turnover
    if not turnover.enabled:
        model._vacancies.clear()
        return
    retire_p = np.array([monthly(turnover.retirement_rate_per_year[r]) for r in RANKS])
    rules = model._category_rules
    if rules is not None:
        retire_p = np.append(retire_p, 0.0)  # the other categories do not retire
    # everyone draws; only the serving past the pension threshold or the longest service
    # can retire, so the rule is read for them alone (a few per cent of the force)
    draws = rng.random(model.n_agents)
    pension_years = model.config.career.pension_service_years
    tenure = model.tenure
    old = np.flatnonzero(model.active & (tenure >= min(pension_years, turnover.max_service_years)))
    years = tenure[old]
    retiring = old[
        ((years >= pension_years) & (draws[old] < retire_p[model.rank[old]]))
        | (years >= turnover.max_service_years)
    ]
    if rules is not None:
        retiring = np.union1d(
            retiring[rules.is_officer[retiring]], np.flatnonzero(end_of_term(model, rules))
        )
    vacate(model, retiring, "retired")
    resign_for_civilian_jobs(model)
    promote(model)
    vacancies = np.concatenate(model._vacancies) if model._vacancies else np.empty(0, int)
    model._vacancies.clear()
    if rules is not None:
        replace(model, vacancies[~rules.is_officer[vacancies]], rules)
        vacancies = vacancies[rules.is_officer[vacancies]]
    recruit_from_academy(model, vacancies)


def resign_for_civilian_jobs(model: ArmyModel) -> None:
    """Peacetime attrition: serving officers resign for civilian jobs at
    turnover.civilian_resignation_rate_per_year while the lawful route is open, less with
    extra pay (hazard x exp(-pay_retention_elasticity x incentive_level)). Counted as
    resignations, and apart as `resigned_for_civilian_jobs` (a count of quitting over an
    order leaves them out); their posts fall vacant for the academy."""
    turnover = model.config.turnover
    if not turnover.civilian_resignation_rate_per_year:
        return
    route = resignation_open(model)
    if route is False:
        return
    incentive = model.drivers["incentive_level"]
    hazard = monthly(turnover.civilian_resignation_rate_per_year) * np.exp(
        -turnover.pay_retention_elasticity * incentive
    )
    drawn = np.flatnonzero(model.rng.random(model.n_agents) < hazard)  # a few a month
    leaving = drawn[model.active[drawn]]
    if isinstance(route, np.ndarray):
        leaving = leaving[route[leaving]]
    if model._category_rules is not None:
        leaving = leaving[model._category_rules.is_officer[leaving]]
    vacate(model, leaving, "resigned")
    model.counts["resigned_for_civilian_jobs"] += int(leaving.shape[0])


def end_of_term(model: ArmyModel, rules: CategoryRules) -> np.ndarray:
    """Serving members at the end of their term (conscripts), discharged while the
    lawful way out is open for them: a stop-loss holds them."""
    term = rules.term_years[model.category]
    ending = model.active & (model.tenure >= term)
    if not ending.any():
        return ending
    route = resignation_open(model, lawful_only=False)
    return ending & route


def replace(model: ArmyModel, vacancies: np.ndarray, rules: CategoryRules) -> None:
    """New members fill a share of the other categories' vacant posts (conscription,
    new contracts): the same category, drawn afresh, with no tenure."""
    if vacancies.shape[0] == 0:
        return
    share = rules.replacement_share[model.category[vacancies]]
    filled = vacancies[model.rng.random(vacancies.shape[0]) < share]
    categories = model.config.personnel.categories
    for code in np.unique(model.category[filled]).tolist():
        slots = filled[model.category[filled] == code]
        spec = categories[PERSONNEL[code]]
        groups, attitudes = draw_category_members(
            model.config.population, spec, slots.shape[0], model.rng
        )
        enter(model, slots, groups, attitudes, np.full(slots.shape[0], ENLISTED, np.int8))


def promote(model: ArmyModel) -> None:
    """Promotion by tenure: field officers to senior, juniors to field, at yearly rates."""
    turnover = model.config.turnover
    rates, least = turnover.promotion_rate_per_year, turnover.promotion_min_years
    field_rate, junior_rate = monthly(rates["field"]), monthly(rates["junior"])
    draws = model.rng.random(model.n_agents)
    # only the few whose draw is below the higher rate can be promoted: the rule is read
    # for them alone
    lucky = np.flatnonzero(model.active & (draws < max(field_rate, junior_rate)))
    rank, tenure, drawn = model.rank[lucky], model.tenure[lucky], draws[lucky]
    up_to_senior = (rank == FIELD) & (tenure >= least["field"]) & (drawn < field_rate)
    up_to_field = (rank == JUNIOR) & (tenure >= least["junior"]) & (drawn < junior_rate)
    model.rank[lucky[up_to_senior]] = SENIOR
    model.rank[lucky[up_to_field]] = FIELD
    promoted = lucky[up_to_senior | up_to_field]
    if promoted.shape[0]:
        structure_changed(model, promoted, rising=True)


def recruit_from_academy(model: ArmyModel, vacancies: np.ndarray) -> None:
    """Fill a share of the vacant posts with young, more nation-oriented juniors."""
    turnover = model.config.turnover
    filled = vacancies[model.rng.random(vacancies.shape[0]) < turnover.academy_fill_share]
    if filled.shape[0] == 0:
        return
    cohort = turnover.new_cohort
    probabilities = np.array([cohort.group_shares[g] for g in GROUPS])
    groups = model.rng.choice(len(GROUPS), size=filled.shape[0], p=probabilities).astype(np.int8)
    ranks = np.full(filled.shape[0], JUNIOR, dtype=np.int8)
    fresh = draw_attitudes(
        model.config.population, groups, ranks, model.rng, cohort.russia_alignment_shift
    )
    enter(model, filled, groups, fresh, ranks)
