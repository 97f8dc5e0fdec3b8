"""Statistics (docs/ODD.md §7.7 "Observation"): what the DataCollector records each month.

Counts and shares of each choice over the serving force (overall, by group, rank and
personnel category), the cohort view over the force at step 0, counts of consequences and
exits, means and the hidden-preference columns; and the Mesa reporters that read them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from simulation.config.schema import DRIVER_NAMES
from simulation.errors import ArgumentError
from simulation.model.decision import alignment
from simulation.vocabulary import (
    ACTIONS,
    CHOICES,
    COHORT_STATES,
    COMPLY,
    COUNT_COLUMNS,
    DEPARTURES,
    EVADE,
    EXIT,
    FLOW_ACTS,
    FLOW_ROUTES,
    GROUPS,
    OFFICER,
    PERSONNEL,
    PRIVATE_COLUMNS,
    RANKS,
    REAR_POST_COMPLY,
    REFUSE,
)

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel

DEFIANCE = np.array([0, 1, 2, 2], dtype=np.int8)
"""How openly each action defies the order: comply 0, evade 1, refuse and exit 2."""
MORE_DEFIANT = DEFIANCE[:, None] > DEFIANCE[None, :]
"""[private, public]: the private inclination defies more openly than the public act."""

STAT_BLOCKS: frozenset[str] = frozenset({"ranks", "cohort", "means", "private", "flows"})
"""Optional blocks of a step's statistics (shares overall and by group are always kept)."""


def stat_blocks(record: Sequence[str]) -> frozenset[str]:
    """The optional blocks of statistics that the recorded columns need."""
    blocks = set()
    for name in record:
        words = name.removeprefix("count_").removeprefix("n_").split("_")
        if words[0] in RANKS:
            blocks.add("ranks")
        elif name.startswith("cohort_"):
            blocks.add("cohort")
        elif name.startswith("flow_") or name == "n_serving_at_choice":
            blocks.add("flows")
        elif name in (
            "mean_russia_alignment",
            "mean_alignment",
            "mean_tenure_years",
            "mean_perceived_strength",
        ):
            blocks.add("means")
        elif name in (*PRIVATE_COLUMNS, "hidden_dissent", "falsifying"):
            blocks.add("private")
    return frozenset(blocks)


def start(model: ArmyModel, record: Sequence[str] | None, collect_agent_data: bool) -> None:
    """The counters, the step-0 statistics and the DataCollector (which records step 0).

    With `record`, the blocks no recorded column needs are skipped from step 1 on."""
    model.stats = {}
    model._stat_blocks = STAT_BLOCKS
    update(model)
    model.datacollector = Recorder(
        model_reporters=model_reporters(model, record),
        agent_reporters=(
            {"choice": "choice", "group": "group", "rank": "rank", "unit": "unit"}
            if collect_agent_data
            else None
        ),
    )
    model.running = True
    model.datacollector.collect(model)
    if record is not None:
        model._stat_blocks = stat_blocks(record)


class Recorder(mesa.DataCollector):
    """Mesa's DataCollector, recording the same values with less work a month.

    Every model reporter here (:func:`all_reporters`) reads one number from ``model.stats``
    or ``model.drivers`` (or ``model.mean_detection_probability``): immutable Python or
    numpy scalars, made anew every month. So :meth:`collect` reads them directly instead of
    calling one function per column and deep-copying its value, as Mesa does to protect
    mutable values (measured here: 86 µs a month of 300 officers, against 6 µs): the same
    values, in the same columns. Agent reporters are recorded by Mesa's code.
    """

    def __init__(
        self, model_reporters: dict[str, Any], agent_reporters: dict[str, str] | None
    ) -> None:
        super().__init__(model_reporters=model_reporters, agent_reporters=agent_reporters)
        self._from_stats: list[tuple[list[Any], str]] = []
        self._from_drivers: list[tuple[list[Any], str]] = []
        self._called: list[tuple[list[Any], Any]] = []
        for name, reporter in model_reporters.items():
            column = self.model_vars[name]
            source, key = getattr(reporter, "reads", (None, name))
            if source == "stats":
                self._from_stats.append((column, key))
            elif source == "drivers":
                self._from_drivers.append((column, key))
            else:
                self._called.append((column, reporter))

    def collect(self, model: Any) -> None:
        """This month's value of every column (and Mesa's agent records, if any)."""
        stats = model.stats
        for column, key in self._from_stats:
            column.append(stats[key])
        drivers = model.drivers
        for column, key in self._from_drivers:
            column.append(drivers[key])
        for column, reporter in self._called:
            column.append(reporter(model))
        if self.agent_reporters:
            self._agent_records[model.steps] = list(self._record_agents(model))


def start_counts(model: ArmyModel) -> None:
    """Counters of consequences, departures and entries, all zero."""
    model.counts = dict.fromkeys(COUNT_COLUMNS, 0)
    model.cohort_departed = dict.fromkeys(DEPARTURES, 0)
    model._flow_counts: dict[str, int] = dict.fromkeys(FLOW_ROUTES, 0)
    model._flow_acts: np.ndarray | None = None
    model._flow_acted: np.ndarray | None = None


def record(model: ArmyModel) -> None:
    """This month's statistics, recorded by the DataCollector."""
    update(model)
    model.datacollector.collect(model)


def update(model: ArmyModel) -> None:
    """Counts and shares of each choice overall, by group and by rank (over the serving
    force), and of those complying at a rear post (part of `comply`); cohort shares (over
    the force at step 0); counts of consequences and exits.
    With `record`, the blocks no recorded column needs (ranks, cohort, means, private) are
    skipped after step 0 (:func:`stat_blocks`)."""
    stats: dict[str, float] = {}
    active = model.active
    # one count of (initial, private, choice, group, rank) over the serving force gives
    # every table below
    # (and personnel category: groups and ranks are the officers')
    everyone = serving_table(model)
    table = everyone[..., OFFICER][..., : len(RANKS)]
    by_choice = everyone.sum(axis=(0, 1, 3, 4, 5))
    total = int(by_choice.sum())
    overall = by_choice[:3]
    for code, name in enumerate(CHOICES):
        stats[f"count_{name}"] = int(overall[code])
        stats[name] = overall[code] / total if total else 0.0
    # an empty group, rank or personnel category (no one of it serving: the dissenters
    # all gone, the reserve before its call-up) has no shares: NaN, with n_<name> 0
    categories = [(table.sum(axis=(0, 1, 4)).T, GROUPS, np.nan)]
    if "ranks" in model._stat_blocks:
        categories.append((table.sum(axis=(0, 1, 3)).T, RANKS, np.nan))
    if model._category_rules is not None:
        present = [PERSONNEL.index(name) for name in model.personnel_counts]
        by_personnel = everyone.sum(axis=(0, 1, 3, 4)).T[present]
        categories.append((by_personnel, [PERSONNEL[code] for code in present], np.nan))
    for by_category, names, empty in categories:
        for row, category in enumerate(names):
            size = by_category[row, :3].sum()
            stats[f"n_{category}"] = int(size)
            for code, name in enumerate(CHOICES):
                stats[f"count_{category}_{name}"] = int(by_category[row, code])
                stats[f"{category}_{name}"] = by_category[row, code] / size if size else empty
    stats["n_active"] = total
    rear = rear_post_compliers(model)
    at_rear = 0 if rear is None else int(np.count_nonzero(rear))
    stats[f"count_{REAR_POST_COMPLY}"] = at_rear
    stats[REAR_POST_COMPLY] = at_rear / total if total else 0.0

    start = model._initial_count
    if "cohort" in model._stat_blocks:
        serving_initial = everyone[1].sum(axis=(0, 2, 3, 4))[:3]
        cohort = dict(zip(CHOICES, serving_initial.tolist(), strict=True))
        # compliers at a rear post are relieved of part of the order: a state of their own
        cohort[REAR_POST_COMPLY] = (
            0 if rear is None else int(np.count_nonzero(rear & model.initial))
        )
        cohort["comply"] -= cohort[REAR_POST_COMPLY]
        cohort["jailed"] = int((model.jailed & model.initial).sum())
        cohort.update(model.cohort_departed)
        for state in COHORT_STATES:
            stats[f"cohort_{state}"] = cohort[state] / start
            stats[f"cohort_count_{state}"] = int(cohort[state])
    counts = model.counts
    counts["jailed"] = int(model.jailed.sum())
    counts["exited"] = counts["resigned"] + counts["deserted"]
    counts["exited_by_decision"] = counts["exited"] - counts["resigned_for_civilian_jobs"]
    # everyone who ever served: each person counted once (the force at step 0, the
    # mobilised, the entrants), so every cumulative share below is at most 1
    served = start + counts["mobilised"] + counts["entered"]
    counts["served"] = served
    stats.update(counts)
    persons = {**counts, "arrested": counts["persons_arrested"]}
    if "flows" in model._stat_blocks:
        stats.update(flows(model))
    stats["evading_call_up"] = int(model.evading_call_up.sum())
    called = counts["called_up"]
    # of the reserve called up so far; no share before any call-up (no one to divide by)
    stats["reported_share_of_called_up"] = counts["reported"] / called if called else np.nan
    stats["evaded_call_up_share_of_called_up"] = (
        counts["evaded_call_up"] / called if called else np.nan
    )
    for name in ("arrested", "dismissed", "resigned", "deserted", "exited", "jailed"):
        stats[f"{name}_share"] = persons[name] / served if served else np.nan

    if "means" in model._stat_blocks:
        # the serving officers' values gathered once, in slot order (the same sums)
        serving = None if total == model.n_agents else np.flatnonzero(active)

        def mean_over_serving(values: np.ndarray) -> float:
            if not total:
                return 0.0
            return float((values if serving is None else values[serving]).mean())

        attitudes = model.attitudes
        if serving is not None:
            attitudes = {
                name: attitudes[name][serving] for name in ("russia_alignment", "regime_alignment")
            }
        russia = attitudes["russia_alignment"]  # gathered already
        stats["mean_russia_alignment"] = float(russia.mean()) if total else 0.0
        weight = model.config.decision.russia_alignment_weight
        stats["mean_alignment"] = float(alignment(attitudes, weight).mean()) if total else 0.0
        stats["mean_tenure_years"] = mean_over_serving(model.tenure)
        stats["mean_perceived_strength"] = mean_over_serving(model.perceived_strength)
    stats["seen_defection"] = model.seen_defection
    if "private" in model._stat_blocks:
        pairs = everyone.sum(axis=(0, 3, 4, 5))
        inclined = pairs.sum(axis=1)
        for code, name in zip((EVADE, REFUSE, EXIT), PRIVATE_COLUMNS, strict=True):
            stats[name] = inclined[code] / total if total else 0.0
        hidden = int(pairs[MORE_DEFIANT].sum())
        stats["hidden_dissent"] = hidden / total if total else 0.0
        falsifying = total - int(np.trace(pairs))
        stats["falsifying"] = falsifying / total if total else 0.0
    model.stats = stats


def rear_post_compliers(model: ArmyModel) -> np.ndarray | None:
    """Members serving and complying at a rear post after the response ladder reassigned
    them (bearing less than the whole order, `model.order_share` < 1); None while nobody has
    been reassigned."""
    if not model._reassigned:
        return None
    rear = model.order_share < 1.0
    rear &= model.active
    rear &= model.choice == COMPLY
    return rear


def flows(model: ArmyModel) -> dict[str, float]:
    """This month's flows (docs/ODD.md §7.7 "Flows"): new evaders and new refusers (who take
    the act now and did not last month, or did not serve), and the rise of each cumulative
    count (arrests, dismissals, resignations, desertions, retirements, recruitment by
    Russia, and every departure), each as a number and per 1,000 of the force serving at
    this month's choice. At step 0 nobody has chosen yet: every flow is 0."""
    counts = model.counts
    now = {name: counts[name] for name in FLOW_ROUTES if name != "departed"}
    now["departed"] = sum(counts[route] for route in DEPARTURES)
    # choice.decide makes new _acts and _acted arrays every month and nothing changes them
    # afterwards: last month's are kept by reference, not copied
    acts, acted = model._acts, model._acted
    before_acts, before_acted = model._flow_acts, model._flow_acted
    first = before_acts is None or before_acts is acts
    model._flow_acts, model._flow_acted = acts, acted
    result: dict[str, float] = {}
    deciding = 0 if first else int(np.count_nonzero(acted))
    result["n_serving_at_choice"] = deciding
    for code, name in FLOW_ACTS.items():
        if first:
            result[f"flow_{name}"] = 0
            continue
        taking = acts == code
        taking &= acted
        was = before_acts == code
        was &= before_acted
        taking &= ~was
        result[f"flow_{name}"] = int(np.count_nonzero(taking))
    for name in FLOW_ROUTES:
        result[f"flow_{name}"] = 0 if first else now[name] - model._flow_counts[name]
    model._flow_counts = now
    scale = 1000.0 / deciding if deciding else 0.0
    for name in (*FLOW_ACTS.values(), *FLOW_ROUTES):
        result[f"flow_{name}_per_1000_serving"] = result[f"flow_{name}"] * scale
    return result


def serving_table(model: ArmyModel) -> np.ndarray:
    """The serving force counted by (initial, private inclination, choice, group, rank,
    personnel category): shape (2, 4, 4, 3, 3, 1) for officers alone, (2, 4, 4, 3, 4, 6)
    with other categories (rank 3: not an officer), from one bincount over a small
    integer key (instead of one boolean selection and one count per table)."""
    actions, groups = len(ACTIONS), len(GROUPS)
    categorised = model._category_rules is not None
    ranks = len(RANKS) + 1 if categorised else len(RANKS)
    personnel = len(PERSONNEL) if categorised else 1
    shape = (2, actions, actions, groups, ranks, personnel)
    size = int(np.prod(shape))
    key = model.initial.astype(np.uint16)
    columns = [
        (model.private, actions),
        (model.choice, actions),
        (model.group, groups),
        (model.rank, ranks),
    ]
    if categorised:
        columns.append((model.category, personnel))
    for values, width in columns:
        key *= width
        key += values.view(np.uint8)  # small non-negative codes
    key[~model.active] = size  # one extra bin for those not serving
    return np.bincount(key, minlength=size + 1)[:size].reshape(shape)


def model_reporters(model: ArmyModel, record: Sequence[str] | None = None) -> dict[str, Any]:
    """Model reporters: every column, or the columns in `record` (in that order)."""
    reporters = all_reporters(model)
    if record is None:
        return reporters
    unknown = [name for name in record if name not in reporters]
    if unknown:
        raise ArgumentError(f"unknown column(s) {', '.join(unknown)}", "record")
    return {name: reporters[name] for name in record}


def all_reporters(model: ArmyModel) -> dict[str, Any]:
    """Every column's reporter: a function of the model, as Mesa's DataCollector takes it,
    marked with what it reads (``reads``: ("stats" or "drivers", key)) for :class:`Recorder`."""
    reporters: dict[str, Any] = {key: reporter("stats", key) for key in model.stats}
    reporters.update({name: reporter("drivers", name) for name in DRIVER_NAMES})
    reporters["mean_detection_probability"] = detection_reporter
    return reporters


@functools.cache
def reporter(source: str, key: str) -> Any:
    """The reporter of `key` in ``model.stats`` or ``model.drivers`` (made once a process:
    a small run's set-up would otherwise make some 130 of them)."""

    def read(model: ArmyModel) -> Any:
        return getattr(model, source)[key]

    read.reads = (source, key)  # type: ignore[attr-defined]
    return read


def detection_reporter(model: ArmyModel) -> float:
    """The month's mean refusal detection probability over the serving officers."""
    return model.mean_detection_probability
