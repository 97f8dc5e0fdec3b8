"""Commands on the uncertainty of the assumptions: `ensemble` and `calibrate` (their tables:
`table`, in :mod:`simulation.cli.tables`).

reluctant-army ensemble configs/scenarios/fight_order.yaml --draws 200
reluctant-army ensemble experiments/scenarios.yaml --draws 200 --posterior results/calibration
reluctant-army calibrate configs/targets/anchors.yaml
reluctant-army table results/scenarios_prior --readme README.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from simulation.cli.options import add_run_options, add_set_option
from simulation.errors import ArgumentError, ResultsError


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `ensemble` and `calibrate` to the command line."""
    ensemble = sub.add_parser(
        "ensemble",
        help="run a config or experiment over draws from the priors (or a posterior)",
        description=(
            "Run a config, or every scenario of an experiment, over draws from the priors "
            "(configs/priors.yaml) or a calibration's posterior, with replications per draw; "
            "report every output's median and 50% and 90% intervals, how much of its variance "
            "is seed noise and how much the assumptions, and each scenario's difference from "
            "the reference scenario (same draws, same seeds)."
        ),
        formatter_class=formatter,
    )
    ensemble.add_argument(
        "config", help="config or experiment file, e.g. experiments/scenarios.yaml"
    )
    ensemble.add_argument(
        "--draws", type=int, help="parameter sets drawn (default: 100, or the experiment's)"
    )
    ensemble.add_argument("--replications", type=int, help="seeds per draw (default: 2)")
    ensemble.add_argument("--priors", help="priors file (default: configs/priors.yaml)")
    ensemble.add_argument("--posterior", metavar="DIR", help="calibration results folder")
    ensemble.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="KEY",
        help="assumptions kept at the config's values",
    )
    ensemble.add_argument("--seed", type=int, help="root seed (default: the experiment's, or 0)")
    ensemble.add_argument("--steps", type=int, help="steps per run (default: the config's)")
    ensemble.add_argument(
        "--reference", help="scenario compared with (default: status_quo or the first)"
    )
    add_set_option(ensemble)
    add_run_options(ensemble, "results/<name>_prior")
    ensemble.set_defaults(handler=ensemble_command)

    calibrate = sub.add_parser(
        "calibrate",
        help="calibrate assumptions against real-world anchors (ABC-SMC, pyabc)",
        description=(
            "Approximate Bayesian computation (ABC-SMC, pyabc) of the parameters a targets "
            "file names, against its anchors; then prior and posterior predictive checks of "
            "each target and of the stylised facts not fitted. Writes the posterior "
            "(posterior.csv, usable as `ensemble --posterior DIR`), its summary, marginal "
            "plots and the pyabc history (history.db) into the results folder."
        ),
        formatter_class=formatter,
    )
    calibrate.add_argument("targets", help="targets file, e.g. configs/targets/anchors.yaml")
    calibrate.add_argument("--population-size", type=int, help="particles per generation")
    calibrate.add_argument("--generations", type=int, help="most generations")
    calibrate.add_argument("--max-simulations", type=int, help="simulation budget")
    calibrate.add_argument("--min-epsilon", type=float, help="stop at this distance threshold")
    calibrate.add_argument("--seed", type=int, help="root seed (default: the file's)")
    calibrate.add_argument("--predictive-draws", type=int, help="predictive runs per scenario")
    calibrate.add_argument(
        "--prior-mixture",
        type=float,
        metavar="SHARE",
        help=(
            "share of proposals drawn from the prior, in [0, 1) (default: the file's, else "
            "0.2: every importance weight stays below 1/SHARE)"
        ),
    )
    calibrate.add_argument(
        "--kernel",
        choices=("normal", "logit"),
        help="fitted proposal kernel (default: the file's, else normal; logit stays in the priors)",
    )
    calibrate.add_argument(
        "--check",
        type=int,
        metavar="TRUTHS",
        help=(
            "instead of calibrating against the anchors, test the procedure: simulation-based "
            "calibration over TRUTHS truths drawn from the priors (at least 20 for a verdict), "
            "each calibrated with these settings; writes sbc.csv, sbc_summary.csv and "
            "sbc_ranks.png (default folder results/sbc_<name>)"
        ),
    )
    calibrate.add_argument(
        "--truth-design",
        choices=("latin_hypercube", "random"),
        default="latin_hypercube",
        help=(
            "with --check: how truths are drawn from the priors; a Latin hypercube keeps the "
            "truths' own spread out of the coverage (docs/calibration.md, section 4)"
        ),
    )
    calibrate.add_argument(
        "--history-match",
        type=int,
        metavar="WAVES",
        help=(
            "first rule out implausible parameter space by WAVES waves of history matching "
            "with Gaussian-process emulators (cut-off 3), then run ABC inside the space left; "
            "adds waves.csv, emulator_diagnostics.csv, design_runs.csv, history_matching.png "
            "and prints the whole command's wall time"
        ),
    )
    calibrate.add_argument(
        "--design-points", type=int, default=60, help="model runs per history-matching wave"
    )
    calibrate.add_argument(
        "--implausibility-order",
        type=int,
        choices=(1, 2),
        default=1,
        help="rule out on the largest (1) or second largest (2) implausibility over targets",
    )
    calibrate.add_argument(
        "--leave-one-out",
        action="store_true",
        help=(
            "instead of one calibration, calibrate once per anchor on all the others and say "
            "whether the one left out falls inside the 90%% posterior predictive interval; "
            "writes leave_one_out.csv (default folder results/loo_<name>)"
        ),
    )
    add_run_options(calibrate, "results/calibration_<name>")
    calibrate.set_defaults(handler=calibrate_command)


def ensemble_command(args: argparse.Namespace) -> int:
    """Run an ensemble and print its headline table."""
    from simulation.analysis.ensemble import run_ensemble
    from simulation.analysis.tables import ensemble_tables
    from simulation.config.loading import parse_override, read_yaml

    data = read_yaml(args.config)
    name = data.get("name") or Path(args.config).stem
    out = Path(args.out) if args.out else Path("results") / f"{name}_prior"
    overrides = {".".join(path): value for path, value in map(parse_override, args.set)}
    try:
        result = run_ensemble(
            args.config,
            draws=args.draws,
            replications=args.replications,
            priors=args.priors,
            posterior=args.posterior,
            exclude=args.exclude,
            seed=args.seed,
            steps=args.steps,
            overrides=overrides or None,
            reference=args.reference,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            out=out,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: finished runs are kept in {out}; complete them with --resume",
            file=sys.stderr,
        )
        return 130
    failed = int((result.sweep.runs["status"] != "ok").sum())
    if failed:
        print(f"warning: {failed} run(s) failed; tables use complete draws", file=sys.stderr)
    manifest = result.manifest
    if manifest["redrawn"]:
        print(
            f"note: {manifest['redrawn']} draw(s) gave invalid configs and were drawn again",
            file=sys.stderr,
        )
    for scenario, kept in manifest["kept_by_scenario"].items():
        print(f"note: {scenario} sets {', '.join(kept)} itself (kept, not drawn)", file=sys.stderr)
    print(ensemble_tables(out))
    print(
        "how much of each output's variance is seed noise and how much the assumptions: "
        f"seed_share and assumption_share in distribution.csv ({manifest['replications']} "
        "seeds per draw)"
    )
    print(f"results in {out}/: distribution.csv, differences.csv, ensemble.png, runs/")
    return 0


def calibrate_command(args: argparse.Namespace) -> int:
    """Calibrate, then print the posterior summary and the predictive checks."""
    from simulation.analysis.calibration import calibrate, format_calibration
    from simulation.config.targets import load_targets

    targets = load_targets(args.targets)
    if args.check is not None:
        return check_command(args, targets)
    if args.leave_one_out:
        return leave_one_out_command(args, targets)
    out = Path(args.out) if args.out else Path("results") / f"calibration_{targets.name}"
    started = time.perf_counter()
    match = None
    if args.history_match is not None:
        match = history_match_command(args, targets, out)
    try:
        result = calibrate(
            targets,
            out=out,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            population_size=args.population_size,
            generations=args.generations,
            max_simulations=args.max_simulations,
            min_epsilon=args.min_epsilon,
            seed=args.seed,
            predictive_draws=args.predictive_draws,
            prior_mixture=args.prior_mixture,
            kernel=args.kernel,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            region=match,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: complete generations are kept in {out}/history.db; continue with "
            f"`reluctant-army calibrate {args.targets} --out {out} --resume`",
            file=sys.stderr,
        )
        return 130
    print(format_calibration(result))
    print(
        f"results in {out}/: posterior.csv, posterior_summary.csv, marginals.png, "
        "predictive.csv, predictive.png, checks.csv, generations.csv, history.db"
    )
    if match is not None:
        from simulation.analysis.history_matching import format_match, write_match

        write_match(match, out, f"{targets.name}: history matching")
        print(format_match(match))
        print(
            f"history matching in {out}/: waves.csv, emulator_diagnostics.csv, "
            "design_runs.csv, history_matching.png"
        )
        seconds = time.perf_counter() - started
        print(
            f"whole calibration (history matching, ABC, predictive checks): {seconds:.0f} s; "
            f"{len(match.runs)} design runs and {result.simulations} ABC simulations"
        )
    return 0


def history_match_command(args: argparse.Namespace, targets: Any, out: Path) -> Any:
    """History matching before ABC, with the command's settings."""
    from simulation.analysis.history_matching import match_targets

    if args.history_match < 1:
        raise ArgumentError(f"must be at least 1, got {args.history_match}", "history_match")
    if args.design_points < 4:
        raise ArgumentError(f"must be at least 4, got {args.design_points}", "design_points")
    if args.resume:
        raise ArgumentError("a history-matched calibration cannot be resumed", "history_match")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise ResultsError(
            "the results folder is not empty: choose another folder, or replace its results",
            out,
            remedies=("out", "overwrite"),
        )
    return match_targets(
        targets,
        waves=args.history_match,
        points=args.design_points,
        order=args.implausibility_order,
        seed=args.seed or 0,
        workers=args.workers,
        progress=None if args.no_progress else lambda text: print(text, file=sys.stderr),
    )


def calibration_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ABC settings given on the command line (the file's hold for the others)."""
    return {
        key: value
        for key, value in {
            "population_size": args.population_size,
            "generations": args.generations,
            "max_simulations": args.max_simulations,
            "min_epsilon": args.min_epsilon,
            "prior_mixture": args.prior_mixture,
            "kernel": args.kernel,
        }.items()
        if value is not None
    }


def leave_one_out_command(args: argparse.Namespace, targets: Any) -> int:
    """Leave-one-anchor-out prediction, one calibration per anchor."""
    from simulation.analysis.calibration import leave_one_anchor_out
    from simulation.experiments.files import prepare_folder, write_atomic

    out = Path(args.out) if args.out else Path("results") / f"loo_{targets.name}"
    if (out / "leave_one_out.csv").is_file() and not args.overwrite:
        raise ResultsError(
            "holds a leave-one-out table: choose another folder, or replace it",
            out,
            remedies=("out", "overwrite"),
        )
    options = calibration_options(args)
    started = time.perf_counter()
    table = leave_one_anchor_out(
        targets,
        draws=args.predictive_draws or 40,
        seed=args.seed or 0,
        workers=args.workers,
        progress=None if args.no_progress else lambda text: print(text, file=sys.stderr),
        **options,
    )
    prepare_folder(out)
    write_atomic(out / "leave_one_out.csv", lambda tmp: table.to_csv(tmp, index=False))
    print(table.to_string(index=False))
    print(
        f"{int(table['inside_90'].sum())} of {len(table)} anchors inside the 90% interval "
        f"predicted by the others ({time.perf_counter() - started:.0f} s)"
    )
    print(f"results in {out}/: leave_one_out.csv")
    return 0


def check_command(args: argparse.Namespace, targets: object) -> int:
    """Simulation-based calibration of the targets file's procedure."""
    from simulation.analysis.sbc import (
        format_summary,
        least_ess_by_generation,
        simulation_based_calibration,
    )

    if args.check < 1:
        raise ArgumentError(f"must be at least 1, got {args.check}", "check")
    out = Path(args.out) if args.out else Path("results") / f"sbc_{targets.name}"  # type: ignore[attr-defined]
    options = calibration_options(args)
    if args.workers is not None:
        options["workers"] = args.workers
    started = time.perf_counter()
    table, summary = simulation_based_calibration(
        targets,
        truths=args.check,
        seed=args.seed or 0,
        truth_design=args.truth_design,
        out=out,
        calibrate_options=options,
        progress=None if args.no_progress else lambda text: print(text, file=sys.stderr),
    )
    print(format_summary(summary, time.perf_counter() - started))
    print(
        f"least effective sample size share of any generation: {table['min_ess_share'].min():.0%}"
    )
    least = least_ess_by_generation(table)
    print(
        "least effective sample size share by generation, over the truths: "
        + ", ".join(f"{generation}: {share:.0%}" for generation, share in enumerate(least))
    )
    print(f"results in {out}/: sbc.csv, sbc_summary.csv, sbc_ranks.png")
    return 0
