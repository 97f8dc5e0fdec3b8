"""Prior predictive against the behavioural anchors: how many prior runs land near each? (issue 22)

For N draws from the priors (configs/priors.yaml, every assumption drawn; a scenario keeps
the assumptions it sets itself, as in the calibration), one run per draw and scenario, and
for each anchor the share of runs within a factor 3 of it (model / anchor in [1/3, 3]; a
zero, or an undefined ratio, is outside), with the median model value:

- evaders per open refuser, ~14 (Russia 2022-24: 9,059 cases of absence without leave
  against 627 of insubordination): evasion over refusal person-months in the 12 months
  after the order; officers under the order to fight (configs/scenarios/fight_order.yaml,
  300 officers) and all personnel of the mobilisation (configs/scenarios/mobilisation.yaml,
  100 officers and their men);
- prosecutions per month per 1,000 of the force, ~1.6 (Russia: 10,025 cases / 21 months /
  300,000 mobilised): over the 12 months after the order, per member serving at the order
  (plus those mobilised since): caught evaders sanctioned (reprimanded + lost_benefits, the
  calibration's analogue of absence without leave) + criminal cases opened against open
  refusers (cases_opened) + caught deserters; and the criminal cases alone;
- desertion in the first year of an order to fight, 4-15 % (Syria 2011-12; 8 %, the
  geometric middle): deserted over the 12 months after the order per member serving at the
  order (plus those mobilised since); officers (fight_order) and all personnel (mobilisation:
  mostly conscripts and the mobilised reserve);
- exits after a repression order, ~0.5 % (Belarus 2020: over 700 of ~130,000 quit): mapped
  as configs/targets/anchors.yaml maps it (border_deployment.yaml, level 2 from month 0,
  resignation open, 12 months, 300 officers): exits by the decision (resigned + deserted,
  less the turnover's resignations for civilian jobs: `exited_by_decision`) per officer at
  month 0; with the default turnover and with turnover off.

    python scripts/prior_predictive_anchors.py --draws 100 --workers 2 [--seed 2026]
        [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from lever_margins import add_settings_option, scenario_data, settings_of

from simulation.config.loading import apply_overrides, validate_config
from simulation.config.priors import load_priors
from simulation.errors import ConfigError
from simulation.experiments.runner import order_change_step, run_model

ROOT = Path(__file__).resolve().parents[1]
FACTOR = 3.0
LAG = 12
RUNS: dict[str, tuple[Path, dict[str, Any]]] = {
    "fight_order": (
        ROOT / "configs/scenarios/fight_order.yaml",
        {"population.n_officers": 300, "steps": 24},
    ),
    "mobilisation": (
        ROOT / "configs/scenarios/mobilisation.yaml",
        {"population.n_officers": 100, "steps": 24},
    ),
    "repression": (
        ROOT / "configs/scenarios/border_deployment.yaml",
        {
            "population.n_officers": 300,
            "steps": 12,
            "drivers.war_order_level": 2,
            "exit.stop_loss_from_level": 4,
        },
    ),
    "repression_no_turnover": (
        ROOT / "configs/scenarios/border_deployment.yaml",
        {
            "population.n_officers": 300,
            "steps": 12,
            "drivers.war_order_level": 2,
            "exit.stop_loss_from_level": 4,
            "turnover.enabled": False,
        },
    ),
}
ANCHORS: tuple[tuple[str, str, float], ...] = (
    ("evaders per open refuser, officers (fight_order)", "fight_order:ratio", 14.0),
    ("evaders per open refuser, all personnel (mobilisation)", "mobilisation:ratio", 14.0),
    ("prosecutions per month per 1,000, officers (fight_order)", "fight_order:cases", 1.6),
    ("prosecutions per month per 1,000, all (mobilisation)", "mobilisation:cases", 1.6),
    ("criminal cases per month per 1,000, officers (fight_order)", "fight_order:criminal", 1.6),
    ("criminal cases per month per 1,000, all (mobilisation)", "mobilisation:criminal", 1.6),
    ("desertion in the first year, officers (fight_order)", "fight_order:desertion", 0.08),
    ("desertion in the first year, all (mobilisation)", "mobilisation:desertion", 0.08),
    ("exits in a year, repression order (turnover on)", "repression:exits", 0.005),
    ("exits in a year, repression order (turnover off)", "repression_no_turnover:exits", 0.005),
)
COLUMNS = [
    "n_active",
    "count_evade",
    "count_refuse",
    "reprimanded",
    "lost_benefits",
    "cases_opened",
    "caught_deserting",
    "deserted",
    "exited_by_decision",
    "mobilised",
]


def outputs(name: str, data: dict[str, Any], seed: int) -> dict[str, float] | None:
    """One run's anchor outputs (None: the drawn config is invalid)."""
    try:
        config = validate_config(data, f"<prior predictive: {name}>")
    except ConfigError:
        return None
    columns = {
        k: np.asarray(v, dtype=float)
        for k, v in run_model(config, seed, columns=COLUMNS).columns.items()
    }
    if name.startswith("repression"):
        return {f"{name}:exits": columns["exited_by_decision"][-1] / columns["n_active"][0]}
    start = order_change_step(config)
    end = start + LAG
    window = slice(start + 1, end + 1)
    exposed = columns["n_active"][start] + columns["mobilised"][end] - columns["mobilised"][start]

    def since_order(column: str) -> float:
        return float(columns[column][end] - columns[column][start])

    evading, refusing = columns["count_evade"][window].sum(), columns["count_refuse"][window].sum()
    criminal = since_order("cases_opened") + since_order("caught_deserting")
    cases = criminal + since_order("reprimanded") + since_order("lost_benefits")
    return {
        f"{name}:ratio": evading / refusing if refusing > 0 else math.nan,
        f"{name}:cases": 1000 * cases / LAG / exposed,
        f"{name}:criminal": 1000 * criminal / LAG / exposed,
        f"{name}:desertion": since_order("deserted") / exposed,
    }


def one_draw(job: tuple[dict[str, float], int, dict[str, Any]]) -> dict[str, float]:
    """Every anchor output of one draw (NaN where the drawn config is invalid), with the
    job's settings (--set) in every scenario."""
    draw, seed, settings = job
    priors = load_priors()
    result: dict[str, float] = {}
    for name, (path, overrides) in RUNS.items():
        base = apply_overrides(scenario_data(path), {**overrides, **settings})
        drawn = priors.without(set(priors.explicit_in(base))).apply(base, draw)
        result.update(outputs(name, drawn, seed) or {})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    add_settings_option(parser)
    args = parser.parse_args()
    settings = settings_of(args.set)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    draws = load_priors().sample(rng, args.draws)
    seeds = [int(s) for s in rng.integers(0, 2**32, size=args.draws)]
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = [(draw, seed, settings) for draw, seed in zip(draws, seeds, strict=True)]
        results = list(pool.map(one_draw, jobs, chunksize=2))
    elapsed = time.perf_counter() - started
    print(
        f"{args.draws} draws from the priors (seed {args.seed}), one run each"
        f"{''.join(f', {item}' for item in args.set)}; "
        f"{elapsed:.0f} s with {args.workers} workers"
    )
    print("| anchor | runs | within a factor 3 | undefined | median model value | anchor |")
    print("|---|---|---|---|---|---|")
    for label, key, anchor in ANCHORS:
        values = np.array([result.get(key, math.nan) for result in results])
        undefined = np.isnan(values)
        within = (values >= anchor / FACTOR) & (values <= anchor * FACTOR)
        median = np.median(values[~undefined]) if (~undefined).any() else math.nan
        print(
            f"| {label} | {len(values)} | {within.mean():.0%} | {undefined.mean():.0%} | "
            f"{median:.3g} | {anchor:g} |"
        )


if __name__ == "__main__":
    main()
