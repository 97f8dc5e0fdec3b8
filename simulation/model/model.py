"""The world and its conductor: the officer corps, its units and the month's schedule.

State is kept in numpy arrays (one entry per officer slot) and every step is computed
for all officers at once; :class:`~simulation.model.agents.Officer` agents are thin views onto
these arrays so that Mesa's tools work as usual (built when first asked for: ``model.agents``,
``officers``, ``grid``). The model never touches files or the
command line: give it a validated :class:`~simulation.config.schema.SimulationConfig`.

Each submodel of docs/ODD.md is one module beside this one, a set of functions of the model;
:data:`SCHEDULE` lists one month (docs/ODD.md, "Process overview and scheduling") as rows of
(submodel, function), run in order by :meth:`ArmyModel.step`:

1. drivers (:mod:`~simulation.model.drivers`): every driver's value this month;
2. attitude drift (:mod:`~simulation.model.attitudes`): propaganda and contact pull Russia
   alignment up, disillusion down, each officer's anchor pulls it back;
3. time passes (:mod:`~simulation.model.turnover`): a month of tenure;
4. sentences end (:mod:`~simulation.model.consequences`): jail terms and benefit losses that
   end now end (the released return to their posts, or are dismissed);
5. leaving and entering (:mod:`~simulation.model.turnover`): Russian recruitment of seniors,
   retirement, promotion, discharge at the end of term, intake into vacant posts;
6. mobilisation (:mod:`~simulation.model.personnel`): the call-up of the reserve;
7. observation and beliefs (:mod:`~simulation.model.observation`): what each saw his peers
   do last month (unit, ties, rumour), and his perceived regime strength;
8. choice (:mod:`~simulation.model.choice`, the rule in :mod:`~simulation.model.decision`):
   comply / evade / refuse / exit from the previous step's state, and the private
   inclination beside the public act;
9. consequences (:mod:`~simulation.model.consequences`): exits leave; detection
   (:mod:`~simulation.model.detection`) of this month's acts brings arrest, dismissal or
   sanctions;
10. statistics (:mod:`~simulation.model.statistics`): the DataCollector records counts and
    shares.
"""

from __future__ import annotations

import difflib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np

from simulation.config.loading import load_config
from simulation.config.schema import Schedule as DriverSchedule
from simulation.config.schema import SimulationConfig
from simulation.errors import ArgumentError
from simulation.model import (
    attitudes,
    choice,
    consequences,
    drivers,
    observation,
    personnel,
    statistics,
    turnover,
)
from simulation.model.agents import Officer, Soldier
from simulation.model.decision import Situation
from simulation.model.memory import keep_freed_memory
from simulation.model.schedule import Row, Schedule
from simulation.vocabulary import OFFICER

SCHEDULE: tuple[Row, ...] = (
    Row("drivers", "§3", drivers.read),
    Row("attitude drift", "§7.3", attitudes.drift),
    Row("time passes", "§3", turnover.pass_time),
    Row("sentences end", "§7.6", consequences.end_sentences),
    Row("leaving and entering", "§7.4", turnover.leave_and_enter),
    Row("mobilisation", "§7.9", personnel.mobilise),
    Row("observation and beliefs", "§7.5", observation.look),
    Row("choice", "§7.5", choice.decide),
    Row("consequences", "§7.6", consequences.follow_choices),
    Row("statistics", "§7.7", statistics.record),
)
"""One month, in order: (submodel, where docs/ODD.md describes it, the function called)."""


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
    without wrappers. The drivers and sizes a page puts on sliders are named in the
    signature (Mesa's SolaraViz reads it to check its ``model_params``); every other lever
    arrives through ``**kwargs``, the one variable-keyword name SolaraViz accepts.

    Args:
        config: a validated config, config data (a mapping), a config file, or None for the
            built-in defaults.
        seed: the random seed, a whole number (digits in a string, as Mesa's InputText
            returns them, are the same number: ``seed="42"`` is ``seed=42``). Without one the
            model draws a fresh seed, as Mesa does, and records it in ``model.seed``; the
            config's own ``seed`` is used by :func:`simulation.simulate`, not here.
        war_order_level, punishment_severity, detection_capacity, incentive_level,
            russian_propaganda, disillusion, regime_stability, amnesty: the drivers
            (``drivers.<name>``), each a constant or a schedule; None keeps the config's.
        n_officers: officers in the corps (``population.n_officers``); None keeps the
            config's.
        steps: months the run lasts (``steps``); None keeps the config's.
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
        **kwargs: any other lever by its name, e.g. ``temperature=0.1`` (None keeps the
            config's value).

    Raises:
        ConfigError: the resulting config is invalid.
        ArgumentError: a keyword is not a lever.
    """

    def __init__(
        self,
        config: SimulationConfig | Mapping[str, Any] | str | None = None,
        *,
        seed: int | str | None = None,
        war_order_level: DriverSchedule | None = None,
        punishment_severity: DriverSchedule | None = None,
        detection_capacity: DriverSchedule | None = None,
        incentive_level: DriverSchedule | None = None,
        russian_propaganda: DriverSchedule | None = None,
        disillusion: DriverSchedule | None = None,
        regime_stability: DriverSchedule | None = None,
        amnesty: DriverSchedule | None = None,
        n_officers: int | None = None,
        steps: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        record: Sequence[str] | None = None,
        views: bool = True,
        **kwargs: Any,
    ) -> None:
        named = {
            "war_order_level": war_order_level,
            "punishment_severity": punishment_severity,
            "detection_capacity": detection_capacity,
            "incentive_level": incentive_level,
            "russian_propaganda": russian_propaganda,
            "disillusion": disillusion,
            "regime_stability": regime_stability,
            "amnesty": amnesty,
            "n_officers": n_officers,
            "steps": steps,
        }
        levers = {name: value for name, value in {**named, **kwargs}.items() if value is not None}
        if levers or overrides or not isinstance(config, SimulationConfig):
            config = configure(config, overrides, levers)
        # a blank seed box on Mesa's page means "no seed", as None does
        seed = fresh_seed() if seed is None or str(seed).strip() == "" else int(seed)
        keep_freed_memory()
        # `rng=` rather than the deprecated `seed=` (Mesa >= 3.4); on 3.3 both seed numpy
        # and the stdlib generator identically.
        super().__init__(rng=seed)
        self.config = config
        self.seed = seed
        self.n_officers = config.population.n_officers
        self._grid: Any = None
        personnel.draw_officers(self, config)
        personnel.add_categories(self, config)
        personnel.start_service(self)
        consequences.start(self)
        choice.start(self)
        statistics.start_counts(self)
        turnover.start(self)
        # officer views are built on first use (model.agents, officers, grid), as the grid
        # is: a run that never looks at them pays neither their set-up nor their removal
        self._views = views
        self._views_built = not views
        self._officers: list[Officer | None] = [None] * self.n_agents
        self.drivers: dict[str, float] = drivers.drivers_at(config, 0)
        self.order_levels: int | np.ndarray = drivers.order_levels_at(self, 0)
        personnel.mobilise(self)
        observation.start(self)
        choice.start_memory(self)
        personnel.measure_mixing(self)
        self.schedule = Schedule(SCHEDULE)
        """This model's month: the rows of :data:`SCHEDULE` (``schedule.timed`` times them)."""
        statistics.start(self, record, config.output.collect_agent_data)

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
        """Advance one step (one month): the rows of :data:`SCHEDULE`, in order.

        A call past the config's horizon (``steps``) changes nothing and sets ``running`` to
        False. So a loop that steps while the model runs, as ``mesa.batch_run`` does, stops
        with the horizon's month as the last row of its data.
        """
        if self.steps > self.config.steps:
            self.running = False
            return
        self.schedule.run(self)

    def schedule_table(self) -> str:
        """The month's schedule as a table: submodel, ODD section and function of each row,
        in order, with milliseconds per month and share of the time when timed."""
        return self.schedule.table()

    def situation(self, slots: np.ndarray | None = None) -> Situation:
        """What each officer faces now (for `slots` only, if given): see
        :func:`simulation.model.choice.situation`. The choice asks through this method, so a
        subclass can watch what is decided on (the browser view does)."""
        return choice.situation(self, slots)

    @property
    def is_commander(self) -> np.ndarray:
        """Whether each slot holds its unit's commander: its most senior serving officer."""
        return personnel.commanders(self)

    # ------------------------------------------------------------------ space

    def _make_views(self, slots: np.ndarray) -> None:
        """Mesa views of members who join the force after the views were built."""
        for slot in slots if self._views and self._views_built else ():
            view = self._officers[slot] = self._view(int(slot))
            if self._grid is not None:
                view.cell = self._grid_cells[slot]

    def _view(self, slot: int) -> Officer:
        """The Mesa agent of one slot: an Officer, or a Soldier for the other categories."""
        return Officer(self, slot) if self.category[slot] == OFFICER else Soldier(self, slot)

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
