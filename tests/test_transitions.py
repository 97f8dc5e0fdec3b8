"""Proposal kernels whose importance weights stay bounded (defensive mixture, logit scale)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
import pytest
from scipy import integrate

from simulation.analysis.abc_glue import PriorDistribution
from simulation.analysis.calibration import ESS_FLOOR, Problem, ess_warnings
from simulation.analysis.transitions import (
    Bound,
    DefensiveMixture,
    TransformedNormalTransition,
    bounds_of,
    make_transition,
)
from simulation.config.targets import targets_from_dict

REPO = Path(__file__).resolve().parent.parent
SIMULATED = {"source": "simulated", "figure": "simulated", "analogy": "none: a test"}


@pytest.fixture(scope="module")
def problem() -> Problem:
    data = {
        "parameters": ["decision.temperature", "decision.order_moral_cost.3"],
        "targets": {
            "refusal": {
                **SIMULATED,
                "config": "configs/scenarios/fight_order.yaml",
                "output": "refuse",
                "value": 0.2,
                "tolerance": 0.05,
            }
        },
    }
    return Problem.from_targets(targets_from_dict(data, "t.yaml", REPO))


def fitted_population(problem: Problem, size: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    """A narrow population near the low end of each prior, as a late generation is."""
    prior = PriorDistribution(problem)
    np.random.seed(1)
    draws = pd.DataFrame([dict(prior.rvs()) for _ in range(400)])
    narrow = draws.nsmallest(size, problem.abc_names[0]).reset_index(drop=True)
    return narrow, np.full(size, 1 / size)


@pytest.mark.parametrize("bound", [Bound(0.2, 3.0), Bound(0.005, 0.2, log=True)])
def test_the_logit_scale_round_trips_and_its_jacobian_makes_a_density(bound: Bound) -> None:
    values = np.linspace(bound.low, bound.high, 9)[1:-1]
    assert np.allclose(bound.from_free(bound.to_free(values)), values)

    def density(x: float) -> float:  # a standard normal on the free scale, moved back
        free = bound.to_free(np.array([x]))[0]
        return float(np.exp(-0.5 * free**2 + bound.log_jacobian(np.array([x]))[0]))

    total, _ = integrate.quad(density, bound.low, bound.high, limit=200)
    assert total / np.sqrt(2 * np.pi) == pytest.approx(1.0, abs=1e-3)


def test_the_logit_kernel_never_proposes_outside_the_priors(problem: Problem) -> None:
    bounds = bounds_of(problem)
    kernel = TransformedNormalTransition(bounds, scaling=25.0)  # wide, to reach the edges
    kernel.fit(*fitted_population(problem))
    draws = pd.DataFrame([dict(kernel.rvs_single()) for _ in range(500)])
    for column, bound in bounds.items():
        assert draws[column].between(bound.low, bound.high).all(), column
    assert kernel.pdf(pd.Series({c: b.high + 1 for c, b in bounds.items()})) == 0.0


def test_a_defensive_mixture_bounds_every_weight_by_one_over_the_prior_share(
    problem: Problem,
) -> None:
    prior = PriorDistribution(problem)
    mixture = DefensiveMixture(pyabc.MultivariateNormalTransition(), prior, rho=0.2)
    mixture.fit(*fitted_population(problem))
    np.random.seed(2)
    anywhere = [prior.rvs() for _ in range(300)]
    weights = [prior.pdf(x) / mixture.pdf(x) for x in anywhere]
    assert max(weights) <= 1 / 0.2 + 1e-9
    plain = pyabc.MultivariateNormalTransition()
    plain.fit(*fitted_population(problem))
    assert max(prior.pdf(x) / max(plain.pdf(x), 1e-300) for x in anywhere) > 1e3


def test_a_mixture_draws_from_the_prior_about_its_share_of_the_time(problem: Problem) -> None:
    prior = PriorDistribution(problem)
    population, weights = fitted_population(problem)
    mixture = DefensiveMixture(pyabc.MultivariateNormalTransition(scaling=1e-6), prior, 0.3)
    mixture.fit(population, weights)
    np.random.seed(3)
    column = problem.abc_names[0]
    draws = np.array([mixture.rvs_single()[column] for _ in range(1000)])
    far = draws > population[column].max() + 1e-3  # only the prior reaches past the kernel
    assert 0.2 < far.mean() < 0.32


def test_the_calibration_builds_the_proposal_its_settings_name(problem: Problem) -> None:
    assert isinstance(make_transition(problem, "normal", 0.0), pyabc.MultivariateNormalTransition)
    mixed = make_transition(problem, "logit", 0.2)
    assert isinstance(mixed, DefensiveMixture)
    assert isinstance(mixed.kernel, TransformedNormalTransition)


def test_a_generation_below_the_ess_floor_is_warned_about() -> None:
    generations = pd.DataFrame(
        {
            "generation": [0, 1, 2],
            "effective_sample_size": [100.0, 12.0, 45.0],
            "particles": [100, 100, 100],
        }
    )
    generations["ess_share"] = generations["effective_sample_size"] / generations["particles"]
    warnings = ess_warnings(generations)
    assert len(warnings) == 1 and "generation 1" in warnings[0]
    assert ESS_FLOOR == 0.3
