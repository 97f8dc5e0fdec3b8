"""Who decides: officers, as Mesa agents that are views onto the model's arrays.

Officers' state lives in numpy arrays owned by the model (:mod:`simulation.model.model`),
so that a step is computed for all officers at once. :class:`Officer` is a thin
``mesa.Agent`` view onto one row of those arrays: Mesa's AgentSet, DataCollector and the
browser view see ordinary agents, while the decision itself is the pure, vectorised rule
of :mod:`simulation.model.decision`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.discrete_space import CellAgent

from simulation.vocabulary import CHOICES, GROUPS, PERSONNEL, RANKS

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


class Officer(CellAgent):
    """One officer: a view onto row `index` of the model's state arrays.

    Reading an attribute reads the array, so the agent never goes stale. The model builds
    the views when first asked for them (Mesa registers each one, about 7 microseconds a
    view here). It is a ``CellAgent`` so that the browser view can
    place it in the model's unit grid (built only when asked for). Officers do not act
    one by one: the model decides for all of them together (synchronous update), so the
    result cannot depend on the order in which agents are activated.
    """

    def __init__(self, model: ArmyModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def group(self) -> str:
        """complicit, passive or dissenting."""
        return GROUPS[self.model.group[self.index]]

    @property
    def rank(self) -> str:
        """senior, field or junior."""
        return RANKS[self.model.rank[self.index]]

    @property
    def unit(self) -> int:
        """Index of the officer's unit."""
        return int(self.model.unit[self.index])

    @property
    def unit_type(self) -> str:
        """Type of the officer's unit, e.g. regular or special_operations."""
        return self.model.unit_type_names[self.model.unit_type_of_unit[self.model.unit[self.index]]]

    @property
    def is_commander(self) -> bool:
        """Whether the officer commands his unit."""
        return bool(self.model.is_commander[self.index])

    @property
    def choice(self) -> str:
        """Current choice: comply, evade or refuse."""
        return CHOICES[self.model.choice[self.index]]

    @property
    def choice_code(self) -> int:
        """Current choice as 0 comply, 1 evade, 2 refuse."""
        return int(self.model.choice[self.index])

    def attitude(self, name: str) -> float:
        """Current value of one attitude (e.g. 'war_aversion')."""
        return float(self.model.attitudes[name][self.index])

    @property
    def regime_alignment(self) -> float:
        """Loyalty to the regime, in [0, 1]."""
        return self.attitude("regime_alignment")

    @property
    def russia_alignment(self) -> float:
        """Sympathy with Russia, in [0, 1]."""
        return self.attitude("russia_alignment")

    @property
    def war_aversion(self) -> float:
        """Moral cost of fighting Ukraine, in [0, 1]."""
        return self.attitude("war_aversion")

    @property
    def threshold(self) -> float:
        """Granovetter threshold (share of neighbours, or officers in count mode)."""
        return self.attitude("threshold")

    def remove(self) -> None:
        """Leave the model (and the unit grid's cell, when the grid was built).

        The same as ``CellAgent.remove``; without a cell it deregisters directly, which is
        about half the cost: hundreds of officers leave each month under the order to fight.
        """
        if self.cell is not None:
            super().remove()
            return
        try:  # noqa: SIM105 (a try costs nothing here; contextlib.suppress a context manager)
            self.model.deregister_agent(self)
        except KeyError:  # already removed: a no-op, as with Mesa's Agent.remove
            pass

    @property
    def category(self) -> str:
        """Personnel category: officer, contract_soldier, conscript, ..."""
        return PERSONNEL[self.model.category[self.index]]

    def step(self) -> None:
        """Officers decide together in ``ArmyModel.step``; nothing to do one by one."""


class Soldier(Officer):
    """A member of the personnel the officers command (contract soldier, conscript, service
    staff, mobilised reservist or territorial defence): the same view, under its own type so
    that ``model.agents_by_type[Soldier]`` selects them. Soldiers hold no officer rank."""

    @property
    def rank(self) -> str:
        """Soldiers hold no officer rank: 'enlisted'."""
        return "enlisted"
