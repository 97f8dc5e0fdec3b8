"""Analysis commands: `tipping`, `sensitivity`, `discover` and `report`.

    reluctant-army tipping configs/scenarios/fight_order.yaml \
        --lever drivers.punishment_severity --low 0 --high 6 --metric refuse --level 0.1
    reluctant-army tipping configs/scenarios/regime_crisis.yaml \
        --lever drivers.regime_stability --low 0.1 --high 0.9 --level 0.5 --hysteresis --reverse
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.cli.options import add_set_option
from simulation.vocabulary import KEY_OUTPUTS

if TYPE_CHECKING:
    from simulation.analysis.hysteresis import HysteresisResult


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add the analysis commands to the command line."""
    tipping = sub.add_parser(
        "tipping",
        help="find the lever value at which a rate crosses a level (bisection)",
        description=(
            "Bisect one lever of a scenario for the value where a rate (e.g. refuse) crosses a "
            "level, with replications at every probe; report the value with an interval."
        ),
        formatter_class=formatter,
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
    add_set_option(tipping)
    tipping.add_argument("--out", help="results folder (default: results/tipping_<config>_<lever>)")
    tipping.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier search of another lever or config in --out",
    )
    ramp = tipping.add_argument_group(
        "hysteresis",
        "with --hysteresis (drivers only), each replication also runs a ramp: the lever held "
        "--hold months at each of --points values from low to high and back (--reverse: from "
        "high to low and back); the metric at the end of every hold, both ways, the gap "
        "between them, the steepness of each leg, and what the excursion left behind against "
        "control runs with the lever held at its first value",
    )
    ramp.add_argument("--hysteresis", action="store_true", help="also run up and down sweeps")
    ramp.add_argument("--points", type=int, default=9, help="lever values on each leg")
    ramp.add_argument("--hold", type=int, default=12, help="months at each value")
    ramp.add_argument(
        "--ramp-start",
        type=int,
        default=None,
        help="month the ramp leaves its first value (default: 12 after the order changes)",
    )
    ramp.add_argument("--reverse", action="store_true", help="go from high to low and back")
    ramp.add_argument("--no-control", action="store_true", help="skip the control runs")
    tipping.set_defaults(handler=tipping_command)

    discover = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM, CART) over a sampled sweep's results",
        description=(
            "Find the regions of the swept parameter space where an outcome is above (or "
            "below) a level: PRIM boxes and CART rules with coverage and density."
        ),
        formatter_class=formatter,
    )
    discover.add_argument("folder", help="results folder of a sweep, e.g. results/assumptions_lhs")
    discover.add_argument("--metric", default="refuse", help="outcome, e.g. refuse, peak_refuse")
    level = discover.add_mutually_exclusive_group()
    level.add_argument("--above", type=float, help="cases of interest: outcome above this")
    level.add_argument("--below", type=float, help="cases of interest: outcome below this")
    discover.add_argument(
        "--method", choices=("prim", "cart", "both"), default="both", help="which method(s)"
    )
    discover.add_argument("--threshold", type=float, default=0.8, help="PRIM density wanted")
    discover.add_argument("--boxes", type=int, default=2, help="PRIM boxes to find at most")
    discover.add_argument("--depth", type=int, default=3, help="CART tree depth")
    discover.add_argument("--out", help="output folder (default: <folder>/discovery)")
    discover.set_defaults(handler=discover_command)

    sensitivity = sub.add_parser(
        "sensitivity",
        help="global sensitivity (Sobol with a Morris screen, SALib) of refusal and compliance",
        description=(
            "Run an experiment file with a Sobol design over {low, high} ranges, and a Morris "
            "screen over the same ranges; print and write Sobol S1/ST and Morris mu*/sigma."
        ),
        formatter_class=formatter,
    )
    sensitivity.add_argument("experiment", help="e.g. experiments/sensitivity.yaml")
    sensitivity.add_argument("--workers", type=int, help="processes (default: all cores)")
    sensitivity.add_argument("--out", help="results folder (default: results/<experiment name>)")
    sensitivity.add_argument("--resume", action="store_true", help="complete interrupted sweeps")
    sensitivity.add_argument("--overwrite", action="store_true", help="replace earlier results")
    sensitivity.add_argument(
        "--morris-trajectories", type=int, default=10, help="Morris trajectories"
    )
    sensitivity.add_argument("--morris-levels", type=int, default=4, help="Morris grid levels")
    sensitivity.add_argument("--no-morris", action="store_true", help="Sobol indices only")
    sensitivity.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sensitivity.add_argument(
        "--outputs",
        nargs="+",
        metavar="SHARE",
        help=(
            "shares to analyse, e.g. refuse passive_evade cohort_comply (default: the "
            f"experiment's metrics if it lists them, else {' '.join(KEY_OUTPUTS)})"
        ),
    )
    sensitivity.add_argument(
        "--groups",
        choices=("prior", "section"),
        help=(
            "replace the experiment's design.groups: one index per prior, or per config "
            "section (a mapping of named groups goes in the experiment file)"
        ),
    )
    sensitivity.add_argument(
        "--measure",
        nargs="+",
        default=["final"],
        metavar="WHEN",
        help=(
            "when each share is read: final, peak or at_order_plus_N (a lag the config "
            "records); several give indices at each"
        ),
    )
    sensitivity.set_defaults(handler=sensitivity_command)

    report = sub.add_parser(
        "report",
        help="write a self-contained HTML report of any results folder",
        description="Write one HTML file with tables and embedded figures of a results folder.",
        formatter_class=formatter,
    )
    report.add_argument("folder", help="a folder written by run, sweep, sensitivity, tipping...")
    report.add_argument("--out", help="HTML file (default: <folder>/report.html)")
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Write <folder>/report.html: what was run, tables with CIs, embedded figures."""
    from simulation.analysis.report import build_report

    path = build_report(args.folder, args.out)
    size = path.stat().st_size
    print(f"report: {path} ({size / 1024:.0f} kB, self-contained)")
    return 0


def sensitivity_command(args: argparse.Namespace) -> int:
    """Sobol indices (and a Morris screen) of the shares asked for, at the measures asked for."""
    from simulation.analysis.sensitivity import format_indices, run_sensitivity
    from simulation.experiments.design import load_experiment

    experiment = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("results") / experiment.name
    result = run_sensitivity(
        experiment,
        outputs=args.outputs,
        morris=not args.no_morris,
        morris_trajectories=args.morris_trajectories,
        morris_levels=args.morris_levels,
        workers=args.workers,
        out=out,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        groups=args.groups,
        measures=args.measure,
    )
    for label, sweep in result.sweeps.items():
        failed = int((sweep.runs["status"] != "ok").sum())
        if failed:
            print(
                f"note: {failed} {label} run(s) failed; indices use design-point means of the "
                "runs that finished",
                file=sys.stderr,
            )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.constant:
        print(
            f"note: {', '.join(result.constant)} did not vary across the design (or are "
            "undefined where their group had no one serving): no indices",
            file=sys.stderr,
        )
    print(format_indices(result.indices))
    print(
        "S1/ST: Sobol first-order and total indices (with 95% confidence half-widths); "
        "mu_star/sigma: Morris screen"
    )
    print(f"results in {out}/: indices.csv, indices.json, indices.png, sobol/, morris/")
    return 0


def discover_command(args: argparse.Namespace) -> int:
    """Print and write the PRIM boxes and CART rules for a results folder."""
    from simulation.analysis.discovery import discover

    result = discover(
        args.folder,
        args.metric,
        above=args.above,
        below=args.below,
        method=args.method,
        threshold=args.threshold,
        boxes=args.boxes,
        depth=args.depth,
        out=args.out,
    )
    share = result.cases_of_interest / result.runs if result.runs else 0.0
    print(
        f"case of interest: {result.case}; {result.cases_of_interest} of {result.runs} runs "
        f"({share:.1%})"
    )
    if not result.regions:
        print("no region found")
    for number, region in enumerate(result.regions, start=1):
        print(f"{number}. [{region.method}] {region.describe()}")
        print(
            f"   coverage {region.coverage:.1%}, density {region.density:.1%}, "
            f"{region.n_runs} runs ({region.mass:.1%} of all)"
        )
    print(f"results in {result.folder}/: discovery.json, discovery.png")
    return 0


def tipping_command(args: argparse.Namespace) -> int:
    """Find and report a tipping point, writing JSON, CSV and a figure (with --hysteresis,
    also the up and down sweeps, run first and written with the search)."""
    from simulation.analysis.tipping import find_tipping_point, tipping_folder_check

    lever_name = args.lever.split(".")[-1]
    out = Path(args.out or f"results/tipping_{Path(args.config).stem}_{lever_name}")
    ramp = None
    if args.hysteresis:  # a bad ramp or folder fails before anything runs or is written
        from simulation.analysis.hysteresis import plan_ramp, write_hysteresis
        from simulation.config.loading import load_config

        positional, keywords = ramp_request(args)
        plan_ramp(*positional, **keywords)
        name = load_config(args.config, args.set).name
        tipping_folder_check(out, name, args.lever, overwrite=args.overwrite)
        ramp = run_ramp(args)
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
        workers=args.workers,
        out=out,
        overwrite=args.overwrite,
        also_write=None if ramp is None else (lambda folder: write_hysteresis(ramp, folder)),
    )
    print(
        f"{args.statistic} {args.metric} against {args.lever} in [{args.low:g}, {args.high:g}], "
        f"level {args.level:g}, {args.replications} replications per probe"
    )
    print(result.probes_table().to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if result.crossed and result.whole_numbers and result.bracket[1] - result.bracket[0] <= 1:
        low, high = result.bracket
        print(
            f"tipping point: {args.lever} = {result.estimate:g} (the rate is on one side of "
            f"{args.level:g} at {low:g} and on the other at {high:g}; the lever takes whole "
            "numbers only)"
        )
    elif result.crossed:
        low, high = result.uncertain_range
        print(
            f"tipping point: {args.lever} = {result.estimate:.4g} "
            f"(bisection bracket {result.bracket[0]:.4g}-{result.bracket[1]:.4g}; "
            f"uncertain range {low:.4g}-{high:.4g}, where the 95% CI of the rate covers the level)"
        )
    else:
        print(f"the rate does not cross {args.level:g} between {args.low:g} and {args.high:g}")
    steep = result.steepness()
    if steep is not None:
        print(f"steepness between probes: {describe_steepness(steep)}")
    files = "tipping.json, probes.csv, tipping.png"
    if ramp is not None:
        print_ramp(args, ramp)
        files += ", hysteresis.json, hysteresis.csv, hysteresis.png"
    print(f"results in {out}/: {files}")
    return 0


def describe_steepness(steep: dict[str, float]) -> str:
    """'largest slope 1.6 [1.5, 1.8] per unit, 2.2 [2.1, 2.5] times the linear effect'."""
    return (
        f"largest slope {steep['largest_slope']:.3g} [{steep['largest_slope_low']:.3g}, "
        f"{steep['largest_slope_high']:.3g}] per unit of the lever, "
        f"{steep['ratio']:.2f} [{steep['ratio_low']:.2f}, {steep['ratio_high']:.2f}] times its "
        f"linear effect ({steep['linear_slope']:.3g} per unit from end to end)"
    )


def ramp_request(args: argparse.Namespace) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The ramp of --hysteresis as arguments of plan_ramp (and run_hysteresis)."""
    positional = (args.config, args.lever, args.low, args.high, args.metric)
    keywords = {
        "points": args.points,
        "hold": args.hold,
        "ramp_start": args.ramp_start,
        "reverse": args.reverse,
        "overrides": args.set,
    }
    return positional, keywords


def run_ramp(args: argparse.Namespace) -> HysteresisResult:
    """Run the up and down sweeps of --hysteresis."""
    from simulation.analysis.hysteresis import run_hysteresis

    positional, keywords = ramp_request(args)
    return run_hysteresis(
        *positional,
        **keywords,
        control=not args.no_control,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
    )


def print_ramp(args: argparse.Namespace, result: HysteresisResult) -> None:
    """Print the up and down sweeps: both legs, gaps, what was left behind, steepness."""
    way = "high -> low -> high" if args.reverse else "low -> high -> low"
    print(
        f"\nhysteresis: {args.lever} {way}, {args.hold} months at each of "
        f"{len(result.levels)} values from month {result.start}, {len(result.seeds)} runs"
    )
    table = result.table()[["level", "up", "up_low", "up_high", "down", "down_low", "down_high"]]
    table = table.assign(
        gap=result.table()["gap"],
        gap_low=result.table()["gap_low"],
        gap_high=result.table()["gap_high"],
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    level, mean, low, high = result.largest_gap()
    print(f"largest gap (down - up): {mean:+.4f} [{low:+.4f}, {high:+.4f}] at {level:g}")
    back, back_low, back_high = result.returned_gap()
    print(
        f"back at the first value: {back:+.4f} [{back_low:+.4f}, {back_high:+.4f}] against "
        "before the ramp left it"
    )
    lasting = result.lasting_effect()
    if lasting is not None:
        print(
            f"left behind, against control runs at the same month: {lasting[0]:+.4f} "
            f"[{lasting[1]:+.4f}, {lasting[2]:+.4f}]"
        )
    for leg, steep in result.steepness_summary().items():
        print(f"steepness on the way {leg}: {describe_steepness(steep)}")
