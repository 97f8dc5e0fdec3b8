"""Epstein's (2002) qualitative results from configs/reference/epstein.yaml, over 12 seeds.

With his jail (cops arrest actives, who return after a random term), the number of active
refusers at constant legitimacy keeps fluctuating, with outbursts well above its mean; the
rule alone (no jail) settles on a fixed point. A sudden fall of legitimacy produces a
larger outburst than the same fall spread over many steps ("salami tactics"). The measured
numbers are in docs/ODD.md §7.8 (`python tests/test_epstein_dynamics.py` prints them).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np

from simulation.config.loading import load_config
from simulation.experiments.runner import simulate

EPSTEIN = Path(__file__).resolve().parent.parent / "configs" / "reference" / "epstein.yaml"
SEEDS = range(12)
BURN_IN = 50
STEPS = 300
LEGITIMACY, FALLEN = 0.82, 0.62
FALL_AT, FALL_STEPS = 60, 50


def outbursts(active: np.ndarray, level: float) -> int:
    """Number of episodes in which the count of actives rises above `level`."""
    above = active > level
    return int(above[0]) + int((above[1:] & ~above[:-1]).sum())


@cache
def actives(*overrides: str, seed: int, steps: int = STEPS) -> np.ndarray:
    config = load_config(EPSTEIN, [f"steps={steps}", *overrides])
    return simulate(config, seed=seed).series["count_refuse"].to_numpy()


def burst_counts() -> list[int]:
    """Per seed: outbursts above twice the run's mean after the burn-in."""
    counts = []
    for seed in SEEDS:
        after = actives(seed=seed)[BURN_IN:]
        counts.append(outbursts(after, 2 * after.mean()))
    return counts


def fall(sudden: bool) -> str:
    """The disillusion schedule that lowers legitimacy from 0.82 to 0.62 (L = L0 prod(1 - d))."""
    ratio = FALLEN / LEGITIMACY
    if sudden:
        changes = [(0, 0.0), (FALL_AT, 1 - ratio), (FALL_AT + 1, 0.0)]
    else:
        changes = [(0, 0.0), (FALL_AT, 1 - ratio ** (1 / FALL_STEPS)), (FALL_AT + FALL_STEPS, 0.0)]
    listed = ", ".join(f"{{step: {step}, value: {value!r}}}" for step, value in changes)
    return f"drivers.disillusion=[{listed}]"


def peak_after_fall(sudden: bool, seed: int) -> int:
    return int(actives(fall(sudden), seed=seed, steps=FALL_AT + FALL_STEPS + 60)[FALL_AT:].max())


def test_actives_keep_fluctuating_at_constant_legitimacy():
    for seed in SEEDS:
        assert actives(seed=seed)[BURN_IN:].std() > 2.0, seed


def test_without_jail_the_rule_alone_settles_on_a_fixed_point():
    for seed in range(3):
        after = actives("consequences.enabled=false", seed=seed)[BURN_IN:]
        assert after.std() == 0.0 and after[0] > 0


def test_outbursts_above_twice_the_mean_recur_in_long_runs():
    counts = burst_counts()
    assert np.median(counts) >= 2, counts
    assert sum(count > 0 for count in counts) >= 9, counts


def test_sudden_fall_of_legitimacy_gives_a_larger_outburst_than_a_gradual_one():
    sudden = np.array([peak_after_fall(True, seed) for seed in SEEDS])
    gradual = np.array([peak_after_fall(False, seed) for seed in SEEDS])
    assert (sudden > gradual).all(), (sudden, gradual)
    assert sudden.mean() > 1.5 * gradual.mean(), (sudden.mean(), gradual.mean())


def test_legitimacy_falls_to_the_same_level_either_way():
    for sudden in (True, False):
        config = load_config(EPSTEIN, ["steps=130", fall(sudden)])
        series = simulate(config, seed=0).series
        assert abs(series["mean_alignment"].iloc[-1] - FALLEN) < 1e-9


if __name__ == "__main__":
    counts = burst_counts()
    means = [float(actives(seed=s)[BURN_IN:].mean()) for s in SEEDS]
    peaks = [int(actives(seed=s)[BURN_IN:].max()) for s in SEEDS]
    print(f"outbursts above twice the mean, steps {BURN_IN}-{STEPS}, per seed: {counts}")
    print(f"mean actives per seed: {[round(m, 1) for m in means]}; peaks: {peaks}")
    sudden = [peak_after_fall(True, s) for s in SEEDS]
    gradual = [peak_after_fall(False, s) for s in SEEDS]
    print(f"peak actives after a sudden fall of L 0.82 -> 0.62: {sudden}")
    print(f"peak actives after the same fall over {FALL_STEPS} steps: {gradual}")
    print(f"means: sudden {np.mean(sudden):.1f}, gradual {np.mean(gradual):.1f}")
    sys.exit(0)
