"""Does each lever move the starting force the seed's way, over the priors? (issue 22)

For N draws from the priors (configs/priors.yaml, every assumption drawn, as the
calibration's `others: prior`), in the support role (configs/baseline.yaml) and under the
order to fight (configs/scenarios/fight_order.yaml), each draw is run once as drawn and once
with one lever pushed up, with the same seed (paired runs; 300 officers, 24 months, read at
month 24: twelve months after the order to fight, the same month in the support role).
A scenario that sets an assumption itself keeps it (as in the calibration). Lever pushes,
added to every value of the drawn schedule and kept inside the driver's range:

- incentives: drivers.incentive_level +1.0 (benefits doubled: scenarios/incentive_package.yaml);
  the seed's sign: retention up (cohort serving) and, separately, compliance up (cohort comply,
  at their own post: compliers at a rear post after reassignment count as serving, not complying)
- propaganda: drivers.russian_propaganda +0.018 (to the surge's 0.02 from the default);
  compliance up
- disillusion (Russian setbacks): drivers.disillusion +0.01 a month throughout; compliance down
- punishment: drivers.punishment_severity +2.0 (the crackdown's 1 -> 3); open refusal down

Every measure is a share of the STARTING force (cohort_count_<state> over the officers at
month 0), so leaving and arrests do not move the denominator. Each is read two ways: the
officers in the state at month 24 (a snapshot), and the person-months in it over months
13-24, the year after the order (a flow: at 300 officers a rare state such as open refusal
is often empty at one month in both runs of a pair, a tie that says nothing of the lever;
over a year it is less often so). Printed per lever, order and reading: the share of draws
with the seed's sign, of draws tied (the same count), of draws against, the seed's sign
among the draws that differ, and the median paired difference (points of the starting
force; person-months over 12, i.e. the mean share over the year).

Paired runs share their seed, yet diverge as soon as one decision differs (every later
random draw then falls on another member), so one pair's difference carries the seed
noise of a 300-officer run: a small lever's sign can be noise. --replicates R runs R pairs
per draw (the draw's seed, then seeds derived from it) and reads the sign of their mean;
"clearly for / against" counts the draws whose mean lies beyond two standard errors of 0.

    python scripts/lever_margins.py --draws 200 --workers 2 [--seed 2026] [--replicates 1]
        [--csv out.csv] [--per-draw draws.csv] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simulation.config.loading import apply_overrides, deep_merge, resolve_extends, validate_config
from simulation.config.priors import load_priors
from simulation.config.schema import DEFAULT_DATA, driver_ranges
from simulation.errors import ConfigError
from simulation.experiments.runner import run_model
from simulation.vocabulary import CHOICES, REAR_POST_COMPLY

ROOT = Path(__file__).resolve().parents[1]
ORDERS = {
    "support role": ROOT / "configs/baseline.yaml",
    "order to fight": ROOT / "configs/scenarios/fight_order.yaml",
}
SIZE = {"population.n_officers": 300, "steps": 24}
MONTH = 24
YEAR = range(13, 25)
"""The year after the order to fight (months 13-24); the same months in the support role."""
READINGS = ("at month 24", "months 13-24")


@dataclass(frozen=True)
class Lever:
    """A driver pushed up by `push`; `measure` read over the starting force; `sign` the
    seed's direction of the measure's change (+1 up, -1 down)."""

    name: str
    driver: str
    push: float
    measure: str
    sign: int


LEVERS = (
    Lever("incentives -> retention", "incentive_level", 1.0, "serving", +1),
    Lever("incentives -> compliance", "incentive_level", 1.0, "comply", +1),
    Lever("propaganda -> compliance", "russian_propaganda", 0.018, "comply", +1),
    Lever("disillusion -> compliance", "disillusion", 0.01, "comply", -1),
    Lever("punishment -> open refusal", "punishment_severity", 2.0, "refuse", -1),
)
PUSH: dict[str, float] = {lever.driver: lever.push for lever in LEVERS}
"""Each driver's push (the two incentive levers share one run)."""
COLUMNS = [f"cohort_count_{state}" for state in (*CHOICES, REAR_POST_COMPLY)]


def pushed(data: dict[str, Any], driver: str, push: float) -> dict[str, Any]:
    """`data` with every value of the driver's schedule raised by `push` (within range)."""
    low, high = driver_ranges()[driver]
    schedule = data["drivers"][driver]
    changed = {**data, "drivers": dict(data["drivers"])}
    if isinstance(schedule, list):
        changed["drivers"][driver] = [
            {**change, "value": min(max(float(change["value"]) + push, low), high)}
            for change in schedule
        ]
    else:
        changed["drivers"][driver] = min(max(float(schedule) + push, low), high)
    return changed


def counts(data: dict[str, Any], seed: int) -> dict[str, int] | None:
    """Officers of the starting force complying (at their own post), evading, refusing, and
    serving (those three and the compliers at a rear post after reassignment): at MONTH
    (keys by state) and in person-months over YEAR (keys "<state> over the year") (None:
    the drawn config is invalid)."""
    try:
        config = validate_config(data, "<lever margins>")
    except ConfigError:
        return None
    columns = run_model(config, seed, columns=COLUMNS).columns
    result: dict[str, int] = {}
    for months, suffix in ((range(MONTH, MONTH + 1), ""), (YEAR, " over the year")):

        def total(column: str, months: range = months) -> int:
            return int(sum(int(columns[column][month]) for month in months))

        states = {choice: total(f"cohort_count_{choice}") for choice in CHOICES[:3]}
        states["serving"] = sum(states.values()) + total(f"cohort_count_{REAR_POST_COMPLY}")
        result.update({f"{state}{suffix}": count for state, count in states.items()})
    result["start"] = int(config.population.n_officers)
    return result


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The draw's run seed, then `replicates - 1` more derived from it (numpy SeedSequence),
    so that one replicate gives exactly the runs of the script before replicates."""
    extra = np.random.SeedSequence(seed).generate_state(replicates - 1, dtype=np.uint32)
    return [seed, *(int(value) for value in extra)]


def one_draw(
    job: tuple[str, dict[str, Any], dict[str, float], int, int],
) -> dict[str, Any] | None:
    """The paired differences (in officers) of every lever for one draw and order: their
    mean over the replicate seeds, and its standard error ("<key>:se"; 0 with one)."""
    order, base, draw, seed, replicates = job
    priors = load_priors()
    priors = priors.without(set(priors.explicit_in(base)))
    drawn = priors.apply(base, draw)
    differences: dict[str, list[int]] = {}
    start = 0
    for run_seed in replicate_seeds(seed, replicates):
        reference = counts(drawn, run_seed)
        if reference is None:
            return None
        start = reference["start"]
        for driver, push in PUSH.items():
            moved = counts(pushed(drawn, driver, push), run_seed)
            if moved is None:
                return None
            for measure in ("comply", "refuse", "serving"):
                for key in (measure, f"{measure} over the year"):
                    differences.setdefault(f"{driver}:{key}", []).append(
                        moved[key] - reference[key]
                    )
    result: dict[str, Any] = {"order": order, "start": start, "seed": seed}
    result.update({f"draw:{column}": value for column, value in draw.items()})
    for key, values in differences.items():
        result[key] = float(np.mean(values))
        result[f"{key}:se"] = (
            float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
        )
    return result


def scenario_data(path: Path) -> dict[str, Any]:
    """A scenario's full config data at the size of these runs."""
    return apply_overrides(deep_merge(DEFAULT_DATA, resolve_extends(path)), dict(SIZE))


def jobs(
    draws: int, seed: int, settings: dict[str, Any] | None = None, replicates: int = 1
) -> list[tuple[str, dict[str, Any], dict[str, float], int, int]]:
    """Every (order, data, draw, run seed, replicates): the same draws and seeds in both
    orders, with `settings` (--set, not drawn) in every run."""
    rng = np.random.default_rng(seed)
    sampled = load_priors().sample(rng, draws)
    seeds = [int(s) for s in rng.integers(0, 2**32, size=draws)]
    bases = {
        order: apply_overrides(scenario_data(path), dict(settings or {}))
        for order, path in ORDERS.items()
    }
    return [
        (order, bases[order], draw, run_seed, replicates)
        for draw, run_seed in zip(sampled, seeds, strict=True)
        for order in ORDERS
    ]


def table(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per lever, order and reading: shares of draws with, tied, against; the seed's
    sign among draws that differ; median difference (person-months over 12: a mean share)."""
    rows = []
    for lever in LEVERS:
        for order in ORDERS:
            for reading, suffix, months in (
                (READINGS[0], "", 1),
                (READINGS[1], " over the year", len(YEAR)),
            ):
                key = f"{lever.driver}:{lever.measure}{suffix}"
                chosen = [r for r in results if r["order"] == order]
                diffs = np.array([r[key] / (r["start"] * months) for r in chosen])
                errors = np.array([r[f"{key}:se"] / (r["start"] * months) for r in chosen])
                signed = np.sign(diffs) * lever.sign
                moved = int((signed != 0).sum())
                clear = np.abs(diffs) > 2 * errors
                rows.append(
                    {
                        "lever": lever.name,
                        "order": order,
                        "reading": reading,
                        "draws": len(diffs),
                        "seed_sign": float((signed > 0).mean()),
                        "tied": float((signed == 0).mean()),
                        "against": float((signed < 0).mean()),
                        "seed_sign_of_differing": (
                            float((signed > 0).sum() / moved) if moved else float("nan")
                        ),
                        "median_difference": float(np.median(diffs)),
                        "clearly_for": float(((signed > 0) & clear).mean()),
                        "clearly_against": float(((signed < 0) & clear).mean()),
                    }
                )
    return rows


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    """--set KEY=VALUE (repeatable): a setting of every run, not drawn from the priors."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of every run, e.g. a scenario switch (not drawn from the priors)",
    )


def settings_of(items: list[str]) -> dict[str, Any]:
    """The --set items as {dotted.key: value}, each value read as YAML."""
    return {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in items)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--replicates",
        type=int,
        default=1,
        help="paired runs per draw (seeds derived from the draw's); the sign read is that "
        "of their mean, and 'clearly' means beyond two standard errors",
    )
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument(
        "--per-draw",
        type=Path,
        default=None,
        help="also write every draw's paired differences (officers) and drawn values here",
    )
    add_settings_option(parser)
    args = parser.parse_args()
    settings = settings_of(args.set)
    started = time.perf_counter()
    work = jobs(args.draws, args.seed, settings, args.replicates)
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(one_draw, work, chunksize=4))
    invalid = sum(result is None for result in results)
    rows = table([result for result in results if result is not None])
    elapsed = time.perf_counter() - started
    print(
        f"{args.draws} draws from the priors (seed {args.seed}) x {args.replicates} paired "
        f"replicate(s), 300 officers, month {MONTH} "
        f"and months {YEAR.start}-{YEAR.stop - 1}"
        f"{''.join(f', {item}' for item in args.set)}; "
        f"{invalid} invalid draw-orders skipped; {elapsed:.0f} s with {args.workers} workers"
    )
    print(
        "| lever -> measure (starting force) | order | reading | draws | seed's sign | tied "
        "| against | seed's sign where they differ | median difference | clearly for "
        "| clearly against |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['lever']} | {row['order']} | {row['reading']} | {row['draws']} | "
            f"{row['seed_sign']:.0%} | {row['tied']:.0%} | {row['against']:.0%} | "
            f"{row['seed_sign_of_differing']:.0%} | {100 * row['median_difference']:+.2f} pt | "
            f"{row['clearly_for']:.0%} | {row['clearly_against']:.0%} |"
        )
    if args.csv is not None or args.per_draw is not None:
        import pandas as pd

        if args.csv is not None:
            pd.DataFrame(rows).to_csv(args.csv, index=False)
        if args.per_draw is not None:
            pd.DataFrame([r for r in results if r is not None]).to_csv(args.per_draw, index=False)


if __name__ == "__main__":
    main()
