"""Commands `sweep` (run an experiment file), `summarize` (rebuild a sweep's summary),
`verify` (re-run a sample of a sweep's runs) and `cache` (the run cache).

    reluctant-army sweep experiments/punishment_sweep.yaml [--workers N] [--out DIR] [--resume]
    reluctant-army summarize results/punishment_sweep
    reluctant-army verify results/punishment_sweep --sample 20
    reluctant-army cache [--clear]

Exit codes: 0 done (failed runs are reported and recorded, not fatal), 1 `verify` found
runs that differ, 2 user error (bad experiment file, results folder of another
experiment or locked by another sweep, changed experiment on --resume, a Dask scheduler
that cannot be reached or is lost), 130 interrupted (finished batches are kept; complete
them with --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulation.experiments.timeouts import (
    DEFAULT_RUN_TIMEOUT,
    DEFAULT_SCHEDULER_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
)


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
        "--allow-mixed-versions",
        action="store_true",
        help="with --resume: go on although the model's code changed since the folder's runs "
        "were made (the folder then mixes runs of two code versions, and says so)",
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume: also run again the runs recorded as failed",
    )
    sweep.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of an earlier sweep in --out (only a sweep's results)",
    )
    sweep.add_argument("--batch-size", type=int, help="runs per task (default: automatic)")
    sweep.add_argument(
        "--run-timeout",
        type=float,
        metavar="SECONDS",
        help="stop a run after this long and record it as failed (default: the experiment's "
        f"run_timeout, else {DEFAULT_RUN_TIMEOUT:g})",
    )
    sweep.add_argument(
        "--stall-timeout",
        type=float,
        metavar="SECONDS",
        help="call a local worker stalled (stopped, frozen) after this long without a "
        f"heartbeat, and retry its runs (default: {DEFAULT_STALL_TIMEOUT:g})",
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file")
    sweep.add_argument(
        "--scheduler-timeout",
        type=float,
        default=DEFAULT_SCHEDULER_TIMEOUT,
        metavar="SECONDS",
        help="give up on a Dask scheduler that does not answer for this long",
    )
    cache = sweep.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="DIR",
        help="run cache folder (default: $RELUCTANT_ARMY_CACHE, else the user's cache folder)",
    )
    cache.add_argument(
        "--no-cache", action="store_true", help="neither read nor fill the run cache"
    )
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

    verify = sub.add_parser(
        "verify",
        help="re-run a sample of a sweep's runs and report any that differ",
        description=(
            "Make a random sample of a sweep's successful runs again, from the configs and "
            "seeds the folder holds, and compare every outcome exactly. Exit code 1 if any "
            "run differs (non-determinism, or a folder edited by hand)."
        ),
        formatter_class=formatter,
    )
    verify.add_argument("folder", help="results folder written by `sweep`")
    verify.add_argument("--sample", type=int, default=20, help="runs to make again")
    verify.add_argument("--seed", type=int, default=0, help="seed of the random sample")
    verify.add_argument("--workers", type=int, help="processes (default: all cores)")
    verify.add_argument(
        "--cached",
        action="store_true",
        help="make every run the sweep took from the run cache again (instead of a sample)",
    )
    verify.set_defaults(handler=verify_command)

    cache_command_parser = sub.add_parser(
        "cache",
        help="show (or clear) the run cache",
        description="Where the run cache is, how many runs it holds and its size.",
        formatter_class=formatter,
    )
    cache_command_parser.add_argument("--cache", metavar="DIR", help="cache folder")
    cache_command_parser.add_argument(
        "--clear", action="store_true", help="forget every cached run"
    )
    cache_command_parser.set_defaults(handler=cache_command)


def print_outcome(
    summary: Any,
    manifest: dict[str, Any],
    counts: dict[str, int],
    folder: Path,
    figures: list[Path],
    inputs: Any = None,
) -> None:
    """The runs recorded, the summary table (its points labelled from `inputs`, each point's
    parameters) and the files written."""
    from simulation.experiments.summary import format_summary

    print(f"{counts['runs']:,} runs recorded, {counts['failed']:,} failed")
    if not summary.empty:
        print(format_summary(summary, manifest, inputs=inputs))
    tables = ("runs.parquet", "runs.csv", "series.parquet", "summary.csv")
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
    from simulation.errors import AllRunsFailedError
    from simulation.experiments.backends import ClusterLostError
    from simulation.experiments.design import load_experiment
    from simulation.experiments.sweep import run_experiment

    experiment = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("results") / experiment.name
    where = (
        f" --scheduler {args.scheduler}"
        if args.scheduler
        else f" --scheduler-file {args.scheduler_file}"
        if args.scheduler_file
        else ""
    )
    again = f"`reluctant-army sweep {args.experiment} --out {out} --resume{where}`"
    try:
        result = run_experiment(
            experiment,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            out=out,
            resume=args.resume,
            overwrite=args.overwrite,
            retry_failed=args.retry_failed,
            batch_size=args.batch_size,
            run_timeout=args.run_timeout,
            scheduler_timeout=args.scheduler_timeout,
            cache=False if args.no_cache else (args.cache or True),
            progress=not args.no_progress,
            allow_mixed_versions=args.allow_mixed_versions,
            stall_timeout=args.stall_timeout,
        )
    except AllRunsFailedError as error:  # recorded and reported below, like any failed run
        result = error.result
    except KeyboardInterrupt:
        print(
            f"interrupted: finished batches are kept in {out}; complete the sweep with {again}",
            file=sys.stderr,
        )
        return 130
    except ClusterLostError as error:
        print(
            f"error: {error}: once the cluster is back, complete the sweep with {again}",
            file=sys.stderr,
        )
        return 2
    report = result.report
    per_run = report.seconds / report.ran if report.ran else 0.0
    print(
        f"{report.ran:,} runs in {report.seconds:.1f} s ({per_run * 1000:.1f} ms per run wall "
        f"time on {report.backend})",
        file=sys.stderr,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    counts = {"runs": len(result.runs), "failed": int((result.runs["status"] != "ok").sum())}
    print_outcome(result.summary, result.manifest, counts, out, result.figures, result.inputs)
    return 0


def summarize_command(args: argparse.Namespace) -> int:
    """Rebuild tables, summary.csv and figures of a results folder from its parts."""
    from simulation.experiments.storage import ResultsFolder, mixed_versions_note
    from simulation.experiments.summary import summarize_folder

    with ResultsFolder.read(args.folder) as folder:
        result = summarize_folder(folder)
    mixed = mixed_versions_note(folder.manifest)
    for note in [*result["notes"], *filter(None, [mixed])]:
        print(f"note: {note}", file=sys.stderr)
    if not result["complete"]:
        total = folder.manifest["n_runs"]
        needed = "" if folder.manifest.get("adaptive") else f" of {total:,}"
        print(
            f"note: {result['counts']['runs']:,}{needed} runs recorded "
            "(interrupted sweep: complete it with --resume)",
            file=sys.stderr,
        )
    print_outcome(
        result["summary"],
        folder.manifest,
        result["counts"],
        Path(args.folder),
        result["figures"],
        result["inputs"],
    )
    return 0


def verify_command(args: argparse.Namespace) -> int:
    """Re-run a sample of a sweep's runs; exit 1 if any differs."""
    from simulation.experiments.verify import verify_sweep

    result = verify_sweep(
        args.folder,
        sample=args.sample,
        seed=args.seed,
        workers=args.workers,
        cached=args.cached,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    checked = len(result.checked)
    if result.cached:
        print(f"checked every run taken from the run cache: {checked:,} of {result.successful:,}")
    else:
        print(
            f"a sample of {checked:,} of {result.successful:,} successful run(s) catches a "
            f"single bad run with probability {result.detection:.0%} (k/N; --sample sets k, "
            "--cached checks every cache-served run)"
        )
    if result.identical:
        print(f"verified {checked} run(s) of {args.folder}: all identical to the stored ones")
        return 0
    print(
        f"{len(result.differing_runs)} of {checked} run(s) made again differ from the stored "
        f"ones: runs {', '.join(map(str, result.differing_runs))}"
    )
    for entry in result.differences[:50]:
        print(
            f"  run {entry['run_index']}: {entry['what']} stored {entry['stored']}, "
            f"now {entry['now']}"
        )
    return 1


def cache_command(args: argparse.Namespace) -> int:
    """Where the run cache is, what it holds; --clear empties it."""
    from simulation.errors import ArgumentError
    from simulation.experiments.cache import RunCache, default_cache_dir

    folder = Path(args.cache) if args.cache else default_cache_dir()
    if folder is None:
        raise ArgumentError("the run cache is off (RELUCTANT_ARMY_CACHE)", "cache")
    store = RunCache(folder)
    if not store.usable:
        raise ArgumentError(f"cannot open the run cache in {folder}", "cache")
    try:
        if args.clear:
            store.clear()
        entries, size = store.size()
    finally:
        store.close()
    print(f"run cache: {folder}: {entries:,} run(s), {size / 1e6:.1f} MB")
    return 0
