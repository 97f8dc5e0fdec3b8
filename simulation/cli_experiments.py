"""Subcommands `sweep` and `summarize` (registered into simulation.cli on import).

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

from simulation.cli import EXTENSIONS, command
from simulation.config import ConfigError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add `sweep` and `summarize` to the command line."""
    sweep = sub.add_parser(
        "sweep",
        help="run every design point x replication of an experiment file",
        description=(
            "Run an experiment file's design (scenarios, swept parameters, samples) with "
            "replications, in parallel, writing results as runs finish."
        ),
    )
    sweep.add_argument("experiment", help="experiment file, e.g. experiments/compare_orders.yaml")
    sweep.add_argument(
        "--workers",
        type=int,
        help="local worker processes (default: all cores); 1 runs in this process",
    )
    sweep.add_argument("--out", help="results folder (default results/<experiment name>/)")
    sweep.add_argument(
        "--resume", action="store_true", help="complete an interrupted sweep in --out"
    )
    sweep.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of an earlier sweep in --out",
    )
    sweep.add_argument("--batch-size", type=int, help="runs per task (default: automatic)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    summarize = sub.add_parser(
        "summarize", help="rebuild the summary and figures of a sweep's results folder"
    )
    summarize.add_argument("folder", help="results folder written by `sweep`")


EXTENSIONS.append(add_parsers)


def _print_outcome(result: dict, folder: Path) -> None:
    from simulation.analysis import format_summary

    counts = result["counts"]
    manifest_summary = result["summary"]
    print(f"{counts['runs']:,} runs recorded, {counts['failed']:,} failed")
    if not manifest_summary.empty:
        print(format_summary(manifest_summary, result["manifest"]))
    tables = ("runs.parquet", "series.parquet", "summary.csv", "sensitivity.csv")
    files = [name for name in tables if (folder / name).exists()]
    files += [str(path.relative_to(folder)) for path in result["figures"]]
    print(f"results in {folder}/: " + ", ".join(files))
    if counts["failed"]:
        print(
            f"warning: {counts['failed']} run(s) failed; see the 'error' column of runs.parquet",
            file=sys.stderr,
        )


def execute_sweep(
    experiment: Any,
    out: Path,
    backend: Any,
    *,
    batch_size: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> tuple[dict[str, Any], Any]:
    """Open (or resume) the results folder, run what is not yet recorded, rebuild the summary.

    Shared by `sweep` and the analysis commands that run experiments (`sensitivity`).
    Returns the summary result (with the manifest) and the sweep report.
    """
    from simulation.analysis import summarize_folder
    from simulation.storage import ResultsFolder
    from simulation.sweep import auto_batch_size, run_sweep

    try:
        batch_size = (
            batch_size
            or experiment.spec.batch_size
            or auto_batch_size(experiment.n_runs, backend.slots)
        )
        folder = ResultsFolder.open(
            out, experiment, batch_size=batch_size, resume=resume, overwrite=overwrite
        )
    except BaseException:
        backend.close()
        raise
    print(
        f"{experiment.name}: {len(experiment.points)} design point(s) x "
        f"{experiment.replications} replication(s) = {experiment.n_runs:,} runs of "
        f"{experiment.steps_label} steps on {backend.name}",
        file=sys.stderr,
    )
    report = run_sweep(experiment, folder, backend, progress=progress)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if report.already_done:
        print(
            f"resumed: {report.already_done:,} runs were already recorded, {report.ran:,} run now",
            file=sys.stderr,
        )
    result = summarize_folder(folder)
    result["manifest"] = folder.manifest
    return result, report


@command("sweep")
def sweep_command(args: argparse.Namespace) -> int:
    """Validate an experiment, run what is not yet recorded, then summarize."""
    from simulation.experiments import load_experiment
    from simulation.sweep import dask_backend, default_workers, local_backend

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"must be at least 1, got {args.workers}", "sweep", "--workers")
    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"must be at least 1, got {args.batch_size}", "sweep", "--batch-size")
    if args.workers is not None and (args.scheduler or args.scheduler_file):
        raise ConfigError(
            "--workers is for local runs; a Dask cluster uses its own workers", "sweep", "--workers"
        )
    if args.resume and args.overwrite:
        raise ConfigError("give either --resume or --overwrite, not both", "sweep", "--resume")
    experiment = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("results") / experiment.name
    if args.scheduler or args.scheduler_file:
        backend = dask_backend(args.scheduler, args.scheduler_file)
    else:
        backend = local_backend(args.workers or default_workers())
    try:
        result, report = execute_sweep(
            experiment,
            out,
            backend,
            batch_size=args.batch_size,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: finished batches are kept in {out}; complete the sweep with "
            f"`reluctant-army sweep {args.experiment} --out {out} --resume`",
            file=sys.stderr,
        )
        return 130
    per_run = report.seconds / report.ran if report.ran else 0.0
    print(
        f"{report.ran:,} runs in {report.seconds:.1f} s ({per_run * 1000:.1f} ms per run wall "
        f"time on {backend.name})",
        file=sys.stderr,
    )
    _print_outcome(result, out)
    return 0


@command("summarize")
def summarize_command(args: argparse.Namespace) -> int:
    """Rebuild tables, summary.csv and figures of a results folder from its parts."""
    from simulation.analysis import summarize_folder
    from simulation.storage import ResultsFolder

    folder = ResultsFolder.read(args.folder)
    result = summarize_folder(folder)
    result["manifest"] = folder.manifest
    if not result["complete"]:
        print(
            f"note: {result['counts']['runs']:,} of {folder.manifest['n_runs']:,} runs recorded "
            "(interrupted sweep: complete it with --resume)",
            file=sys.stderr,
        )
    _print_outcome(result, Path(args.folder))
    return 0
