"""Initialisation: who the officers are, where they serve and whom they know.

Pure functions of a config and a numpy Generator, returning arrays; the model keeps
them. Group and rank counts are apportioned exactly (largest remainder) rather than
sampled, so that a 2,000-officer run has the configured shares and seeds differ only in
who is who, not in how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from simulation.config.schema import (
    AttitudeDistribution,
    PersonnelCategory,
    PopulationConfig,
    SimulationConfig,
    TraitSpread,
)
from simulation.vocabulary import ATTITUDES, GROUPS, PERSONNEL, RANKS

ENLISTED = len(RANKS)
"""Rank code of everyone who is not an officer: no officer rank, never a commander, never
promoted or retired by the officers' rules."""


def apportion(total: int, shares: list[float]) -> np.ndarray:
    """Whole counts summing to `total`, as close to `shares` as possible (largest remainder)."""
    exact = np.asarray(shares, dtype=float) * total
    counts = np.floor(exact).astype(np.int64)
    remainder = total - int(counts.sum())
    if remainder > 0:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:remainder]] += 1
    return counts


def draw_beta(spec: AttitudeDistribution, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw from a Beta distribution with the given mean and sd (sd 0: the constant)."""
    if size == 0:
        return np.empty(0)
    if spec.sd == 0 or spec.mean in (0.0, 1.0):
        return np.full(size, spec.mean)
    common = spec.mean * (1 - spec.mean) / spec.sd**2 - 1
    return rng.beta(spec.mean * common, (1 - spec.mean) * common, size)


def draw_groups(config: PopulationConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Group code per officer: exact counts from the shares, in random order."""
    counts = apportion(n, [config.group_shares[g] for g in GROUPS])
    groups = np.repeat(np.arange(len(GROUPS), dtype=np.int8), counts)
    return rng.permutation(groups)


def draw_ranks(
    config: PopulationConfig, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Rank code per officer given his group: exact counts per group, in random order."""
    ranks = np.empty(groups.shape[0], dtype=np.int8)
    for code, group in enumerate(GROUPS):
        members = np.flatnonzero(groups == code)
        shares = [config.rank_shares_by_group[group][r] for r in RANKS]
        counts = apportion(members.shape[0], shares)
        ranks[members] = rng.permutation(np.repeat(np.arange(len(RANKS), dtype=np.int8), counts))
    return ranks


def draw_attitudes(
    config: PopulationConfig,
    groups: np.ndarray,
    ranks: np.ndarray,
    rng: np.random.Generator,
    extra_russia_shift: float = 0.0,
) -> dict[str, np.ndarray]:
    """Attitudes per officer from his group's distributions; rank shifts Russia alignment."""
    n = groups.shape[0]
    attitudes = {name: np.empty(n) for name in ATTITUDES}
    for code, group in enumerate(GROUPS):
        members = np.flatnonzero(groups == code)
        spec = config.attitudes[group]
        for name in ATTITUDES:
            attitudes[name][members] = draw_beta(getattr(spec, name), members.shape[0], rng)
    shift = np.where(
        ranks == RANKS.index("junior"),
        config.junior_russia_alignment_shift,
        np.where(ranks == RANKS.index("senior"), config.senior_russia_alignment_shift, 0.0),
    )
    attitudes["russia_alignment"] = np.clip(
        attitudes["russia_alignment"] + shift + extra_russia_shift, 0.0, 1.0
    )
    return attitudes


def draw_tenure(
    config: PopulationConfig, ranks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Years of service per officer, uniform in his rank's range."""
    low = np.array([config.tenure_years_by_rank[r].low for r in RANKS])[ranks]
    high = np.array([config.tenure_years_by_rank[r].high for r in RANKS])[ranks]
    return low + (high - low) * rng.random(ranks.shape[0])


def draw_tastes(n: int, sd: float, rng: np.random.Generator) -> np.ndarray | None:
    """Persistent taste of each officer for each action, shape (4, n): one row per action
    (comply, evade, refuse, exit), comply's 0.

    Unobserved heterogeneity made explicit: N(0, sd) per officer and action (evade, refuse,
    exit), drawn once. None when sd is 0 (nothing drawn, so other draws are unchanged).
    """
    if sd <= 0:
        return None
    tastes = np.zeros((4, n))
    tastes[1:] = rng.normal(0.0, sd, (n, 3)).T
    return tastes


TRAITS: tuple[str, ...] = ("moral_cost", "career", "fear", "ties")
"""The individual multipliers of population.trait_spread, in drawing order."""


def draw_traits(spread: TraitSpread, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each member's multipliers of the traits with a spread: lognormal, mean 1
    (exp N(-sd^2/2, sd)); a trait with sd 0 is left out and draws nothing, so switching
    every spread off leaves the random stream as it was."""
    traits: dict[str, np.ndarray] = {}
    for name in TRAITS:
        sd = getattr(spread, name)
        if sd > 0:
            traits[name] = rng.lognormal(-0.5 * sd * sd, sd, n)
    return traits


def override_thresholds(config: PopulationConfig, rng: np.random.Generator) -> np.ndarray | None:
    """Thresholds set for every officer by `threshold_override` (reference reductions)."""
    override = config.threshold_override
    if override is None:
        return None
    n = config.n_officers
    if override.kind == "explicit":
        values = np.asarray(override.values, dtype=float)
    elif override.kind == "normal":
        values = rng.normal(override.mean, override.sd, n)
    else:
        from scipy.stats import norm

        quantiles = (np.arange(n) + 0.5) / n
        values = norm.ppf(quantiles, loc=override.mean, scale=override.sd)
    if override.round_to_whole:
        values = np.maximum(np.floor(values + 0.5), 0.0)
    return values


@dataclass(frozen=True)
class Structure:
    """Units, their types and commanders, and the cross-unit tie network."""

    unit: np.ndarray
    unit_type_of_unit: np.ndarray
    n_units: int
    cross_ties: sparse.csr_matrix


def build_structure(
    n: int,
    unit_size: int,
    unit_type_shares: list[float],
    cross_unit_ties: float,
    rng: np.random.Generator,
    groups: np.ndarray | None = None,
    group_mixes: list[list[float] | None] | None = None,
    clustering: float = 0.0,
) -> Structure:
    """Assign officers to units and draw ties across units (a small world).

    Ties are complete inside a unit; `cross_unit_ties` is the mean number of extra ties
    per officer to officers of other units, drawn uniformly at random. Without group mixes
    and with `clustering` 0 officers are posted at random; otherwise see
    :func:`post_by_group` (`groups` is then each officer's group code).
    """
    n_units = int(np.ceil(n / unit_size))
    composed = groups is not None and (
        clustering > 0 or any(mix is not None for mix in group_mixes or ())
    )
    if not composed:
        unit = rng.permutation(np.arange(n) // unit_size).astype(np.int64)
    unit_counts = apportion(n_units, unit_type_shares)
    unit_type_of_unit = rng.permutation(
        np.repeat(np.arange(len(unit_type_shares), dtype=np.int8), unit_counts)
    )
    if composed:
        assert groups is not None
        mixes = group_mixes or [None] * len(unit_type_shares)
        unit = post_by_group(n, unit_size, unit_type_of_unit, groups, mixes, clustering, rng)
    n_edges = int(round(n * cross_unit_ties / 2))
    if n_edges and n_units > 1:
        first = rng.integers(0, n, n_edges)
        second = rng.integers(0, n, n_edges)
        keep = unit[first] != unit[second]
        first, second = first[keep], second[keep]
        rows = np.concatenate([first, second])
        cols = np.concatenate([second, first])
        ties = sparse.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))
        ties.data[:] = 1.0  # duplicate draws collapse to one tie
    else:
        ties = sparse.csr_matrix((n, n))
    return Structure(unit, unit_type_of_unit, n_units, ties)


def post_by_group(
    n: int,
    unit_size: int,
    unit_type_of_unit: np.ndarray,
    groups: np.ndarray,
    group_mixes: list[list[float] | None],
    clustering: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Unit of each officer when units are composed by group (returns `unit`, length n).

    1. Each unit type with a group mix takes its officers first: its posts apportioned over
       the groups by the mix (at most as many as are left of each group), the officers of
       each group chosen at random; the types without a mix share the rest at random.
    2. Within each type, officers are laid out sorted by group (in random order within a
       group); then the officers at a random `1 - clustering` share of the positions are
       shuffled among themselves; the layout fills the type's units post by post. So
       clustering 0 posts at random and 1 makes units as homogeneous as the counts allow.
    """
    post_unit = np.arange(n) // unit_size  # unit of each post; posts of a unit are adjacent
    post_type = unit_type_of_unit[post_unit]
    n_groups = int(groups.max()) + 1 if n else 0
    pools = [rng.permutation(np.flatnonzero(groups == g)) for g in range(n_groups)]
    taken = [0] * n_groups
    members: list[list[np.ndarray]] = [[] for _ in group_mixes]
    posts_of_type = [np.flatnonzero(post_type == t) for t in range(len(group_mixes))]
    for t, mix in enumerate(group_mixes):
        if mix is None:
            continue
        wanted = apportion(posts_of_type[t].shape[0], mix[:n_groups])
        for g in range(n_groups):
            count = min(int(wanted[g]), pools[g].shape[0] - taken[g])
            members[t].append(pools[g][taken[g] : taken[g] + count])
            taken[g] += count
    left = rng.permutation(np.concatenate([pools[g][taken[g] :] for g in range(n_groups)]))
    start = 0
    for t, mix in enumerate(group_mixes):  # types without a mix, then any shortfall
        need = posts_of_type[t].shape[0] - sum(m.shape[0] for m in members[t])
        if mix is None or need:
            members[t].append(left[start : start + need])
            start += need
    unit = np.empty(n, dtype=np.int64)
    for t, chosen in enumerate(members):
        officers = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
        if officers.shape[0] == 0:
            continue
        layout = officers[np.lexsort((rng.random(officers.shape[0]), groups[officers]))]
        shuffled = np.flatnonzero(rng.random(layout.shape[0]) >= clustering)
        layout[shuffled] = layout[rng.permutation(shuffled)]
        unit[layout] = post_unit[posts_of_type[t]]
    return unit


def same_group_share(unit: np.ndarray, groups: np.ndarray, active: np.ndarray) -> float:
    """Mean share of an officer's serving unit peers who belong to his group (homophily)."""
    n_units = int(unit.max()) + 1 if unit.shape[0] else 0
    n_groups = int(groups.max()) + 1 if groups.shape[0] else 0
    table = np.bincount(unit[active] * n_groups + groups[active], minlength=n_units * n_groups)
    table = table.reshape(n_units, n_groups).astype(float)
    size = table.sum(axis=1)
    own = table[unit, groups] - 1.0
    peers = size[unit] - 1.0
    share = np.divide(own, peers, out=np.zeros_like(own), where=peers > 0)
    counted = active & (peers > 0)
    return float(share[counted].mean()) if counted.any() else 0.0


def draw_belief_bias(n: int, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Each officer's persistent bias (log-odds) in judging the regime's strength."""
    if sd <= 0:
        return np.zeros(n)
    return rng.normal(0.0, sd, n)


@dataclass(frozen=True)
class UnitIndex:
    """Slots grouped by unit (units of slots never change): `order` lists the slots unit by
    unit, `starts` where each unit begins in it. Built once, used for per-unit minima."""

    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, unit: np.ndarray, n_units: int) -> UnitIndex:
        order = np.argsort(unit, kind="stable")
        return cls(order, np.searchsorted(unit[order], np.arange(n_units)))

    def slots_of(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The slots of `units` (distinct, none empty), unit by unit as in `order`, and
        where each unit begins among them: the same segments as the whole index, for a
        few units at the cost of their members."""
        starts = self.starts[units]
        stops = np.append(self.starts[1:], self.order.shape[0])[units]
        lengths = stops - starts
        begins = np.cumsum(lengths) - lengths
        positions = np.arange(int(lengths.sum())) + np.repeat(starts - begins, lengths)
        return self.order[positions], begins


def choose_commanders(
    unit: np.ndarray,
    rank: np.ndarray,
    active: np.ndarray,
    tiebreak: np.ndarray,
    index: UnitIndex | None = None,
) -> np.ndarray:
    """One commander per unit: its most senior active officer (ties broken by `tiebreak`).

    A unit with no active officer has none. Rank comes first, the tiebreak (in [0, 1))
    second: the key rank + tiebreak / 2 orders officers exactly so, and each unit's least
    key is found with one reduction over the slots grouped by unit.
    """
    if index is None:
        index = UnitIndex.of(unit, int(unit.max()) + 1 if unit.shape[0] else 0)
    if unit.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    key = np.where(active, rank + 0.5 * tiebreak, np.inf)
    least = np.minimum.reduceat(key[index.order], index.starts)
    return active & (key == least[unit])


def refresh_commanders(
    is_commander: np.ndarray,
    units: np.ndarray,
    rank: np.ndarray,
    active: np.ndarray,
    tiebreak: np.ndarray,
    index: UnitIndex,
) -> np.ndarray:
    """Choose again the commanders of `units` (distinct, none empty) in `is_commander`, in
    place, by :func:`choose_commanders`'s rule: after a month's few arrivals, departures
    and promotions only their units can change commander, so the rest is kept. Returns
    each unit's least key (its commander's; inf with nobody serving)."""
    slots, begins = index.slots_of(units)
    serving = active[slots]
    key = np.where(serving, rank[slots] + 0.5 * tiebreak[slots], np.inf)
    least = np.minimum.reduceat(key, begins)
    is_commander[slots] = serving & (
        key == np.repeat(least, np.diff(begins, append=slots.shape[0]))
    )
    return least


@dataclass(frozen=True)
class Personnel:
    """The members of the categories besides officers, category after category (slots
    n_officers onwards in the model's arrays)."""

    category: np.ndarray
    group: np.ndarray
    attitudes: dict[str, np.ndarray]
    unit: np.ndarray
    tenure: np.ndarray

    @property
    def size(self) -> int:
        return int(self.category.shape[0])


def draw_category_members(
    population: PopulationConfig,
    spec: PersonnelCategory,
    size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Groups (exact counts from the category's mix, in random order) and attitudes of `size`
    new members of one category: the category's own distributions where it gives them, the
    officers' group distributions otherwise; its Russia-alignment shift added."""
    counts = apportion(size, [spec.group_shares[g] for g in GROUPS])
    groups = rng.permutation(np.repeat(np.arange(len(GROUPS), dtype=np.int8), counts))
    attitudes = {name: np.empty(size) for name in ATTITUDES}
    for code, group in enumerate(GROUPS):
        members = np.flatnonzero(groups == code)
        officers = population.attitudes[group]
        for name in ATTITUDES:
            distribution = spec.attitudes.get(name, getattr(officers, name))
            attitudes[name][members] = draw_beta(distribution, members.shape[0], rng)
    if spec.russia_alignment_shift:
        russia = attitudes["russia_alignment"]
        np.clip(russia + spec.russia_alignment_shift, 0.0, 1.0, out=russia)
    return groups, attitudes


def draw_personnel(
    population: PopulationConfig,
    categories: dict[str, PersonnelCategory],
    counts: dict[str, int],
    n_units: int,
    rng: np.random.Generator,
) -> Personnel:
    """Every member of the categories in `counts`: who they are, their unit and tenure.

    Each category is spread evenly over the officers' units (every unit gets the same number,
    give or take one, at random), so each unit's officers command a share of every category.
    """
    parts: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
    for name in PERSONNEL[1:]:
        size = counts.get(name, 0)
        if not size:
            continue
        spec = categories[name]
        groups, attitudes = draw_category_members(population, spec, size, rng)
        unit = rng.permutation(np.arange(size, dtype=np.int64) % n_units)
        low, high = spec.tenure_years.low, spec.tenure_years.high
        tenure = low + (high - low) * rng.random(size)
        code = np.full(size, PERSONNEL.index(name), dtype=np.int8)
        parts.append((code, groups, attitudes, unit, tenure))
    if not parts:
        empty = np.empty(0)
        return Personnel(
            np.empty(0, np.int8),
            np.empty(0, np.int8),
            {name: empty for name in ATTITUDES},
            np.empty(0, np.int64),
            empty,
        )
    return Personnel(
        category=np.concatenate([part[0] for part in parts]),
        group=np.concatenate([part[1] for part in parts]),
        attitudes={name: np.concatenate([part[2][name] for part in parts]) for name in ATTITUDES},
        unit=np.concatenate([part[3] for part in parts]),
        tenure=np.concatenate([part[4] for part in parts]),
    )


def pad_ties(ties: sparse.csr_matrix, size: int) -> sparse.csr_matrix:
    """The officers' tie network as a `size` x `size` matrix: the other personnel (slots
    after the officers) have no cross-unit ties (their social world is their unit)."""
    n = ties.shape[0]
    if size == n:
        return ties
    indptr = np.concatenate([ties.indptr, np.full(size - n, ties.indptr[-1], ties.indptr.dtype)])
    return sparse.csr_matrix((ties.data, ties.indices, indptr), shape=(size, size))


@dataclass(frozen=True)
class CategoryRules:
    """What each category's members stand to lose and may do, per slot (arrays of length
    n_agents) or per category code (arrays of length len(PERSONNEL)). Officers keep the
    officers' rules: debt and pension bind, they may resign, stop-loss binds them."""

    is_officer: np.ndarray
    benefit: np.ndarray
    hardship: np.ndarray
    debt: np.ndarray
    pension: np.ndarray
    can_resign: np.ndarray
    stop_loss: np.ndarray
    reserve: np.ndarray
    """Per category code."""
    term_years: np.ndarray
    """Per category code (inf: no fixed term)."""
    replacement_share: np.ndarray
    """Per category code (officers: the academy's own rule, 0 here)."""
    enforcer_weight: np.ndarray
    """Per slot, for the other categories' loyal members (officers: decision's weights)."""
    punishment: np.ndarray
    """Per slot: how heavily the sanction for refusal weighs (officers 1)."""

    @classmethod
    def of(cls, config: SimulationConfig, category: np.ndarray) -> CategoryRules:
        specs = [config.personnel.categories.get(name) for name in PERSONNEL[1:]]

        def table(field: str, officer: float, absent: float = 0.0) -> np.ndarray:
            values = [officer] + [
                absent if spec is None else float(getattr(spec, field) or absent) for spec in specs
            ]
            return np.array(values)

        benefit = table("benefit_multiplier", 1.0)
        hardship = table("hardship_multiplier", 1.0)
        return cls(
            is_officer=category == 0,
            benefit=benefit[category],
            hardship=hardship[category],
            debt=table("training_debt", 1.0)[category],
            pension=table("pension", 1.0)[category],
            can_resign=table("can_resign", 1.0)[category] > 0,
            stop_loss=table("stop_loss", 1.0)[category] > 0,
            reserve=table("reserve", 0.0) > 0,
            term_years=table("term_years", np.inf, np.inf),
            replacement_share=table("replacement_share", 0.0),
            enforcer_weight=table("enforcer_weight", 0.0)[category],
            punishment=table("punishment_multiplier", 1.0)[category],
        )
