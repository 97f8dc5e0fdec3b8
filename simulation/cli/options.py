"""Options shared by several commands."""

from __future__ import annotations

import argparse


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """`--set KEY.PATH=VALUE`, repeatable: config overrides read as YAML."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (read as YAML); repeatable",
    )


def add_run_options(parser: argparse.ArgumentParser, what: str) -> None:
    """Where runs go and the results folder: --workers, --scheduler(-file), --out,
    --resume, --overwrite, --no-progress (as `sweep` has them)."""
    parser.add_argument("--workers", type=int, help="local processes (default: all cores)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="Dask scheduler file")
    parser.add_argument("--out", help=f"results folder (default: {what})")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
