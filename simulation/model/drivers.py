"""Drivers (docs/ODD.md §3 step 1): every driver's value this month, and the war order.

A driver is a number or a schedule over the months (``config.drivers``); unit types may have
their own war order (``structure.unit_types.<type>.war_order_level``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.config.schema import DRIVER_NAMES, SimulationConfig, schedule_value

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def drivers_at(config: SimulationConfig, step: int) -> dict[str, float]:
    """Every driver's value at `step`."""
    drivers = config.drivers
    return {name: schedule_value(getattr(drivers, name), step) for name in DRIVER_NAMES}


def order_levels_at(model: ArmyModel, step: int) -> int | np.ndarray:
    """The war-order level: one for everyone, or per officer when unit types have their
    own orders (structure.unit_types.<type>.war_order_level)."""
    level = int(model.drivers["war_order_level"])
    if not model._typed_orders:
        return level
    by_type = np.array(
        [
            level if order is None else int(schedule_value(order, step))
            for order in model._type_orders
        ],
        dtype=np.int64,
    )
    if (by_type == by_type[0]).all():
        return int(by_type[0])
    return by_type[model._unit_type]


def read(model: ArmyModel) -> None:
    """The drivers and the war order of the current step (``model.steps``)."""
    model.drivers = drivers_at(model.config, model.steps)
    model.order_levels = order_levels_at(model, model.steps)
