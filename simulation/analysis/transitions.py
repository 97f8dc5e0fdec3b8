"""ABC-SMC proposal kernels whose importance weights stay bounded.

The weight of an ABC-SMC particle is prior density / proposal density. pyabc's default
proposal, one multivariate normal fitted to the last population, is light-tailed; against
bounded, partly log-uniform priors a few particles drawn in its tails get huge
prior/proposal ratios, and the effective sample size collapsed to 1-7 % of the population
(measured in docs/calibration.md, §3). Two remedies, both pyabc ``Transition``
subclasses (``fit``, ``rvs_single``, ``pdf``) so pyabc weights them correctly:

- :class:`DefensiveMixture` (Hesterberg 1995): draw from the prior with probability ρ,
  else from a fitted kernel; the proposal density is the same mixture, so it is at least
  ρ × prior density everywhere and every weight is at most 1/ρ.
- :class:`TransformedNormalTransition`: the normal kernel on an unbounded scale (the
  logit of each parameter's position in its prior's range, after a log for log-uniform
  priors), so proposals never leave the support and the kernel's tails follow the
  prior's bounds; the density carries the transform's Jacobian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.transition import MultivariateNormalTransition, Transition

EDGE = 1e-12
"""Positions within this of a bound are moved inside before the logit (a draw exactly on a
bound, possible in floating point, would be infinitely far out on the free scale)."""


@dataclass(frozen=True)
class Bound:
    """A parameter's prior range and whether its free scale is taken on a log axis."""

    low: float
    high: float
    log: bool = False

    def position(self, values: np.ndarray) -> np.ndarray:
        """Where each value lies in the range, in (0, 1)."""
        if self.log:
            low, high = math.log(self.low), math.log(self.high)
            scaled = (np.log(np.maximum(values, self.low)) - low) / (high - low)
        else:
            scaled = (values - self.low) / (self.high - self.low)
        return np.clip(scaled, EDGE, 1 - EDGE)

    def to_free(self, values: np.ndarray) -> np.ndarray:
        """The logit of the position: the kernel's scale."""
        position = self.position(values)
        return np.log(position) - np.log1p(-position)

    def from_free(self, free: np.ndarray) -> np.ndarray:
        position = 1.0 / (1.0 + np.exp(-free))
        if self.log:
            low, high = math.log(self.low), math.log(self.high)
            return np.exp(low + position * (high - low))
        return self.low + position * (self.high - self.low)

    def log_jacobian(self, values: np.ndarray) -> np.ndarray:
        """log |d free / d value| (the density on the free scale times this is the density on
        the parameter's own scale); -inf outside the range."""
        inside = (values > self.low) & (values < self.high)
        position = self.position(values)
        span = (
            (math.log(self.high) - math.log(self.low)) * np.maximum(values, self.low)
            if self.log
            else np.full_like(values, self.high - self.low)
        )
        result = -np.log(position) - np.log1p(-position) - np.log(span)
        return np.where(inside, result, -np.inf)


def bounds_of(problem: Any) -> dict[str, Bound]:
    """Each pyabc parameter's range from its prior: a scalar prior's low and high (a log axis
    for a log-uniform prior), (0, 1) for a free share of a Dirichlet."""
    bounds = {}
    for prior in problem.priors.priors.values():
        if prior.components:
            for column in prior.columns[:-1]:
                bounds[column] = Bound(0.0, 1.0)
            continue
        spec = prior.spec
        bounds[prior.key] = Bound(float(spec.low), float(spec.high), spec.dist == "loguniform")
    return bounds


def _as_frame(x: Any, columns: list[str]) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x[columns]
    return pd.DataFrame([[float(x[key]) for key in columns]], columns=columns)


class TransformedNormalTransition(Transition):
    """pyabc's multivariate normal kernel fitted and sampled on each parameter's logit scale."""

    def __init__(self, bounds: dict[str, Bound], scaling: float = 1.0) -> None:
        self.bounds = bounds
        self.scaling = scaling
        self.inner = MultivariateNormalTransition(scaling=scaling)

    def _free(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {c: self.bounds[c].to_free(frame[c].to_numpy(dtype=float)) for c in frame.columns},
            index=frame.index,
        )

    def fit(self, particles: pd.DataFrame, w: np.ndarray) -> None:
        self.inner.fit(self._free(particles), w)

    def rvs_single(self) -> pyabc.Parameter:
        free = self.inner.rvs_single()
        return pyabc.Parameter(
            {c: float(self.bounds[c].from_free(np.array([free[c]]))[0]) for c in self.X.columns}
        )

    def pdf(self, x: Any) -> float | np.ndarray:
        columns = list(self.X.columns)
        frame = _as_frame(x, columns)
        values = {c: frame[c].to_numpy(dtype=float) for c in columns}
        log_jacobian = sum(self.bounds[c].log_jacobian(values[c]) for c in columns)
        inside = np.isfinite(log_jacobian)
        density = np.zeros(len(frame))
        if inside.any():
            free = self._free(frame[inside])
            kernel = np.atleast_1d(self.inner.pdf(free))
            density[inside] = kernel * np.exp(log_jacobian[inside])
        single = not isinstance(x, pd.DataFrame)
        return float(density[0]) if single else density


class DefensiveMixture(Transition):
    """Hesterberg's defensive mixture: the prior with probability `rho`, else `kernel`."""

    def __init__(self, kernel: Transition, prior: pyabc.DistributionBase, rho: float) -> None:
        if not 0 <= rho <= 1:
            raise ValueError(f"the prior's share of the mixture must be in [0, 1], got {rho}")
        self.kernel = kernel
        self.prior = prior
        self.rho = rho

    def fit(self, particles: pd.DataFrame, w: np.ndarray) -> None:
        self.kernel.fit(particles, w)

    def rvs_single(self) -> pyabc.Parameter:
        if self.rho > 0 and np.random.uniform() < self.rho:
            draw = self.prior.rvs()
            return pyabc.Parameter({c: float(draw[c]) for c in self.X.columns})
        return self.kernel.rvs_single()

    def pdf(self, x: Any) -> float | np.ndarray:
        kernel = self.kernel.pdf(x)
        if self.rho == 0:
            return kernel
        if isinstance(x, pd.DataFrame):
            prior = np.array([self.prior.pdf(row) for _, row in x.iterrows()])
        else:
            prior = self.prior.pdf(x)
        return self.rho * prior + (1 - self.rho) * kernel


KERNELS = ("normal", "logit")
"""The fitted kernel of a calibration: pyabc's normal on the parameters' own scales, or the
same on their logit scales (:class:`TransformedNormalTransition`)."""


def make_transition(problem: Any, kernel: str, prior_mixture: float) -> Transition:
    """The calibration's proposal: `kernel` mixed with the prior at `prior_mixture`."""
    from simulation.analysis.abc_glue import PriorDistribution

    if kernel == "logit":
        fitted: Transition = TransformedNormalTransition(bounds_of(problem))
    elif kernel == "normal":
        fitted = MultivariateNormalTransition()
    else:
        raise ValueError(f"unknown kernel '{kernel}'; use one of {', '.join(KERNELS)}")
    if prior_mixture == 0:
        return fitted
    return DefensiveMixture(fitted, PriorDistribution(problem), prior_mixture)
