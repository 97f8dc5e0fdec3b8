"""The browser view's model: an ArmyModel that remembers why its officers chose.

:class:`ViewModel` is the project's Mesa model with two additions the page needs: it stops
at the run's horizon, and it keeps the :class:`~simulation.model.decision.Situation` of its
latest decision, so that :func:`inspect_officer` can show the utility of each action an
officer weighed this month ("why did he refuse?") from the very rule that decided, not
from a copy of it. Everything else here turns the model into what the page draws: the
officers in their units (:func:`officer_layout`, :func:`officers_figure`), units and their
cross-unit ties (:func:`unit_network`), and the rates over time (:func:`rates_figure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from simulation.analysis.charts import Marker, rates_chart
from simulation.config.schema import SimulationConfig
from simulation.model.decision import (
    Situation,
    choice_utilities,
    detection_probability,
    order_costs,
)
from simulation.model.model import ArmyModel
from simulation.viz import echarts
from simulation.viz.scenarios import driver_changes
from simulation.vocabulary import (
    ACTIONS,
    ATTITUDES,
    CHOICES,
    EVADE,
    EXIT,
    GROUPS,
    PERSONNEL,
    RANKS,
    REFUSE,
    WAR_ORDER_LEVELS,
)

UNIT_COLOURS: dict[str, str] = {"regular": "#F2F2F2", "special_operations": "#DCE7F3"}


class ViewModel(ArmyModel):
    """ArmyModel for the view: stops at its horizon and keeps its latest decision's inputs."""

    def __init__(self, config: SimulationConfig, seed: int) -> None:
        self.decided_in: Situation | None = None
        super().__init__(config, seed=seed)
        self.horizon = config.steps
        self._layout: OfficerLayout | None = None
        self._network: UnitNetwork | None = None

    def situation(self) -> Situation:
        """What each officer faces (see ArmyModel); the model's decision calls this, and
        the result is kept as the inputs of the latest decision."""
        found = super().situation()
        self.decided_in = found
        return found

    def situation_now(self) -> Situation:
        """What each officer would face if he decided now (not kept)."""
        return ArmyModel.situation(self)

    def step(self) -> None:
        """One month; the run stops at its horizon."""
        if self.steps > self.horizon:
            self.running = False
            return
        super().step()
        if self.steps >= self.horizon:
            self.running = False

    @property
    def finished(self) -> bool:
        """Whether the run has reached its last month."""
        return self.steps >= self.horizon

    @property
    def layout(self) -> OfficerLayout:
        """Where each serving officer is drawn: made once, and again when someone serving
        has no place in it (a call-up), so that officers stay put from month to month."""
        if self._layout is None or not self._layout.covers(self.active):
            self._layout = officer_layout(self)
        return self._layout

    @property
    def network(self) -> UnitNetwork:
        """Units, their ties and a fixed layout of them (built once)."""
        if self._network is None:
            self._network = unit_network(self)
        return self._network


# ---------------------------------------------------------------------------- officers


@dataclass
class OfficerLayout:
    """Cell of every officer slot serving when it was made, each unit's block, and the
    drawing's size in cells."""

    xy: np.ndarray
    """(n slots, 2) cell coordinates; -1 for a slot that was not serving (a slot keeps its
    cell while its officer is replaced: academy intake fills vacant posts)."""
    boxes: list[Any]
    size: tuple[int, int]
    symbol_size: float

    def covers(self, serving: np.ndarray) -> bool:
        """Whether every serving slot has a cell (a call-up brings slots that have none)."""
        return bool((self.xy[serving, 0] >= 0).all())


def officer_layout(model: ArmyModel, pixels: float = 640.0) -> OfficerLayout:
    """The force serving now, each unit a square block of its members side by side (in
    slot order), blocks in rows with one empty cell between them.

    Blocks are sized for the largest unit serving now, not for every post a unit may ever
    fill: a scenario with a reserve still to be called up would otherwise be drawn as thin
    strips in empty blocks. A call-up makes a new layout (:attr:`ViewModel.layout`).
    """
    serving = model.active
    n_units = model.n_units
    counts = np.bincount(model.unit[serving], minlength=n_units)
    side = max(1, math.ceil(math.sqrt(int(counts.max(initial=0)))))
    per_row = max(1, math.ceil(math.sqrt(n_units)))
    rows = math.ceil(n_units / per_row)
    members = np.flatnonzero(serving)
    order = members[np.argsort(model.unit[members], kind="stable")]
    units = model.unit[order].astype(np.int64)
    starts = np.searchsorted(units, np.arange(n_units))
    place = np.arange(order.size) - starts[units]
    xy = np.full((model.n_agents, 2), -1, dtype=np.int64)
    xy[order, 0] = (units % per_row) * (side + 1) + place % side
    xy[order, 1] = (units // per_row) * (side + 1) + place // side
    used = np.flatnonzero(counts > 0)
    low = np.column_stack([(used % per_row) * (side + 1), (used // per_row) * (side + 1)])
    width_used = np.minimum(counts[used], side)
    height_used = np.ceil(counts[used] / side).astype(np.int64)
    high = low + np.column_stack([width_used, height_used]) - 1
    names = model.unit_type_names
    colours = {code: UNIT_COLOURS.get(name, "#EEEEEE") for code, name in enumerate(names)}
    boxes = echarts.unit_boxes(np.column_stack([low, high]), model.unit_type_of_unit[used], colours)
    width, height = per_row * (side + 1) - 1, rows * (side + 1) - 1
    cell = pixels / max(width, height, 1)
    return OfficerLayout(xy, boxes, (int(width), int(height)), max(2.0, round(0.72 * cell, 1)))


def officers_title(model: ArmyModel) -> str:
    """'Month 5: comply 40% · evade 45% · refuse 15%'."""
    stats = model.stats
    return (
        f"Month {model.steps}:  comply {stats['comply']:.0%}  ·  evade {stats['evade']:.0%}"
        f"  ·  refuse {stats['refuse']:.0%}"
    )


def officers_figure(model: ViewModel, selected: int | None = None) -> dict[str, Any]:
    """The officers drawn on the grid (ECharts option)."""
    layout = model.layout
    slots = np.flatnonzero(model.active)
    return echarts.officers_option(
        layout.xy[slots],
        slots,
        model.choice[slots],
        model.group[slots],
        model.is_commander[slots],
        layout.boxes,
        layout.size,
        officers_title(model),
        layout.symbol_size,
        selected,
    )


# ---------------------------------------------------------------------------- rates


def rates_figure(model: ViewModel, breakdown: str) -> echarts.Figure:
    """Shares over time so far, overall and by group or by rank, with driver changes."""
    categories = GROUPS if breakdown == "group" else RANKS
    markers = [Marker(float(step), label) for step, label in driver_changes(model.config)]
    chart = rates_chart(
        model.datacollector.model_vars,
        categories,
        model.horizon,
        markers,
        title=f"Shares over time, by {breakdown}",
    )
    return echarts.line_option(chart, most=2)


# ---------------------------------------------------------------------------- inspection


@dataclass
class OfficerReport:
    """One officer, and why he chose what he chose in the latest month."""

    slot: int
    serving: bool
    group: str
    rank: str
    unit: int
    unit_type: str
    commander: bool
    choice: str
    month: int
    decided: bool
    """False at month 0 (no decision yet: the utilities are those he would weigh now)."""
    attitudes: dict[str, float]
    inputs: list[tuple[str, str]]
    utilities: dict[str, float]
    probabilities: dict[str, float]
    verdict: str


def probabilities_of(utilities: np.ndarray, temperature: float) -> np.ndarray:
    """Chance of each action under the model's logit rule (the best one at temperature 0)."""
    finite = np.where(np.isfinite(utilities), utilities, -np.inf)
    if temperature <= 0:
        best = np.zeros_like(finite)
        best[int(np.argmax(finite))] = 1.0
        return best
    scaled = finite / temperature
    scaled -= scaled.max()
    weights = np.exp(scaled)
    return weights / weights.sum()


def perceived_at(situation: Situation, slot: int) -> float:
    """The officer's perceived regime strength (the driver when beliefs are off)."""
    strength = situation.perceived_strength
    if strength is None:
        return float(situation.regime_stability)
    return float(np.broadcast_to(strength, situation.enforcers.shape)[slot])


def seen_inputs(situation: Situation, slot: int) -> list[tuple[str, str]]:
    """What he saw his peers do last month: per action, in his unit and among his ties."""
    rows = []
    for action in (EVADE, REFUSE, EXIT):
        name = ACTIONS[action]
        rows.append((f"seen to {name} in his unit", f"{situation.seen_in_unit[action, slot]:.3g}"))
        if situation.seen_in_ties is not None:
            rows.append(
                (f"seen to {name} among his ties", f"{situation.seen_in_ties[action, slot]:.3g}")
            )
    return rows


def inspect_officer(model: ViewModel, slot: int) -> OfficerReport:
    """Who officer `slot` is and the utilities of his actions at the latest decision."""
    if not 0 <= slot < model.n_agents:
        raise ValueError(f"no officer slot {slot}")
    decided = model.decided_in is not None and model.steps > 0
    situation = model.decided_in if decided else model.situation_now()
    decision = model.config.decision
    rules = (None, model.config.exit, model.config.consequences.evader_sanctions)
    utilities = choice_utilities(model.attitudes, situation, decision, *rules)[slot]
    detection = detection_probability(
        situation.enforcers[slot : slot + 1],
        situation.noncompliant_peers[slot : slot + 1],
        decision.detection_steepness,
        decision.detection_ratio_rounding,
    )[0]
    moral, hardship = order_costs(model.attitudes, situation, decision)
    chances = probabilities_of(utilities, decision.temperature)
    unit = int(model.unit[slot])
    level = situation.war_order_level
    if isinstance(level, np.ndarray):  # orders per unit type
        level = int(level[slot])
    inputs = [
        ("war orders", f"level {level}: {WAR_ORDER_LEVELS.get(level, '')}"),
        ("moral cost of the order", f"{moral[slot]:.3f}"),
        ("hardship of the order", f"{hardship[slot]:.3f}"),
        ("enforcers watching (E)", f"{situation.enforcers[slot]:.2f}"),
        (
            "non-compliant in his unit, himself included (A)",
            f"{situation.noncompliant_peers[slot]:.0f}",
        ),
        ("detection probability if he refuses, 1 - exp(-k E/A)", f"{detection:.1%}"),
        ("punishment severity", f"{situation.punishment_severity:g}"),
        ("incentive level", f"{situation.incentive_level:g}"),
        ("regime stability", f"{situation.regime_stability:g}"),
        ("perceived regime strength", f"{perceived_at(situation, slot):.3g}"),
        ("amnesty", f"{situation.amnesty:g}"),
        *seen_inputs(situation, slot),
    ]
    choice = CHOICES[int(model.choice[slot])]
    values = {name: float(u) for name, u in zip(ACTIONS, utilities, strict=True)}
    odds = {name: float(p) for name, p in zip(ACTIONS, chances, strict=True)}
    return OfficerReport(
        slot=slot,
        serving=bool(model.active[slot]),
        group=GROUPS[int(model.group[slot])],
        rank=rank_label(model, slot),
        unit=unit,
        unit_type=model.unit_type_names[int(model.unit_type_of_unit[unit])],
        commander=bool(model.is_commander[slot]),
        choice=choice,
        month=int(model.steps),
        decided=decided,
        attitudes={name: float(model.attitudes[name][slot]) for name in ATTITUDES},
        inputs=inputs,
        utilities=values,
        probabilities=odds,
        verdict=verdict(choice, values, odds, decision.temperature, int(model.steps), decided),
    )


def rank_label(model: ViewModel, slot: int) -> str:
    """'senior rank' for an officer; the category ('conscript', ...) for the men."""
    code = int(model.rank[slot])
    if code < len(RANKS):
        return f"{RANKS[code]} rank"
    return PERSONNEL[int(model.category[slot])].replace("_", " ")


def _utility(value: float) -> str:
    return "impossible" if not math.isfinite(value) else f"{value:+.3f}"


def verdict(
    choice: str,
    utilities: dict[str, float],
    chances: dict[str, float],
    temperature: float,
    month: int,
    decided: bool,
) -> str:
    """One sentence on why: the action he took, its worth against the others, its odds."""
    others = ", ".join(
        f"{name} {_utility(value)}" for name, value in utilities.items() if name != choice
    )
    best = max(utilities, key=lambda name: utilities[name])
    if not decided:
        return (
            f"Month {month}: everyone starts by complying. Deciding now he would weigh "
            f"{', '.join(f'{n} {_utility(v)}' for n, v in utilities.items())} (comply is the "
            f"reference, 0); his chances would be "
            + ", ".join(f"{n} {p:.0%}" for n, p in chances.items())
            + "."
        )
    rule = (
        f"with the logit temperature {temperature:g} that made it {chances[choice]:.0%} likely"
        if temperature > 0
        else "at temperature 0 the best action is taken"
    )
    head = f"Month {month}: he chose to {choice} (utility {_utility(utilities[choice])}"
    head += f"; {others}; comply is the reference, 0); {rule}."
    if best != choice:
        head += (
            f" {best.capitalize()} was worth more ({chances[best]:.0%} likely): the logit "
            "rule draws actions at random, so a less valued one is sometimes taken."
        )
    return head


# ---------------------------------------------------------------------------- units


@dataclass
class UnitNetwork:
    """Units as nodes with a fixed layout, and the cross-unit ties between them."""

    positions: np.ndarray
    ties: list[tuple[int, int, int]]
    special: np.ndarray


def unit_network(model: ArmyModel) -> UnitNetwork:
    """Cross-unit ties summed by pair of units; units laid out by a seeded spring layout."""
    import networkx as nx

    slots = np.arange(model.n_agents)
    membership = sparse.csr_matrix(
        (np.ones(model.n_agents), (slots, model.unit)), shape=(model.n_agents, model.n_units)
    )
    between = sparse.triu(membership.T @ model.cross_ties @ membership, k=1).tocoo()
    ties = [
        (int(a), int(b), int(round(count)))
        for a, b, count in zip(between.row, between.col, between.data, strict=True)
        if count > 0
    ]
    graph = nx.Graph()
    graph.add_nodes_from(range(model.n_units))
    graph.add_weighted_edges_from(ties)
    placed = nx.spring_layout(graph, seed=0, weight="weight")
    positions = np.array([placed[unit] for unit in range(model.n_units)]) * 100.0
    names = model.unit_type_names
    special = np.array([names[int(t)] != "regular" for t in model.unit_type_of_unit], dtype=bool)
    return UnitNetwork(positions, ties, special)


def unit_shares(model: ArmyModel) -> tuple[np.ndarray, np.ndarray]:
    """Officers serving in each unit, and the shares of comply/evade/refuse in it."""
    active = model.active
    counts = np.bincount(
        model.unit[active] * 3 + model.choice[active].astype(np.int64), minlength=3 * model.n_units
    ).reshape(model.n_units, 3)
    sizes = counts.sum(axis=1)
    shares = counts / np.maximum(sizes, 1)[:, None]
    return sizes, shares


def units_figure(model: ViewModel) -> dict[str, Any]:
    """Units and their cross-unit ties (ECharts graph)."""
    network = model.network
    sizes, shares = unit_shares(model)
    degree = np.zeros(model.n_units, dtype=int)
    for a, b, _ in network.ties:
        degree[a] += 1
        degree[b] += 1
    types = model.unit_type_names
    names = [
        f"unit {unit} ({types[int(model.unit_type_of_unit[unit])].replace('_', ' ')}): "
        f"{sizes[unit]} officers; comply {shares[unit, 0]:.0%}, evade {shares[unit, 1]:.0%}, "
        f"refuse {shares[unit, 2]:.0%}; ties to {degree[unit]} units"
        for unit in range(model.n_units)
    ]
    return echarts.units_option(
        network.positions,
        sizes,
        shares,
        names,
        network.ties,
        network.special,
        f"{model.n_units} units and {len(network.ties)} pairs tied across units",
    )
