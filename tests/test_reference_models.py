"""The model reduced to two classic models, reproduced exactly.

* Granovetter (1978), threshold model of collective behaviour: configs/reference/
  granovetter.yaml (riot example) and granovetter_normal.yaml (normal thresholds).
* Epstein (2002), civil-violence agent rule: configs/reference/epstein.yaml.

See docs/ODD.md §7.8 for the reductions and their equations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.cli import main
from simulation.config.loading import load_config
from simulation.experiments.runner import simulate
from simulation.model.decision import (
    Situation,
    choice_utilities,
    choose,
    detection_probability,
    order_costs,
)
from simulation.model.model import ArmyModel
from simulation.vocabulary import ATTITUDES, COMPLY, EVADE, REFUSE

REFERENCE = Path(__file__).resolve().parent.parent / "configs" / "reference"
GRANOVETTER = REFERENCE / "granovetter.yaml"
GRANOVETTER_NORMAL = REFERENCE / "granovetter_normal.yaml"
EPSTEIN = REFERENCE / "epstein.yaml"

K = 2.3  # Epstein's k
T = 0.1  # Epstein's threshold


# ------------------------------------------------------------------------- Granovetter


def granovetter_equilibrium(thresholds: list[float] | np.ndarray) -> int:
    """Granovetter's recursion r(t+1) = #{i : threshold_i <= r(t)} from r(0) = 0."""
    rioters = 0
    while True:
        following = sum(1 for threshold in thresholds if threshold <= rioters)
        if following == rioters:
            return rioters
        rioters = following


def run_to_equilibrium(model: ArmyModel, max_steps: int = 1000) -> list[int]:
    """Step until the choices stop changing; the number refusing after each step."""
    counts = [int((model.choice == REFUSE).sum())]
    for _ in range(max_steps):
        before = model.choice.copy()
        model.step()
        counts.append(int((model.choice == REFUSE).sum()))
        if np.array_equal(before, model.choice):
            return counts
    raise AssertionError("no equilibrium")


def normal_config(sd: float):
    return load_config(GRANOVETTER_NORMAL, {"population.threshold_override.sd": sd})


def test_granovetter_riot_everyone_refuses():
    """Thresholds 0, 1, ..., 99: one more officer joins each step, all 100 end up refusing."""
    config = load_config(GRANOVETTER)
    assert config.population.threshold_override.values == list(range(100))
    result = simulate(config)
    refusing = result.series["count_refuse"].tolist()
    assert refusing == [min(step, 100) for step in range(config.steps + 1)]
    assert result.series["count_evade"].eq(0).all()
    assert refusing[-1] == 100


def test_granovetter_riot_moving_one_threshold_stops_it():
    """Move the threshold-1 officer to 2: only the instigator refuses."""
    values = [0, 2, *range(2, 100)]
    config = load_config(GRANOVETTER, {"population.threshold_override.values": values})
    refusing = simulate(config).series["count_refuse"].tolist()
    assert refusing == [0] + [1] * config.steps


@pytest.mark.parametrize("name", ["granovetter", "granovetter_normal", "epstein"])
def test_reference_configs_run_from_the_command_line(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["run", str(REFERENCE / f"{name}.yaml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["name"] == name
    if name == "granovetter":
        assert summary["overall"]["final"]["refuse"] == 1.0
    if name == "granovetter_normal":  # sd 12: below the critical sd, 4 officers refuse
        assert summary["overall"]["final"]["refuse"] == 0.04


def test_granovetter_threshold_is_compared_as_count_at_least():
    """V_refuse = (refusing others - threshold + 1/2) is > 0 exactly when others >= threshold."""
    config = load_config(GRANOVETTER)
    model = ArmyModel(config)
    model.choice[:] = COMPLY
    model.choice[:5] = REFUSE  # officers with thresholds 0..4 refuse
    utilities = choice_utilities(model.attitudes, model.situation(), config.decision)
    thresholds = model.attitudes["threshold"]
    others = np.where(np.arange(100) < 5, 4, 5)
    np.testing.assert_array_equal(utilities[:, REFUSE], others - thresholds + 0.5)
    assert (utilities[:, EVADE] == -np.inf).all()
    chosen = choose(utilities, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(chosen == REFUSE, others >= thresholds)


@pytest.mark.parametrize("seed", range(5))
def test_granovetter_random_thresholds_match_recursion(seed):
    """Any whole-number thresholds: the model's equilibrium is Granovetter's."""
    rng = np.random.default_rng(seed)
    values = sorted(rng.integers(0, 40, 100).tolist())
    values[0] = 0
    config = load_config(GRANOVETTER, {"population.threshold_override.values": values})
    counts = run_to_equilibrium(ArmyModel(config))
    assert counts[-1] == granovetter_equilibrium(values)
    assert counts == sorted(counts)  # the crowd only grows


def test_normal_quantile_thresholds_rounded_to_whole_officers():
    """t_i = max(0, floor(q_i + 1/2)), q_i the (i + 1/2)/N quantile of N(25, sd)."""
    for sd in (0.5, 5.0, 12.2, 12.3, 30.0):
        model = ArmyModel(normal_config(sd))
        normal = NormalDist(25.0, sd)
        expected = [max(0.0, math.floor(normal.inv_cdf((i + 0.5) / 100) + 0.5)) for i in range(100)]
        np.testing.assert_array_equal(model.attitudes["threshold"], expected)


def test_granovetter_normal_critical_sigma():
    """Scan sd = 0.1, 0.2, ..., 30.0: small equilibria below 12.3, nearly everyone from 12.3.

    Granovetter reports a critical sd of about 12.2 for N = 100, mean 25; with thresholds at
    the normal quantiles rounded half up to whole officers the model gives 12.3 (at 12.2 the
    equilibrium is 5 officers, at 12.3 all 100). Each run equals Granovetter's recursion.
    """
    equilibria = {}
    for tenth in range(1, 301):
        sd = tenth / 10
        model = ArmyModel(normal_config(sd))
        counts = run_to_equilibrium(model)
        assert counts[-1] == granovetter_equilibrium(model.attitudes["threshold"]), sd
        equilibria[sd] = counts[-1]
    critical = min(sd for sd, count in equilibria.items() if count > 50)
    assert critical == 12.3
    assert equilibria[12.2] == 5
    assert max(count for sd, count in equilibria.items() if sd < critical) <= 5
    assert min(count for sd, count in equilibria.items() if sd >= critical) >= 90
    assert equilibria[28.9] == 100 and equilibria[29.0] == 99  # the upper tail thins


# ------------------------------------------------------------------------------ Epstein


RULE_ALONE = {
    "consequences.enabled": False,
    "decision.activation": "synchronous",
    "population.n_officers": 400,
    "steps": 30,
}
"""Epstein's agent rule without his jail and random activation (the older reduction)."""


def epstein_decision():
    return load_config(EPSTEIN).decision


def attitudes_for(hardship, legitimacy, risk) -> dict[str, np.ndarray]:
    """Attitude arrays with H = war aversion, L = both alignments, R = risk aversion."""
    n = len(hardship)
    attitudes = {name: np.full(n, 0.5) for name in ATTITUDES}
    attitudes["war_aversion"] = np.asarray(hardship, dtype=float)
    attitudes["regime_alignment"] = np.asarray(legitimacy, dtype=float)
    attitudes["russia_alignment"] = np.asarray(legitimacy, dtype=float)
    attitudes["risk_aversion"] = np.asarray(risk, dtype=float)
    return attitudes


def epstein_situation(cops, actives) -> Situation:
    n = len(cops)
    return Situation(
        war_order_level=3,
        punishment_severity=1.0,
        incentive_level=0.0,
        regime_stability=1.0,
        amnesty=0.0,
        enforcers=np.asarray(cops, dtype=float),
        noncompliant_peers=np.asarray(actives, dtype=float),
        seen_in_unit=np.zeros((4, n)),
        benefit_multiplier=np.ones(n),
        hardship_multiplier=np.ones(n),
    )


def test_epstein_detection_probability_hand_values():
    """P = 1 - exp(-k floor(C / A)); A counts the officer himself (A >= 1)."""
    cops = np.array([1.0, 1.0, 3.0, 5.0, 0.0, 2.0, 1.0])
    actives = np.array([1.0, 2.0, 2.0, 2.0, 1.0, 3.0, 0.0])
    expected = [
        1 - math.exp(-2.3),  # C/A = 1: 0.8997, Epstein's "P = 0.9 when C = A = 1"
        0.0,  # floor(1/2) = 0: outnumbered enforcers detect no one
        1 - math.exp(-2.3),  # floor(3/2) = 1
        1 - math.exp(-4.6),  # floor(5/2) = 2
        0.0,  # no enforcers
        0.0,  # floor(2/3) = 0
        1 - math.exp(-2.3),  # A = 0 is treated as 1 (the officer himself)
    ]
    got = detection_probability(cops, actives, K, "floor")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert abs(got[0] - 0.9) < 0.001
    # without rounding and with Mesa's rounding
    np.testing.assert_allclose(
        detection_probability(np.array([1.0]), np.array([2.0]), K, "none"), [1 - math.exp(-1.15)]
    )
    np.testing.assert_allclose(
        detection_probability(np.array([2.0, 3.0]), np.array([5.0, 5.0]), K, "round"),
        [0.0, 1 - math.exp(-2.3)],
    )


# Hand-computed cases: (H, L, R, C, A) -> G = H (1 - L), P, N = R P, G - N - T, choice
EPSTEIN_CASES = [
    # G = 0.72, P = 0.89974, N = 0.44987, G - N - T = 0.17013 > 0: refuse
    (0.9, 0.2, 0.5, 1.0, 1.0, 0.17012942, REFUSE),
    # same officer, A = 2 > C: P = 0, G - T = 0.62: refuse
    (0.9, 0.2, 0.5, 1.0, 2.0, 0.62, REFUSE),
    # G = 0.25, N = 0.2 * 0.89974 = 0.17995, G - N - T = -0.02995: comply
    (0.5, 0.5, 0.2, 1.0, 1.0, -0.02994823, COMPLY),
    # G = 1, C/A = 3, P = 1 - exp(-6.9) = 0.99899, G - N - T = -0.09899: comply
    (1.0, 0.0, 1.0, 3.0, 1.0, -0.09899221, COMPLY),
    # G = 0.8, floor(3/2) = 1, N = 0.3 * 0.89974 = 0.26992, G - N - T = 0.43008: refuse
    (0.8, 0.0, 0.3, 3.0, 2.0, 0.43007765, REFUSE),
    # G = 0.1 exactly, no enforcers: G - N = T, not greater: comply (ties go to comply)
    (0.2, 0.5, 0.9, 0.0, 1.0, 0.0, COMPLY),
    # L = 1 (full legitimacy): no grievance whatever H: comply
    (1.0, 1.0, 0.0, 0.0, 1.0, -0.1, COMPLY),
]


def test_epstein_rule_on_hand_computed_cases():
    hardship, legitimacy, risk, cops, actives, margin, choice = map(
        list, zip(*EPSTEIN_CASES, strict=True)
    )
    decision = epstein_decision()
    attitudes = attitudes_for(hardship, legitimacy, risk)
    situation = epstein_situation(cops, actives)
    moral, felt_hardship = order_costs(attitudes, situation, decision)
    np.testing.assert_allclose(moral, np.array(hardship) * (1 - np.array(legitimacy)))
    assert (felt_hardship == 0).all()
    utilities = choice_utilities(attitudes, situation, decision)
    assert (utilities[:, COMPLY] == 0).all()
    assert (utilities[:, EVADE] == -np.inf).all()
    np.testing.assert_allclose(utilities[:, REFUSE], margin, rtol=0, atol=1e-8)
    assert utilities[5, REFUSE] == 0.0  # the tie is exact
    chosen = choose(utilities, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(chosen, choice)


def test_epstein_tie_broken_by_a_hair():
    """Just above G - N = T the officer refuses; at it he complies."""
    decision = epstein_decision()
    situation = epstein_situation([0.0, 0.0], [1.0, 1.0])
    attitudes = attitudes_for([0.2, 0.2 + 1e-9], [0.5, 0.5], [0.9, 0.9])
    utilities = choice_utilities(attitudes, situation, decision)
    np.testing.assert_array_equal(choose(utilities, 0.0, np.random.default_rng(0)), [0, 2])


unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(unit, unit, unit, st.integers(0, 5), st.integers(0, 8)), min_size=1, max_size=20
    )
)
def test_epstein_rule_matches_formula(officers):
    """Random H, L, R, C, A: refuse exactly when H(1-L) - R(1 - exp(-k floor(C/A))) > T."""
    hardship, legitimacy, risk, cops, actives = map(list, zip(*officers, strict=True))
    decision = epstein_decision()
    utilities = choice_utilities(
        attitudes_for(hardship, legitimacy, risk), epstein_situation(cops, actives), decision
    )
    chosen = choose(utilities, 0.0, np.random.default_rng(0))
    for i, (h, legit, r, c, a) in enumerate(officers):
        grievance = h * (1 - legit)
        net_risk = r * (1 - math.exp(-K * math.floor(c / max(a, 1))))
        margin = grievance - net_risk - T
        assert utilities[i, REFUSE] == pytest.approx(margin, abs=1e-12)
        if abs(margin) > 1e-12:  # away from float ties the choice is Epstein's
            assert chosen[i] == (REFUSE if margin > 0 else COMPLY)


@pytest.mark.parametrize(
    ("legitimacy", "cops", "unit_size"),
    [(0.3, 1.0, 20), (0.3, 2.0, 10), (0.6, 1.0, 5), (0.1, 3.0, 40)],
)
def test_epstein_model_matches_hand_computation(legitimacy, cops, unit_size):
    """Each officer's choice each step, computed by hand from his H, R and his unit's counts.

    The rule alone (no jail, synchronous updating): A = 1 + officers of his unit refusing
    last step (not counting himself), C = enforcers per unit; he refuses iff
    H (1 - L) - R (1 - exp(-2.3 floor(C / A))) > 0.1.
    """
    overrides = {
        **RULE_ALONE,
        "population.attitudes.passive.regime_alignment.mean": legitimacy,
        "population.attitudes.passive.russia_alignment.mean": legitimacy,
        "decision.external_enforcers_per_unit": cops,
        "structure.unit_size": unit_size,
    }
    config = load_config(EPSTEIN, overrides)
    model = ArmyModel(config)
    hardship = model.attitudes["war_aversion"]
    risk = model.attitudes["risk_aversion"]
    # uniform draws (Beta(1, 1)), constant legitimacy
    assert 0.4 < hardship.mean() < 0.6 and hardship.std() > 0.25
    assert 0.4 < risk.mean() < 0.6 and risk.std() > 0.25
    units = model.unit.tolist()
    saw_refusal = saw_compliance = saw_floor = False
    for _ in range(config.steps):
        before = model.choice.tolist()
        refusing_in_unit: dict[int, int] = {}
        for officer, u in enumerate(units):
            refusing_in_unit[u] = refusing_in_unit.get(u, 0) + (before[officer] == REFUSE)
        model.step()
        np.testing.assert_array_equal(model.attitudes["regime_alignment"], legitimacy)
        np.testing.assert_array_equal(model.attitudes["russia_alignment"], legitimacy)
        for officer, u in enumerate(units):
            actives = 1 + refusing_in_unit[u] - (before[officer] == REFUSE)
            arrests = math.floor(cops / actives)
            saw_floor |= cops / actives != arrests
            p_arrest = 1 - math.exp(-K * arrests)
            grievance = hardship[officer] * (1 - legitimacy)
            refuses = grievance - risk[officer] * p_arrest > T
            assert model.choice[officer] == (REFUSE if refuses else COMPLY), (officer, u)
            saw_refusal |= refuses
            saw_compliance |= not refuses
    assert saw_refusal and saw_compliance and saw_floor
