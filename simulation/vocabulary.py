"""The model's vocabulary: officer groups, ranks, choices, metric names and one palette.

Everything else imports these names from here, so that a group, a choice or a colour is
spelled in exactly one place. This module imports nothing from the package.
"""

from __future__ import annotations

from importlib import metadata

GROUPS: tuple[str, ...] = ("complicit", "passive", "dissenting")
"""The seed's three officer groups [What's inside the Belarusian army?]."""

RANKS: tuple[str, ...] = ("senior", "field", "junior")
"""Rank bands: senior (generals, colonels), field (majors, captains), junior (lieutenants)."""

CHOICES: tuple[str, ...] = ("comply", "evade", "refuse")
"""What an officer does with an order: carry it out, quietly stall, or openly refuse."""

COMPLY, EVADE, REFUSE = 0, 1, 2
COMPLICIT, PASSIVE, DISSENTING = 0, 1, 2
SENIOR, FIELD, JUNIOR = 0, 1, 2

WAR_ORDER_LEVELS: dict[int, str] = {
    0: "peacetime",
    1: "support role for Russian forces (infrastructure, hospitals, training)",
    2: "deployment / mobilisation at the border",
    3: "order to fight in Ukraine",
}

ATTITUDES: tuple[str, ...] = (
    "regime_alignment",
    "russia_alignment",
    "war_aversion",
    "risk_aversion",
    "benefit_value",
    "exit_cost",
    "culpability",
    "threshold",
)
"""Per-officer attitudes, each in [0, 1] (threshold in officers in Granovetter's count mode)."""

CATEGORIES: tuple[str, ...] = (*GROUPS, *RANKS)
"""Sub-populations whose shares are recorded besides the overall ones."""

SERIES_EXTRA: tuple[str, ...] = (
    "n_active",
    "mean_russia_alignment",
    "mean_alignment",
    "mean_detection_probability",
    "recruited_by_russia",
    "retired",
    "entered",
)
"""Per-step columns besides the shares that a sweep may record as metrics."""


def share_columns() -> list[str]:
    """Names of the share columns: overall, by group and by rank (e.g. 'passive_evade')."""
    return [*CHOICES, *(f"{category}_{choice}" for category in CATEGORIES for choice in CHOICES)]


def metric_names() -> list[str]:
    """Every per-step column a run can report as a metric."""
    return [*share_columns(), *SERIES_EXTRA]


DEFAULT_METRICS: tuple[str, ...] = (
    *CHOICES,
    *(f"{group}_{choice}" for group in GROUPS for choice in CHOICES),
)
"""Outcomes a sweep records unless its experiment says otherwise: overall and by group."""


KEY_OUTPUTS: tuple[str, ...] = (
    *CHOICES,
    "complicit_comply",
    "passive_evade",
    "dissenting_refuse",
)
"""The headline outputs: overall shares and each group's key behaviour under the seed's
account (the complicit comply, the passive evade, the dissenting refuse)."""


def split_metric(metric: str) -> tuple[str, str]:
    """'passive_refuse' -> ('passive', 'refuse'); 'refuse' -> ('overall', 'refuse')."""
    for choice in CHOICES:
        if metric == choice:
            return "overall", choice
        if metric.endswith(f"_{choice}"):
            return metric.removesuffix(f"_{choice}"), choice
    return "overall", metric


CHOICE_COLOURS: dict[str, str] = {"comply": "#4C72B0", "evade": "#DD8452", "refuse": "#C44E52"}
"""One palette for every figure and the browser view."""

GROUP_MARKERS: dict[str, str] = {"complicit": "s", "passive": "o", "dissenting": "^"}
"""Matplotlib markers of the groups in drawings of officers."""

RECORDED_PACKAGES: tuple[str, ...] = (
    "reluctant-army",
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "SALib",
)
"""Packages whose versions are recorded with every result."""


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on ('unknown' when not installed)."""
    found = {}
    for package in RECORDED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found
