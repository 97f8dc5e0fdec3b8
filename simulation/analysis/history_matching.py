"""History matching with Gaussian-process emulators (Vernon, Goldstein & Bower 2010;
Andrianakis et al. 2015): rule out the parameter space where the model cannot match the
anchors, before ABC searches what is left.

A wave runs the model at a space-filling design (a Latin hypercube over the priors' unit
cube, mapped through the priors' quantiles; from the second wave on, points drawn by
rejection inside the space the earlier waves did not rule out), fits one emulator per target
(a scikit-learn ``GaussianProcessRegressor`` of the target's statistic on its own comparison
scale, over each parameter's position in its prior range) and scores every point ``x`` of
the space by its implausibility for each target k,

    I_k(x) = |z_k - E[f_k(x)]| / sqrt(Var_emulator_k(x) + Var_seed_k + Var_obs_k + Var_disc_k)

where z_k is the target, Var_obs_k = tolerance_k² (the target's tolerance, in the units of
the distance), Var_disc_k = (DISCREPANCY × tolerance_k)² (the model's own error,
stated, not fitted) and Var_seed_k the emulator's fitted nugget (one run's seed noise and
the other assumptions drawn per run). A point is ruled out when the largest I_k (or, with
``order=2``, the second largest, which tolerates one badly emulated target) exceeds the
cut-off 3 (Pukelsheim's three-sigma rule: for any unimodal distribution at least 95 % of the
mass is within 3 sd). The not-ruled-out space is the intersection over waves.

Each wave reports the emulators' standardised leave-one-out errors (closed form for a GP
with fixed hyperparameters, Rasmussen & Williams 2006, eq. 5.12: about 95 % should fall in
±2 and nearly all in ±3 if the emulator's uncertainty is honest) and the share of the prior
ruled out so far, estimated by a large sample from the prior through the emulators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

CUTOFF = 3.0
"""Implausibility above which a point is ruled out (Pukelsheim's three-sigma rule)."""
DISCREPANCY = 0.5
"""Model-discrepancy sd as a share of each target's tolerance: the model is a caricature of
any real army, so even at its best parameters it misses a target by about half a tolerance
(a judgement, stated; 0 would trust the model's structure completely)."""
CHECK_SAMPLE = 20_000
"""Prior draws through the emulators that estimate the share of space ruled out."""
MAX_REJECTION = 200
"""Candidates drawn per design point wanted before a wave gives up on rejection sampling."""


@dataclass(frozen=True)
class Observation:
    """A target as history matching sees it: its value and sd on the statistic's scale."""

    name: str
    value: float
    sd: float


@dataclass
class Space:
    """The calibrated parameters: how to fill them, draw from their prior, and place a draw
    in the emulators' inputs (each parameter's position in its prior range, in [0, 1])."""

    names: list[str]
    dimensions: int
    from_unit: Callable[[np.ndarray], list[dict[str, float]]]
    sample: Callable[[np.random.Generator, int], list[dict[str, float]]]
    positions: Callable[[list[dict[str, float]]], np.ndarray]


class Emulator:
    """A Gaussian process of one target's statistic: a constant times an anisotropic RBF,
    plus a nugget for the simulator's own noise, on a standardised output."""

    def __init__(self, dimensions: int, seed: int = 0) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(
            np.full(dimensions, 0.5), (1e-2, 1e2)
        ) + WhiteKernel(0.1, (1e-6, 1.0))
        self.process = GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed
        )
        self.inputs = np.zeros((0, dimensions))
        self.outputs = np.zeros(0)

    def fit(self, inputs: np.ndarray, outputs: np.ndarray) -> Emulator:
        """Fit the hyperparameters by maximum likelihood. A hyperparameter at its bound (a
        nugget at its floor for a noise-free statistic, an output that is flat in some
        parameter) is an answer, not a failure, so sklearn's warning about it is silenced."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.process.fit(inputs, outputs)
        self.inputs, self.outputs = inputs, outputs
        return self

    @property
    def nugget(self) -> float:
        """The fitted noise variance, on the output's own scale."""
        noise = self.process.kernel_.k2.noise_level
        return float(noise * self.process._y_train_std**2)

    def predict(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the emulated mean output (the nugget excluded)."""
        mean, sd = self.process.predict(inputs, return_std=True)
        variance = np.maximum(sd**2 - self.nugget, 0.0)
        return mean, variance

    def leave_one_out(self) -> np.ndarray:
        """Standardised leave-one-out errors with the fitted hyperparameters: (y_i − mean
        without i) / sd without i, where both include the nugget (the point is a noisy run)."""
        covariance = self.process.kernel_(self.inputs)
        inverse = np.linalg.inv(covariance)
        scaled = (self.outputs - self.process._y_train_mean) / self.process._y_train_std
        return (inverse @ scaled) / np.sqrt(np.diag(inverse))


@dataclass
class Region:
    """The space not ruled out: a point survives when every wave's emulators find it
    plausible."""

    observations: list[Observation]
    cutoff: float = CUTOFF
    order: int = 1
    discrepancy: float = DISCREPANCY
    waves: list[dict[str, Emulator]] = field(default_factory=list)

    def implausibility(self, emulators: dict[str, Emulator], inputs: np.ndarray) -> np.ndarray:
        """I_k(x) for each point (rows) and target (columns)."""
        columns = []
        for target in self.observations:
            emulator = emulators[target.name]
            mean, variance = emulator.predict(inputs)
            total = variance + emulator.nugget + target.sd**2 * (1 + self.discrepancy**2)
            columns.append(np.abs(target.value - mean) / np.sqrt(total))
        return np.column_stack(columns)

    def score(self, implausibility: np.ndarray) -> np.ndarray:
        """The largest implausibility over targets (order 1) or the second largest (2)."""
        ordered = np.sort(implausibility, axis=1)[:, ::-1]
        return ordered[:, min(self.order, ordered.shape[1]) - 1]

    def contains(self, inputs: np.ndarray, waves: int | None = None) -> np.ndarray:
        """Whether each point survives the first `waves` waves (default: all)."""
        alive = np.ones(len(inputs), dtype=bool)
        for emulators in self.waves[:waves]:
            if not alive.any():
                break
            alive[alive] = self.score(self.implausibility(emulators, inputs[alive])) <= self.cutoff
        return alive


@dataclass
class HistoryMatch:
    """The waves (one row each), the emulators' diagnostics (one row per wave and target),
    every design run, and the region not ruled out."""

    waves: pd.DataFrame
    diagnostics: pd.DataFrame
    runs: pd.DataFrame
    region: Region
    space: Space

    @property
    def kept_share(self) -> float:
        """Share of the prior not ruled out by the last wave."""
        return float(self.waves["not_ruled_out"].iloc[-1]) if len(self.waves) else 1.0

    def inside(self, draws: list[dict[str, float]]) -> np.ndarray:
        return self.region.contains(self.space.positions(draws))


def latin_hypercube(dimensions: int, points: int, seed: int) -> np.ndarray:
    """A scrambled, optimised Latin hypercube in the unit cube (scipy.stats.qmc)."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=dimensions, seed=seed, optimization="random-cd").random(points)


def _design(
    space: Space, region: Region, points: int, rng: np.random.Generator
) -> tuple[list[dict[str, float]], int]:
    """`points` draws inside the space not yet ruled out (a Latin hypercube for the first
    wave; rejection from the prior after), and how many candidates that took."""
    if not region.waves:
        unit = latin_hypercube(space.dimensions, points, int(rng.integers(2**32)))
        return space.from_unit(unit), points
    kept: list[dict[str, float]] = []
    tried = 0
    batch = max(points * 4, 256)
    while len(kept) < points and tried < points * MAX_REJECTION:
        unit = latin_hypercube(space.dimensions, batch, int(rng.integers(2**32)))
        draws = space.from_unit(unit)
        alive = region.contains(space.positions(draws))
        kept += [draw for draw, keep in zip(draws, alive, strict=True) if keep]
        tried += batch
    return kept[:points], tried


def history_match(
    simulate: Callable[[tuple[dict[str, float], int]], dict[str, float]],
    space: Space,
    observations: list[Observation],
    *,
    waves: int = 3,
    points: int = 60,
    cutoff: float = CUTOFF,
    order: int = 1,
    discrepancy: float = DISCREPANCY,
    seed: int = 0,
    check_sample: int = CHECK_SAMPLE,
    mapper: Callable[[Callable, Iterable[Any]], Iterator[Any]] = map,
    progress: Callable[[str], None] | None = None,
) -> HistoryMatch:
    """Run `waves` waves of `points` simulations each. `simulate` takes (draw, seed) and
    returns each target's statistic; a run whose statistic is not finite (or the calibration's
    stand-in for one, 1e6 and beyond) is dropped from the emulators and counted."""
    if waves < 1 or points < 4:
        raise ValueError("history matching needs at least one wave of at least 4 points")
    if order not in (1, 2) or (order == 2 and len(observations) < 2):
        raise ValueError("the implausibility order must be 1, or 2 with at least two targets")
    rng = np.random.default_rng(seed)
    region = Region(observations, cutoff, order, discrepancy)
    check = space.positions(space.sample(np.random.default_rng([seed, 1]), check_sample))
    rows, diagnostics, runs = [], [], []
    names = [target.name for target in observations]
    for wave in range(waves):
        draws, tried = _design(space, region, points, rng)
        if len(draws) < 4:
            if progress:
                progress(f"wave {wave + 1}: the space left is too small to redesign; stopped")
            break
        seeds = [int(s) for s in rng.integers(0, 2**32 - 1, size=len(draws))]
        outputs = pd.DataFrame.from_records(list(mapper(simulate, zip(draws, seeds, strict=True))))
        values = outputs[names].to_numpy(dtype=float)
        usable = np.isfinite(values).all(axis=1) & (np.abs(values) < 1e6).all(axis=1)
        inputs = space.positions(draws)
        emulators = {}
        for k, target in enumerate(observations):
            emulator = Emulator(inputs.shape[1], seed=seed + wave)
            emulators[target.name] = emulator.fit(inputs[usable], values[usable, k])
            errors = emulator.leave_one_out()
            diagnostics.append(
                {
                    "wave": wave + 1,
                    "target": target.name,
                    "points": int(usable.sum()),
                    "loo_within_2": float(np.mean(np.abs(errors) <= 2)),
                    "loo_within_3": float(np.mean(np.abs(errors) <= 3)),
                    "loo_largest": float(np.max(np.abs(errors))),
                    "nugget_sd": math.sqrt(emulator.nugget),
                    "target_sd": target.sd,
                    "runs_within_3_sd": float(
                        np.mean(np.abs(values[usable, k] - target.value) <= 3 * target.sd)
                    ),
                }
            )
        before = float(region.contains(check).mean())
        region.waves.append(emulators)
        kept = float(region.contains(check).mean())
        design_kept = region.contains(inputs)
        rows.append(
            {
                "wave": wave + 1,
                "design_points": len(draws),
                "candidates_drawn": tried,
                "runs_dropped": int((~usable).sum()),
                "not_ruled_out_before": before,
                "not_ruled_out": kept,
                "ruled_out_by_wave": before - kept,
                "ruled_out_total": 1.0 - kept,
                "design_points_kept": int(design_kept.sum()),
            }
        )
        frame = pd.DataFrame(draws)
        frame.insert(0, "wave", wave + 1)
        frame["seed"] = seeds
        frame["usable"] = usable
        frame["not_ruled_out"] = design_kept
        runs.append(pd.concat([frame, outputs.add_prefix("statistic:")], axis=1))
        if progress:
            progress(
                f"wave {wave + 1}: {len(draws)} runs, {1 - kept:.1%} of the prior ruled out "
                f"({before - kept:.1%} by this wave)"
            )
        if kept == 0:
            break
    return HistoryMatch(
        pd.DataFrame(rows),
        pd.DataFrame(diagnostics),
        pd.concat(runs, ignore_index=True) if runs else pd.DataFrame(),
        region,
        space,
    )


def plot_waves(match: HistoryMatch, path: Any, title: str = "") -> None:
    """Left: the share of the prior not ruled out after each wave. Right: each wave's design
    runs' largest implausibility under that wave's emulators (cut-off dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    waves = match.waves
    left.plot([0, *waves["wave"]], [1.0, *waves["not_ruled_out"]], marker="o", color="tab:blue")
    left.set_xlabel("wave")
    left.set_ylabel("share of the prior not ruled out")
    left.set_ylim(0, 1.05)
    left.set_xticks([0, *waves["wave"]])
    for wave, emulators in enumerate(match.region.waves, start=1):
        design = match.runs.loc[match.runs["wave"] == wave]
        draws = design[match.space.names].to_dict("records")
        score = match.region.score(
            match.region.implausibility(emulators, match.space.positions(draws))
        )
        jitter = np.random.default_rng(wave).uniform(-0.15, 0.15, len(score))
        right.scatter(wave + jitter, score, s=8, alpha=0.6)
    right.axhline(match.region.cutoff, color="0.3", linestyle="--", linewidth=1)
    right.set_yscale("log")
    right.set_xlabel("wave")
    right.set_ylabel("implausibility of the design runs")
    figure.suptitle(title or "history matching", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


# ---------------------------------------------------------------------------- the model


def model_space(problem: Any) -> Space:
    """The calibration problem's parameters as a space: the priors' unit cube, draws as
    pyabc's parameters (free shares of a Dirichlet), positions in the prior ranges."""
    from simulation.analysis.transitions import bounds_of

    bounds = bounds_of(problem)
    names = list(problem.abc_names)

    def positions(draws: list[dict[str, float]]) -> np.ndarray:
        return np.column_stack(
            [bounds[name].position(np.array([d[name] for d in draws])) for name in names]
        )

    return Space(
        names=names,
        dimensions=problem.priors.unit_dimensions,
        from_unit=problem.priors.from_unit,
        sample=problem.priors.sample,
        positions=positions,
    )


def model_observations(targets: Any) -> list[Observation]:
    """Each target's value and tolerance on its comparison scale (a count target's
    statistic is its deviance residual: target 0, sd 1)."""
    return [Observation(t.name, t.observed, t.divisor) for t in targets.targets]


def simulate_model(problem: Any, item: tuple[dict[str, float], int]) -> dict[str, float]:
    """One design run of the calibration's target scenarios."""
    from simulation.analysis.calibration import simulate_targets

    draw, seed = item
    return simulate_targets(problem, problem.full_draw(draw), seed)


MATCH_FILES = ("waves.csv", "emulator_diagnostics.csv", "design_runs.csv", "history_matching.png")
"""What :func:`write_match` adds to a calibration folder."""


def match_targets(
    targets: Any,
    *,
    waves: int,
    points: int = 60,
    order: int = 1,
    discrepancy: float = DISCREPANCY,
    seed: int = 0,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> HistoryMatch:
    """History-match a targets file's parameters against its anchors, running the design on
    `workers` local processes (default: every core)."""
    import functools

    from simulation.analysis.calibration import Problem, _executor_map
    from simulation.experiments.backends import default_workers, local_backend, shutdown

    problem = Problem.from_targets(targets)
    backend = local_backend(workers or default_workers())
    executor = backend.make()
    try:
        return history_match(
            functools.partial(simulate_model, problem),
            model_space(problem),
            model_observations(targets),
            waves=waves,
            points=points,
            order=order,
            discrepancy=discrepancy,
            seed=seed,
            mapper=_executor_map(executor, backend.slots),
            progress=progress,
        )
    finally:
        shutdown(executor)
        backend.close()


def write_match(match: HistoryMatch, out: Any, title: str = "") -> None:
    """The waves, the emulators' diagnostics, the design runs and the figure."""
    from pathlib import Path

    from simulation.experiments.files import write_atomic

    out = Path(out)
    write_atomic(out / "waves.csv", lambda tmp: match.waves.to_csv(tmp, index=False))
    write_atomic(
        out / "emulator_diagnostics.csv", lambda tmp: match.diagnostics.to_csv(tmp, index=False)
    )
    write_atomic(out / "design_runs.csv", lambda tmp: match.runs.to_csv(tmp, index=False))
    write_atomic(out / "history_matching.png", lambda tmp: plot_waves(match, tmp, title))


def format_match(match: HistoryMatch) -> str:
    """The waves and the emulators' leave-one-out diagnostics, as text."""
    lines = [
        f"history matching: {len(match.waves)} wave(s), cut-off {match.region.cutoff:g} on the "
        f"{'largest' if match.region.order == 1 else 'second largest'} implausibility, "
        f"model discrepancy {match.region.discrepancy:g} tolerance"
    ]
    for row in match.waves.itertuples():
        lines.append(
            f"  wave {row.wave}: {row.design_points} runs, ruled out {row.ruled_out_by_wave:.1%} "
            f"of the prior (total {row.ruled_out_total:.1%})"
        )
    for row in match.diagnostics.itertuples():
        lines.append(
            f"  wave {row.wave} emulator {row.target}: leave-one-out errors within ±2 "
            f"{row.loo_within_2:.0%}, within ±3 {row.loo_within_3:.0%}"
        )
    return "\n".join(lines)
