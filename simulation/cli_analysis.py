"""Analysis subcommands (registered into simulation.cli on import).

    reluctant-army tipping configs/scenarios/fight_order.yaml \
        --lever drivers.punishment_severity --low 0 --high 6 --metric refuse --level 0.1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulation.cli import EXTENSIONS, command


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the analysis commands to the command line."""
    tipping = sub.add_parser(
        "tipping",
        help="find the lever value at which a rate crosses a level (bisection)",
        description=(
            "Bisect one lever of a scenario for the value where a rate (e.g. refuse) crosses a "
            "level, with replications at every probe; report the value with an interval."
        ),
    )
    tipping.add_argument("config", help="scenario config, e.g. configs/scenarios/fight_order.yaml")
    tipping.add_argument("--lever", required=True, help="dotted key, e.g. drivers.incentive_level")
    tipping.add_argument("--low", type=float, required=True, help="lower end of the search")
    tipping.add_argument("--high", type=float, required=True, help="upper end of the search")
    tipping.add_argument("--metric", default="refuse", help="rate, e.g. refuse, passive_evade")
    tipping.add_argument("--level", type=float, default=0.5, help="level to cross (share)")
    tipping.add_argument(
        "--statistic", default="final", help="final, peak or mean share over the run"
    )
    tipping.add_argument("--replications", type=int, default=10, help="runs per probe")
    tipping.add_argument("--iterations", type=int, default=8, help="bisection steps")
    tipping.add_argument("--seed", type=int, default=0, help="root seed of the replications")
    tipping.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    tipping.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE")
    tipping.add_argument("--out", help="results folder (default results/tipping_<config>_<lever>)")


EXTENSIONS.append(add_parsers)


@command("tipping")
def tipping_command(args: argparse.Namespace) -> int:
    """Find and report a tipping point, writing JSON, CSV and a figure."""
    import pandas as pd

    from simulation.config import ConfigError
    from simulation.results import prepare_folder, write_atomic, write_json
    from simulation.sweep import default_workers, local_backend
    from simulation.tipping import (
        check_request,
        find_tipping_point,
        plot_tipping,
        replicate_outcome,
    )

    if args.replications < 1 or args.iterations < 0:
        raise ConfigError("replications must be >= 1 and iterations >= 0", "--replications")
    check_request(
        args.config, args.lever, args.low, args.high, args.metric, args.statistic, args.set
    )
    lever_name = args.lever.split(".")[-1]
    out = Path(args.out or f"results/tipping_{Path(args.config).stem}_{lever_name}")
    workers = args.workers or default_workers()
    backend = local_backend(min(workers, args.replications))
    executor = backend.make()
    try:
        prepare_folder(out)
        result = find_tipping_point(
            args.config,
            args.lever,
            args.low,
            args.high,
            args.metric,
            args.level,
            statistic=args.statistic,
            replications=args.replications,
            iterations=args.iterations,
            seed=args.seed,
            overrides=args.set,
            evaluate_many=lambda tasks: list(executor.map(replicate_outcome, tasks)),
        )
    finally:
        executor.shutdown()
        backend.close()
    data = result.to_dict()
    write_json(out / "tipping.json", data)
    probes = pd.DataFrame([{k: v for k, v in p.items() if k != "outcomes"} for p in data["probes"]])
    write_atomic(out / "probes.csv", lambda tmp: probes.to_csv(tmp, index=False))
    write_atomic(out / "tipping.png", lambda tmp: plot_tipping(result, tmp))
    print(
        f"{args.statistic} {args.metric} against {args.lever} in [{args.low:g}, {args.high:g}], "
        f"level {args.level:g}, {args.replications} replications per probe"
    )
    print(probes.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if result.crossed:
        low, high = result.uncertain_range
        print(
            f"tipping point: {args.lever} = {result.estimate:.4g} "
            f"(bisection bracket {result.bracket[0]:.4g}-{result.bracket[1]:.4g}; "
            f"uncertain range {low:.4g}-{high:.4g}, where the 95% CI of the rate covers the level)"
        )
    else:
        print(f"the rate does not cross {args.level:g} between {args.low:g} and {args.high:g}")
    print(f"results in {out}/: tipping.json, probes.csv, tipping.png")
    return 0
