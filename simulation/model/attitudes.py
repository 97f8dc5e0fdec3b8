"""Attitude drift (docs/ODD.md §7.3): Russia alignment under propaganda, contact and disillusion."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simulation.model.model import ArmyModel


def drift(model: ArmyModel) -> None:
    """Russia alignment moves towards a target: propaganda and contact pull it towards 1,
    disillusion towards 0, and mean reversion back to the officer's anchor (docs/ODD.md,
    'Attitude dynamics'). A convex combination while the rates sum to at most 1."""
    d = model.drivers
    pull = d["russian_propaganda"] + d["russian_contact"] * (1.0 - d["isolation"])
    push = d["disillusion"]
    reversion = model.config.attitude_dynamics.mean_reversion
    russia = model.attitudes["russia_alignment"]
    if pull or push or reversion:
        russia += pull * (1.0 - russia) - push * russia
        if reversion:
            russia -= reversion * (russia - model.russia_anchor)
        np.clip(russia, 0.0, 1.0, out=russia)
