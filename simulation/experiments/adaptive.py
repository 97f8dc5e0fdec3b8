"""Adaptive replications: run each design point until its confidence interval is tight.

With ``replications: {until_ci_halfwidth: h, min: m, max: M}`` every design point first
runs `m` replications; then, while the 95% confidence interval of the mean of any watched
outcome is wider than ``± h`` and fewer than `M` runs were made, it runs more. How many
more is estimated from the spread so far: enough for ``t · sd / sqrt(n) <= h``, at least
one and at most doubling the runs at a time (a noisy first estimate cannot overshoot far).

The rule is deterministic. Run *r* of a point always has the same seed, and each decision
looks only at the point's first *n* replications, where *n* is the previous decision: the
sequence of decisions, and so the runs made, are the same whatever the number of workers,
the order in which runs finish, or a resume. A point's runs never wait for other points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from simulation.experiments.spec import ReplicationRule


def half_width(values: np.ndarray) -> float:
    """Half-width of the 95% Student-t interval of the mean (infinite below two values)."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return math.inf
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def next_target(rule: ReplicationRule, outcomes: np.ndarray) -> int | None:
    """Runs the point needs given the outcomes of its first runs (rows: runs in replication
    order, NaN for a failed run; columns: watched outcomes); None when it needs no more."""
    done = len(outcomes)
    widths = [half_width(outcomes[:, column]) for column in range(outcomes.shape[1])]
    if all(width <= rule.until_ci_halfwidth for width in widths) or done >= rule.max:
        return None
    needed = done + 1
    ok = outcomes[~np.isnan(outcomes).any(axis=1)]
    if len(ok) >= 2:
        t = stats.t.ppf(0.975, len(ok) - 1)
        spread = float(ok.std(axis=0, ddof=1).max())
        estimate = math.ceil((t * spread / rule.until_ci_halfwidth) ** 2)
        needed = max(needed, estimate + (done - len(ok)))
    return int(min(rule.max, needed, 2 * done))


@dataclass
class PointProgress:
    """Where one design point stands: its current target and recorded outcomes."""

    target: int
    outcomes: dict[int, np.ndarray] = field(default_factory=dict)
    """Replication -> watched outcomes (NaN where the run failed)."""
    settled: bool = False
    """No more runs needed: the interval is tight or the maximum is reached."""


class AdaptivePlan:
    """The runs each point needs, updated as outcomes are recorded."""

    def __init__(self, rule: ReplicationRule, n_points: int, columns: list[str]) -> None:
        self.rule = rule
        self.columns = columns
        self.points = [PointProgress(rule.min) for _ in range(n_points)]

    def record(self, point: int, replication: int, outcome: np.ndarray) -> None:
        """Note one recorded run (its watched outcomes, NaN if it failed)."""
        self.points[point].outcomes[replication] = outcome

    def advance(self, point: int) -> list[int]:
        """Decide again for `point` once its current target's runs are all recorded; returns
        the replications that the new target adds (empty when none or not yet decidable)."""
        progress = self.points[point]
        added: list[int] = []
        while not progress.settled and all(r in progress.outcomes for r in range(progress.target)):
            block = np.array([progress.outcomes[r] for r in range(progress.target)], dtype=float)
            target = next_target(self.rule, block)
            if target is None:
                progress.settled = True
                break
            added += range(progress.target, target)
            progress.target = target
        return [r for r in added if r not in progress.outcomes]

    def missing(self, point: int) -> list[int]:
        """Replications of the current target not yet recorded."""
        progress = self.points[point]
        return [r for r in range(progress.target) if r not in progress.outcomes]

    @property
    def complete(self) -> bool:
        """Whether every point is settled."""
        return all(progress.settled for progress in self.points)

    def unsettled_at_max(self) -> list[int]:
        """Points that reached the maximum without a tight enough interval."""
        widths = []
        for index, progress in enumerate(self.points):
            if not progress.settled:
                continue
            block = np.array([progress.outcomes[r] for r in range(progress.target)], dtype=float)
            if any(
                half_width(block[:, c]) > self.rule.until_ci_halfwidth
                for c in range(block.shape[1])
            ):
                widths.append(index)
        return widths


def watched_columns(rule: ReplicationRule, metrics: list[str]) -> list[str]:
    """Outcome columns whose interval the rule watches."""
    return [f"{rule.measure}_{metric}" for metric in (rule.metrics or metrics)]


def replay(
    rule: ReplicationRule,
    n_points: int,
    columns: list[str],
    points: np.ndarray,
    replications: np.ndarray,
    ok: np.ndarray,
    values: np.ndarray,
) -> AdaptivePlan:
    """The plan after the recorded runs (their point, replication, success and watched
    outcomes, one row per run), with every decision they allow already taken."""
    plan = AdaptivePlan(rule, n_points, columns)
    for point, replication, success, row in zip(points, replications, ok, values, strict=True):
        outcome = row.astype(float) if success else np.full(len(columns), np.nan)
        plan.record(int(point), int(replication), outcome)
    for point in range(n_points):
        plan.advance(point)
    return plan
