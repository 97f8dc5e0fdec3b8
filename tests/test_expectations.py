"""Perceived regime strength, what peers see, symmetric social influence, hidden preferences.

docs/ODD.md, 'Expectations' and 'Choice'. Rule-level tests call the pure decision functions;
model-level ones step small forces.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config.schema import DecisionConfig, ExitConfig
from simulation.errors import ConfigError
from simulation.model.consequences import follow_choices
from simulation.model.decision import (
    Situation,
    choice_utilities,
    private_inclination,
    social_term,
)
from simulation.model.detection import detection_now
from simulation.model.model import ArmyModel
from simulation.model.observation import observe, update_beliefs
from simulation.vocabulary import ATTITUDES, COMPLY, EVADE, EXIT, REFUSE
from tests.conftest import small_config

# ------------------------------------------------------------------ the rule


def officers(n: int, **values: float) -> dict[str, np.ndarray]:
    """Attitudes of n identical officers (0.5 unless given)."""
    attitudes = {name: np.full(n, 0.5) for name in ATTITUDES}
    for name, value in values.items():
        attitudes[name] = np.full(n, value)
    return attitudes


def facing(n: int, **fields: object) -> Situation:
    """The fight order, one enforcer per officer, nobody seen acting, unless given."""
    base: dict[str, object] = {
        "war_order_level": 3,
        "punishment_severity": 1.0,
        "incentive_level": 0.0,
        "regime_stability": 0.8,
        "amnesty": 0.0,
        "enforcers": np.ones(n),
        "noncompliant_peers": np.ones(n),
        "seen_in_unit": np.zeros((4, n)),
        "benefit_multiplier": np.ones(n),
        "hardship_multiplier": np.ones(n),
    }
    base.update(fields)
    return Situation(**base)  # type: ignore[arg-type]


STRENGTHS = np.linspace(0.05, 0.95, 10)


def refusal_utility(culpability: float, amnesty: float) -> np.ndarray:
    """U_refuse of one complicit-like officer at each perceived strength in STRENGTHS."""
    n = STRENGTHS.shape[0]
    attitudes = officers(n, culpability=culpability, risk_aversion=0.5)
    situation = facing(n, perceived_strength=STRENGTHS, amnesty=amnesty, career_dependence=0.5)
    return choice_utilities(attitudes, situation, DecisionConfig())[:, REFUSE]


def test_fear_of_the_regime_grows_with_perceived_strength() -> None:
    """With nothing to fear from justice (no culpability, or a full amnesty), defying the
    order is less attractive the stronger the regime looks: sanction and stake grow."""
    for culpability, amnesty in ((0.0, 0.0), (0.7, 1.0)):
        assert (np.diff(refusal_utility(culpability, amnesty)) < 0).all()


def test_fear_of_justice_grows_as_the_regime_looks_about_to_fall() -> None:
    """A culpable officer without amnesty finds defection less attractive the weaker the
    regime looks: he clings to it (lock-in, Criminals in uniform)."""
    assert (np.diff(refusal_utility(0.7, 0.0)) > 0).all()


def test_amnesty_eases_the_fear_of_justice() -> None:
    assert (refusal_utility(0.7, 0.8) > refusal_utility(0.7, 0.0)).all()


def test_without_beliefs_the_driver_sets_fear_and_lock_in() -> None:
    n = 3
    attitudes = officers(n, culpability=0.7)
    believed = facing(n, perceived_strength=np.full(n, 0.4))
    driver = facing(n, regime_stability=0.4)
    decision = DecisionConfig()
    np.testing.assert_allclose(
        choice_utilities(attitudes, believed, decision),
        choice_utilities(attitudes, driver, decision),
    )


def test_social_influence_is_the_same_response_for_every_action() -> None:
    """Each action's social term is the response to the share seen taking *that* action
    against the threshold: evasion, refusal and exit are treated alike, and seeing one
    action does nothing for the others."""
    decision = DecisionConfig()
    n = 5
    threshold = np.full(n, 0.3)
    nothing = {a: social_term(facing(n), a, threshold, decision) for a in (EVADE, REFUSE, EXIT)}
    terms = {}
    for action in (EVADE, REFUSE, EXIT):
        seen = np.zeros((4, n))
        seen[action] = [0.0, 0.1, 0.3, 0.5, 0.9]
        situation = facing(n, seen_in_unit=seen)
        terms[action] = social_term(situation, action, threshold, decision)
        for other in {EVADE, REFUSE, EXIT} - {action}:
            np.testing.assert_allclose(
                social_term(situation, other, threshold, decision), nothing[other]
            )
    np.testing.assert_allclose(terms[EVADE], terms[REFUSE])
    np.testing.assert_allclose(terms[REFUSE], terms[EXIT])
    assert (np.diff(terms[REFUSE]) >= 0).all()


def test_logistic_response_is_a_threshold_between_minus_and_plus_half_the_weight() -> None:
    decision = DecisionConfig(social_weight=0.4, social_response_width=0.01)
    n = 3
    seen = np.zeros((4, n))
    seen[REFUSE] = [0.0, 0.3, 1.0]
    term = social_term(facing(n, seen_in_unit=seen), REFUSE, np.full(n, 0.3), decision)
    np.testing.assert_allclose(term, [-0.2, 0.0, 0.2], atol=1e-9)


def test_linear_response_is_the_weighted_gap() -> None:
    decision = DecisionConfig(social_response="linear", social_weight=0.4)
    n = 3
    seen = np.zeros((4, n))
    seen[EVADE] = [0.0, 0.3, 1.0]
    term = social_term(facing(n, seen_in_unit=seen), EVADE, np.full(n, 0.3), decision)
    np.testing.assert_allclose(term, 0.4 * (seen[EVADE] - 0.3))


def test_unit_and_cross_unit_ties_have_their_own_weights() -> None:
    decision = DecisionConfig(
        social_response="linear", social_weight=0.3, cross_unit_social_weight=0.1
    )
    n = 2
    unit, ties = np.zeros((4, n)), np.zeros((4, n))
    unit[REFUSE] = [0.5, 0.5]
    ties[REFUSE] = [0.8, 0.8]
    situation = facing(n, seen_in_unit=unit, seen_in_ties=ties, has_ties=np.array([1, 0]))
    term = social_term(situation, REFUSE, np.zeros(n), decision)
    np.testing.assert_allclose(term, [0.3 * 0.5 + 0.1 * 0.8, 0.3 * 0.5])


def test_private_inclination_ignores_sanction_and_peers() -> None:
    """What he would do if safe: the best action once the expected sanctions and the social
    terms are taken out (Kuran's private preference)."""
    n = 4
    attitudes = officers(n, war_aversion=0.9, regime_alignment=0.1, russia_alignment=0.1)
    situation = facing(n, punishment_severity=20.0)
    parts: dict[str, np.ndarray] = {}
    utilities = choice_utilities(
        attitudes, situation, DecisionConfig(), None, ExitConfig(), None, parts
    )
    assert (np.argmax(utilities, axis=1) != REFUSE).all()  # afraid in public
    safe = facing(n, punishment_severity=0.0)
    alone = choice_utilities(
        attitudes,
        safe,
        DecisionConfig(social_weight=0.0, cross_unit_social_weight=0.0),
        None,
        ExitConfig(),
    )
    np.testing.assert_array_equal(private_inclination(utilities, parts), np.argmax(alone, axis=1))
    assert (private_inclination(utilities, parts) != COMPLY).all()


# ------------------------------------------------------------------ the model


def test_officers_see_refusal_and_exit_in_full_and_evasion_with_its_peer_visibility() -> None:
    config = small_config(
        "structure.cross_unit_ties=0", "decision.evasion_peer_visibility=0.25", n_officers=40
    )
    model = ArmyModel(config, seed=1)
    unit = np.flatnonzero(model.unit == 0)
    watcher, evaders, refuser = unit[0], unit[1:5], unit[5]
    model.choice[evaders] = EVADE
    model.choice[refuser] = REFUSE
    seen = observe(model)
    peers = unit.shape[0] - 1
    assert seen.unit_peers[watcher] == peers
    assert seen.unit[EVADE, watcher] == pytest.approx(4 * 0.25)
    assert seen.unit[REFUSE, watcher] == 1.0
    shares = model.situation().seen_in_unit[:, watcher]
    assert shares[EVADE] == pytest.approx(1.0 / peers)
    assert shares[REFUSE] == pytest.approx(1.0 / peers)


def test_what_peers_see_of_evasion_does_not_change_its_detection() -> None:
    """Peers' view and the enforcers' are separate parameters."""
    detections = []
    for peer_visibility in (0.1, 0.9):
        config = small_config(
            "drivers.war_order_level=2", f"decision.evasion_peer_visibility={peer_visibility}"
        )
        model = ArmyModel(config, seed=2)
        model.choice[: model.n_officers // 3] = EVADE
        evaders = np.flatnonzero(model.choice == EVADE)
        detections.append(detection_now(model, evaders))
    np.testing.assert_array_equal(*detections)


def test_officers_who_left_last_month_are_seen_by_the_act_that_took_them() -> None:
    config = small_config("structure.cross_unit_ties=0", n_officers=40)
    model = ArmyModel(config, seed=3)
    unit = np.flatnonzero(model.unit == 0)
    leaver = unit[1]
    model.choice[leaver] = EXIT
    model._acts = model.choice.copy()
    model._acted = model.active.copy()
    follow_choices(model)
    assert not model.active[leaver]
    seen = observe(model)
    assert seen.unit[EXIT, unit[0]] == 1.0
    assert seen.unit_peers[unit[0]] == unit.shape[0] - 1


def test_perceived_strength_falls_where_officers_see_defection() -> None:
    config = small_config(
        "structure.cross_unit_ties=0", "expectations.prior_sd=0", "expectations.rumour_noise=0"
    )
    model = ArmyModel(config, seed=4)
    rebels = np.flatnonzero(model.unit == 0)
    model.choice[rebels] = REFUSE
    update_beliefs(model, observe(model))
    inside = model.perceived_strength[rebels]
    elsewhere = model.perceived_strength[model.unit == 1]
    assert inside.max() < elsewhere.min() < 0.8
    np.testing.assert_allclose(elsewhere, elsewhere[0])


def test_perceived_strength_follows_the_regime_stability_driver() -> None:
    config = small_config(
        "drivers.regime_stability=[{step: 0, value: 0.8}, {step: 1, value: 0.3}]",
        steps=40,
    )
    model = ArmyModel(config, seed=5)
    before = model.perceived_strength.mean()
    for _ in range(40):
        model.step()
    after = model.perceived_strength[model.active].mean()
    assert before == pytest.approx(0.8, abs=0.05)
    assert after < 0.35


def test_priors_differ_between_officers_and_not_without_a_prior_spread() -> None:
    spread = ArmyModel(small_config(), seed=6).perceived_strength
    same = ArmyModel(small_config("expectations.prior_sd=0"), seed=6).perceived_strength
    assert spread.std() > 0.05
    np.testing.assert_allclose(same, 0.8)


def test_without_beliefs_everyone_perceives_the_driver_every_month() -> None:
    config = small_config(
        "expectations.enabled=false",
        "drivers.war_order_level=3",
        "drivers.regime_stability=[{step: 0, value: 0.8}, {step: 5, value: 0.5}]",
        steps=8,
    )
    model = ArmyModel(config, seed=7)
    for _ in range(8):
        model.step()
        np.testing.assert_array_equal(model.perceived_strength, model.drivers["regime_stability"])


def test_hidden_preferences_are_recorded_beside_public_acts() -> None:
    """Under border deployment many would evade if safe but comply in public."""
    config = small_config("drivers.war_order_level=2", n_officers=500, steps=3)
    model = ArmyModel(config, seed=8)
    model.step()
    serving = model.active
    private, public = model.private[serving], model.choice[serving]
    hidden = np.mean((private != COMPLY) & (public == COMPLY))
    assert hidden > 0.1
    assert model.stats["hidden_dissent"] >= hidden
    assert model.stats["falsifying"] == pytest.approx(np.mean(private != public))
    shares = [model.stats[name] for name in ("private_evasion", "private_refusal", "private_exit")]
    assert sum(shares) <= 1.0


@pytest.mark.parametrize(
    "key, value",
    [
        ("expectations.update_rate", 1.5),
        ("expectations.defection_weight", -1),
        ("decision.social_response", "sigmoid"),
        ("decision.social_response_width", 0),
        ("decision.evasion_peer_visibility", 2),
    ],
)
def test_bad_expectation_values_are_refused_with_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key.rsplit(".", 1)[-1]):
        small_config(f"{key}={value}")


def test_observation_sources_cannot_all_be_switched_off() -> None:
    with pytest.raises(ConfigError, match="cannot all be 0"):
        small_config(
            "expectations.unit_weight=0",
            "expectations.tie_weight=0",
            "expectations.rumour_weight=0",
        )
