"""The schedule as data: one month's submodels as an ordered list of rows, run in order.

Each row names its submodel (as docs/ODD.md §3 and §7 name it), the module that holds it and
the function the month calls; the rows are built once, run in order by ``ArmyModel.step``,
printed as a table (:meth:`Schedule.table`) and, when asked, timed per row (``timed``), so
where a month's time goes shows without an outside profiler (as Starsim's ``Loop`` does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """One step of the month: a submodel's function, called with the model."""

    submodel: str
    """The submodel's name in docs/ODD.md §3."""
    section: str
    """Where docs/ODD.md describes it."""
    run: Callable[[Any], None]
    """The function called with the model."""

    @property
    def function(self) -> str:
        """``module.function`` of the row, relative to ``simulation.model``."""
        return f"{self.run.__module__.removeprefix('simulation.model.')}.{self.run.__name__}"


class Schedule:
    """The rows of a month, in order, with the seconds each has taken when timed."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = tuple(rows)
        self.timed = False
        """Whether :meth:`run` measures each row's time (off by default: it costs a little)."""
        self.seconds = [0.0] * len(self.rows)
        self.months = 0

    def run(self, model: Any) -> None:
        """Every row once, in order (timed per row when ``timed``)."""
        if not self.timed:
            for row in self.rows:
                row.run(model)
            return
        clock = time.perf_counter
        seconds = self.seconds
        for index, row in enumerate(self.rows):
            started = clock()
            row.run(model)
            seconds[index] += clock() - started
        self.months += 1

    def table(self) -> str:
        """The schedule as a text table: order, submodel, ODD section, function, and the
        mean milliseconds per month and share of the time when timed."""
        header = ["#", "submodel", "ODD", "function"]
        timed = self.months > 0
        if timed:
            header += ["ms/month", "share"]
        total = sum(self.seconds) or 1.0
        lines = []
        for index, row in enumerate(self.rows, start=1):
            cells = [str(index), row.submodel, row.section, row.function]
            if timed:
                seconds = self.seconds[index - 1]
                cells += [f"{1e3 * seconds / self.months:.2f}", f"{seconds / total:.0%}"]
            lines.append(cells)
        widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * width for width in widths)
        text = [
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
            for cells in [header, *lines]
        ]
        return "\n".join([text[0], rule, *text[1:]])
