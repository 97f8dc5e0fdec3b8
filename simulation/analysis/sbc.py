"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018): the
standing test of the whole calibration procedure.

Draw a truth from the prior, simulate the targets' statistics at it, calibrate against
those simulated values, and ask where the truth falls in its posterior: its *rank*, the
posterior mass below it. If the procedure is right, a truth drawn from the prior is a draw
from its own posterior, so over many truths every parameter's ranks are uniform on [0, 1],
its central 50 % interval holds the truth half the time and its 90 % interval nine times in
ten. Ranks piled at the ends mean overconfident posteriors (too narrow), a hump in the
middle underconfident ones (too wide, e.g. an ABC threshold far above the noise), a slope a
bias. Shrinkage, 1 − posterior variance / prior variance, says how much the targets teach
about each parameter; calibrated and unshrunk means honest but uninformative.

The bookkeeping (:func:`sbc_table`, :func:`sbc_summary`, :func:`plot_ranks`) takes any
truths and weighted posterior samples, so it is tested on a conjugate problem whose exact
posterior is known; :func:`simulation_based_calibration` runs it on a targets file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LEVELS = (0.5, 0.9)
"""Central posterior intervals whose coverage is reported."""

TRUTH_DESIGNS = ("latin_hypercube", "random")
"""How the truths are drawn from the prior. Both give every truth the prior as its marginal
distribution, as SBC requires. A Latin hypercube over the priors' unit cube (McKay, Beckman
& Conover 1979) stratifies each coordinate, so the truths' own spread over their prior
quantiles does not add its sampling noise to the coverage: with posteriors close to their
priors, 20 independent truths alone move a 50 % coverage by about 11 points. Random draws
are the textbook design."""


def posterior_rank(values: np.ndarray, weights: np.ndarray, truth: float) -> float:
    """Posterior mass below the truth (ties count half): uniform over truths drawn from the
    prior when the posterior is right."""
    weights = np.asarray(weights, dtype=float) / np.sum(weights)
    below = weights[values < truth].sum()
    tied = weights[values == truth].sum()
    return float(below + 0.5 * tied)


def parameter_group(column: str) -> str:
    """A column's group: its config section (population, decision, exit, drivers...)."""
    return column.split(".", 1)[0]


def truth_candidates(
    priors: Any, count: int, design: str, rng: np.random.Generator
) -> list[dict[str, float]]:
    """`count` truths from `priors` (a :class:`~simulation.config.priors.Priors`) by one of
    TRUTH_DESIGNS."""
    if design == "random":
        return priors.sample(rng, count)
    if design == "latin_hypercube":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=priors.unit_dimensions, seed=rng).random(count)
        return priors.from_unit(unit)
    raise ValueError(f"unknown truth design {design!r}; expected one of {TRUTH_DESIGNS}")


def sbc_table(
    truths: list[dict[str, float]],
    posteriors: list[pd.DataFrame],
    prior_variance: dict[str, float],
    extra: list[dict[str, Any]] | None = None,
    prior_draws: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per truth and parameter: the truth's rank, whether each central interval
    (LEVELS) covers it, and the posterior's shrinkage of the prior variance. `posteriors`
    hold one column per parameter and a `weight` column. With `prior_draws` (samples of the
    prior), each row also holds the truth's *prior* rank and whether the prior's own central
    intervals cover it: the coverage a posterior equal to its prior would show on these very
    truths, which separates the procedure's miscoverage from the luck of the draw of truths."""
    records = []
    for index, (truth, posterior) in enumerate(zip(truths, posteriors, strict=True)):
        weights = posterior["weight"].to_numpy(dtype=float)
        weights = weights / weights.sum()
        for column, variance in prior_variance.items():
            values = posterior[column].to_numpy(dtype=float)
            rank = posterior_rank(values, weights, truth[column])
            mean = float(np.sum(weights * values))
            posterior_variance = float(np.sum(weights * (values - mean) ** 2))
            record: dict[str, Any] = {
                "truth_index": index,
                "parameter": column,
                "group": parameter_group(column),
                "truth": truth[column],
                "rank": rank,
                "shrinkage": 1.0 - posterior_variance / variance if variance > 0 else math.nan,
            }
            for level in LEVELS:
                tail = (1 - level) / 2
                record[f"covered_{int(level * 100)}"] = bool(tail <= rank <= 1 - tail)
            if prior_draws is not None:
                prior_values = prior_draws[column].to_numpy(dtype=float)
                prior_rank = posterior_rank(prior_values, np.ones(len(prior_values)), truth[column])
                record["prior_rank"] = prior_rank
                for level in LEVELS:
                    tail = (1 - level) / 2
                    record[f"prior_covered_{int(level * 100)}"] = bool(
                        tail <= prior_rank <= 1 - tail
                    )
            record.update((extra or [{}] * len(truths))[index])
            records.append(record)
    return pd.DataFrame.from_records(records)


def sbc_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage of each interval, mean shrinkage and a uniformity test of the ranks, per
    parameter and per group (rows with `scope` 'parameter' or 'group') and over all."""
    from scipy import stats

    coverage = [f"covered_{int(level * 100)}" for level in LEVELS]
    coverage += [f"prior_{key}" for key in coverage if f"prior_{key}" in table.columns]
    rows = []
    scopes = (("parameter", "parameter"), ("group", "group"), ("all", None))
    for scope, column in scopes:
        grouped = table.groupby(column, sort=False) if column else [("all", table)]
        for name, part in grouped:
            row: dict[str, Any] = {"scope": scope, "name": name, "truths": len(part)}
            for key in coverage:
                row[key] = float(part[key].mean())
            row["mean_shrinkage"] = float(part["shrinkage"].mean())
            row["rank_uniformity_p"] = float(stats.kstest(part["rank"], "uniform").pvalue)
            rows.append(row)
    return pd.DataFrame.from_records(rows)


def plot_ranks(table: pd.DataFrame, path: Any, bins: int = 5, title: str = "") -> None:
    """A histogram of the truths' posterior ranks per parameter, with the band a uniform
    histogram of as many truths stays in 90 % of the time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    parameters = list(dict.fromkeys(table["parameter"]))
    per_row = 4
    rows = math.ceil(len(parameters) / per_row)
    width = min(per_row, len(parameters))
    figure, axes = plt.subplots(rows, width, figsize=(3.2 * width, 2.4 * rows), squeeze=False)
    for axis, parameter in zip(axes.ravel(), parameters, strict=False):
        ranks = table.loc[table["parameter"] == parameter, "rank"].to_numpy(dtype=float)
        expected = len(ranks) / bins
        low, high = stats.binom(len(ranks), 1 / bins).ppf([0.05, 0.95])
        axis.axhspan(low, high, color="0.85", label="uniform: 90% band")
        axis.axhline(expected, color="0.5", linewidth=1)
        axis.hist(ranks, bins=np.linspace(0, 1, bins + 1), color="#4C72B0", alpha=0.8)
        axis.set_title(parameter.split(".", 1)[-1], fontsize=8)
        axis.set_xlim(0, 1)
        axis.tick_params(labelsize=7)
    for axis in axes.ravel()[len(parameters) :]:
        axis.set_visible(False)
    axes.ravel()[0].legend(fontsize=6)
    figure.suptitle(title or "simulation-based calibration: ranks of the truths", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def least_ess_by_generation(table: pd.DataFrame) -> list[float]:
    """Per generation, the least ESS share over the truths that reached it (from the
    per-truth `ess_share_by_generation`): the bounded-weights test, generation by
    generation."""
    per_truth = table.drop_duplicates("truth_index")["ess_share_by_generation"]
    shares = [[float(v) for v in str(text).split()] for text in per_truth]
    depth = max((len(row) for row in shares), default=0)
    return [min(row[g] for row in shares if len(row) > g) for g in range(depth)]


def format_summary(summary: pd.DataFrame, seconds: float | None = None) -> str:
    """The summary as text: coverage per group and parameter against the targets."""
    overall = summary[summary["scope"] == "all"].iloc[0]
    lines = [
        f"simulation-based calibration over {int(overall['truths'])} truth-parameter pairs"
        + (f" ({seconds / 60:.1f} min)" if seconds is not None else "")
        + ": 50% intervals cover "
        f"{overall['covered_50']:.0%} (expected 40-60%), 90% intervals cover "
        f"{overall['covered_90']:.0%} (expected 80-95%); mean shrinkage "
        f"{overall['mean_shrinkage']:.2f}",
    ]
    baseline = "prior_covered_50" in summary.columns
    if baseline:
        lines.append(
            "the prior's own intervals would cover these truths "
            f"{overall['prior_covered_50']:.0%} / {overall['prior_covered_90']:.0%}: "
            "the coverage a posterior equal to its prior shows, i.e. the draw of truths"
        )
    for scope in ("group", "parameter"):
        lines.append(
            f"by {scope}: coverage of the 50% / 90% intervals, mean shrinkage"
            + (" [the prior's own coverage of these truths]" if baseline else "")
        )
        for _, row in summary[summary["scope"] == scope].iterrows():
            prior_part = (
                f" [{row['prior_covered_50']:.0%} / {row['prior_covered_90']:.0%}]"
                if baseline
                else ""
            )
            lines.append(
                f"  {row['name']}: {row['covered_50']:.0%} / {row['covered_90']:.0%}, "
                f"{row['mean_shrinkage']:.2f} (ranks uniform? KS p = "
                f"{row['rank_uniformity_p']:.2f}){prior_part}"
            )
    return "\n".join(lines)


def simulation_based_calibration(
    targets: Any,
    *,
    truths: int = 20,
    seed: int = 0,
    truth_design: str = "latin_hypercube",
    out: str | Path | None = None,
    calibrate_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SBC of a targets file's calibration: `truths` truths from its priors (by
    `truth_design`, one of TRUTH_DESIGNS), one calibration against each one's simulated
    targets (the file's ABC settings, as overridden by `calibrate_options`). A designed truth
    whose targets cannot all be computed is replaced by a random draw (counted in `redrawn`).
    Returns the per-truth table and its summary; with `out`, writes sbc.csv,
    sbc_summary.csv and sbc_ranks.png there."""
    from simulation.analysis.calibration import Problem, _comparable_truth, calibrate
    from simulation.config.targets import Targets, load_targets

    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    problem = Problem.from_targets(targets)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    prior_draws = pd.DataFrame(targets.priors.sample(np.random.default_rng(seed + 1), 20_000))
    prior_variance = {c: float(prior_draws[c].var()) for c in targets.priors.columns}
    candidates = truth_candidates(targets.priors, truths, truth_design, rng)
    chosen, posteriors, extra = [], [], []
    started = time.perf_counter()
    for index in range(truths):
        drawn = _comparable_truth(targets, problem, rng, first=candidates[index])
        if drawn is None:
            continue
        truth, synthetic, redrawn = drawn
        result = calibrate(
            synthetic,
            progress=False,
            seed=seed * 1000 + index,
            predictive_draws=2,
            **(calibrate_options or {}),
        )
        chosen.append(truth)
        posteriors.append(result.posterior)
        generations = result.generations
        extra.append(
            {
                "redrawn": redrawn,
                "truth_design": truth_design,
                "simulations": result.simulations,
                "generations": len(generations),
                "min_ess_share": float(generations["ess_share"].iloc[1:].min())
                if len(generations) > 1
                else 1.0,
                "final_ess_share": float(generations["ess_share"].iloc[-1]),
                "ess_share_by_generation": " ".join(
                    f"{share:.3f}" for share in generations["ess_share"]
                ),
            }
        )
        if progress is not None:
            progress(
                f"truth {index + 1}/{truths}: {result.simulations} simulations, least ESS share "
                f"{extra[-1]['min_ess_share']:.0%} ({time.perf_counter() - started:.0f} s)"
            )
    table = sbc_table(chosen, posteriors, prior_variance, extra, prior_draws=prior_draws)
    summary = sbc_summary(table)
    if out is not None:
        from simulation.experiments.files import prepare_folder, write_atomic

        out = Path(out)
        prepare_folder(out)
        write_atomic(out / "sbc.csv", lambda tmp: table.to_csv(tmp, index=False))
        write_atomic(out / "sbc_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
        write_atomic(
            out / "sbc_ranks.png",
            lambda tmp: plot_ranks(
                table, tmp, title=f"{targets.name}: ranks of {len(chosen)} truths"
            ),
        )
    return table, summary
