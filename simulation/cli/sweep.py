"""Commands `sweep` (run an experiment file) and `summarize` (rebuild a sweep's summary).

    reluctant-army sweep experiments/punishment_sweep.yaml [--workers N] [--out DIR] [--resume]
    reluctant-army summarize results/punishment_sweep

Exit codes: 0 done (failed runs are reported and recorded, not fatal), 2 user error (bad
experiment file, results folder of another experiment, changed experiment on --resume),
130 interrupted (finished batches are kept; complete them with --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `sweep` and `summarize` to the command line."""
    sweep = sub.add_parser(
        "sweep",
        help="run every design point x replication of an experiment file",
        description=(
            "Run an experiment file's design (scenarios, swept parameters, samples) with "
            "replications, in parallel, writing results as runs finish."
        ),
        formatter_class=formatter,
    )
    sweep.add_argument("experiment", help="experiment file, e.g. experiments/compare_orders.yaml")
    sweep.add_argument(
        "--workers",
        type=int,
        help="local worker processes (default: all cores); 1 runs in this process",
    )
    sweep.add_argument("--out", help="results folder (default: results/<experiment name>/)")
    sweep.add_argument(
        "--resume", action="store_true", help="complete an interrupted sweep in --out"
    )
    sweep.add_argument(
        "--overwrite", action="store_true", help="replace the results of an earlier sweep in --out"
    )
    sweep.add_argument("--batch-size", type=int, help="runs per task (default: automatic)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sweep.set_defaults(handler=sweep_command)

    summarize = sub.add_parser(
        "summarize",
        help="rebuild the summary and figures of a sweep's results folder",
        description="Rebuild runs, summary.csv and figures of a sweep folder from its parts.",
        formatter_class=formatter,
    )
    summarize.add_argument("folder", help="results folder written by `sweep`")
    summarize.set_defaults(handler=summarize_command)


def print_outcome(
    summary: Any,
    manifest: dict[str, Any],
    counts: dict[str, int],
    folder: Path,
    figures: list[Path],
) -> None:
    """The runs recorded, the summary table and the files written."""
    from simulation.experiments.summary import format_summary

    print(f"{counts['runs']:,} runs recorded, {counts['failed']:,} failed")
    if not summary.empty:
        print(format_summary(summary, manifest))
    tables = ("runs.parquet", "series.parquet", "summary.csv")
    files = [name for name in tables if (folder / name).exists()]
    files += [str(path.relative_to(folder)) for path in figures]
    print(f"results in {folder}/: " + ", ".join(files))
    if counts["failed"]:
        print(
            f"warning: {counts['failed']} run(s) failed; see the 'error' column of runs.parquet",
            file=sys.stderr,
        )


def sweep_command(args: argparse.Namespace) -> int:
    """Validate an experiment, run what is not yet recorded, then summarize."""
    from simulation.experiments.design import load_experiment
    from simulation.experiments.sweep import run_experiment

    experiment = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("results") / experiment.name
    try:
        result = run_experiment(
            experiment,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            out=out,
            resume=args.resume,
            overwrite=args.overwrite,
            batch_size=args.batch_size,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: finished batches are kept in {out}; complete the sweep with "
            f"`reluctant-army sweep {args.experiment} --out {out} --resume`",
            file=sys.stderr,
        )
        return 130
    report = result.report
    per_run = report.seconds / report.ran if report.ran else 0.0
    print(
        f"{report.ran:,} runs in {report.seconds:.1f} s ({per_run * 1000:.1f} ms per run wall "
        f"time on {report.backend})",
        file=sys.stderr,
    )
    counts = {"runs": len(result.runs), "failed": int((result.runs["status"] != "ok").sum())}
    print_outcome(result.summary, result.manifest, counts, out, result.figures)
    return 0


def summarize_command(args: argparse.Namespace) -> int:
    """Rebuild tables, summary.csv and figures of a results folder from its parts."""
    from simulation.experiments.storage import ResultsFolder
    from simulation.experiments.summary import summarize_folder

    folder = ResultsFolder.read(args.folder)
    result = summarize_folder(folder)
    if not result["complete"]:
        print(
            f"note: {result['counts']['runs']:,} of {folder.manifest['n_runs']:,} runs recorded "
            "(interrupted sweep: complete it with --resume)",
            file=sys.stderr,
        )
    print_outcome(
        result["summary"], folder.manifest, result["counts"], Path(args.folder), result["figures"]
    )
    return 0
