"""What tips an officer corps: tipping curves, hysteresis, revelation cascades, structure.

Every test runs over the same 12 seeds (tests/cascade_support.py) and judges by 95%
intervals. Where repression removes refusers (arrest, dismissal) and officers leave, the
force that remains is not the force that responded: the tipping and hysteresis tests switch
removals off (consequences.enabled, exit.enabled false) to measure how the officers who stay
respond, and docs/ODD.md §8 says what happens with them on (refusers are removed faster than
a cascade grows). Numbers quoted in docs/ODD.md come from these tests' settings.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation.analysis.hysteresis import curve_steepness, run_hysteresis
from tests.cascade_support import SEEDS, curve, interval, paired_interval, series

FIGHT = "configs/scenarios/fight_order.yaml"
BORDER = "configs/scenarios/border_deployment.yaml"
STATUS_QUO = "configs/scenarios/status_quo.yaml"
NO_REMOVAL = ("consequences.enabled=false", "exit.enabled=false")
NO_FEEDBACK = (
    "expectations.enabled=false",
    "decision.social_weight=0",
    "decision.cross_unit_social_weight=0",
)
STABILITY = np.round(np.linspace(0.1, 0.9, 9), 2)


@pytest.fixture(autouse=True)
def at_repo(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)


NO_LONGER_TIPS = (
    "Does not hold since the response ladder (issue 22, docs/ODD.md §8.5): a refuser is held "
    "in his unit and bears part of the order (decision.refusal_moral_relief 0.8, "
    "refusal_hardship_relief 0.3), so open refusal is rare and flat in regime stability "
    "with removals off (36 months: 0.054 at 0.1 against 0.024 at 0.9; it was 0.809 against "
    "0.233). With both reliefs at 1 and the ladder off, as before, it tips again (0.718 "
    "against 0.359, 2 seeds); neither the ladder, traits, turnover nor setback news alone "
    "restores it. Missing: a refusal that removes the refuser from the order; not tuned"
)
NO_WAVES = (
    "Does not hold since issue 22 (docs/ODD.md §8.5): after the border deployment compliance "
    "falls for three months and then recovers (1,000 officers, 4 seeds: 0.998, 0.844, 0.773, "
    "0.748, then back to 0.929 at +12), so the year's fall is a fraction of the first "
    "month's and there is no year-long revelation to spread; not tuned"
)


@pytest.mark.xfail(strict=True, reason=NO_LONGER_TIPS)
def test_refusal_tips_much_faster_than_the_regime_weakens() -> None:
    """Refusal two years into the order to fight against regime stability: the steepest
    step of the curve is more than twice its slope from end to end (bootstrap 95% CI)."""
    refusal = curve(
        FIGHT,
        "drivers.regime_stability",
        STABILITY,
        "refuse",
        36,
        *NO_REMOVAL,
        "population.n_officers=600",
    )
    means = refusal.mean(axis=0)
    assert means[0] > means[-1] + 0.3  # a weaker regime, more refusal
    steep = curve_steepness(refusal, STABILITY)
    assert steep["ratio_low"] > 2.0


@pytest.mark.xfail(strict=True, reason=NO_LONGER_TIPS)
def test_weakness_raised_past_the_tipping_point_and_lowered_back_leaves_more_refusal() -> None:
    """Regime stability from 0.9 down to 0.1 and back, a year at each value: on the way back
    refusal stays higher than it was on the way out at the same stability, and at the end
    it is higher than in control runs held at 0.9 throughout (same seeds)."""
    result = run_hysteresis(
        FIGHT,
        "drivers.regime_stability",
        0.1,
        0.9,
        "refuse",
        reverse=True,
        ramp_start=48,
        replications=len(SEEDS),
        seed=12,
        overrides=[*NO_REMOVAL, "population.n_officers=600"],
    )
    level, mean, _, high = result.largest_gap()
    assert mean < 0 and high < 0  # down (out) below up (back)
    assert 0.2 < level < 0.9
    lasting = result.lasting_effect()
    assert lasting is not None and lasting[1] > 0


@pytest.mark.xfail(strict=True, reason=NO_WAVES)
def test_the_border_deployment_is_revealed_in_waves_not_in_one_step() -> None:
    """After the order to deploy (month 12) officers who would evade if safe but complied
    in public come out month after month as they see others do (Kuran): the first month
    brings less than a third of the year's fall in compliance, compliance still falls in
    the second half of the year, and hidden dissent shrinks as it is revealed."""
    data = series(BORDER, "population.n_officers=1000", "steps=24")
    comply, hidden = data["comply"], data["hidden_dissent"]
    first, year = comply[:, 11] - comply[:, 12], comply[:, 11] - comply[:, 24]
    assert interval(first / year)[1] < 1 / 3
    assert paired_interval(comply[:, 18], comply[:, 24])[1] < 0
    assert paired_interval(hidden[:, 12], hidden[:, 24])[1] < 0


@pytest.mark.xfail(strict=True, reason=NO_WAVES)
def test_peers_and_beliefs_spread_the_response_to_deployment_over_more_months() -> None:
    """Without peers' influence and beliefs the first month brings a larger share of the
    year's fall in compliance than with them (same seeds). It is not one step even then:
    Epstein's safety in numbers (detection falls as unit-mates evade) stays on and spreads
    the response over about three months (first month: about half of the year's fall)."""
    fed = series(BORDER, "population.n_officers=1000", "steps=24")["comply"]
    cut = series(BORDER, *NO_FEEDBACK, "population.n_officers=1000", "steps=24")["comply"]
    share = [(c[:, 11] - c[:, 12]) / (c[:, 11] - c[:, 24]) for c in (fed, cut)]
    assert paired_interval(share[0], share[1])[0] > 0.1


@pytest.mark.xfail(strict=True, reason=NO_LONGER_TIPS)
def test_refusal_rises_for_months_after_the_regime_looks_weaker() -> None:
    """A fall of regime stability from 0.8 to 0.5 at month 36 of the order to fight: refusal
    climbs every month for a year, the first month bringing a small part of the rise."""
    shock = "drivers.regime_stability=[{step: 0, value: 0.8}, {step: 36, value: 0.5}]"
    data = series(FIGHT, *NO_REMOVAL, shock, "population.n_officers=600", "steps=48")
    refusal = data["refuse"].mean(axis=0)
    assert (np.diff(refusal[35:49]) > 0).all()
    assert refusal[36] - refusal[35] < 0.25 * (refusal[48] - refusal[35])


@pytest.mark.parametrize(
    "lever, low, high",
    [("structure.unit_size", 5, 100), ("structure.cross_unit_ties", 0, 10)],
)
def test_unit_size_and_ties_change_the_response_to_deployment(
    lever: str, low: float, high: float
) -> None:
    compliance = curve(BORDER, lever, [low, high], "comply", 24, "population.n_officers=1000")
    gap_low, gap_high = paired_interval(compliance[:, 0], compliance[:, 1])
    assert gap_low > 0.02 or gap_high < -0.02


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Not stationary since turnover is on by default (issue 22, docs/ODD.md §8.5): the "
        "support role's compliance drifts down by more than a point over twenty years "
        "(paired interval's low end -0.016) as the academy's cohorts replace leavers; the "
        "living force is the model's, the drift is reported, not tuned"
    ),
)
def test_the_outcome_at_the_defaults_is_stationary_for_twenty_years() -> None:
    """The defaults (the support role): shares at month 12 and 240 months later differ by
    less than one percentage point, mean perceived strength by less than 0.02. (Mean Russia
    alignment falls as the academy's nation-oriented cohorts replace those who leave, since
    turnover is on by default: the seed's direction, tested in test_model.)"""
    data = series(None, "population.n_officers=1000", "steps=252")
    for column, tolerance in (
        ("comply", 0.01),
        ("evade", 0.01),
        ("refuse", 0.01),
        ("mean_perceived_strength", 0.02),
    ):
        low, high = paired_interval(data[column][:, 12], data[column][:, 252])
        assert -tolerance < low and high < tolerance, column


def test_complicit_comply_more_the_stronger_the_regime_looks_when_amnestied() -> None:
    """Fear of the regime: with an amnesty there is no fear of justice, and the complicit
    comply more under a strong regime than under a weak one (border deployment, peers'
    influence off so that what others do does not mask it)."""
    quiet = ("drivers.amnesty=1", "decision.social_weight=0", "decision.cross_unit_social_weight=0")
    complying = curve(
        BORDER,
        "drivers.regime_stability",
        [0.1, 0.9],
        "complicit_comply",
        24,
        *quiet,
        "population.n_officers=1000",
    )
    assert paired_interval(complying[:, 0], complying[:, 1])[0] > 0


def test_complicit_without_amnesty_cling_when_the_fall_looks_imminent() -> None:
    """Fear of justice: without amnesty the complicit comply more when the regime looks
    about to fall than when it looks unshakeable (order to fight)."""
    complying = curve(
        FIGHT,
        "drivers.regime_stability",
        [0.1, 1.0],
        "complicit_comply",
        24,
        "population.n_officers=1000",
    )
    assert paired_interval(complying[:, 1], complying[:, 0])[0] > 0.2


def report() -> None:
    """Print the numbers docs/ODD.md section 8 quotes, with these tests' settings."""
    from tests.cascade_support import interval as ci

    def show(label: str, values: np.ndarray) -> None:
        low, high = ci(values)
        print(f"  {label}: {np.mean(values):.3f} [{low:.3f}, {high:.3f}]")

    small = (*NO_REMOVAL, "population.n_officers=600")
    refusal = curve(FIGHT, "drivers.regime_stability", STABILITY, "refuse", 36, *small)
    print("refusal 24 months into the order to fight, by regime stability:")
    for value, column in zip(STABILITY, refusal.T, strict=True):
        show(f"stability {value:.1f}", column)
    steep = curve_steepness(refusal, STABILITY)
    print(
        f"  steepness: largest slope {steep['largest_slope']:.2f} per unit, "
        f"{steep['ratio']:.2f} [{steep['ratio_low']:.2f}, {steep['ratio_high']:.2f}] times the "
        f"linear effect ({steep['linear_slope']:.2f})"
    )
    ramp = run_hysteresis(
        FIGHT,
        "drivers.regime_stability",
        0.1,
        0.9,
        "refuse",
        reverse=True,
        ramp_start=48,
        replications=len(SEEDS),
        seed=12,
        overrides=list(small),
    )
    print("hysteresis, stability 0.9 -> 0.1 -> 0.9, 12 months at each value:")
    print(ramp.table().to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"  largest gap (down - up) at {ramp.largest_gap()[0]}: {ramp.largest_gap()[1:]}")
    print(f"  left behind against control runs: {ramp.lasting_effect()}")
    for name, settings in (("with", ()), ("without", NO_FEEDBACK)):
        data = series(BORDER, *settings, "population.n_officers=1000", "steps=24")
        comply = data["comply"]
        print(f"border deployment, {name} peers and beliefs: compliance by month 11-24")
        print("  " + " ".join(f"{v:.3f}" for v in comply.mean(axis=0)[11:25]))
        show(
            "first month's share of the year's fall",
            (comply[:, 11] - comply[:, 12]) / (comply[:, 11] - comply[:, 24]),
        )
        print(
            "  hidden dissent month 11-24: "
            + " ".join(f"{v:.3f}" for v in data["hidden_dissent"].mean(axis=0)[11:25])
        )
    shock = "drivers.regime_stability=[{step: 0, value: 0.8}, {step: 36, value: 0.5}]"
    data = series(FIGHT, *small, shock, "steps=48")
    print("refusal after stability 0.8 -> 0.5 at month 36, months 35-48:")
    print("  " + " ".join(f"{v:.3f}" for v in data["refuse"].mean(axis=0)[35:49]))
    for lever, low, high in (("structure.unit_size", 5, 100), ("structure.cross_unit_ties", 0, 10)):
        values = curve(BORDER, lever, [low, high], "comply", 24, "population.n_officers=1000")
        print(f"border deployment +12, compliance, {lever} {low} vs {high}:")
        show(f"{lever}={low}", values[:, 0])
        show(f"{lever}={high}", values[:, 1])
    data = series(None, "population.n_officers=1000", "steps=252")
    print("defaults, month 12 vs month 252:")
    for column in ("comply", "evade", "refuse", "mean_russia_alignment", "mean_perceived_strength"):
        show(f"{column} at 12", data[column][:, 12])
        show(f"{column} change", data[column][:, 252] - data[column][:, 12])
    quiet = ("drivers.amnesty=1", "decision.social_weight=0", "decision.cross_unit_social_weight=0")
    values = curve(
        BORDER,
        "drivers.regime_stability",
        [0.1, 0.9],
        "complicit_comply",
        24,
        *quiet,
        "population.n_officers=1000",
    )
    print("complicit compliance, border deployment +12, amnesty, no peers: stability 0.1, 0.9")
    show("0.1", values[:, 0])
    show("0.9", values[:, 1])
    values = curve(
        FIGHT,
        "drivers.regime_stability",
        [0.1, 1.0],
        "complicit_comply",
        24,
        "population.n_officers=1000",
    )
    print("complicit compliance, fight order +12, no amnesty: stability 0.1, 1.0")
    show("0.1", values[:, 0])
    show("1.0", values[:, 1])


if __name__ == "__main__":
    report()
