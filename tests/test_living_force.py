"""Specification of a living force (issue 22): at the defaults officers retire, resign for
civilian jobs and enter from the academy; extra pay keeps them; the reductions stay closed."""

from __future__ import annotations

from simulation.config.loading import load_config
from simulation.model.model import ArmyModel
from tests.conftest import REPO, small_config

PEACE = ("drivers.war_order_level=0",)


def counts_after(*overrides: str, steps: int = 60, seed: int = 1) -> dict[str, int]:
    model = ArmyModel(small_config(*PEACE, *overrides, n_officers=500, steps=steps), seed=seed)
    for _ in range(steps):
        model.step()
    return model.counts


def test_at_the_defaults_officers_retire_resign_and_enter_over_five_years():
    counts = counts_after()
    assert counts["retired"] > 0
    assert counts["resigned"] > 0
    assert counts["entered"] > 0


def test_peacetime_resignations_follow_the_civilian_rate():
    counts = counts_after("turnover.civilian_resignation_rate_per_year=0.1", steps=24)
    # 500 officers, 10% a year, two years: about 95 (the force shrinks a little)
    assert 60 < counts["resigned"] < 130


def test_extra_pay_keeps_officers_from_resigning():
    rate = "turnover.civilian_resignation_rate_per_year=0.1"
    unpaid = sum(counts_after(rate, seed=seed)["resigned"] for seed in range(4))
    paid = sum(
        counts_after(rate, "drivers.incentive_level=2", seed=seed)["resigned"] for seed in range(4)
    )
    assert paid < 0.6 * unpaid


def test_nobody_resigns_for_a_civilian_job_under_stop_loss():
    counts = counts_after(
        "drivers.war_order_level=3",
        "exit.stop_loss_from_level=3",
        "exit.enabled=false",
        "turnover.civilian_resignation_rate_per_year=0.5",
        steps=12,
    )
    assert counts["resigned"] == 0


def test_the_reductions_keep_a_closed_population():
    for name in ("epstein", "granovetter", "granovetter_normal"):
        config = load_config(REPO / "configs" / "reference" / f"{name}.yaml")
        assert config.turnover.enabled is False, name


def test_with_the_exit_action_off_every_resignation_is_for_a_civilian_job():
    counts = counts_after("exit.enabled=false", "turnover.civilian_resignation_rate_per_year=0.1")
    assert counts["resigned"] == counts["resigned_for_civilian_jobs"] > 0
    assert counts["exited_by_decision"] == counts["deserted"]


def test_exits_by_the_decision_leave_out_the_resignations_for_civilian_jobs():
    counts = counts_after(
        "drivers.war_order_level=2",
        "exit.stop_loss_from_level=4",
        "turnover.civilian_resignation_rate_per_year=0.1",
        steps=12,
    )
    assert counts["resigned_for_civilian_jobs"] > 0
    assert counts["exited_by_decision"] > 0  # the order makes some quit by choice
    assert counts["exited_by_decision"] == counts["exited"] - counts["resigned_for_civilian_jobs"]
