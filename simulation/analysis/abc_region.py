"""The calibration's prior restricted to the space history matching did not rule out.

Apart from :mod:`simulation.analysis.history_matching` because it needs pyabc (slow to
import), which only a calibration pays for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyabc

from simulation.analysis.abc_glue import PriorDistribution

BATCH = 64
"""Prior draws tested against the emulators at a time."""


class RestrictedPrior(PriorDistribution):
    """The prior times the indicator of the not-ruled-out region, normalised by the region's
    prior mass (so the defensive mixture's bound on the weights, 1/ρ, still holds)."""

    def __init__(self, problem: Any, match: Any) -> None:
        super().__init__(problem)
        self.match = match
        self.mass = max(match.kept_share, 1e-12)

    def rvs(self, *args: Any, **kwargs: Any) -> pyabc.Parameter:
        rng = np.random.default_rng(int(np.random.randint(0, 2**32 - 1)))
        while True:
            draws = self.problem.priors.sample(rng, BATCH)
            inside = self.match.inside(draws)
            if inside.any():
                draw = draws[int(np.argmax(inside))]
                return pyabc.Parameter({name: draw[name] for name in self.problem.abc_names})

    def pdf(self, x: Any) -> float:
        density = super().pdf(x)
        if density == 0.0 or not self.match.inside([dict(x)])[0]:
            return 0.0
        return density / self.mass
