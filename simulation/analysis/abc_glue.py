"""pyabc's side of the calibration: the prior as a pyabc distribution, and a sampler.

Kept apart from :mod:`simulation.analysis.calibration` because importing pyabc takes
seconds: only a calibration (and its workers) pays for it.

The sampler schedules statically: generation ``t`` is ``n`` tasks, task ``i`` draws and
simulates until it has one accepted particle, with numpy's global generator (which pyabc
uses) seeded from (root seed, t, i). Results are collected in task order, so the population
is the same on any executor and any number of workers, and after a resume.
"""

from __future__ import annotations

import functools
import hashlib
import math
import pickle
import random
from collections.abc import Callable, Iterator
from typing import Any

import cloudpickle
import numpy as np
import pyabc

TASK_CAP = 20_000
"""Most simulations one particle's task may take when the budget is unlimited."""
_LOADED: dict[bytes, Any] = {}
"""This worker's unpickled simulate function of the current generation."""


class PriorDistribution(pyabc.DistributionBase):
    """The calibrated parameters' joint prior (a Dirichlet on its free shares)."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def rvs(self, *args: Any, **kwargs: Any) -> pyabc.Parameter:
        rng = np.random.default_rng(int(np.random.randint(0, 2**32 - 1)))
        draw = self.problem.priors.sample(rng, 1)[0]
        return pyabc.Parameter({name: draw[name] for name in self.problem.abc_names})

    def pdf(self, x: Any) -> float:
        density = self.problem.priors.log_density(self.problem.full_draw(dict(x)))
        return math.exp(density) if density > -math.inf else 0.0


def seeded_task(
    sampler: SeededMapSampler, simulate_one: bytes, task: tuple[int, ...]
) -> tuple[Any, int]:
    """One particle: sample until one is accepted (or the cap), seeded from its identity
    (root, generation, index and, for a particle tried again, the round)."""
    root, *key = task
    sequence = np.random.SeedSequence(root, spawn_key=tuple(key))
    state = sequence.generate_state(2, dtype=np.uint32)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    digest = hashlib.sha1(simulate_one).digest()
    function = _LOADED.get(digest)
    if function is None:  # unpickled once per worker and generation, not per particle
        _LOADED.clear()
        function = _LOADED[digest] = pickle.loads(simulate_one)
    sample = sampler._create_empty_sample()
    count = 0
    while count < sampler.task_cap:
        particle = function()
        count += 1
        sample.append(particle)
        if particle.accepted:
            break
    return sample, count


class SeededMapSampler(pyabc.sampler.Sampler):
    """Particle i of generation t runs with a seed from (root, t, i), on any executor."""

    def __init__(
        self,
        map_function: Callable[..., Iterator[Any]],
        root: int,
        report: Callable[[int, int], None] | None = None,
        budget: float = math.inf,
        used: int = 0,
    ) -> None:
        super().__init__()
        self.map_function = map_function
        self.root = root
        self.report = report
        self.task_cap = TASK_CAP
        self.budget = budget
        """Most simulations of the whole calibration (pyabc checks its own limit only
        between generations, so one generation could overshoot it many times)."""
        self.used = used
        """Simulations run so far (by earlier sessions too, on a resume)."""

    def __getstate__(self) -> dict[str, Any]:
        """What a worker needs (not the executor or the progress bar)."""
        return {
            "root": self.root,
            "task_cap": self.task_cap,
            "sample_factory": self.sample_factory,
            "nr_evaluations_": 0,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable,
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> Any:
        pickled = cloudpickle.dumps(simulate_one)
        sample = self._create_empty_sample()
        total = 0
        pending = list(range(n))
        attempt = 0
        # the prior sample (t = -1) and the first generation always complete, whatever the
        # budget: without them there is no posterior at all (a budget of 20 simulations for
        # 10 particles would otherwise end with nothing)
        budget = math.inf if t <= 0 else self.budget
        while pending:
            left = min(max_eval, budget - self.used) - total
            if left <= 0:
                break
            # a finite budget is shared among the particles still wanted; a particle whose
            # share ran out is tried again (new seeds) while the budget lasts
            capped = not math.isinf(left) and left // len(pending) < TASK_CAP
            tried = pending[: int(left)] if capped else pending
            self.task_cap = int(left) // len(tried) if capped else TASK_CAP
            work = functools.partial(seeded_task, self, pickled)
            tasks = [(self.root, t + 2, i, *((attempt,) if attempt else ())) for i in tried]
            missing = pending[len(tried) :]
            for index, (part, count) in zip(tried, self.map_function(work, tasks), strict=True):
                sample += part
                total += count
                if part.n_accepted == 0:
                    missing.append(index)
                if self.report is not None:
                    self.report(t, count)
            if not capped:
                break  # no particle accepted in TASK_CAP tries: the threshold is out of reach
            pending = sorted(missing)
            attempt += 1
        self.nr_evaluations_ = total
        self.used += total
        if sample.n_accepted < n:  # the budget ran out: pyabc keeps the last whole generation
            sample.ok = False
        return sample
