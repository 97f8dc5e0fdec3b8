"""Analysis subcommands (registered into simulation.cli on import).

    reluctant-army tipping configs/scenarios/fight_order.yaml \
        --lever drivers.punishment_severity --low 0 --high 6 --metric refuse --level 0.1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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

    discover = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM, CART) over a sampled sweep's results",
        description=(
            "Find the regions of the swept parameter space where an outcome is above (or "
            "below) a level: PRIM boxes and CART rules with coverage and density."
        ),
    )
    discover.add_argument("folder", help="results folder of a sweep, e.g. results/assumptions_lhs")
    discover.add_argument("--metric", default="refuse", help="outcome, e.g. refuse, peak_refuse")
    level = discover.add_mutually_exclusive_group()
    level.add_argument("--above", type=float, help="cases of interest: outcome above this")
    level.add_argument("--below", type=float, help="cases of interest: outcome below this")
    discover.add_argument("--method", choices=("prim", "cart", "both"), default="both")
    discover.add_argument("--threshold", type=float, default=0.8, help="PRIM density wanted")
    discover.add_argument("--boxes", type=int, default=2, help="PRIM boxes to find at most")
    discover.add_argument("--depth", type=int, default=3, help="CART tree depth")
    discover.add_argument("--out", help="output folder (default <folder>/discovery)")

    sensitivity = sub.add_parser(
        "sensitivity",
        help="global sensitivity (Sobol with a Morris screen, SALib) of refusal and compliance",
        description=(
            "Run an experiment file with a Sobol design over {low, high} ranges, and a Morris "
            "screen over the same ranges; print and write Sobol S1/ST and Morris mu*/sigma."
        ),
    )
    sensitivity.add_argument("experiment", help="e.g. experiments/sensitivity.yaml")
    sensitivity.add_argument("--workers", type=int, help="processes (default: all cores)")
    sensitivity.add_argument("--out", help="results folder (default results/<experiment name>)")
    sensitivity.add_argument("--resume", action="store_true", help="complete interrupted sweeps")
    sensitivity.add_argument("--overwrite", action="store_true", help="replace earlier results")
    sensitivity.add_argument("--morris-trajectories", type=int, default=10)
    sensitivity.add_argument("--morris-levels", type=int, default=4)
    sensitivity.add_argument("--no-morris", action="store_true", help="Sobol indices only")
    sensitivity.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sensitivity.add_argument(
        "--outputs",
        nargs="+",
        default=["refuse", "comply", "evade"],
        metavar="SHARE",
        help="final shares to analyse, e.g. refuse passive_evade dissenting_refuse",
    )

    report = sub.add_parser(
        "report", help="write a self-contained HTML report of any results folder"
    )
    report.add_argument("folder", help="a folder written by run, sweep, sensitivity, tipping...")
    report.add_argument("--out", help="HTML file (default <folder>/report.html)")


EXTENSIONS.append(add_parsers)


@command("report")
def report_command(args: argparse.Namespace) -> int:
    """Write <folder>/report.html: what was run, tables with CIs, embedded figures."""
    from simulation.report import build_report
    from simulation.results import write_text

    document = build_report(args.folder)
    out = Path(args.out) if args.out else Path(args.folder) / "report.html"
    write_text(out, document)
    print(f"report: {out} ({len(document) / 1024:.0f} kB, self-contained)")
    return 0


@command("sensitivity")
def sensitivity_command(args: argparse.Namespace) -> int:
    """Sobol indices (and a Morris screen) of the final refusal, compliance and evasion."""
    from simulation.analysis import sensitivity
    from simulation.cli_experiments import execute_sweep
    from simulation.config import ConfigError
    from simulation.experiments import load_experiment
    from simulation.results import prepare_folder, write_atomic, write_json
    from simulation.sensitivity import (
        check_sobol,
        format_indices,
        indices_table,
        morris_variant,
        plot_indices,
    )
    from simulation.sweep import default_workers, local_backend

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"must be at least 1, got {args.workers}", None, "--workers")
    if args.morris_trajectories < 2 or args.morris_levels < 2:
        raise ConfigError(
            "Morris needs at least 2 trajectories and 2 levels", None, "--morris-trajectories"
        )
    path = Path(args.experiment)
    sobol_experiment = load_experiment(path)
    check_sobol(sobol_experiment, path)
    unknown = [name for name in args.outputs if name not in sobol_experiment.metrics]
    if unknown:
        raise ConfigError(
            f"unknown output {unknown}; expected some of: {', '.join(sobol_experiment.metrics)}",
            None,
            "--outputs",
        )
    out = Path(args.out) if args.out else Path("results") / sobol_experiment.name
    prepare_folder(out)
    progress = not args.no_progress
    runs = [("sobol", sobol_experiment)]
    if not args.no_morris:
        morris_path = morris_variant(path, out, args.morris_trajectories, args.morris_levels)
        runs.append(("morris", load_experiment(morris_path)))
    tables: dict[str, Any] = {}
    for label, experiment in runs:
        result, report = execute_sweep(
            experiment,
            out / label,
            local_backend(args.workers or default_workers()),
            resume=args.resume,
            overwrite=args.overwrite,
            progress=progress,
        )
        failed = report.failed
        if failed:
            print(
                f"note: {failed} {label} run(s) failed; indices use design-point means of the "
                "runs that finished",
                file=sys.stderr,
            )
        tables[label] = sensitivity(result["summary"], result["manifest"])
    table = indices_table(tables.get("sobol"), tables.get("morris"), tuple(args.outputs))
    constant = [name for name in args.outputs if f"final_{name}" not in set(table["output"])]
    if constant:
        print(
            f"note: {', '.join(constant)} did not vary across the design: no indices",
            file=sys.stderr,
        )
    write_atomic(out / "indices.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_json(out / "indices.json", table.to_dict(orient="records"))
    write_atomic(
        out / "indices.png",
        lambda tmp: plot_indices(table, tmp, f"Sensitivity: {sobol_experiment.name}"),
    )
    print(format_indices(table))
    print(
        "S1/ST: Sobol first-order and total indices (with 95% confidence half-widths); "
        "mu_star/sigma: Morris screen"
    )
    print(f"results in {out}/: indices.csv, indices.json, indices.png, sobol/, morris/")
    return 0


@command("discover")
def discover_command(args: argparse.Namespace) -> int:
    """Print and write the PRIM boxes and CART rules for a results folder."""
    import pandas as pd

    from simulation.config import ConfigError
    from simulation.discovery import (
        cart_regions,
        inputs_and_outcome,
        plot_discovery,
        prim_regions,
    )
    from simulation.results import prepare_folder, write_atomic, write_json
    from simulation.storage import ResultsFolder

    folder = ResultsFolder.read(args.folder)
    runs_path = Path(args.folder) / "runs.parquet"
    if not runs_path.exists():
        raise ConfigError("no runs.parquet: finish the sweep first (--resume)", args.folder)
    if not 0 < args.threshold <= 1:
        raise ConfigError("expected a density in (0, 1]", "--threshold")
    below = args.below is not None
    level = args.below if below else (args.above if args.above is not None else 0.5)
    runs = pd.read_parquet(runs_path)
    inputs, flags = inputs_and_outcome(runs, folder.manifest, args.metric, level, below)
    regions = []
    if args.method in ("prim", "both"):
        regions += prim_regions(inputs, flags, args.threshold, args.boxes)
    if args.method in ("cart", "both"):
        regions += cart_regions(inputs, flags, args.depth)
    out = prepare_folder(args.out or Path(args.folder) / "discovery")
    case = f"{args.metric} {'<' if below else '>'} {level:g}"
    write_json(
        out / "discovery.json",
        {
            "folder": str(args.folder),
            "case_of_interest": case,
            "runs": int(len(flags)),
            "cases_of_interest": int(flags.sum()),
            "parameters": list(inputs.columns),
            "regions": [region.to_dict() for region in regions],
        },
    )
    write_atomic(
        out / "discovery.png", lambda tmp: plot_discovery(inputs, flags, regions, tmp, case)
    )
    print(f"case of interest: {case}; {int(flags.sum())} of {len(flags)} runs ({flags.mean():.1%})")
    if not regions:
        print("no region found")
    for number, region in enumerate(regions, start=1):
        print(f"{number}. [{region.method}] {region.describe()}")
        print(
            f"   coverage {region.coverage:.1%}, density {region.density:.1%}, "
            f"{region.n_runs} runs ({region.mass:.1%} of all)"
        )
    print(f"results in {out}/: discovery.json, discovery.png")
    return 0


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
