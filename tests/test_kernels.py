"""The numba kernels give the numpy path's numbers bit for bit (simulation/model/kernels.py).

The numpy code is the reference: every comparison here is exact (no tolerance), on the
decision rule alone and on whole runs (every recorded column, the state arrays and the
random generator's state at the end, so the same draws were taken in the same order).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from simulation.config.loading import load_config
from simulation.config.schema import DecisionConfig, EvaderSanctions, ExitConfig
from simulation.errors import ConfigError
from simulation.model import kernels
from simulation.model.decision import (
    KERNEL_ENVIRONMENT,
    Situation,
    available_utilities,
    choice_utilities,
    choose,
    detection_probability,
    private_inclination,
    uses_numba,
)
from simulation.model.model import ArmyModel
from simulation.model.observation import observe, update_beliefs
from simulation.vocabulary import ACTIONS, ATTITUDES, COMPLY
from tests.conftest import REPO, small_config

SOF_FIGHTS = (
    "structure.unit_types.special_operations.war_order_level="
    "[{step: 0, value: 1}, {step: 3, value: 3}]"
)

RUNS: dict[str, tuple[str, ...]] = {
    "support role": ("drivers.war_order_level=1",),
    "order to fight": ("drivers.war_order_level=3",),
    "temperature 0": ("drivers.war_order_level=3", "decision.temperature=0"),
    "count mode": ("drivers.war_order_level=2", "decision.social_threshold_unit=count"),
    "orders per unit type with stop-loss": (SOF_FIGHTS, "exit.stop_loss_from_level=3"),
    "resignation closed, desertion": (
        "drivers.war_order_level=3",
        "drivers.resignation_open=0",
        "drivers.desertion_opportunity=0.3",
    ),
    "expectations off": ("drivers.war_order_level=3", "expectations.enabled=false"),
    "no individual multipliers": (
        "drivers.war_order_level=3",
        "population.trait_spread={moral_cost: 0, career: 0, fear: 0, ties: 0}",
    ),
    "without the response ladder (Epstein's detection of refusal)": (
        "drivers.war_order_level=3",
        "consequences.response.enabled=false",
    ),
    "response ladder: cases at once, steep escalation, scarce capacity": (
        "drivers.war_order_level=3",
        "consequences.response.case_months=0",
        "consequences.response.escalation=2",
        "consequences.response.case_capacity_per_1000=1",
    ),
    "a crackdown: severity 3, more first refusals met by a case, evaders less exposed": (
        "drivers.war_order_level=3",
        "drivers.punishment_severity=3",
        "decision.evasion_punishment_elasticity=0.3",
        "consequences.response.criminal_case_punishment_elasticity=1.5",
    ),
    "response ladder: the persuaded withdraw open refusal and choose again": (
        "drivers.war_order_level=3",
        "consequences.response.persuaded_outcome=withdraw_refusal",
        "consequences.response.persuasion_probability=0.8",
    ),
    "linear response, no evasion, rounded detection, incentive, amnesty": (
        "drivers.war_order_level=3",
        "decision.social_response=linear",
        "decision.enable_evasion=false",
        "decision.detection_ratio_rounding=round",
        "drivers.incentive_level=0.5",
        "drivers.amnesty=0.5",
    ),
    "turnover, recruitment, ties, clustering, capacity arrests": (
        "drivers.war_order_level=[{step: 0, value: 1}, {step: 6, value: 3}]",
        "turnover.enabled=true",
        "drivers.russian_recruitment_rate=0.05",
        "structure.cross_unit_ties=4",
        "structure.group_clustering=0.6",
        "consequences.arrest_rule=capacity",
        "expectations.rumour_noise=0",
    ),
    "personnel categories, mobilisation of the reserve": (
        "personnel.categories.contract_soldier.per_officer=1.5",
        "personnel.categories.conscript.per_officer=2",
        "personnel.categories.reservist.per_officer=6",
        "personnel.categories.territorial_defence.per_officer=2",
        "drivers.mobilisation=[{step: 0, value: 0}, {step: 4, value: 0.5}, {step: 8, value: 1}]",
        "drivers.war_order_level=[{step: 0, value: 1}, {step: 4, value: 3}]",
        "exit.stop_loss_from_level=3",
    ),
    "no ties, no tastes, no career stake, exit off": (
        "drivers.war_order_level=3",
        "structure.cross_unit_ties=0",
        "decision.taste_sd=0",
        "expectations.career_dependence=0",
        "exit.enabled=false",
    ),
}


@pytest.fixture(autouse=True)
def kernel_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config chooses the path here, whatever RELUCTANT_ARMY_KERNEL the suite runs with."""
    monkeypatch.delenv(KERNEL_ENVIRONMENT, raising=False)


def run(overrides: tuple[str, ...], kernel: str, steps: int = 24) -> ArmyModel:
    config = small_config(*overrides, f"performance.kernel={kernel}", n_officers=1500, steps=steps)
    model = ArmyModel(config, seed=5)
    for _ in range(steps):
        model.step()
    return model


STATE = (
    "choice",
    "private",
    "perceived_strength",
    "active",
    "jailed",
    "in_reserve",
    "tenure",
    "benefit_held",
)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_numba_run_equals_numpy_run_bit_for_bit(name: str, monkeypatch) -> None:
    calls = {"decide": 0, "observe": 0, "update_beliefs": 0}
    for function in calls:
        original = getattr(kernels, function)

        def counted(*args, _original=original, _name=function, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(kernels, function, counted)
    reference = run(RUNS[name], "numpy")
    assert calls == {"decide": 0, "observe": 0, "update_beliefs": 0}
    fused = run(RUNS[name], "numba")
    assert calls["decide"] == calls["observe"] == 24
    if "expectations off" not in name:
        assert calls["update_beliefs"] == 24
    pd.testing.assert_frame_equal(
        fused.datacollector.get_model_vars_dataframe(),
        reference.datacollector.get_model_vars_dataframe(),
        check_exact=True,
    )
    for field in STATE:
        np.testing.assert_array_equal(getattr(fused, field), getattr(reference, field), field)
    assert fused.rng.bit_generator.state == reference.rng.bit_generator.state


def test_random_activation_decides_with_numpy_and_observes_with_the_kernels(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("random activation must decide with the numpy code")

    monkeypatch.setattr(kernels, "decide", refuse)
    overrides = ("drivers.war_order_level=3", "decision.activation=random")
    reference, fused = run(overrides, "numpy", steps=8), run(overrides, "numba", steps=8)
    pd.testing.assert_frame_equal(
        fused.datacollector.get_model_vars_dataframe(),
        reference.datacollector.get_model_vars_dataframe(),
        check_exact=True,
    )
    np.testing.assert_array_equal(fused.perceived_strength, reference.perceived_strength)


def test_observation_counts_equal_numpy_with_officers_gone_since_the_last_decision(
    monkeypatch,
) -> None:
    model = run(("drivers.war_order_level=3", "structure.cross_unit_ties=3"), "numpy", steps=6)
    assert (model._acted & ~model.active).any()  # some left at the last step: seen by their act
    numpy_seen = observe(model)
    monkeypatch.setenv(KERNEL_ENVIRONMENT, "numba")
    numba_seen = observe(model)
    for field in ("unit", "unit_peers", "ties", "tie_peers"):
        np.testing.assert_array_equal(getattr(numba_seen, field), getattr(numpy_seen, field))
    assert numba_seen.army == numpy_seen.army


def test_belief_update_equals_numpy_and_draws_the_same_rumours(monkeypatch) -> None:
    model = run(("drivers.war_order_level=3",), "numpy", steps=6)
    seen = observe(model)
    before, state = model.perceived_strength.copy(), model.rng.bit_generator.state
    update_beliefs(model, seen)
    numpy_belief, numpy_state = model.perceived_strength.copy(), model.rng.bit_generator.state
    model.perceived_strength[:] = before
    model.rng.bit_generator.state = state
    monkeypatch.setenv(KERNEL_ENVIRONMENT, "numba")
    update_beliefs(model, seen)
    np.testing.assert_array_equal(model.perceived_strength, numpy_belief)
    assert model.rng.bit_generator.state == numpy_state


# ---------------------------------------------------------------------------- the rule alone


def attitudes_of(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {name: rng.random(n) for name in ATTITUDES}


def situation_of(n: int, rng: np.random.Generator, **fields: object) -> Situation:
    """A situation with every field per officer, varied widely (some utilities tie)."""
    defaults: dict[str, object] = {
        "war_order_level": rng.integers(0, 4, n),
        "punishment_severity": 0.5 + rng.random(n),
        "incentive_level": 0.4,
        "regime_stability": 0.7,
        "amnesty": 0.2,
        "enforcers": rng.random(n) * 4,
        "noncompliant_peers": rng.integers(0, 6, n).astype(float),
        "seen_in_unit": rng.random((4, n)),
        "benefit_multiplier": rng.random(n) * 2,
        "hardship_multiplier": rng.random(n) * 2,
        "training_debt": rng.random(n),
        "pension_stake": np.minimum(rng.random(n) * 1.5, 1.0),
        "resignation_open": rng.random(n) < 0.5,
        "desertion_possible": rng.random(n) < 0.5,
        "taste": rng.normal(0, 0.05, (4, n)),
        "seen_in_ties": rng.random((4, n)),
        "has_ties": rng.random(n) < 0.8,
        "perceived_strength": rng.random(n),
        "career_dependence": 0.5,
    }
    defaults.update(fields)
    return Situation(**defaults)  # type: ignore[arg-type]


rng_fields = np.random.default_rng(22)
"""Draws of the per-officer fields of RULE_CASES (4,000 officers, as the test's)."""

RULE_CASES: dict[str, dict[str, object]] = {
    "every field per officer": {},
    "one order and one sanction, routes open for all": {
        "war_order_level": 2,
        "punishment_severity": 1.5,
        "resignation_open": True,
    },
    "resignation closed for all": {"resignation_open": False},
    "no beliefs, no tastes, no ties": {
        "perceived_strength": None,
        "taste": None,
        "seen_in_ties": None,
        "has_ties": None,
    },
    "response ladder and reassignment per officer": {
        "refusal_sanction": rng_fields.random((4, 4000)),
        "order_share": np.where(rng_fields.random(4000) < 0.3, 0.5, 1.0),
    },
    "individual multipliers of moral cost, career, fear and ties": {
        "refusal_sanction": rng_fields.random((4, 4000)),
        "moral_multiplier": rng_fields.lognormal(-0.08, 0.4, 4000),
        "career_multiplier": rng_fields.lognormal(-0.08, 0.4, 4000),
        "fear_multiplier": rng_fields.lognormal(-0.08, 0.4, 4000),
        "social_multiplier": rng_fields.lognormal(-0.08, 0.4, 4000),
    },
    "response ladder, open refusal withdrawn for some": {
        "refusal_sanction": rng_fields.random((4, 4000)),
        "refusal_withdrawn": rng_fields.random(4000) < 0.3,
    },
    "an evader's own severity per officer": {
        "refusal_sanction": rng_fields.random((4, 4000)),
        "evasion_punishment_severity": 0.5 + rng_fields.random(4000),
    },
    "an evader's own severity for everyone": {"evasion_punishment_severity": 1.7},
    "response ladder, one column for everyone": {
        "refusal_sanction": rng_fields.random((4, 1)),
    },
    "scalar career fields, no incentive": {
        "training_debt": 0.3,
        "pension_stake": 1.0,
        "incentive_level": 0.0,
        "career_dependence": 0.0,
    },
}
DECISIONS: dict[str, dict[str, object]] = {
    "defaults": {},
    "count, linear, floor": {
        "social_threshold_unit": "count",
        "social_response": "linear",
        "detection_ratio_rounding": "floor",
    },
    "no evasion, unit ties only": {"enable_evasion": False, "cross_unit_social_weight": 0.0},
    "ties only, round": {"social_weight": 0.0, "detection_ratio_rounding": "round"},
}


@pytest.mark.parametrize("temperature", [0.0, 0.05])
@pytest.mark.parametrize("decision_name", sorted(DECISIONS))
@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_kernel_utilities_choice_and_inclination_equal_the_numpy_rule(
    case: str, decision_name: str, temperature: float
) -> None:
    n = 4000
    rng = np.random.default_rng(len(case) * 7 + len(decision_name))
    attitudes = attitudes_of(n, rng)
    situation = situation_of(n, rng, **RULE_CASES[case])
    decision = DecisionConfig(**DECISIONS[decision_name])  # type: ignore[arg-type]
    exit_rules, sanctions = ExitConfig(), EvaderSanctions()
    active = rng.random(n) < 0.9
    draws = rng.random(n)

    detection = detection_probability(
        situation.enforcers,
        situation.noncompliant_peers,
        decision.detection_steepness,
        decision.detection_ratio_rounding,
    )
    parts: dict[str, np.ndarray] = {}
    utilities = choice_utilities(
        attitudes, situation, decision, detection, exit_rules, sanctions, parts
    )
    available = available_utilities(utilities, situation.refusal_withdrawn)
    expected_choice = choose_with_draws(available, temperature, draws)
    expected_private = private_inclination(utilities, parts)

    fused_utilities = np.empty_like(utilities)
    choice, private, fused_detection = kernels.decide(
        attitudes,
        situation,
        decision,
        exit_rules,
        sanctions,
        temperature,
        draws if temperature else None,
        active,
        True,
        fused_utilities,
    )
    np.testing.assert_array_equal(fused_utilities[active], utilities[active])
    np.testing.assert_array_equal(fused_detection[active], detection[active])
    np.testing.assert_array_equal(choice[active], expected_choice[active])
    np.testing.assert_array_equal(private[active], expected_private[active])
    assert (choice[~active] == COMPLY).all() and (private[~active] == COMPLY).all()


def choose_with_draws(utilities: np.ndarray, temperature: float, draws: np.ndarray) -> np.ndarray:
    """decision.choose with a generator whose `random` returns `draws`."""

    class Fixed:
        def random(self, size: int) -> np.ndarray:
            assert size == draws.shape[0]
            return draws.copy()

    return choose(utilities, temperature, Fixed())  # type: ignore[arg-type]


def test_kernel_without_exit_rules_or_sanctions_equals_the_numpy_rule() -> None:
    n = 2000
    rng = np.random.default_rng(3)
    attitudes, situation = attitudes_of(n, rng), situation_of(n, rng)
    decision = DecisionConfig()
    parts: dict[str, np.ndarray] = {}
    utilities = choice_utilities(attitudes, situation, decision, None, None, None, parts)
    fused = np.empty_like(utilities)
    active = np.ones(n, dtype=bool)
    _, private, _ = kernels.decide(
        attitudes, situation, decision, None, None, 0.0, None, active, True, fused
    )
    np.testing.assert_array_equal(fused, utilities)
    assert np.isneginf(fused[:, len(ACTIONS) - 1]).all()
    np.testing.assert_array_equal(private, private_inclination(utilities, parts))


# ---------------------------------------------------------------------------- choosing the path


def test_auto_takes_numba_only_for_a_large_force() -> None:
    performance = load_config(None, ["performance.numba_from_officers=5000"]).performance
    assert not uses_numba(performance, 4999)
    assert uses_numba(performance, 5000)


def test_environment_variable_overrides_the_config(monkeypatch) -> None:
    performance = load_config(None, ["performance.kernel=numpy"]).performance
    monkeypatch.setenv(KERNEL_ENVIRONMENT, "numba")
    assert uses_numba(performance, 10)
    monkeypatch.setenv(KERNEL_ENVIRONMENT, "fortran")
    with pytest.raises(ConfigError, match="RELUCTANT_ARMY_KERNEL='fortran'"):
        uses_numba(performance, 10)


def test_asking_for_numba_without_it_installed_is_a_config_error(monkeypatch) -> None:
    import simulation.config.schema as schema

    monkeypatch.setattr(schema, "numba_installed", lambda: False)
    with pytest.raises(ConfigError, match="performance.kernel.*numba is not installed"):
        load_config(None, ["performance.kernel=numba"])


def test_a_small_run_never_imports_numba() -> None:
    code = (
        "import sys\n"
        "from simulation.model.model import ArmyModel\n"
        "model = ArmyModel(None, seed=1, n_officers=500)\n"
        "for _ in range(3):\n"
        "    model.step()\n"
        "print('numba' in sys.modules)\n"
    )
    environment = {name: value for name, value in os.environ.items() if name != KERNEL_ENVIRONMENT}
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=environment,
    ).stdout
    assert output.strip().splitlines()[-1] == "False"
