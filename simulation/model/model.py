"""The world and its schedule: the officer corps, its units and the drivers, step by step.

State is kept in numpy arrays (one entry per officer slot) and every step is computed
for all officers at once; :class:`~simulation.model.agents.Officer` agents are thin views onto
these arrays so that Mesa's tools work as usual. The model never touches files or the
command line: give it a validated :class:`~simulation.config.schema.SimulationConfig`.

Schedule of one step (docs/ODD.md, "Process overview and scheduling"):

1. read the drivers for this step;
2. attitudes drift: Russian propaganda and contact raise Russia alignment, disillusion
   lowers it;
3. officers leave and enter: Russian recruitment of seniors, then (if enabled)
   retirement, promotion and academy intake;
4. every officer chooses comply / evade / refuse from the previous step's choices
   (synchronous update);
5. the DataCollector records counts and shares.
"""

from __future__ import annotations

import difflib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np

from simulation.config.loading import load_config
from simulation.config.schema import DRIVER_NAMES, SimulationConfig, schedule_value
from simulation.errors import ArgumentError
from simulation.model.agents import Officer
from simulation.model.decision import (
    Situation,
    alignment,
    choice_utilities,
    choose,
    detection_probability,
)
from simulation.model.population import (
    build_structure,
    choose_commanders,
    draw_attitudes,
    draw_groups,
    draw_ranks,
    override_thresholds,
)
from simulation.vocabulary import (
    ATTITUDES,
    CHOICES,
    COMPLICIT,
    COMPLY,
    GROUPS,
    RANKS,
    REFUSE,
    SENIOR,
)


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


def fresh_seed() -> int:
    """A new 32-bit seed from the operating system's entropy (Mesa's behaviour for seed=None)."""
    return secrets.randbits(32)


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
            browser view and Mesa's tools). A sweep reads only the arrays and turns them
            off; the numbers are the same (views draw no random numbers).
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
        built = build_structure(
            n,
            structure.unit_size,
            [t.share for t in structure.unit_types.values()],
            structure.cross_unit_ties,
            rng,
        )
        self.unit = built.unit
        self.n_units = built.n_units
        self.unit_type_of_unit = built.unit_type_of_unit
        self.cross_ties = built.cross_ties
        self.cross_degree = np.asarray(self.cross_ties.sum(axis=1)).ravel()
        unit_types = list(structure.unit_types.values())
        unit_type = self.unit_type_of_unit[self.unit]
        self._benefit_multiplier = np.array([t.benefit_multiplier for t in unit_types])[unit_type]
        self._hardship_multiplier = np.array([t.order_hardship_multiplier for t in unit_types])[
            unit_type
        ]
        self._neighbours: np.ndarray | None = None
        self._tiebreak = rng.random(n)

        self.active = np.ones(n, dtype=bool)
        self.choice = np.zeros(n, dtype=np.int8)
        self.is_commander = choose_commanders(self.unit, self.rank, self.active, self._tiebreak)
        self.recruited_by_russia = 0
        self.retired = 0
        self.entered = 0
        self.drivers: dict[str, float] = self._drivers_at(0)
        self.mean_detection_probability = 0.0

        self._views = views
        self._officers: list[Officer | None] = (
            [Officer(self, i) for i in range(n)] if views else [None] * n
        )
        self.stats: dict[str, float] = {}
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

    # ------------------------------------------------------------------ schedule

    def step(self) -> None:
        """Advance one step (one month): drivers, attitudes, turnover, choices, data.

        A call past the config's horizon (``steps``) changes nothing and sets ``running`` to
        False. So a loop that steps while the model runs, as ``mesa.batch_run`` does, stops
        with the horizon's month as the last row of its data.
        """
        if self.steps > self.config.steps:
            self.running = False
            return
        self.drivers = self._drivers_at(self.steps)
        self._drift_attitudes()
        self._turnover()
        self._decide()
        self._update_stats()
        self.datacollector.collect(self)

    def _drivers_at(self, step: int) -> dict[str, float]:
        drivers = self.config.drivers
        return {name: schedule_value(getattr(drivers, name), step) for name in DRIVER_NAMES}

    def _drift_attitudes(self) -> None:
        """Propaganda and contact pull Russia alignment up; disillusion pulls it down."""
        d = self.drivers
        pull = d["russian_propaganda"] + d["russian_contact"] * (1.0 - d["isolation"])
        russia = self.attitudes["russia_alignment"]
        if pull or d["disillusion"]:
            russia += pull * (1.0 - russia) - d["disillusion"] * russia
            np.clip(russia, 0.0, 1.0, out=russia)

    def _turnover(self) -> None:
        """Russian recruitment of seniors; retirement, promotion and academy intake."""
        rng = self.rng
        leaving = np.zeros(self.n_officers, dtype=bool)
        rate = self.drivers["russian_recruitment_rate"]
        if rate > 0:
            draws = rng.random(self.n_officers)
            recruited = (
                self.active
                & (self.rank == SENIOR)
                & (draws < rate * self.attitudes["russia_alignment"])
            )
            self.recruited_by_russia += int(recruited.sum())
            leaving |= recruited
        turnover = self.config.turnover
        if turnover.enabled:
            retire_p = np.array([monthly(turnover.retirement_rate_per_year[r]) for r in RANKS])
            retiring = self.active & ~leaving & (rng.random(self.n_officers) < retire_p[self.rank])
            self.retired += int(retiring.sum())
            leaving |= retiring
        if not leaving.any() and not turnover.enabled:
            return
        self._vacate(np.flatnonzero(leaving))
        self._neighbours = None
        if turnover.enabled:
            self._promote()
            self._recruit_from_academy(np.flatnonzero(leaving))
        self.is_commander = choose_commanders(self.unit, self.rank, self.active, self._tiebreak)

    def _vacate(self, slots: np.ndarray) -> None:
        for slot in slots:
            officer = self._officers[slot]
            if officer is not None:
                officer.remove()
                self._officers[slot] = None
        self.active[slots] = False
        self.choice[slots] = COMPLY

    def _promote(self) -> None:
        rates = self.config.turnover.promotion_rate_per_year
        draws = self.rng.random(self.n_officers)
        field = self.active & (self.rank == RANKS.index("field"))
        junior = self.active & (self.rank == RANKS.index("junior"))
        self.rank[field & (draws < monthly(rates["field"]))] = SENIOR
        self.rank[junior & (draws < monthly(rates["junior"]))] = RANKS.index("field")

    def _recruit_from_academy(self, vacancies: np.ndarray) -> None:
        """Fill a share of this step's vacancies with young, more nation-oriented juniors."""
        turnover = self.config.turnover
        filled = vacancies[self.rng.random(vacancies.shape[0]) < turnover.academy_fill_share]
        if filled.shape[0] == 0:
            return
        cohort = turnover.new_cohort
        probabilities = np.array([cohort.group_shares[g] for g in GROUPS])
        groups = self.rng.choice(len(GROUPS), size=filled.shape[0], p=probabilities).astype(np.int8)
        ranks = np.full(filled.shape[0], RANKS.index("junior"), dtype=np.int8)
        fresh = draw_attitudes(
            self.config.population, groups, ranks, self.rng, cohort.russia_alignment_shift
        )
        for name in ATTITUDES:
            self.attitudes[name][filled] = fresh[name]
        self.group[filled] = groups
        self.rank[filled] = ranks
        self.active[filled] = True
        self.choice[filled] = COMPLY
        self.entered += int(filled.shape[0])
        for slot in filled if self._views else ():
            self._officers[slot] = Officer(self, int(slot))
            if self._grid is not None:
                self._officers[slot].cell = self._grid_cells[slot]

    def _decide(self) -> None:
        """Every officer chooses from the previous step's choices (synchronous update)."""
        situation = self.situation()
        decision = self.config.decision
        detection = detection_probability(
            situation.enforcers,
            situation.noncompliant_peers,
            decision.detection_steepness,
            decision.detection_ratio_rounding,
        )
        utilities = choice_utilities(self.attitudes, situation, decision, detection)
        new_choice = choose(utilities, decision.temperature, self.rng)
        new_choice[~self.active] = COMPLY
        active_count = max(int(self.active.sum()), 1)
        self.mean_detection_probability = float(detection[self.active].sum() / active_count)
        self.choice = new_choice

    # ------------------------------------------------------------------ neighbourhoods

    def situation(self) -> Situation:
        """What each officer sees now: enforcers, non-compliant peers, neighbours' choices."""
        d = self.drivers
        decision = self.config.decision
        active = self.active
        refusing = ((self.choice == REFUSE) & active).astype(float)
        noncompliant = ((self.choice != COMPLY) & active).astype(float)

        complying_complicit = active & (self.group == COMPLICIT) & (self.choice == COMPLY)
        own_enforcement = np.where(
            complying_complicit,
            np.where(
                self.is_commander,
                decision.commander_enforcer_weight,
                decision.complicit_enforcer_weight,
            ),
            0.0,
        )
        unit_enforcement = np.bincount(self.unit, own_enforcement, minlength=self.n_units)
        enforcers = d["detection_capacity"] * (
            decision.external_enforcers_per_unit + unit_enforcement[self.unit] - own_enforcement
        )

        unit_noncompliant = np.bincount(self.unit, noncompliant, minlength=self.n_units)
        noncompliant_peers = unit_noncompliant[self.unit] - noncompliant + 1.0

        unit_refusing = np.bincount(self.unit, refusing, minlength=self.n_units)
        refusing_count = unit_refusing[self.unit] - refusing + self.cross_ties @ refusing
        noncompliant_count = noncompliant_peers - 1.0 + self.cross_ties @ noncompliant
        if decision.social_threshold_unit == "count":
            refusing_neighbours, noncompliant_neighbours = refusing_count, noncompliant_count
        else:
            neighbours = self._neighbour_count()
            refusing_neighbours = refusing_count / neighbours
            noncompliant_neighbours = noncompliant_count / neighbours

        return Situation(
            war_order_level=int(d["war_order_level"]),
            punishment_severity=d["punishment_severity"],
            incentive_level=d["incentive_level"],
            regime_stability=d["regime_stability"],
            amnesty=d["amnesty"],
            enforcers=enforcers,
            noncompliant_peers=noncompliant_peers,
            refusing_neighbours=refusing_neighbours,
            noncompliant_neighbours=noncompliant_neighbours,
            benefit_multiplier=self._benefit_multiplier,
            hardship_multiplier=self._hardship_multiplier,
        )

    def _neighbour_count(self) -> np.ndarray:
        """Serving neighbours of each officer (at least 1); recomputed only after turnover."""
        if self._neighbours is None:
            active = self.active.astype(float)
            unit_active = np.bincount(self.unit, active, minlength=self.n_units)
            neighbours = unit_active[self.unit] - active + self.cross_ties @ active
            self._neighbours = np.maximum(neighbours, 1.0)
        return self._neighbours

    # ------------------------------------------------------------------ data

    def _update_stats(self) -> None:
        """Counts and shares of each choice overall, by group and by rank."""
        stats: dict[str, float] = {}
        active = self.active
        choice = self.choice[active].astype(np.int64)
        total = choice.shape[0]
        overall = np.bincount(choice, minlength=3)
        for code, name in enumerate(CHOICES):
            stats[f"count_{name}"] = int(overall[code])
            stats[name] = overall[code] / total if total else 0.0
        for labels, names in ((self.group[active], GROUPS), (self.rank[active], RANKS)):
            table = np.bincount(
                labels.astype(np.int64) * 3 + choice, minlength=3 * len(names)
            ).reshape(len(names), 3)
            for row, category in enumerate(names):
                size = table[row].sum()
                stats[f"n_{category}"] = int(size)
                for code, name in enumerate(CHOICES):
                    stats[f"count_{category}_{name}"] = int(table[row, code])
                    stats[f"{category}_{name}"] = table[row, code] / size if size else 0.0
        stats["n_active"] = int(total)
        stats["mean_russia_alignment"] = (
            float(self.attitudes["russia_alignment"][active].mean()) if total else 0.0
        )
        stats["mean_alignment"] = (
            float(
                alignment(self.attitudes, self.config.decision.russia_alignment_weight)[
                    active
                ].mean()
            )
            if total
            else 0.0
        )
        self.stats = stats

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
        reporters["recruited_by_russia"] = lambda model: model.recruited_by_russia
        reporters["retired"] = lambda model: model.retired
        reporters["entered"] = lambda model: model.entered
        return reporters

    # ------------------------------------------------------------------ space

    @property
    def officers(self) -> list[Officer]:
        """The serving officers, in slot order."""
        return [officer for officer in self._officers if officer is not None]

    @property
    def grid(self) -> Any:
        """A Mesa grid of units (built on first use, for the browser view).

        Units are laid out as square blocks, officers of a unit side by side, with one
        empty row and column between units.
        """
        if self._grid is None:
            self._grid, self._grid_cells = self._build_grid()
        return self._grid

    def _build_grid(self) -> tuple[Any, list[Any]]:
        from mesa.discrete_space import OrthogonalMooreGrid

        unit_size = self.config.structure.unit_size
        block = int(np.ceil(np.sqrt(unit_size)))
        units_per_row = int(np.ceil(np.sqrt(self.n_units)))
        unit_rows = int(np.ceil(self.n_units / units_per_row))
        width = units_per_row * (block + 1)
        height = unit_rows * (block + 1)
        grid = OrthogonalMooreGrid((width, height), capacity=1, random=self.random)
        position_in_unit = np.zeros(self.n_officers, dtype=np.int64)
        order = np.argsort(self.unit, kind="stable")
        starts = np.searchsorted(self.unit[order], np.arange(self.n_units))
        position_in_unit[order] = np.arange(self.n_officers) - starts[self.unit[order]]
        x = (self.unit % units_per_row) * (block + 1) + position_in_unit % block
        y = (self.unit // units_per_row) * (block + 1) + position_in_unit // block
        cells = [grid[(int(x[i]), int(y[i]))] for i in range(self.n_officers)]
        for slot, officer in enumerate(self._officers):
            if officer is not None:
                officer.cell = cells[slot]
        return grid, cells
