"""Calibration: approximate Bayesian computation (ABC-SMC, pyabc) against real-world anchors.

The targets file (:mod:`simulation.config.targets`) names the parameters to calibrate and
the anchors. Every simulation draws a parameter set, runs each scenario the targets need
(one seed per simulation, shared by its scenarios), computes each target's output on its
comparison scale (linear, log or logit), and is scored by the distance

    d = sqrt( sum_i w_i ((model_i - target_i) / tolerance_i)^2 / sum_i w_i ),

so that d = 1 means "off by one tolerance, on average". ABC-SMC (Del Moral et al. 2012;
pyabc, Klinger et al. 2018) keeps the parameter sets whose distance falls below a threshold
that shrinks generation by generation (a quantile of the last generation's distances) down
to ``abc.min_epsilon``; the last generation's weighted particles are the posterior.

Reproducible: the sampler hands particle ``i`` of generation ``t`` its own seed, derived
from the root seed, ``t`` and ``i`` (static scheduling), so the posterior is the same on any
number of workers and after a resume. The pyabc history (SQLite) is kept in the results
folder, and an interrupted calibration continues from its last complete generation.

Results (this module writes them all): ``manifest.json``, ``targets.yaml``, ``history.db``,
``posterior.csv`` (the particles and their weights), ``generations.csv``,
``posterior_summary.csv`` (prior and posterior medians and 90% intervals, how much each
interval shrank, which parameters the targets pin down), ``marginals.png``,
``predictive.csv``/``predictive.png`` (prior and posterior predictive runs against each
target) and ``checks.csv`` (the stylised facts not fitted, in the posterior runs).
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis import preflight
from simulation.config.loading import validate_config
from simulation.config.priors import Priors
from simulation.config.targets import Targets, load_targets, targets_from_dict
from simulation.errors import ArgumentError, ConfigError, ResultsError
from simulation.experiments.files import (
    MANIFEST,
    new_manifest,
    prepare_folder,
    read_manifest,
    write_atomic,
    write_json,
    write_text,
)

HISTORY = "history.db"
OWNED_FILES: tuple[str, ...] = (
    MANIFEST,
    "targets.yaml",
    HISTORY,
    "posterior.csv",
    "generations.csv",
    "posterior_summary.csv",
    "marginals.png",
    "predictive.csv",
    "predictive.png",
    "checks.csv",
    "waves.csv",
    "emulator_diagnostics.csv",
    "design_runs.csv",
    "history_matching.png",
)
FAR = 1e6
"""Stand-in for an output that cannot be computed (an invalid config, a ratio over zero):
far from every target, so the simulation is never accepted."""
ESS_FLOOR = 0.3
"""Least effective sample size, as a share of the population, of a generation whose weighted
quantiles can be trusted: below it a handful of particles carry the weight (the collapse
the defensive mixture and the logit kernel are there to prevent), and a warning is printed."""
SHRINK_PINNED, SHRINK_NARROWED = 0.5, 0.2
"""A posterior 90% interval at most half the prior's: pinned down; at most 80%: narrowed."""

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- the model


@dataclass
class Problem:
    """What a worker needs to simulate the targets: plain, picklable data."""

    scenarios: dict[str, dict[str, Any]]
    fitted: list[str]
    """Scenarios the targets need (the checks' others run only in predictive runs)."""
    needs: dict[str, list[tuple[str, str]]]
    """Scenario -> (metric, statistic) pairs its targets and checks read."""
    targets: list[tuple[str, str, str, str]]
    """(name, scenario, output expression, scale) of each target, with its statistic in
    the output."""
    outputs: dict[str, Any]
    priors: Priors
    others: Priors | None
    replications: int
    kept: dict[str, list[str]] = field(default_factory=dict)
    """Scenario -> assumptions it sets itself (a value other than the schema default): kept,
    not drawn, as in an ensemble."""
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Count targets -> (events per unit of exposure, dispersion of the negative binomial)."""

    @classmethod
    def from_targets(cls, targets: Targets) -> Problem:
        needs: dict[str, set[tuple[str, str]]] = {key: set() for key in targets.scenarios}
        outputs = {}
        counts = {}
        for target in targets.targets:
            needs[target.scenario] |= {(m, target.output.statistic) for m in target.output.metrics}
            outputs[target.name] = target.output
            if target.exposure is not None:
                needs[target.scenario] |= {(m, "step_0") for m in target.exposure.metrics}
                outputs[f"exposure:{target.name}"] = target.exposure
                counts[target.name] = (target.spec.value, target.spec.tolerance**2)
        for check in targets.checks:
            for scenario in filter(None, (check.scenario, check.versus)):
                needs[scenario] |= {(m, check.output.statistic) for m in check.output.metrics}
            outputs[f"check:{check.name}"] = check.output
        fitted = list(dict.fromkeys(target.scenario for target in targets.targets))
        return cls(
            scenarios={key: scenario.data for key, scenario in targets.scenarios.items()},
            fitted=fitted,
            needs={key: sorted(pairs) for key, pairs in needs.items()},
            targets=[(t.name, t.scenario, t.output.text, t.spec.scale) for t in targets.targets],
            outputs=outputs,
            priors=targets.priors.lean(),
            others=targets.others.lean() if targets.others is not None else None,
            replications=targets.spec.replications,
            kept={
                key: kept
                for key, scenario in targets.scenarios.items()
                if (kept := targets.all_priors.explicit_in(scenario.data))
            },
            counts=counts,
        )

    @property
    def abc_names(self) -> list[str]:
        """pyabc's parameters: every calibrated column but the last share of a Dirichlet
        (which is 1 minus the others, so the kernel moves on the simplex)."""
        names = []
        for prior in self.priors.priors.values():
            names += list(prior.columns[:-1] if prior.components else prior.columns)
        return names

    def full_draw(self, parameters: dict[str, float]) -> dict[str, float]:
        """pyabc's parameters as a draw of every calibrated column."""
        draw = {name: float(parameters[name]) for name in self.abc_names}
        for prior in self.priors.priors.values():
            if prior.components:
                draw[prior.columns[-1]] = 1.0 - sum(draw[c] for c in prior.columns[:-1])
        return draw


def statistic_of(outcome: Any, metric: str, statistic: str) -> float:
    """A run's per-step column reduced to one number: final, peak, mean, at_order_plus_N
    (the runner's reduction) or step_N (the value at step N, the last if the run ended)."""
    values = outcome.columns[metric]
    if statistic.startswith("step_"):
        step = int(statistic.removeprefix("step_"))
        return float(values[min(step, len(values) - 1)])
    return float(outcome.reduce(metric, [statistic])[statistic])


def run_scenarios(
    problem: Problem, draw: dict[str, float], seed: int, *, fitted_only: bool = False
) -> dict[str, Any] | None:
    """Run every scenario (or only those the targets need) once per replication with one
    draw; (metric, statistic) values averaged over replications, by scenario. None if the
    draw gives an invalid config."""
    from simulation.experiments.runner import run_model

    rng = np.random.default_rng(seed)
    full = dict(draw)
    priors = problem.priors
    if problem.others is not None:
        full = {**problem.others.sample(rng, 1)[0], **full}
        priors = Priors({**problem.others.priors, **problem.priors.priors})
    seeds = [int(s) for s in rng.integers(0, 2**32, size=problem.replications)]
    results: dict[str, Any] = {}
    for key, data in problem.scenarios.items():
        if fitted_only and key not in problem.fitted:
            continue
        drawn = priors.without(set(problem.kept.get(key, []))) if key in problem.kept else priors
        try:
            config = validate_config(drawn.apply(data, full), "<calibration>")
        except ConfigError:
            return None
        sums: dict[tuple[str, str], float] = {}
        columns = list(dict.fromkeys(metric for metric, _ in problem.needs[key]))
        for run_seed in seeds:
            outcome = run_model(config, run_seed, columns=columns)
            for metric, statistic in problem.needs[key]:
                value = statistic_of(outcome, metric, statistic)
                sums[(metric, statistic)] = sums.get((metric, statistic), 0.0) + value
        results[key] = {pair: total / len(seeds) for pair, total in sums.items()}
    return results


def output_value(problem: Problem, results: dict[str, Any], name: str, scenario: str) -> float:
    """One output (a target's or a check's) from the scenario results."""
    output = problem.outputs[name]
    values = {metric: results[scenario][(metric, output.statistic)] for metric in output.metrics}
    return output.evaluate(values)


def target_value(
    problem: Problem, results: dict[str, Any] | None, name: str, scenario: str, scale: str
) -> tuple[float, float]:
    """A target's raw value (a count target's: events per unit of exposure) and its
    statistic on the comparison scale (a count target's: its deviance residual)."""
    from simulation.config.targets import count_residual, transform

    if results is None:
        return math.nan, math.nan
    value = output_value(problem, results, name, scenario)
    if scale != "count":
        return value, transform(value, scale)
    exposure = output_value(problem, results, f"exposure:{name}", scenario)
    rate, dispersion = problem.counts[name]
    raw = value / exposure if exposure > 0 else math.nan
    return raw, count_residual(value, rate * exposure, dispersion)


def simulate_targets(problem: Problem, draw: dict[str, float], seed: int) -> dict[str, float]:
    """Each target's statistic on its comparison scale (FAR when it cannot be computed, e.g.
    a log of zero: such a run is never accepted)."""
    results = run_scenarios(problem, draw, seed, fitted_only=True)
    statistics = {}
    for name, scenario, _, scale in problem.targets:
        _, scaled = target_value(problem, results, name, scenario, scale)
        statistics[name] = scaled if math.isfinite(scaled) else FAR
    return statistics


class AbcModel:
    """The model as pyabc calls it: parameters in, summary statistics out."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def __call__(self, parameters: Any) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**32 - 1))
        return simulate_targets(self.problem, self.problem.full_draw(dict(parameters)), seed)


def _executor_map(executor: Any, slots: int) -> Callable[..., Iterator[Any]]:
    """`executor.map`, in chunks that keep every worker busy."""

    def mapper(function: Callable, items: Iterable[Any]) -> Iterator[Any]:
        items = list(items)
        chunk = max(1, len(items) // (slots * 8))
        try:
            return executor.map(function, items, chunksize=chunk)
        except TypeError:  # Dask's executor has no chunksize
            return executor.map(function, items)

    return mapper


# ---------------------------------------------------------------------------- results


def weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, levels: Iterable[float]
) -> list[float]:
    """Quantiles of a weighted sample (the ABC population)."""
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights) - 0.5 * weights
    cumulative /= weights.sum()
    return [float(np.interp(level, cumulative, values)) for level in levels]


def posterior_summary(priors: Priors, posterior: pd.DataFrame) -> pd.DataFrame:
    """Per calibrated column: prior and posterior medians and 90% intervals, how much the
    interval shrank, how far the median moved (in prior 90% widths), and a verdict."""
    weights = posterior["weight"].to_numpy(dtype=float)
    records = []
    for prior in priors.priors.values():
        quantiles = prior.quantiles((0.05, 0.5, 0.95))
        for column in prior.columns:
            p05, p50, p95 = quantiles[column]
            q05, q50, q95 = weighted_quantiles(
                posterior[column].to_numpy(dtype=float), weights, (0.05, 0.5, 0.95)
            )
            prior_width = p95 - p05
            shrinkage = 1.0 - (q95 - q05) / prior_width if prior_width > 0 else math.nan
            moved = (q50 - p50) / prior_width if prior_width > 0 else math.nan
            if shrinkage >= SHRINK_PINNED:
                verdict = "pinned down"
            elif shrinkage >= SHRINK_NARROWED:
                verdict = "narrowed"
            else:
                verdict = "not identified by these targets"
            records.append(
                {
                    "parameter": column,
                    "prior_median": p50,
                    "prior_q05": p05,
                    "prior_q95": p95,
                    "posterior_median": q50,
                    "posterior_q05": q05,
                    "posterior_q95": q95,
                    "shrinkage": shrinkage,
                    "moved": moved,
                    "verdict": verdict,
                }
            )
    return pd.DataFrame.from_records(records)


def plot_marginals(
    priors: Priors,
    posterior: pd.DataFrame,
    path: Any,
    truth: dict[str, float] | None = None,
    title: str = "",
) -> None:
    """Prior (grey) and posterior (blue) of each calibrated column; the truth if known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = priors.columns
    per_row = 4
    rows = math.ceil(len(columns) / per_row)
    figure, axes = plt.subplots(
        rows,
        min(per_row, len(columns)),
        figsize=(3.4 * min(per_row, len(columns)), 2.6 * rows),
        squeeze=False,
    )
    prior_draws = pd.DataFrame(priors.sample(np.random.default_rng(0), 4000))
    weights = posterior["weight"].to_numpy(dtype=float)
    for axis, column in zip(axes.ravel(), columns, strict=False):
        low = min(prior_draws[column].min(), posterior[column].min())
        high = max(prior_draws[column].max(), posterior[column].max())
        bins = np.linspace(low, high, 31) if high > low else 10
        axis.hist(prior_draws[column], bins=bins, density=True, color="0.75", label="prior")
        axis.hist(
            posterior[column],
            bins=bins,
            weights=weights,
            density=True,
            color="#4C72B0",
            alpha=0.7,
            label="posterior",
        )
        if truth is not None and column in truth:
            axis.axvline(truth[column], color="#C44E52", linewidth=1.5, label="truth")
        axis.set_title(column.split(".", 1)[-1], fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in axes.ravel()[len(columns) :]:
        axis.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def _predictive_one(problem: Problem, item: tuple[dict[str, float], int]) -> dict[str, Any] | None:
    """Every scenario's values for one draw and seed (a worker's task)."""
    draw, seed = item
    return run_scenarios(problem, draw, seed)


def predictive(
    targets: Targets,
    problem: Problem,
    draws: list[dict[str, float]],
    seed: int,
    mapper: Callable[..., Iterator[Any]],
) -> pd.DataFrame:
    """Raw target outputs and check values of one run per draw (seeds from `seed`)."""
    seeds = np.random.SeedSequence(seed).generate_state(len(draws), dtype=np.uint32)
    items = [(draw, int(s)) for draw, s in zip(draws, seeds, strict=True)]
    rows = []
    for results in mapper(functools.partial(_predictive_one, problem), items):
        row: dict[str, float] = {}
        for target in targets.targets:
            raw, scaled = target_value(
                problem, results, target.name, target.scenario, target.spec.scale
            )
            row[target.name] = raw
            row[f"statistic:{target.name}"] = scaled
        for check in targets.checks:
            name = f"check:{check.name}"
            value = (
                math.nan
                if results is None
                else output_value(problem, results, name, check.scenario)
            )
            if results is not None and check.versus is not None:
                value -= output_value(problem, results, name, check.versus)
            row[name] = value
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def predictive_table(
    targets: Targets, prior_runs: pd.DataFrame, posterior_runs: pd.DataFrame
) -> pd.DataFrame:
    """Per target: the value and tolerance, and the prior and posterior predictive median,
    90% interval and share of runs within one tolerance of the target (on its scale)."""

    records = []
    for target in targets.targets:
        record: dict[str, Any] = {
            "target": target.name,
            "output": target.spec.output,
            "statistic": target.spec.statistic,
            "value": target.spec.value,
            "scale": target.spec.scale,
            "tolerance": target.spec.tolerance,
        }
        for label, runs in (("prior", prior_runs), ("posterior", posterior_runs)):
            values = runs[target.name].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            scaled = runs[f"statistic:{target.name}"].to_numpy(dtype=float)
            scaled = scaled[~np.isnan(scaled)]
            finite = scaled[np.isfinite(scaled)]
            for key, level in (("q05", 0.05), ("median", 0.5), ("q95", 0.95)):
                record[f"{label}_residual_{key}"] = (
                    float(np.quantile(finite, level)) if finite.size else math.nan
                )
            if values.size == 0:
                record.update(
                    {f"{label}_{k}": math.nan for k in ("median", "q05", "q95", "within", "zero")}
                )
                continue
            within = np.abs(scaled - target.observed) <= target.divisor
            record.update(
                {
                    f"{label}_median": float(np.median(values)),
                    f"{label}_q05": float(np.quantile(values, 0.05)),
                    f"{label}_q95": float(np.quantile(values, 0.95)),
                    f"{label}_within": float(within.mean()) if within.size else math.nan,
                    f"{label}_zero": float(np.mean(values == 0)),
                }
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


ZERO_SHARE = 0.05
"""Most share of runs in which a target's output may be zero unless it uses a count scale
(a zero on a log or logit scale is infinitely far: the target would mostly measure whether
any event happened)."""


def zero_prone_targets(targets: Targets, runs: pd.DataFrame) -> dict[str, float]:
    """Targets not on a count scale whose output is zero in more than ZERO_SHARE of `runs`
    (predictive runs), with that share."""
    found = {}
    for target in targets.targets:
        if target.spec.scale == "count":
            continue
        values = runs[target.name].to_numpy(dtype=float)
        share = float(np.mean(values == 0)) if values.size else 0.0
        if share > ZERO_SHARE:
            found[target.name] = share
    return found


def checks_table(
    targets: Targets, prior_runs: pd.DataFrame, posterior_runs: pd.DataFrame
) -> pd.DataFrame:
    """Per check: the condition, and the share of prior and posterior runs where it holds."""
    records = []
    for check in targets.checks:
        name = f"check:{check.name}"
        condition = (
            f"> {check.spec.above:g}" if check.spec.above is not None else f"< {check.spec.below:g}"
        )
        record = {
            "check": check.name,
            "description": check.spec.description,
            "condition": condition,
        }
        for label, runs in (("prior", prior_runs), ("posterior", posterior_runs)):
            values = runs[name].to_numpy(dtype=float)
            record[f"{label}_median"] = float(np.nanmedian(values)) if values.size else math.nan
            record[f"{label}_holds"] = float(np.mean([check.holds(v) for v in values]))
        records.append(record)
    return pd.DataFrame.from_records(records)


def plot_predictive(targets: Targets, table: pd.DataFrame, path: Any) -> None:
    """Each target: the value with its tolerance band, prior and posterior 90% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulation.config.targets import transform

    count = len(table)
    figure, axes = plt.subplots(1, count, figsize=(3.2 * count, 3.0), squeeze=False)
    for axis, (_, row), target in zip(axes[0], table.iterrows(), targets.targets, strict=True):
        observed = target.observed
        band = (observed - target.divisor, observed + target.divisor)
        counted = target.spec.scale == "count"
        axis.axhspan(*band, color="#55A868", alpha=0.2, label="target ± tolerance")
        axis.axhline(observed, color="#55A868")
        for position, label, colour in ((0, "prior", "0.5"), (1, "posterior", "#4C72B0")):
            low, mid, high = (
                row[f"{label}_residual_{k}"]
                if counted
                else transform(row[f"{label}_{k}"], target.spec.scale)
                for k in ("q05", "median", "q95")
            )
            axis.plot([position, position], [low, high], color=colour, linewidth=2)
            axis.plot(position, mid, "o", color=colour)
        axis.set_xticks([0, 1], ["prior", "posterior"])
        axis.set_xlim(-0.6, 1.6)
        scale = "deviance residual" if counted else f"{target.spec.scale} scale"
        axis.set_title(f"{target.name}\n({scale})", fontsize=8)
        axis.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    figure.suptitle("predictive runs against the targets: median and 90% interval", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


# ---------------------------------------------------------------------------- the API


@dataclass
class CalibrationResult:
    """Posterior particles, their summary, the predictive checks, and the folder."""

    targets: Targets
    posterior: pd.DataFrame
    summary: pd.DataFrame
    generations: pd.DataFrame
    predictive: pd.DataFrame
    checks: pd.DataFrame
    folder: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def simulations(self) -> int:
        """Every simulation run: the prior sample, every generation, and a last one cut
        short by the budget."""
        return int(self.manifest.get("simulations", 0))


def _open_folder(out: Path, targets: Targets, resume: bool, overwrite: bool) -> bool:
    """Prepare the results folder; True if a calibration is resumed from it."""
    existing = out.is_dir() and any(out.iterdir())
    if resume:
        if not (out / HISTORY).is_file():
            raise ResultsError("nothing to resume: no history.db in the results folder", out)
        manifest = read_manifest(out)
        if manifest.get("kind") != "calibration":
            raise ResultsError(f"holds results of kind '{manifest.get('kind')}'", out)
        if manifest.get("fingerprint") != targets.fingerprint:
            raise ResultsError(
                "the targets, their configs or the priors changed since this calibration "
                "started; resume with the unchanged files, or start again",
                out,
                remedies=("out", "overwrite"),
            )
        return True
    if existing and not overwrite:
        raise ResultsError(
            "the results folder is not empty: choose another folder, or replace its results",
            out,
            remedies=("out", "overwrite", "resume"),
        )
    prepare_folder(out)
    if overwrite:
        for name in OWNED_FILES:
            (out / name).unlink(missing_ok=True)
    return False


def calibrate(
    targets: Targets | str | Path | dict[str, Any],
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    population_size: int | None = None,
    generations: int | None = None,
    max_simulations: int | None = None,
    min_epsilon: float | None = None,
    seed: int | None = None,
    predictive_draws: int | None = None,
    prior_mixture: float | None = None,
    kernel: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    truth: dict[str, float] | None = None,
    region: Any = None,
) -> CalibrationResult:
    """Calibrate the targets file's parameters by ABC-SMC, then check the posterior.

    `targets` is a targets file, data shaped like one (configs relative to the working
    folder), or a :class:`~simulation.config.targets.Targets`. Keyword settings override
    the file's ``abc`` section. Runs go to `workers` local processes (default: every
    core; 1 in this process) or to a Dask cluster (`scheduler` or `scheduler_file`, as
    for sweeps). With `out`, the pyabc history and every result are written there and
    `resume=True` continues an interrupted calibration; without it they live in a
    temporary folder and only the returned tables remain. `truth` (known parameter
    values, for recovery studies) is drawn on the marginal plots. `region` (a
    :class:`~simulation.analysis.history_matching.HistoryMatch`) restricts the prior to the
    space history matching did not rule out.
    """
    if not isinstance(targets, Targets):
        targets = targets_from_dict(targets) if isinstance(targets, dict) else load_targets(targets)
    settings = preflight.abc_settings(
        targets,
        {
            "population_size": population_size,
            "generations": generations,
            "max_simulations": max_simulations,
            "min_epsilon": min_epsilon,
            "seed": seed,
            "prior_mixture": prior_mixture,
            "kernel": kernel,
        },
    )
    if resume and out is None:
        raise ArgumentError("resuming needs the results folder (out)", "resume")
    if resume and overwrite:
        raise ArgumentError("give either resume or overwrite, not both", "resume")
    if region is not None and region.kept_share <= 0:
        raise ArgumentError(
            "history matching ruled out the whole prior: nothing to calibrate", "region"
        )
    draws = preflight.predictive_draws(targets, predictive_draws)
    preflight.check_statistics(targets)
    if not resume:
        preflight.check_targets_computable(targets, settings.seed)
    run = functools.partial(
        _calibrate_into,
        targets=targets,
        settings=settings,
        draws=draws,
        workers=workers,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        progress=progress,
        truth=truth,
        region=region,
    )
    if out is None:
        with tempfile.TemporaryDirectory(prefix="reluctant-army-abc-") as scratch:
            result = run(Path(scratch), resumed=False)
        result.folder = None
        return result
    out = Path(out)
    return run(out, resumed=_open_folder(out, targets, resume, overwrite))


def _calibrate_into(
    out: Path,
    targets: Targets,
    settings: Any,
    draws: int,
    workers: int | None,
    scheduler: str | None,
    scheduler_file: str | Path | None,
    resumed: bool,
    progress: bool,
    truth: dict[str, float] | None,
    region: Any = None,
) -> CalibrationResult:
    import pyabc
    from tqdm import tqdm

    from simulation.analysis.abc_glue import SeededMapSampler
    from simulation.experiments.backends import dask_backend, default_workers, local_backend

    problem = Problem.from_targets(targets)
    weights = {t.name: t.spec.weight for t in targets.targets}
    total_weight = sum(weights.values())
    distance = pyabc.PNormDistance(
        p=2,
        fixed_weights={
            t.name: math.sqrt(t.spec.weight / total_weight) / t.divisor for t in targets.targets
        },
    )
    observed = {t.name: t.observed for t in targets.targets}
    manifest = new_manifest(
        "calibration",
        name=targets.name,
        targets_file=targets.source,
        fingerprint=targets.fingerprint,
        parameters=targets.parameters,
        columns=targets.priors.columns,
        others=targets.spec.others,
        priors_file=targets.all_priors.source,
        settings=settings.model_dump(),
        targets=[t.name for t in targets.targets],
        checks=[c.name for c in targets.checks],
        scenarios={key: s.label for key, s in targets.scenarios.items()},
        status="running",
        history_matched_share=region.kept_share if region is not None else None,
    )
    if not resumed:
        write_text(out / "targets.yaml", targets.text or "")
        write_json(out / MANIFEST, manifest)
    if scheduler or scheduler_file:
        backend = dask_backend(scheduler, str(scheduler_file) if scheduler_file else None)
    else:
        backend = local_backend(workers or default_workers())
    executor = backend.make()
    bar = tqdm(
        total=settings.generations * settings.population_size,
        unit="particle",
        desc=f"calibrate {targets.name}",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    counts = {"simulations": 0}

    def report(t: int, simulations: int) -> None:
        counts["simulations"] += simulations
        if t >= 0:
            bar.update(1)
        bar.set_postfix(generation=t, simulations=counts["simulations"])

    started = time.perf_counter()
    abc_logger = logging.getLogger("ABC")
    level = abc_logger.level
    abc_logger.setLevel(logging.WARNING)
    try:
        mapper = _executor_map(executor, backend.slots)
        used = _simulations_so_far(out / HISTORY) if resumed else 0
        sampler = SeededMapSampler(mapper, settings.seed, report, settings.max_simulations, used)
        prior, transition = _prior_and_transition(problem, settings, region)
        abc = pyabc.ABCSMC(
            AbcModel(problem),
            prior,
            distance,
            population_size=settings.population_size,
            eps=pyabc.QuantileEpsilon(alpha=settings.quantile),
            sampler=sampler,
            transitions=transition,
        )
        database = f"sqlite:///{(out / HISTORY).resolve()}"
        if resumed:
            history = abc.load(database, 1)
            done = history.max_t + 1
            bar.update(done * settings.population_size)
        else:
            history = abc.new(database, observed)
            done = 0
        remaining = settings.generations - done
        if remaining > 0:
            history = abc.run(
                minimum_epsilon=settings.min_epsilon,
                max_nr_populations=remaining,
                max_total_nr_simulations=settings.max_simulations,
            )
        seconds = time.perf_counter() - started
        posterior, generations_table = _posterior(history, problem)
        summary = posterior_summary(targets.priors, posterior)
        prior_draws = targets.priors.sample(np.random.default_rng(settings.seed), draws)
        resample = np.random.default_rng(settings.seed + 1).choice(
            len(posterior), size=draws, p=posterior["weight"].to_numpy() / posterior["weight"].sum()
        )
        columns = targets.priors.columns
        posterior_draws = [
            {column: float(posterior.iloc[i][column]) for column in columns} for i in resample
        ]
        bar.set_description(f"predictive checks {targets.name}")
        prior_runs = predictive(targets, problem, prior_draws, settings.seed + 2, mapper)
        posterior_runs = predictive(targets, problem, posterior_draws, settings.seed + 3, mapper)
    finally:
        abc_logger.setLevel(level)
        bar.close()
        from simulation.experiments.backends import shutdown

        shutdown(executor)
        backend.close()
    table = predictive_table(targets, prior_runs, posterior_runs)
    checks = checks_table(targets, prior_runs, posterior_runs)
    manifest.update(
        status="complete",
        generations=int(history.max_t + 1),
        simulations=sampler.used,
        simulations_in_generations=int(generations_table["simulations"].sum()),
        final_epsilon=float(generations_table["epsilon"].iloc[-1]),
        seconds_this_session=seconds,
        simulations_per_second_this_session=counts["simulations"] / seconds if seconds else None,
        workers=backend.name,
        prior_mixture=settings.prior_mixture,
        kernel=settings.kernel,
        ess_floor=ESS_FLOOR,
        effective_sample_size_by_generation=[
            round(float(v), 2) for v in generations_table["effective_sample_size"]
        ],
        ess_below_floor=[
            int(g)
            for g, share in zip(
                generations_table["generation"], generations_table["ess_share"], strict=True
            )
            if share < ESS_FLOOR
        ],
    )
    write_atomic(out / "posterior.csv", lambda tmp: posterior.to_csv(tmp, index=False))
    write_atomic(out / "generations.csv", lambda tmp: generations_table.to_csv(tmp, index=False))
    write_atomic(out / "posterior_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    write_atomic(out / "predictive.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_atomic(out / "checks.csv", lambda tmp: checks.to_csv(tmp, index=False))
    write_atomic(
        out / "marginals.png",
        lambda tmp: plot_marginals(
            targets.priors, posterior, tmp, truth, f"{targets.name}: prior and posterior"
        ),
    )
    write_atomic(out / "predictive.png", lambda tmp: plot_predictive(targets, table, tmp))
    write_json(out / MANIFEST, manifest)
    return CalibrationResult(
        targets, posterior, summary, generations_table, table, checks, out, manifest
    )


def _prior_and_transition(problem: Problem, settings: Any, region: Any) -> tuple[Any, Any]:
    """The prior (restricted to history matching's region, if given) and the proposal, whose
    defensive share draws from that same prior."""
    from simulation.analysis.abc_glue import PriorDistribution
    from simulation.analysis.transitions import DefensiveMixture, make_transition

    transition = make_transition(problem, settings.kernel, settings.prior_mixture)
    if region is None:
        return PriorDistribution(problem), transition
    from simulation.analysis.abc_region import RestrictedPrior

    prior = RestrictedPrior(problem, region)
    if isinstance(transition, DefensiveMixture):
        transition.prior = prior
    return prior, transition


def _simulations_so_far(database: Path) -> int:
    """Simulations an earlier session ran (complete generations and the prior sample)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(database)) as connection:
        query = "SELECT COALESCE(SUM(nr_samples), 0) FROM populations"
        (total,) = connection.execute(query).fetchone()
    return int(total)


def _posterior(history: Any, problem: Problem) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last generation's particles (every calibrated column, weight) and one row per
    generation (epsilon, particles, simulations, acceptance rate)."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    draws = [problem.full_draw(row) for row in frame.to_dict(orient="records")]
    posterior = pd.DataFrame.from_records(draws)[problem.priors.columns]
    posterior["weight"] = np.asarray(weights, dtype=float)
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    particles = history.get_nr_particles_per_population()
    generations = pd.DataFrame(
        {
            "generation": populations["t"].astype(int).to_numpy(),
            "epsilon": populations["epsilon"].to_numpy(dtype=float),
            "simulations": populations["samples"].astype(int).to_numpy(),
            "particles": [int(particles.get(t, 0)) for t in populations["t"]],
        }
    )
    generations["acceptance_rate"] = generations["particles"] / generations["simulations"]
    generations["effective_sample_size"] = [
        effective_sample_size(history.get_distribution(m=0, t=int(t))[1])
        for t in generations["generation"]
    ]
    generations["ess_share"] = generations["effective_sample_size"] / generations["particles"]
    return posterior, generations


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size of weighted particles, (sum w)^2 / sum w^2: how many
    equally weighted particles the posterior's quantiles rest on (few when the importance
    weights are uneven, as they become in many dimensions)."""
    values = np.asarray(weights, dtype=float)
    total = values.sum()
    return float(total**2 / np.square(values).sum()) if total > 0 else 0.0


def ess_text(posterior: pd.DataFrame) -> str:
    """'7.5 of 500 particles', with a warning when the quantiles rest on few of them."""
    if posterior.empty:
        return "no posterior"
    ess = effective_sample_size(posterior["weight"])
    text = f"{ess:.1f} of {len(posterior)} particles"
    if ess < ESS_FLOOR * len(posterior):
        text += (
            f" (below the floor of {ESS_FLOOR:.0%}: its intervals rest on a few heavily "
            "weighted particles)"
        )
    return text


def ess_by_generation_text(generations: pd.DataFrame) -> str:
    """'0: 80.0 (100%), 1: 55.2 (69%), ...': each generation's effective sample size and its
    share of the population, the floor named (the issue's test of a sampler whose weights
    stay bounded)."""
    return (
        f"effective sample size by generation (share of the population; floor {ESS_FLOOR:.0%}): "
        + ", ".join(
            f"{int(row['generation'])}: {row['effective_sample_size']:.1f} ({row['ess_share']:.0%})"
            for _, row in generations.iterrows()
        )
    )


def ess_warnings(generations: pd.DataFrame) -> list[str]:
    """One warning per generation whose effective sample size is below the floor."""
    return [
        f"warning: generation {int(row['generation'])}: effective sample size "
        f"{row['effective_sample_size']:.1f} of {int(row['particles'])} particles "
        f"({row['ess_share']:.0%}) is below the floor of {ESS_FLOOR:.0%}: its weights rest "
        "on a few particles"
        for _, row in generations.iterrows()
        if row["ess_share"] < ESS_FLOOR
    ]


def format_calibration(result: CalibrationResult) -> str:
    """The calibration as text: generations, posterior summary, predictive checks."""
    number = "{:.4g}".format
    generations = result.generations
    lines = [
        f"{result.targets.name}: {len(generations)} generation(s), {result.simulations:,} "
        f"simulations in all, final distance threshold {number(generations['epsilon'].iloc[-1])} "
        "(1 = off by one tolerance on average)",
        f"effective sample size of the posterior: {ess_text(result.posterior)}",
        ess_by_generation_text(generations),
        *ess_warnings(generations),
        "",
        "posterior (median and 90% interval) against the prior; shrinkage = 1 - posterior "
        "width / prior width",
    ]
    for _, row in result.summary.iterrows():
        lines.append(
            f"  {row['parameter']}: {number(row['posterior_median'])} "
            f"({number(row['posterior_q05'])} - {number(row['posterior_q95'])}); prior "
            f"{number(row['prior_median'])} ({number(row['prior_q05'])} - "
            f"{number(row['prior_q95'])}); shrinkage {row['shrinkage']:.2f}: {row['verdict']}"
        )
    lines += ["", "targets: prior and posterior predictive median (90%), share within tolerance"]
    for _, row in result.predictive.iterrows():
        lines.append(
            f"  {row['target']} = {number(row['value'])} ({row['scale']} tolerance "
            f"{number(row['tolerance'])}): prior {number(row['prior_median'])} "
            f"({number(row['prior_q05'])} - {number(row['prior_q95'])}), "
            f"{row['prior_within']:.0%} within; posterior {number(row['posterior_median'])} "
            f"({number(row['posterior_q05'])} - {number(row['posterior_q95'])}), "
            f"{row['posterior_within']:.0%} within"
        )
    if not result.checks.empty:
        lines += ["", "stylised facts not fitted: share of runs where each holds"]
        for _, row in result.checks.iterrows():
            lines.append(
                f"  {row['check']} ({row['condition']}): prior {row['prior_holds']:.0%}, "
                f"posterior {row['posterior_holds']:.0%}"
            )
    return "\n".join(lines)


def read_calibration(folder: str | Path) -> dict[str, Any]:
    """A calibration folder's manifest and tables (for reports and scripts)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["kind"] != "calibration":
        raise ResultsError(f"holds results of kind '{manifest['kind']}', not a calibration", folder)
    tables = {}
    for name in ("posterior", "generations", "posterior_summary", "predictive", "checks"):
        path = folder / f"{name}.csv"
        tables[name] = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    return {"manifest": manifest, **tables}


# ---------------------------------------------------------------------------- recovery


def recovery_study(
    targets: Targets | str | Path,
    *,
    repeats: int = 3,
    seed: int = 0,
    workers: int | None = 1,
    population_size: int | None = None,
    generations: int | None = None,
    max_simulations: int | None = None,
    min_epsilon: float | None = None,
    level: float = 0.9,
    out: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Parameter recovery: draw known parameters from the priors, simulate the targets with
    them, calibrate against those outputs, and see whether each posterior `level` interval
    covers the truth. One row per repeat and parameter (truth, interval, covered)."""
    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    problem = Problem.from_targets(targets)
    sequence = np.random.SeedSequence(seed)
    rng = np.random.default_rng(sequence)
    records = []
    tail = (1 - level) / 2
    for repeat in range(repeats):
        drawn = _comparable_truth(targets, problem, rng)
        if drawn is None:
            continue
        truth, synthetic, redrawn = drawn
        folder = Path(out) / f"repeat_{repeat}" if out is not None else None
        result = calibrate(
            synthetic,
            out=folder,
            overwrite=folder is not None,
            workers=workers,
            population_size=population_size,
            generations=generations,
            max_simulations=max_simulations,
            min_epsilon=min_epsilon,
            seed=seed * 1000 + repeat,
            predictive_draws=2,
            progress=progress,
            truth=truth,
        )
        weights = result.posterior["weight"].to_numpy(dtype=float)
        for column in targets.priors.columns:
            low, high = weighted_quantiles(
                result.posterior[column].to_numpy(dtype=float), weights, (tail, 1 - tail)
            )
            records.append(
                {
                    "repeat": repeat,
                    "parameter": column,
                    "truth": truth[column],
                    "low": low,
                    "high": high,
                    "covered": bool(low <= truth[column] <= high),
                    "simulations": result.simulations,
                    "redrawn": redrawn,
                }
            )
    return pd.DataFrame.from_records(records)


def _comparable_truth(
    targets: Targets,
    problem: Problem,
    rng: np.random.Generator,
    attempts: int = 50,
    first: dict[str, float] | None = None,
) -> tuple[dict[str, float], Targets, int] | None:
    """A truth drawn from the priors whose simulated targets can all be computed, the
    targets file with those values, and how many truths were drawn again first (a ratio
    with nothing to divide by, e.g. no refuser arrested, cannot be a target). `first`, when
    given, is tried before any fresh draw (a designed truth). None when `attempts` draws all
    fail."""
    for redrawn in range(attempts):
        truth = first if redrawn == 0 and first is not None else targets.priors.sample(rng, 1)[0]
        results = run_scenarios(problem, truth, int(rng.integers(0, 2**32 - 1)))
        if results is None:
            continue
        values = {
            target.name: target_value(
                problem, results, target.name, target.scenario, target.spec.scale
            )[0]
            for target in targets.targets
        }
        if all(math.isfinite(value) for value in values.values()):
            try:
                return truth, targets.with_values(values), redrawn
            except ConfigError:
                continue
    return None


# ---------------------------------------------------------------------------- leave one out


def leave_one_anchor_out(
    targets: Targets | str | Path,
    *,
    draws: int = 40,
    level: float = 0.9,
    seed: int = 0,
    workers: int | None = 1,
    progress: Callable[[str], None] | None = None,
    **calibrate_options: Any,
) -> pd.DataFrame:
    """For every anchor: calibrate on all the others, run `draws` posterior predictive
    simulations, and ask whether the anchor left out falls inside their central `level`
    interval (raw values: a count target's events per unit of exposure). One row per anchor.
    An anchor the others predict is evidence the model's mechanisms link them; one they miss
    is either a misfit or information only that anchor carries."""
    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    if len(targets.targets) < 2:
        raise ArgumentError("leaving one anchor out needs at least two targets", "targets")
    import dataclasses

    problem = Problem.from_targets(targets)
    tail = (1 - level) / 2
    records = []
    for index, left in enumerate(targets.targets):
        kept = dataclasses.replace(
            targets, targets=[t for t in targets.targets if t.name != left.name]
        )
        result = calibrate(
            kept,
            workers=workers,
            seed=seed + index,
            predictive_draws=2,
            progress=False,
            **calibrate_options,
        )
        weights = result.posterior["weight"].to_numpy(dtype=float)
        chosen = np.random.default_rng([seed, index]).choice(
            len(weights), size=draws, p=weights / weights.sum()
        )
        sample = [
            {c: float(result.posterior.iloc[i][c]) for c in targets.priors.columns} for i in chosen
        ]
        runs = predictive(targets, problem, sample, seed * 1000 + index, map)
        values = runs[left.name].dropna().to_numpy(dtype=float)
        scaled = runs[f"statistic:{left.name}"].dropna().to_numpy(dtype=float)
        low, median, high = np.quantile(values, (tail, 0.5, 1 - tail))
        records.append(
            {
                "left_out": left.name,
                "value": left.spec.value,
                "predicted_median": median,
                f"predicted_{int(level * 100)}_low": low,
                f"predicted_{int(level * 100)}_high": high,
                f"inside_{int(level * 100)}": bool(low <= left.spec.value <= high),
                "within_tolerance": float(
                    np.mean(np.abs(scaled - left.observed) / left.divisor <= 1)
                ),
                "runs": len(values),
                "simulations": result.simulations,
            }
        )
        if progress:
            progress(
                f"left out {left.name}: predicted {low:.3g}-{high:.3g}, value {left.spec.value:.3g}"
            )
    return pd.DataFrame.from_records(records)
