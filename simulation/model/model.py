"""The world and its schedule: the officer corps, its units and the drivers, step by step.

State is kept in numpy arrays (one entry per officer slot) and every step is computed
for all officers at once; :class:`~simulation.model.agents.Officer` agents are thin views onto
these arrays so that Mesa's tools work as usual (built when first asked for: ``model.agents``,
``officers``, ``grid``). The model never touches files or the
command line: give it a validated :class:`~simulation.config.schema.SimulationConfig`.

Schedule of one step (docs/ODD.md, "Process overview and scheduling"):

1. read the drivers for this step;
2. attitudes drift: Russian propaganda and contact pull Russia alignment up, disillusion
   down, and each officer's anchor (his generation's alignment) pulls it back;
3. time passes: serving officers gain a month of tenure; jail terms and benefit losses that
   end now end (the released return to their posts, or are dismissed);
4. officers leave and enter: Russian recruitment of seniors, then (if enabled)
   retirement and promotion by tenure, and academy intake into vacant posts;
5. beliefs: each officer updates his perceived regime strength from the regime_stability
   driver and the defection he saw last month (unit, ties, rumour);
6. every serving officer chooses comply / evade / refuse / exit from the previous step's
   state (synchronously, or one after another within units with random activation); what
   he would do if safe (his private inclination) is recorded beside what he does;
7. consequences: those who exit leave (resignation, or desertion — caught deserters are
   arrested); refusers, evaders and deserters are detected with Epstein's probability on
   this month's state; refusers are arrested (jail) or dismissed, evaders sanctioned;
8. the DataCollector records counts and shares.
"""

from __future__ import annotations

import difflib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from simulation.config.loading import load_config
from simulation.config.schema import DRIVER_NAMES, SimulationConfig, schedule_value
from simulation.errors import ArgumentError
from simulation.model.agents import Officer, Soldier
from simulation.model.decision import (
    Situation,
    alignment,
    choice_utilities,
    choose,
    detection_probability,
    private_inclination,
    uses_numba,
)
from simulation.model.memory import keep_freed_memory
from simulation.model.population import (
    ENLISTED,
    CategoryRules,
    UnitIndex,
    build_structure,
    choose_commanders,
    draw_attitudes,
    draw_belief_bias,
    draw_category_members,
    draw_groups,
    draw_personnel,
    draw_ranks,
    draw_tastes,
    draw_tenure,
    override_thresholds,
    pad_ties,
    same_group_share,
)
from simulation.vocabulary import (
    ACTIONS,
    ATTITUDES,
    CHOICES,
    COHORT_STATES,
    COMPLICIT,
    COMPLY,
    COUNT_COLUMNS,
    DEPARTURES,
    EVADE,
    EXIT,
    FIELD,
    GROUPS,
    JUNIOR,
    OFFICER,
    PERSONNEL,
    PRIVATE_COLUMNS,
    RANKS,
    REFUSE,
    SENIOR,
)

DEFIANCE = np.array([0, 1, 2, 2], dtype=np.int8)
"""How openly each action defies the order: comply 0, evade 1, refuse and exit 2."""
MORE_DEFIANT = DEFIANCE[:, None] > DEFIANCE[None, :]
"""[private, public]: the private inclination defies more openly than the public act."""

MONTH = 1.0 / 12.0
"""One step in years (tenure is kept in years)."""


def monthly(rate_per_year: float) -> float:
    """Per-step (monthly) probability equivalent to a yearly rate."""
    return 1.0 - (1.0 - rate_per_year) ** (1.0 / 12.0)


def lever_keys() -> dict[str, str]:
    """Keyword name -> dotted config key, for every lever ``ArmyModel`` takes as a keyword.

    Every leaf of the schema whose name is unique (``war_order_level``,
    ``punishment_severity``, ``n_officers``, ``temperature``, ...), derived from the schema so
    that a new parameter becomes a keyword at once. ``seed`` is the model's own argument.
    """
    from simulation.config.docs import schema_rows

    keys: dict[str, list[str]] = {}
    for row in schema_rows():
        keys.setdefault(row["key"].rsplit(".", 1)[-1], []).append(row["key"])
    return {name: dotted[0] for name, dotted in keys.items() if len(dotted) == 1 and name != "seed"}


def configure(
    config: SimulationConfig | Mapping[str, Any] | str | None,
    overrides: Mapping[str, Any] | None,
    levers: Mapping[str, Any],
) -> SimulationConfig:
    """A config from a base (config, data, file or defaults), keyword levers and overrides."""
    keys = lever_keys()
    for name in levers:
        if name not in keys:
            close = difflib.get_close_matches(name, list(keys), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ArgumentError(f"not a parameter of the model{hint}", name)
    settings = {keys[name]: _plain(value) for name, value in levers.items()}
    settings.update({key: _plain(value) for key, value in (overrides or {}).items()})
    base = config.to_dict() if isinstance(config, SimulationConfig) else config
    return load_config(base, settings)


def _plain(value: Any) -> Any:
    """A numpy scalar (as sliders and batch_run may pass) as the Python number it holds."""
    return value.item() if isinstance(value, np.generic) else value


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


def logit(probability: np.ndarray | float) -> np.ndarray | float:
    """Log-odds, with the probability kept inside [1e-6, 1 - 1e-6]."""
    clipped = np.clip(probability, 1e-6, 1.0 - 1e-6)
    return np.log(clipped / (1.0 - clipped))


def expit(log_odds: np.ndarray | float) -> np.ndarray | float:
    """Probability of given log-odds (the logistic function)."""
    return 1.0 / (1.0 + np.exp(-log_odds))


@dataclass
class Seen:
    """What officers saw of each other's public acts last month (see ArmyModel._observe).

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


def fresh_seed() -> int:
    """A new 32-bit seed from the operating system's entropy (Mesa's behaviour for seed=None)."""
    return secrets.randbits(32)


STAT_BLOCKS: frozenset[str] = frozenset({"ranks", "cohort", "means", "private"})
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


class ArmyModel(mesa.Model):
    """An officer corps facing war orders, command pressure and incentives.

    Built as Mesa users expect: ``ArmyModel(war_order_level=3, punishment_severity=2,
    n_officers=1000)`` sets the common levers by keyword (any schema parameter with a
    unique name, see :func:`lever_keys`), so ``mesa.batch_run`` and SolaraViz sliders work
    without wrappers.

    Args:
        config: a validated config, config data (a mapping), a config file, or None for the
            built-in defaults.
        seed: the random seed. Without one the model draws a fresh seed, as Mesa does, and
            records it in ``model.seed``; the config's own ``seed`` is used by
            :func:`simulation.simulate`, not here.
        overrides: further ``{dotted.key: value}`` settings (e.g. ``{"decision.temperature":
            0.1}``), applied after the keyword levers.
        record: the per-step columns the DataCollector records (default: all of them). A
            sweep asks only for what it reduces; the simulation itself is the same.
        views: whether officers are also Mesa agents (views onto the arrays, for the
            browser view and Mesa's tools; built when first asked for, through
            ``model.agents``, ``agents_by_type``, ``officers`` or ``grid``, so a run that
            never looks at them pays for none: about 90% of the set-up at 475,000). A sweep
            reads only the arrays and turns them off; the numbers are the same (views draw
            no random numbers). Views built late number their ``unique_id`` from 1 in slot
            order over the officers then in the force.
        **levers: keyword levers, e.g. ``war_order_level=3``.

    Raises:
        ConfigError: the resulting config is invalid.
        ArgumentError: a keyword is not a lever.
    """

    def __init__(
        self,
        config: SimulationConfig | Mapping[str, Any] | str | None = None,
        *,
        seed: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        record: Sequence[str] | None = None,
        views: bool = True,
        **levers: Any,
    ) -> None:
        levers = {name: value for name, value in levers.items() if value is not None}
        if levers or overrides or not isinstance(config, SimulationConfig):
            config = configure(config, overrides, levers)
        seed = fresh_seed() if seed is None else int(seed)
        keep_freed_memory()
        # `rng=` rather than the deprecated `seed=` (Mesa >= 3.4); on 3.3 both seed numpy
        # and the stdlib generator identically.
        super().__init__(rng=seed)
        self.config = config
        self.seed = seed
        self.n_officers = config.population.n_officers
        self._grid: Any = None
        rng = self.rng

        population = config.population
        n = self.n_officers
        self.group = draw_groups(population, n, rng)
        self.rank = draw_ranks(population, self.group, rng)
        self.attitudes = draw_attitudes(population, self.group, self.rank, rng)
        thresholds = override_thresholds(population, rng)
        if thresholds is not None:
            self.attitudes["threshold"] = thresholds

        structure = config.structure
        self.unit_type_names = list(structure.unit_types)
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
            groups=self.group,
            group_mixes=mixes,
            clustering=structure.group_clustering,
        )
        self.unit = built.unit
        self.n_units = built.n_units
        self.unit_type_of_unit = built.unit_type_of_unit
        self.cross_ties = built.cross_ties
        self.cross_degree = np.asarray(self.cross_ties.sum(axis=1)).ravel()
        # each tie as (officer, peer): what ties see is one bincount over them
        self._tie_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.cross_ties.indptr))
        self._tie_cols = self.cross_ties.indices.astype(np.int64)
        unit_types = list(structure.unit_types.values())
        unit_type = self.unit_type_of_unit[self.unit]
        self._unit_type = unit_type
        self._type_orders = [t.war_order_level for t in unit_types]
        self._typed_orders = any(order is not None for order in self._type_orders)
        self._benefit_multiplier = np.array([t.benefit_multiplier for t in unit_types])[unit_type]
        self._hardship_multiplier = np.array([t.order_hardship_multiplier for t in unit_types])[
            unit_type
        ]
        self._tiebreak = rng.random(n)
        self._unit_index = UnitIndex.of(self.unit, self.n_units)
        # drawn after everything the model had before tenure, so that switching the new
        # mechanisms off leaves the older draws as they were
        self.tenure = draw_tenure(population, self.rank, rng)
        self.taste = draw_tastes(n, config.decision.taste_sd, rng)
        # drawn after everything the model had before expectations, likewise
        expectations = config.expectations
        self.russia_anchor = self.attitudes["russia_alignment"].copy()
        self.belief_bias = (
            draw_belief_bias(n, expectations.prior_sd, rng) if expectations.enabled else np.zeros(n)
        )

        self._add_personnel(config)
        n = self.n_agents

        self.active = ~self.in_reserve
        self.jailed = np.zeros(n, dtype=bool)
        # whether the post's holder has ever been arrested: a person arrested again after
        # jail is counted once in `persons_arrested` (the next holder starts afresh)
        self.ever_arrested = np.zeros(n, dtype=bool)
        self.release_step = np.zeros(n, dtype=np.int64)
        self.initial = self.active.copy()
        self._initial_count = int(self.initial.sum())
        self.benefit_held = np.ones(n)
        self._benefits_lost = 0
        self.benefit_restore_step = np.zeros(n, dtype=np.int64)
        self.choice = np.zeros(n, dtype=np.int8)
        self._is_commander: np.ndarray | None = None
        self._enforcer_weight: np.ndarray | None = None
        self._enforcers = self._enforcers_unit = np.empty(0, dtype=np.int64)
        self.counts: dict[str, int] = dict.fromkeys(COUNT_COLUMNS, 0)
        self.cohort_departed: dict[str, int] = dict.fromkeys(DEPARTURES, 0)
        self._vacancies: list[np.ndarray] = []
        self.drivers: dict[str, float] = self._drivers_at(0)
        self.order_levels: int | np.ndarray = self._order_levels_at(0)
        self._mobilise()
        self.mean_detection_probability = 0.0
        self.perceived_strength = expit(logit(self.drivers["regime_stability"]) + self.belief_bias)
        self.private = np.zeros(n, dtype=np.int8)
        self._acts = self.choice.copy()
        self._acted = self.active.copy()
        self._seen: Seen | None = None
        self.seen_defection = 0.0
        self.same_group_share = same_group_share(self.unit, self.group, self.active)

        # officer views are built on first use (model.agents, officers, grid), as the grid
        # is: a run that never looks at them pays neither their set-up nor their removal
        self._views = views
        self._views_built = not views
        self._officers: list[Officer | None] = [None] * n
        self.stats: dict[str, float] = {}
        self._stat_blocks: frozenset[str] = STAT_BLOCKS
        self._update_stats()
        self.datacollector = mesa.DataCollector(
            model_reporters=self._reporters(record),
            agent_reporters=(
                {"choice": "choice", "group": "group", "rank": "rank", "unit": "unit"}
                if config.output.collect_agent_data
                else None
            ),
        )
        self.running = True
        self.datacollector.collect(self)
        if record is not None:
            self._stat_blocks = stat_blocks(record)

    def _add_personnel(self, config: SimulationConfig) -> None:
        """The men the officers command (personnel categories), after the officers' slots.

        Drawn after everything the officers need, and only when a category is present, so an
        officers-only config draws exactly the numbers it drew before categories existed.
        Sets the per-slot category arrays used by the step (``n_agents`` slots in all).
        """
        counts = config.personnel.counts(self.n_officers)
        n_officers = self.n_officers
        self.personnel_counts: dict[str, int] = {PERSONNEL[OFFICER]: n_officers, **counts}
        if not counts:
            self.n_agents = n_officers
            self.category = np.zeros(n_officers, dtype=np.int8)
            self.in_reserve = np.zeros(n_officers, dtype=bool)
            self._category_rules: CategoryRules | None = None
            self._call_order: dict[int, np.ndarray] = {}
            self._called: dict[int, int] = {}
            return
        rng = self.rng
        categories = config.personnel.categories
        drawn = draw_personnel(config.population, categories, counts, self.n_units, rng)
        extra = drawn.size
        self.n_agents = n = n_officers + extra
        self.category = np.concatenate([np.zeros(n_officers, dtype=np.int8), drawn.category])
        self.group = np.concatenate([self.group, drawn.group])
        self.rank = np.concatenate([self.rank, np.full(extra, ENLISTED, dtype=np.int8)])
        for name in ATTITUDES:
            self.attitudes[name] = np.concatenate([self.attitudes[name], drawn.attitudes[name]])
        self.unit = np.concatenate([self.unit, drawn.unit])
        self.cross_ties = pad_ties(self.cross_ties, n)
        self.cross_degree = np.concatenate([self.cross_degree, np.zeros(extra)])
        self._unit_type = self.unit_type_of_unit[self.unit]
        rules = CategoryRules.of(config, self.category)
        self._category_rules = rules
        self._benefit_multiplier = (
            np.concatenate([self._benefit_multiplier, np.ones(extra)]) * rules.benefit
        )
        self._hardship_multiplier = (
            np.concatenate([self._hardship_multiplier, np.ones(extra)]) * rules.hardship
        )
        self._tiebreak = np.concatenate([self._tiebreak, np.ones(extra)])
        self._unit_index = UnitIndex.of(self.unit, self.n_units)
        self.tenure = np.concatenate([self.tenure, drawn.tenure])
        if self.taste is not None:
            self.taste = np.hstack([self.taste, draw_tastes(extra, config.decision.taste_sd, rng)])
        self.russia_anchor = self.attitudes["russia_alignment"].copy()
        if config.expectations.enabled:
            bias = draw_belief_bias(extra, config.expectations.prior_sd, rng)
            self.belief_bias = np.concatenate([self.belief_bias, bias])
        else:
            self.belief_bias = np.zeros(n)
        self.in_reserve = rules.reserve[self.category]
        self._outside_enforcers = np.zeros(self.n_units)
        self._post_outside_enforcers(np.flatnonzero(~rules.is_officer & ~self.in_reserve))
        self._called = {}
        # who is called up first: a fixed random order within each reserve category
        self._call_order = {
            code: rng.permutation(np.flatnonzero(self.category == code))
            for code in np.flatnonzero(rules.reserve).tolist()
            if (self.category == code).any()
        }

    # ------------------------------------------------------------------ compatibility

    @property
    def recruited_by_russia(self) -> int:
        """Senior officers recruited by the Russian army so far."""
        return self.counts["recruited_by_russia"]

    @property
    def retired(self) -> int:
        """Officers retired so far."""
        return self.counts["retired"]

    @property
    def entered(self) -> int:
        """New officers from the academy so far."""
        return self.counts["entered"]

    # ------------------------------------------------------------------ schedule

    def step(self) -> None:
        """Advance one step (one month): drivers, attitudes, time, turnover, choices,
        consequences, data.

        A call past the config's horizon (``steps``) changes nothing and sets ``running`` to
        False. So a loop that steps while the model runs, as ``mesa.batch_run`` does, stops
        with the horizon's month as the last row of its data.
        """
        if self.steps > self.config.steps:
            self.running = False
            return
        self.drivers = self._drivers_at(self.steps)
        self.order_levels = self._order_levels_at(self.steps)
        self._drift_attitudes()
        self._pass_time()
        self._turnover()
        self._mobilise()
        self._decide()
        self._consequences()
        self._update_stats()
        self.datacollector.collect(self)

    def _drivers_at(self, step: int) -> dict[str, float]:
        drivers = self.config.drivers
        return {name: schedule_value(getattr(drivers, name), step) for name in DRIVER_NAMES}

    def _order_levels_at(self, step: int) -> int | np.ndarray:
        """The war-order level: one for everyone, or per officer when unit types have their
        own orders (structure.unit_types.<type>.war_order_level)."""
        level = int(self.drivers["war_order_level"])
        if not self._typed_orders:
            return level
        by_type = np.array(
            [
                level if order is None else int(schedule_value(order, step))
                for order in self._type_orders
            ],
            dtype=np.int64,
        )
        if (by_type == by_type[0]).all():
            return int(by_type[0])
        return by_type[self._unit_type]

    def _drift_attitudes(self) -> None:
        """Russia alignment moves towards a target: propaganda and contact pull it towards 1,
        disillusion towards 0, and mean reversion back to the officer's anchor (docs/ODD.md,
        'Attitude dynamics'). A convex combination while the rates sum to at most 1."""
        d = self.drivers
        pull = d["russian_propaganda"] + d["russian_contact"] * (1.0 - d["isolation"])
        push = d["disillusion"]
        reversion = self.config.attitude_dynamics.mean_reversion
        russia = self.attitudes["russia_alignment"]
        if pull or push or reversion:
            russia += pull * (1.0 - russia) - push * russia
            if reversion:
                russia -= reversion * (russia - self.russia_anchor)
            np.clip(russia, 0.0, 1.0, out=russia)

    def _pass_time(self) -> None:
        """A month of tenure for serving officers; ends of jail terms and benefit losses."""
        np.add(self.tenure, MONTH, out=self.tenure, where=self.active)
        now = self.steps
        if self.jailed.any():
            ending = np.flatnonzero(self.jailed & (self.release_step <= now))
            if ending.shape[0]:
                self._release(ending)
        if self._benefits_lost:
            restoring = (self.benefit_held < 1.0) & (self.benefit_restore_step <= now)
            self.benefit_held[restoring] = 1.0
            self._benefits_lost = int((self.benefit_held < 1.0).sum())

    def _release(self, slots: np.ndarray) -> None:
        """Jail terms end: the officers return to their posts with grievance raised, or are
        dismissed (consequences.return_after_jail)."""
        rules = self.config.consequences
        self.jailed[slots] = False
        if not rules.return_after_jail:
            self._vacate(slots, "dismissed")
            return
        raised = rules.jail_grievance_increase
        if raised:
            aversion = self.attitudes["war_aversion"]
            aversion[slots] += raised * (1.0 - aversion[slots])
            self.attitudes["regime_alignment"][slots] *= 1.0 - raised
        self._set_active(slots, True)
        self.choice[slots] = COMPLY
        self.counts["released"] += int(slots.shape[0])

    def _turnover(self) -> None:
        """Russian recruitment of seniors; retirement and promotion by tenure; academy intake."""
        rng = self.rng
        rate = self.drivers["russian_recruitment_rate"]
        if rate > 0:
            draws = rng.random(self.n_agents)
            recruited = (
                self.active
                & (self.rank == SENIOR)
                & (draws < rate * self.attitudes["russia_alignment"])
            )
            self._vacate(np.flatnonzero(recruited), "recruited_by_russia")
        turnover = self.config.turnover
        if not turnover.enabled:
            self._vacancies.clear()
            return
        retire_p = np.array([monthly(turnover.retirement_rate_per_year[r]) for r in RANKS])
        rules = self._category_rules
        if rules is not None:
            retire_p = np.append(retire_p, 0.0)  # the other categories do not retire
        entitled = self.tenure >= self.config.career.pension_service_years
        retiring = self.active & (
            (entitled & (rng.random(self.n_agents) < retire_p[self.rank]))
            | (self.tenure >= turnover.max_service_years)
        )
        if rules is not None:
            retiring &= rules.is_officer
            retiring |= self._end_of_term(rules)
        self._vacate(np.flatnonzero(retiring), "retired")
        self._promote()
        vacancies = np.concatenate(self._vacancies) if self._vacancies else np.empty(0, int)
        self._vacancies.clear()
        if rules is not None:
            self._replace(vacancies[~rules.is_officer[vacancies]], rules)
            vacancies = vacancies[rules.is_officer[vacancies]]
        self._recruit_from_academy(vacancies)

    def _end_of_term(self, rules: CategoryRules) -> np.ndarray:
        """Serving members at the end of their term (conscripts), discharged while the
        lawful way out is open for them: a stop-loss holds them."""
        term = rules.term_years[self.category]
        ending = self.active & (self.tenure >= term)
        if not ending.any():
            return ending
        route = self._resignation_open(lawful_only=False)
        return ending & route

    def _replace(self, vacancies: np.ndarray, rules: CategoryRules) -> None:
        """New members fill a share of the other categories' vacant posts (conscription,
        new contracts): the same category, drawn afresh, with no tenure."""
        if vacancies.shape[0] == 0:
            return
        share = rules.replacement_share[self.category[vacancies]]
        filled = vacancies[self.rng.random(vacancies.shape[0]) < share]
        categories = self.config.personnel.categories
        for code in np.unique(self.category[filled]).tolist():
            slots = filled[self.category[filled] == code]
            spec = categories[PERSONNEL[code]]
            groups, attitudes = draw_category_members(
                self.config.population, spec, slots.shape[0], self.rng
            )
            self._enter(slots, groups, attitudes, np.full(slots.shape[0], ENLISTED, np.int8))

    def _post_outside_enforcers(self, slots: np.ndarray) -> None:
        """Outside enforcers (military police, counter-intelligence) come with the men posted
        to a unit: personnel.external_enforcers_per_100 per 100 of them (by establishment,
        whether or not they still serve)."""
        per_member = self.config.personnel.external_enforcers_per_100 / 100.0
        if per_member and slots.shape[0]:
            self._outside_enforcers += per_member * np.bincount(
                self.unit[slots], minlength=self.n_units
            )

    def _mobilise(self) -> None:
        """The mobilisation driver calls up reservists and territorial defence: each reserve
        category's share called so far rises to the driver's value (never falls); those
        called join their units, in a fixed random order drawn at set-up."""
        if not self._call_order:
            return
        wanted_share = self.drivers["mobilisation"]
        for code, order in self._call_order.items():
            called = self._called.get(code, 0)
            wanted = int(np.floor(wanted_share * order.shape[0] + 0.5))
            if wanted <= called:
                continue
            slots = order[called:wanted]
            self._called[code] = wanted
            self.in_reserve[slots] = False
            self._post_outside_enforcers(slots)
            self._set_active(slots, True)
            self.choice[slots] = COMPLY
            self.counts["mobilised"] += int(slots.shape[0])
            self._make_views(slots)

    def _structure_changed(self) -> None:
        """Ranks or groups changed (promotion, new officers): commanders and enforcer weights
        are recomputed when next needed (once, however many changes a step brings)."""
        self._is_commander = None
        self._enforcer_weight = None

    def _set_active(self, slots: np.ndarray, serving: bool) -> None:
        """Officers start or stop serving in their units (leaving, arrest, return, entry).

        Commanders are recomputed only if one of the changed officers left a command or
        someone arrived.
        """
        changed = slots[self.active[slots] != serving]
        if changed.shape[0] == 0:
            return
        rules = self._category_rules
        if serving:  # an officer who arrives may take a command; soldiers never do
            if rules is None or rules.is_officer[changed].any():
                self._structure_changed()
        elif self._is_commander is None or self._is_commander[changed].any():
            self._structure_changed()
        self.active[changed] = serving

    @property
    def is_commander(self) -> np.ndarray:
        """Whether each slot holds its unit's commander: its most senior serving officer."""
        if self._is_commander is None:
            serving = self.active
            if self._category_rules is not None:
                serving = serving & self._category_rules.is_officer
            self._is_commander = choose_commanders(
                self.unit, self.rank, serving, self._tiebreak, self._unit_index
            )
        return self._is_commander

    def _vacate(self, slots: np.ndarray, route: str) -> None:
        """Officers leave for good by `route` (one of DEPARTURES); their posts fall vacant."""
        if slots.shape[0] == 0:
            return
        if self._views_built:
            officers = self._officers
            for slot in slots.tolist():
                officer = officers[slot]
                if officer is not None:
                    officer.remove()
                    officers[slot] = None
        self.counts[route] += int(slots.shape[0])
        self.cohort_departed[route] += int(self.initial[slots].sum())
        self._set_active(slots, False)
        self.jailed[slots] = False
        self.ever_arrested[slots] = False
        self.initial[slots] = False
        self.choice[slots] = COMPLY
        self._vacancies.append(slots)

    def _promote(self) -> None:
        turnover = self.config.turnover
        rates, least = turnover.promotion_rate_per_year, turnover.promotion_min_years
        draws = self.rng.random(self.n_agents)
        field = self.active & (self.rank == FIELD) & (self.tenure >= least["field"])
        junior = self.active & (self.rank == JUNIOR) & (self.tenure >= least["junior"])
        to_senior = field & (draws < monthly(rates["field"]))
        to_field = junior & (draws < monthly(rates["junior"]))
        self.rank[to_senior] = SENIOR
        self.rank[to_field] = FIELD
        if to_senior.any() or to_field.any():
            self._structure_changed()

    def _recruit_from_academy(self, vacancies: np.ndarray) -> None:
        """Fill a share of the vacant posts with young, more nation-oriented juniors."""
        turnover = self.config.turnover
        filled = vacancies[self.rng.random(vacancies.shape[0]) < turnover.academy_fill_share]
        if filled.shape[0] == 0:
            return
        cohort = turnover.new_cohort
        probabilities = np.array([cohort.group_shares[g] for g in GROUPS])
        groups = self.rng.choice(len(GROUPS), size=filled.shape[0], p=probabilities).astype(np.int8)
        ranks = np.full(filled.shape[0], JUNIOR, dtype=np.int8)
        fresh = draw_attitudes(
            self.config.population, groups, ranks, self.rng, cohort.russia_alignment_shift
        )
        self._enter(filled, groups, fresh, ranks)

    def _enter(
        self,
        filled: np.ndarray,
        groups: np.ndarray,
        fresh: dict[str, np.ndarray],
        ranks: np.ndarray,
    ) -> None:
        """New members take vacant posts `filled`: their groups, attitudes and ranks, no
        tenure, full benefits, fresh tastes and beliefs (the academy's officers, or new
        conscripts and contract soldiers)."""
        for name in ATTITUDES:
            self.attitudes[name][filled] = fresh[name]
        self.group[filled] = groups
        self.rank[filled] = ranks
        if (ranks != ENLISTED).any():
            self._structure_changed()
        self._set_active(filled, True)
        self.choice[filled] = COMPLY
        self.tenure[filled] = 0.0
        self.benefit_held[filled] = 1.0
        if self.taste is not None:
            tastes = draw_tastes(filled.shape[0], self.config.decision.taste_sd, self.rng)
            self.taste[:, filled] = tastes
        self.russia_anchor[filled] = self.attitudes["russia_alignment"][filled]
        expectations = self.config.expectations
        if expectations.enabled:
            self.belief_bias[filled] = draw_belief_bias(
                filled.shape[0], expectations.prior_sd, self.rng
            )
            self.perceived_strength[filled] = expit(
                logit(self.drivers["regime_stability"]) + self.belief_bias[filled]
            )
        self.counts["entered"] += int(filled.shape[0])
        self._make_views(filled)

    def _make_views(self, slots: np.ndarray) -> None:
        """Mesa views of members who join the force after the views were built."""
        for slot in slots if self._views and self._views_built else ():
            view = self._officers[slot] = self._view(int(slot))
            if self._grid is not None:
                view.cell = self._grid_cells[slot]

    def _view(self, slot: int) -> Officer:
        """The Mesa agent of one slot: an Officer, or a Soldier for the other categories."""
        return Officer(self, slot) if self.category[slot] == OFFICER else Soldier(self, slot)

    # ------------------------------------------------------------------ choice

    def _decide(self) -> None:
        """Every serving officer updates his beliefs and chooses: synchronously from the
        previous step's state, or (random activation) one position of every unit after
        another. His public act and his private inclination are both kept (the inclination
        only while a recorded column needs it: it does not feed back into anything).
        Synchronously, the numba kernels compute the same numbers when performance.kernel
        chooses them (random activation always runs the numpy code)."""
        keep_private = "private" in self._stat_blocks
        if self.config.decision.activation == "random":
            self._update_beliefs(self._observe())
            self._decide_in_random_order(keep_private)
        else:
            self._seen = self._observe()
            self._update_beliefs(self._seen)
            if self._uses_numba():
                new_choice, private, detection = self._decide_with_kernels(keep_private)
            else:
                parts: dict[str, np.ndarray] | None = {} if keep_private else None
                utilities, detection = self._utilities(parts=parts)
                self._seen = None
                new_choice = choose(utilities, self.config.decision.temperature, self.rng)
                new_choice[~self.active] = COMPLY
                private = None if parts is None else private_inclination(utilities, parts)
            active_count = max(int(self.active.sum()), 1)
            self.mean_detection_probability = float(detection[self.active].sum() / active_count)
            self.choice = new_choice
            if private is not None:
                self.private = private
        if keep_private:
            self.private[~self.active] = COMPLY
        self._acts = self.choice.copy()
        self._acted = self.active.copy()

    def _uses_numba(self) -> bool:
        """Whether this step's hot parts run as numba kernels (performance.kernel)."""
        return uses_numba(self.config.performance, self.n_agents)

    def _decide_with_kernels(
        self, keep_private: bool
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(choices, private inclinations or None, detection) from the fused kernels: the
        numbers of _utilities, choose and private_inclination, with the same draws."""
        from simulation.model import kernels

        situation = self.situation()
        self._seen = None
        decision = self.config.decision
        temperature = decision.temperature
        draws = self.rng.random(self.n_agents) if temperature > 0 else None
        choice, private, detection = kernels.decide(
            self.attitudes,
            situation,
            decision,
            self.config.exit,
            self.config.consequences.evader_sanctions,
            temperature,
            draws,
            self.active,
            keep_private,
        )
        return choice, private if keep_private else None, detection

    def _utilities(
        self, slots: np.ndarray | None = None, parts: dict[str, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Utilities of every action for every slot (or for `slots`), and the refusal
        detection probability (with `parts`, the fear and social terms too)."""
        situation = self.situation() if slots is None else self.situation(slots)
        decision = self.config.decision
        attitudes = (
            self.attitudes
            if slots is None
            else {name: values[slots] for name, values in self.attitudes.items()}
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
            self.config.exit,
            self.config.consequences.evader_sanctions,
            parts,
        )
        return utilities, detection

    def _decide_in_random_order(self, keep_private: bool = True) -> None:
        """Random activation (Epstein): within each unit officers decide one after another in
        a fresh random order, each seeing the choices of those before him (and, with
        `keep_private`, their private inclinations are kept).

        Units do not see each other within a step when there are no cross-unit ties, so the
        k-th officer of every unit can decide at the same time: the loop runs over positions
        in a unit (unit_size iterations), each vectorised over all units.
        """
        order = np.lexsort((self.rng.random(self.n_agents), self.unit))
        starts = np.searchsorted(self.unit[order], np.arange(self.n_units))
        position = np.empty(self.n_agents, dtype=np.int64)
        position[order] = np.arange(self.n_agents) - starts[self.unit[order]]
        detection_sum = 0.0
        choice = self.choice.copy()
        choice[~self.active] = COMPLY
        self.choice = choice
        for k in range(int(position.max()) + 1):
            movers = np.flatnonzero(self.active & (position == k))
            if movers.shape[0] == 0:
                continue
            parts: dict[str, np.ndarray] | None = {} if keep_private else None
            utilities, detection = self._utilities(movers, parts)
            self.choice[movers] = choose(utilities, self.config.decision.temperature, self.rng)
            if parts is not None:
                self.private[movers] = private_inclination(utilities, parts)
            detection_sum += float(detection.sum())
        self.mean_detection_probability = detection_sum / max(int(self.active.sum()), 1)

    # ------------------------------------------------------------------ expectations

    def _observe(self) -> Seen:
        """What each officer saw of his peers' public acts last month.

        Serving officers are seen by what they do now; those who left the unit since the
        last decision (exit, arrest, dismissal) by the act that made them leave. Refusal and
        exit are seen for certain, evasion with decision.evasion_peer_visibility: a share
        of peers seen taking an action, per action, in his unit and among his cross-unit
        ties, and the share of the whole force seen defecting (rumours). Counted by a numba
        kernel when performance.kernel chooses it (the same counts)."""
        visibility = np.array([0.0, self.config.decision.evasion_peer_visibility, 1.0, 1.0])
        if self._uses_numba():
            from simulation.model import kernels

            ties = self.cross_ties if self.cross_ties.nnz else None
            table, unit_count, unit_peers, ties_count, tie_peers, seen_count = kernels.observe(
                self.unit,
                self.n_units,
                self.choice,
                self._acts,
                self.active,
                self._acted,
                float(visibility[EVADE]),
                None if ties is None else ties.indptr,
                None if ties is None else ties.indices,
            )
            return self._seen_by_all(
                table, seen_count, visibility, unit_count, unit_peers, ties_count, tie_peers
            )
        active = self.active
        gone = self._acted & ~active
        seen = active | gone
        acts = self.choice if not gone.any() else np.where(active, self.choice, self._acts)
        codes = np.where(seen, acts, len(ACTIONS)).astype(np.int64)
        table = np.bincount(
            self.unit * (len(ACTIONS) + 1) + codes,
            minlength=self.n_units * (len(ACTIONS) + 1),
        ).reshape(self.n_units, len(ACTIONS) + 1)
        unit_seen = table[:, : len(ACTIONS)].sum(axis=1)
        own_codes = np.where(seen, acts, 0).astype(np.int64)
        unit_peers = (unit_seen[self.unit] - seen).astype(float)
        unit_count = np.empty((len(ACTIONS), self.n_agents))
        unit_count[COMPLY] = 0.0
        for action in (EVADE, REFUSE, EXIT):  # own_codes is comply (0) where unseen
            unit_count[action] = table[:, action][self.unit] - (own_codes == action)
            if visibility[action] != 1.0:
                unit_count[action] *= visibility[action]
        ties_count = tie_peers = None
        if self.cross_ties.nnz:  # ties are 0/1: count each peer's seen act per officer
            n = self.n_agents
            per_code = np.bincount(
                codes[self._tie_cols] * n + self._tie_rows, minlength=(len(ACTIONS) + 1) * n
            ).reshape(len(ACTIONS) + 1, n)
            tie_peers = per_code[: len(ACTIONS)].sum(axis=0).astype(float)
            ties_count = per_code[: len(ACTIONS)].astype(float)
            ties_count[COMPLY] = 0.0
            for action in (EVADE, REFUSE, EXIT):
                if visibility[action] != 1.0:
                    ties_count[action] *= visibility[action]
        return self._seen_by_all(
            table, int(seen.sum()), visibility, unit_count, unit_peers, ties_count, tie_peers
        )

    def _seen_by_all(
        self,
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
            table[:, EVADE].sum() * visibility[EVADE]
            + table[:, REFUSE].sum()
            + table[:, EXIT].sum()
        )
        army = float(defecting / seen_count) if seen_count else 0.0
        self.seen_defection = army
        return Seen(unit_count, unit_peers, ties_count, tie_peers, army)

    def _update_beliefs(self, seen: Seen) -> None:
        """Perceived regime strength moves towards this month's evidence: the
        regime_stability driver, lowered by the defection he saw (docs/ODD.md,
        'Expectations'); without beliefs it is the driver for everyone."""
        expectations = self.config.expectations
        stability = self.drivers["regime_stability"]
        if not expectations.enabled:
            self.perceived_strength = np.full(self.n_agents, stability)
            return
        if self._uses_numba():
            from simulation.model import kernels

            rumour = None
            if expectations.rumour_weight and expectations.rumour_noise:
                rumour = self.rng.normal(0.0, expectations.rumour_noise, self.n_agents)
            kernels.update_beliefs(
                self.perceived_strength,
                seen.unit,
                seen.unit_peers,
                seen.ties,
                seen.tie_peers,
                seen.army,
                rumour,
                self.belief_bias,
                float(logit(stability)),
                expectations.unit_weight,
                expectations.tie_weight,
                expectations.rumour_weight,
                expectations.defection_weight,
                expectations.update_rate,
            )
            return
        evidence = self._seen_defection(seen, expectations)
        # target = expit(logit(stability) + bias - defection_weight * evidence), in place
        target = self.belief_bias + logit(stability)
        evidence *= expectations.defection_weight
        target -= evidence
        np.negative(target, out=target)
        np.exp(target, out=target)
        target += 1.0
        np.divide(1.0, target, out=target)
        belief = self.perceived_strength
        target -= belief
        target *= expectations.update_rate
        belief += target

    def _seen_defection(self, seen: Seen, expectations: Any) -> np.ndarray:
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
                rumour = self.rng.normal(0.0, expectations.rumour_noise, self.n_agents)
                rumour += seen.army
                np.clip(rumour, 0.0, 1.0, out=rumour)
                rumour *= expectations.rumour_weight
                evidence += rumour
            else:
                evidence += expectations.rumour_weight * seen.army
        np.maximum(total, 1e-12, out=total)
        evidence /= total
        return evidence

    # ------------------------------------------------------------------ consequences

    def _consequences(self) -> None:
        """Exits leave; detection of this month's acts brings arrest, jail, sanctions."""
        rng = self.rng
        choice = self.choice
        exiting = np.flatnonzero(choice == EXIT)
        rules = self.config.consequences
        if not rules.enabled:
            if exiting.shape[0]:
                route_open = np.broadcast_to(self._resignation_open(), (self.n_agents,))
                self._vacate(exiting[route_open[exiting]], "resigned")
                self._vacate(exiting[~route_open[exiting]], "deserted")
            return
        refusing = np.flatnonzero(choice == REFUSE)
        evading = np.flatnonzero(choice == EVADE)
        if exiting.shape[0] == 0 and refusing.shape[0] == 0 and evading.shape[0] == 0:
            return
        acting = np.concatenate([exiting, refusing, evading])
        detection = np.empty(self.n_agents)
        detection[acting] = self._detection_now(acting)
        arrests: list[np.ndarray] = []
        if exiting.shape[0]:
            route_open = self._resignation_open()
            if isinstance(route_open, np.ndarray):
                self._vacate(exiting[route_open[exiting]], "resigned")
                exiting = exiting[~route_open[exiting]]
            elif route_open:
                self._vacate(exiting, "resigned")
                exiting = exiting[:0]
            if exiting.shape[0]:
                visibility = self.config.exit.desertion_visibility
                caught = rng.random(exiting.shape[0]) < visibility * detection[exiting]
                self.counts["caught_deserting"] += int(caught.sum())
                arrests.append(exiting[caught])
                self._vacate(exiting[~caught], "deserted")
        if refusing.shape[0]:
            if rules.arrest_rule == "capacity":
                arrests.append(self._arrests_by_capacity(refusing))
            else:
                detected = refusing[rng.random(refusing.shape[0]) < detection[refusing]]
                arrested = rng.random(detected.shape[0]) < rules.arrest_probability
                arrests.append(detected[arrested])
                self._vacate(detected[~arrested], "dismissed")
        if evading.shape[0]:
            visibility = self.config.decision.evasion_visibility
            detected = evading[rng.random(evading.shape[0]) < visibility * detection[evading]]
            self._sanction_evaders(detected)
        if arrests:
            self._arrest(np.concatenate(arrests))

    def _resignation_open(self, lawful_only: bool = True) -> bool | np.ndarray:
        """Resignation is open unless the driver closes it or the stop-loss level is reached
        (per officer when unit types have their own orders). With personnel categories it is
        per slot: only those who may resign at all can (`lawful_only`; conscripts and
        mobilised reservists may not), and stop-loss binds only the categories it binds."""
        if self.drivers["resignation_open"] < 0.5:
            return False
        below = self.order_levels < self.config.exit.stop_loss_from_level
        rules = self._category_rules
        if rules is None:
            return below if isinstance(below, np.ndarray) else bool(below)
        route = below | ~rules.stop_loss
        if lawful_only:
            route = route & rules.can_resign
        return route

    def _unit_enforcement(self) -> tuple[np.ndarray, np.ndarray]:
        """Enforcement each officer contributes now, and each unit's total (before D):
        complying complicit officers enforce, commanders with their own weight."""
        if self._enforcer_weight is None:
            decision = self.config.decision
            weight = np.where(
                self.is_commander,
                decision.commander_enforcer_weight,
                decision.complicit_enforcer_weight,
            )
            loyal = self.group == COMPLICIT
            rules = self._category_rules
            if rules is not None:  # the other categories' loyal members with their own weight
                weight = np.where(rules.is_officer, weight, rules.enforcer_weight)
            self._enforcer_weight = weight * loyal
            # only complicit officers enforce: counted over them alone (the same sums, in
            # slot order, without the zeros)
            self._enforcers = np.flatnonzero(self._enforcer_weight)
            self._enforcers_unit = self.unit[self._enforcers]
        enforcers = self._enforcers
        own_enforcers = self._enforcer_weight[enforcers] * (
            (self.choice[enforcers] == COMPLY) & self.active[enforcers]
        )
        own = np.zeros(self.n_agents)
        own[enforcers] = own_enforcers
        by_unit = np.bincount(self._enforcers_unit, own_enforcers, minlength=self.n_units)
        if self._category_rules is not None:
            by_unit += self._outside_enforcers
        return own, by_unit

    def _detection_now(self, slots: np.ndarray) -> np.ndarray:
        """Epstein's detection probability of `slots` on this month's acts (after the
        choices): the enforcers and non-compliant peers of their units now."""
        decision = self.config.decision
        own, unit_enforcement = self._unit_enforcement()
        unit = self.unit[slots]
        enforcers = self.drivers["detection_capacity"] * (
            decision.external_enforcers_per_unit + unit_enforcement[unit] - own[slots]
        )
        noncompliant = ((self.choice == EVADE) | (self.choice == REFUSE)) & self.active
        unit_noncompliant = self._unit_count(noncompliant)
        peers = unit_noncompliant[unit] - noncompliant[slots] + 1.0
        return detection_probability(
            enforcers, peers, decision.detection_steepness, decision.detection_ratio_rounding
        )

    def _arrests_by_capacity(self, refusing: np.ndarray) -> np.ndarray:
        """Epstein's cops: each enforcer of a unit arrests one of its refusers this month
        (a fractional enforcer with that probability), chosen at random."""
        _, unit_enforcement = self._unit_enforcement()
        capacity = self.drivers["detection_capacity"] * (
            self.config.decision.external_enforcers_per_unit + unit_enforcement
        )
        whole = np.floor(capacity)
        capacity = whole + (self.rng.random(self.n_units) < capacity - whole)
        units = self.unit[refusing]
        order = np.lexsort((self.rng.random(refusing.shape[0]), units))
        ordered_units = units[order]
        starts = np.searchsorted(ordered_units, ordered_units, side="left")
        rank_in_unit = np.arange(order.shape[0]) - starts
        return refusing[order[rank_in_unit < capacity[ordered_units]]]

    def _arrest(self, slots: np.ndarray) -> None:
        """Arrested officers leave their units for their jail term (0: dismissed at once)."""
        if slots.shape[0] == 0:
            return
        rules = self.config.consequences
        self.counts["arrested"] += int(slots.shape[0])
        self.counts["persons_arrested"] += int((~self.ever_arrested[slots]).sum())
        self.ever_arrested[slots] = True
        if rules.jail_term_months == 0:
            self._vacate(slots, "dismissed")
            return
        if rules.jail_term_draw == "uniform":
            terms = self.rng.integers(1, rules.jail_term_months + 1, slots.shape[0])
        else:
            terms = np.full(slots.shape[0], rules.jail_term_months)
        self._set_active(slots, False)
        self.jailed[slots] = True
        self.choice[slots] = COMPLY
        self.release_step[slots] = self.steps + terms + 1

    def _sanction_evaders(self, slots: np.ndarray) -> None:
        """Detected evaders: a reprimand, a loss of benefits, or dismissal."""
        if slots.shape[0] == 0:
            return
        sanctions = self.config.consequences.evader_sanctions
        draws = self.rng.random(slots.shape[0])
        reprimanded = draws < sanctions.reprimand
        dismissed = draws >= sanctions.reprimand + sanctions.benefit_loss
        losing = ~reprimanded & ~dismissed
        self.counts["reprimanded"] += int(reprimanded.sum())
        self.counts["lost_benefits"] += int(losing.sum())
        lost = slots[losing]
        self.benefit_held[lost] = 0.0
        self._benefits_lost += int(lost.shape[0])
        self.benefit_restore_step[lost] = (
            self.steps + self.config.consequences.benefit_loss_months + 1
        )
        self._vacate(slots[dismissed], "dismissed")

    # ------------------------------------------------------------------ neighbourhoods

    def situation(self, slots: np.ndarray | None = None) -> Situation:
        """What each officer faces now: enforcers, non-compliant peers, what he saw his peers
        do, his perceived regime strength, his career stake and the exit routes open to him
        (for `slots` only, if given)."""
        d = self.drivers
        decision = self.config.decision
        active = self.active
        noncompliant = (((self.choice == EVADE) | (self.choice == REFUSE)) & active).astype(float)
        own_enforcement, unit_enforcement = self._unit_enforcement()
        unit_noncompliant = self._unit_count(noncompliant)
        unit = self.unit
        if slots is not None:
            unit = unit[slots]
            noncompliant, own_enforcement = noncompliant[slots], own_enforcement[slots]
        enforcers = d["detection_capacity"] * (
            decision.external_enforcers_per_unit + unit_enforcement[unit] - own_enforcement
        )
        noncompliant_peers = unit_noncompliant[unit] - noncompliant + 1.0

        seen = self._seen if self._seen is not None else self._observe()
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
            if self._category_rules is not None and self.config.personnel.leader_example_weight:
                self._follow_officers(seen_unit, slots)
        has_ties = None if tie_peers is None else tie_peers > 0

        career = self.config.career
        tenure = self.tenure if slots is None else self.tenure[slots]
        size = tenure.shape[0]
        level = self.order_levels
        resignation_open = self._resignation_open()
        if isinstance(level, np.ndarray) and slots is not None:
            level = level[slots]
            if isinstance(resignation_open, np.ndarray):
                resignation_open = resignation_open[slots]
        desertion_possible: np.ndarray | bool = False
        if self.config.exit.enabled and not np.all(resignation_open):
            desertion_possible = bernoulli_mask(size, d["desertion_opportunity"], self.rng)
        benefit = self._benefit_multiplier
        if self._benefits_lost:
            benefit = benefit * self.benefit_held
        hardship = self._hardship_multiplier
        taste = self.taste
        strength: np.ndarray | None = (
            self.perceived_strength if self.config.expectations.enabled else None
        )
        if slots is not None:
            benefit, hardship = benefit[slots], hardship[slots]
            taste = None if taste is None else taste[:, slots]
            strength = None if strength is None else strength[slots]
        training_debt = np.maximum(1.0 - tenure / career.training_obligation_years, 0.0)
        pension_stake = np.minimum(tenure / career.pension_service_years, 1.0)
        punishment: float | np.ndarray = d["punishment_severity"]
        rules = self._category_rules
        if rules is not None:  # only officers owe the academy; not everyone earns a pension
            training_debt *= rules.debt if slots is None else rules.debt[slots]
            pension_stake *= rules.pension if slots is None else rules.pension[slots]
            if (rules.punishment != 1.0).any():
                weighed = rules.punishment if slots is None else rules.punishment[slots]
                punishment = punishment * weighed
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
            resignation_open=resignation_open,
            desertion_possible=desertion_possible,
            taste=taste,
            seen_in_ties=seen_ties,
            has_ties=has_ties,
            perceived_strength=strength,
            career_dependence=self.config.expectations.career_dependence,
        )

    def _follow_officers(self, seen_unit: np.ndarray, slots: np.ndarray | None) -> None:
        """Soldiers follow their officers' example: what a soldier saw in his unit becomes
        (1 - w) x the share of all his unit peers + w x the share of the unit's officers,
        per action (w = personnel.leader_example_weight), in units where he saw officers.
        `seen_unit` holds shares, shape (4, len(slots)), and is changed in place."""
        weight = self.config.personnel.leader_example_weight
        example, has_officers = self._officer_example()
        unit = self.unit if slots is None else self.unit[slots]
        soldier = ~self._category_rules.is_officer  # type: ignore[union-attr]
        if slots is not None:
            soldier = soldier[slots]
        following = np.flatnonzero(soldier & has_officers[unit])
        units = unit[following]
        for action in (EVADE, REFUSE, EXIT):
            row = seen_unit[action]
            row[following] = (1.0 - weight) * row[following] + weight * example[action][units]

    def _officer_example(self) -> tuple[np.ndarray, np.ndarray]:
        """Share of each unit's officers seen taking each action last month (shape (4,
        n_units); evasion seen with decision.evasion_peer_visibility), as officers see each
        other (_observe), and whether the unit had officers to see. Officers hold the first
        n_officers slots."""
        officers = slice(0, self.n_officers)
        active = self.active[officers]
        gone = self._acted[officers] & ~active
        acts = np.where(active, self.choice[officers], self._acts[officers])
        codes = np.where(active | gone, acts, len(ACTIONS)).astype(np.int64)
        width = len(ACTIONS) + 1
        table = np.bincount(
            self.unit[officers] * width + codes, minlength=self.n_units * width
        ).reshape(self.n_units, width)
        seen = table[:, : len(ACTIONS)].sum(axis=1)
        example = table[:, : len(ACTIONS)].T / np.maximum(seen, 1)
        example[COMPLY] = 0.0
        example[EVADE] *= self.config.decision.evasion_peer_visibility
        return example, seen > 0

    def _unit_count(self, flags: np.ndarray) -> np.ndarray:
        """Number of flagged officers (flags 0 or 1) in each unit: counted over the flagged
        ones only when they are few (a bincount over all officers otherwise)."""
        flagged = np.flatnonzero(flags)
        if flagged.shape[0] * 4 < flags.shape[0]:
            return np.bincount(self.unit[flagged], minlength=self.n_units).astype(float)
        return np.bincount(self.unit, flags, minlength=self.n_units)

    # ------------------------------------------------------------------ data

    def _update_stats(self) -> None:
        """Counts and shares of each choice overall, by group and by rank (over the serving
        force); cohort shares (over the force at step 0); counts of consequences and exits.
        With `record`, the blocks no recorded column needs (ranks, cohort, means, private) are
        skipped after step 0 (:func:`stat_blocks`)."""
        stats: dict[str, float] = {}
        active = self.active
        # one count of (initial, private, choice, group, rank) over the serving force gives
        # every table below
        # (and personnel category: groups and ranks are the officers')
        everyone = self._serving_table()
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
        if "ranks" in self._stat_blocks:
            categories.append((table.sum(axis=(0, 1, 3)).T, RANKS, np.nan))
        if self._category_rules is not None:
            present = [PERSONNEL.index(name) for name in self.personnel_counts]
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

        start = self._initial_count
        if "cohort" in self._stat_blocks:
            serving_initial = everyone[1].sum(axis=(0, 2, 3, 4))[:3]
            cohort = dict(zip(CHOICES, serving_initial.tolist(), strict=True))
            cohort["jailed"] = int((self.jailed & self.initial).sum())
            cohort.update(self.cohort_departed)
            for state in COHORT_STATES:
                stats[f"cohort_{state}"] = cohort[state] / start
        counts = self.counts
        counts["jailed"] = int(self.jailed.sum())
        counts["exited"] = counts["resigned"] + counts["deserted"]
        # everyone who ever served: each person counted once (the force at step 0, the
        # mobilised, the entrants), so every cumulative share below is at most 1
        served = start + counts["mobilised"] + counts["entered"]
        counts["served"] = served
        stats.update(counts)
        persons = {**counts, "arrested": counts["persons_arrested"]}
        for name in ("arrested", "dismissed", "resigned", "deserted", "exited", "jailed"):
            stats[f"{name}_share"] = persons[name] / served if served else np.nan

        if "means" in self._stat_blocks:
            # the serving officers' values gathered once, in slot order (the same sums)
            serving = None if total == self.n_agents else np.flatnonzero(active)

            def mean_over_serving(values: np.ndarray) -> float:
                if not total:
                    return 0.0
                return float((values if serving is None else values[serving]).mean())

            attitudes = self.attitudes
            if serving is not None:
                attitudes = {
                    name: attitudes[name][serving]
                    for name in ("russia_alignment", "regime_alignment")
                }
            stats["mean_russia_alignment"] = mean_over_serving(self.attitudes["russia_alignment"])
            weight = self.config.decision.russia_alignment_weight
            stats["mean_alignment"] = float(alignment(attitudes, weight).mean()) if total else 0.0
            stats["mean_tenure_years"] = mean_over_serving(self.tenure)
            stats["mean_perceived_strength"] = mean_over_serving(self.perceived_strength)
        stats["seen_defection"] = self.seen_defection
        if "private" in self._stat_blocks:
            pairs = everyone.sum(axis=(0, 3, 4, 5))
            inclined = pairs.sum(axis=1)
            for code, name in zip((EVADE, REFUSE, EXIT), PRIVATE_COLUMNS, strict=True):
                stats[name] = inclined[code] / total if total else 0.0
            hidden = int(pairs[MORE_DEFIANT].sum())
            stats["hidden_dissent"] = hidden / total if total else 0.0
            falsifying = total - int(np.trace(pairs))
            stats["falsifying"] = falsifying / total if total else 0.0
        self.stats = stats

    def _serving_table(self) -> np.ndarray:
        """The serving force counted by (initial, private inclination, choice, group, rank,
        personnel category): shape (2, 4, 4, 3, 3, 1) for officers alone, (2, 4, 4, 3, 4, 6)
        with other categories (rank 3: not an officer), from one bincount over a small
        integer key (instead of one boolean selection and one count per table)."""
        actions, groups = len(ACTIONS), len(GROUPS)
        categorised = self._category_rules is not None
        ranks = len(RANKS) + 1 if categorised else len(RANKS)
        personnel = len(PERSONNEL) if categorised else 1
        shape = (2, actions, actions, groups, ranks, personnel)
        size = int(np.prod(shape))
        key = self.initial.astype(np.uint16)
        columns = [
            (self.private, actions),
            (self.choice, actions),
            (self.group, groups),
            (self.rank, ranks),
        ]
        if categorised:
            columns.append((self.category, personnel))
        for values, width in columns:
            key *= width
            key += values.view(np.uint8)  # small non-negative codes
        key[~self.active] = size  # one extra bin for those not serving
        return np.bincount(key, minlength=size + 1)[:size].reshape(shape)

    def _reporters(self, record: Sequence[str] | None = None) -> dict[str, Any]:
        """Model reporters: every column, or the columns in `record` (in that order)."""
        reporters = self._all_reporters()
        if record is None:
            return reporters
        unknown = [name for name in record if name not in reporters]
        if unknown:
            raise ArgumentError(f"unknown column(s) {', '.join(unknown)}", "record")
        return {name: reporters[name] for name in record}

    def _all_reporters(self) -> dict[str, Any]:
        def reporter(key: str) -> Any:
            return lambda model: model.stats[key]

        def driver(key: str) -> Any:
            return lambda model: model.drivers[key]

        keys = list(self.stats)
        reporters: dict[str, Any] = {key: reporter(key) for key in keys}
        reporters.update({name: driver(name) for name in DRIVER_NAMES})
        reporters["mean_detection_probability"] = lambda model: model.mean_detection_probability
        return reporters

    # ------------------------------------------------------------------ space

    @property
    def officers(self) -> list[Officer]:
        """The officers of the force (serving or in jail), in slot order."""
        self._build_views()
        return [officer for officer in self._officers if officer is not None]

    def _build_views(self) -> None:
        """Make every officer still in the force (serving or in jail) a Mesa agent, once;
        afterwards views follow departures and entries as they happen."""
        if getattr(self, "_views_built", True):  # done, off, or Mesa's own set-up
            return
        self._views_built = True
        cells = self._grid_cells if self._grid is not None else None
        for slot in np.flatnonzero(self.active | self.jailed).tolist():
            officer = self._officers[slot] = self._view(slot)
            if cells is not None:
                officer.cell = cells[slot]

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """Mesa's set of all agents: the officer views (built on first use)."""
        self._build_views()
        return super().agents

    @property
    def agents_by_type(self) -> dict[type, mesa.agent.AgentSet]:
        """Mesa's agents by type (officer views built on first use)."""
        self._build_views()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """Mesa's agent types (officer views built on first use)."""
        self._build_views()
        return super().agent_types

    def remove_all_agents(self) -> None:
        """Mesa's removal of every agent: the officer views too (none are built later)."""
        self._views_built = True
        super().remove_all_agents()
        self._officers = [None] * self.n_agents

    @property
    def grid(self) -> Any:
        """A Mesa grid of units (built on first use, for the browser view).

        Units are laid out as square blocks, officers of a unit side by side, with one
        empty row and column between units.
        """
        if self._grid is None:
            self._build_views()
            self._grid, self._grid_cells = self._build_grid()
        return self._grid

    def _build_grid(self) -> tuple[Any, list[Any]]:
        from mesa.discrete_space import OrthogonalMooreGrid

        members = int(np.bincount(self.unit, minlength=self.n_units).max())
        block = int(np.ceil(np.sqrt(max(members, self.config.structure.unit_size))))
        units_per_row = int(np.ceil(np.sqrt(self.n_units)))
        unit_rows = int(np.ceil(self.n_units / units_per_row))
        width = units_per_row * (block + 1)
        height = unit_rows * (block + 1)
        grid = OrthogonalMooreGrid((width, height), capacity=1, random=self.random)
        position_in_unit = np.zeros(self.n_agents, dtype=np.int64)
        order = np.argsort(self.unit, kind="stable")
        starts = np.searchsorted(self.unit[order], np.arange(self.n_units))
        position_in_unit[order] = np.arange(self.n_agents) - starts[self.unit[order]]
        x = (self.unit % units_per_row) * (block + 1) + position_in_unit % block
        y = (self.unit // units_per_row) * (block + 1) + position_in_unit // block
        cells = [grid[(int(x[i]), int(y[i]))] for i in range(self.n_agents)]
        for slot, officer in enumerate(self._officers):
            if officer is not None:
                officer.cell = cells[slot]
        return grid, cells
