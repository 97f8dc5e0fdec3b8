"""Command line: `reluctant-army <command>` (also `python -m simulation <command>`).

Every user error (bad config, missing file, unwritable output) is printed as one line
naming the file, the key and what was expected, with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from simulation.config import (
    CHOICES,
    GROUPS,
    RANKS,
    ConfigError,
    json_schema,
    load_config,
    schema_markdown,
    schema_text,
)

EXIT_USER_ERROR = 2

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    """Register a subcommand handler."""

    def register(handler: Command) -> Command:
        COMMANDS[name] = handler
        return handler

    return register


def format_rates_table(summary: dict) -> str:
    """Readable table of final and peak shares: overall, by group and by rank."""
    header = f"{'':<14}" + "".join(f"{c + ' final':>14}{c + ' peak':>12}" for c in CHOICES)
    lines = [header, "-" * len(header)]

    def row(label: str, block: dict) -> str:
        cells = "".join(f"{block['final'][c]:>14.1%}{block['peak'][c]:>12.1%}" for c in CHOICES)
        return f"{label:<14}{cells}"

    lines.append(row("all officers", summary["overall"]))
    lines.append("by group")
    lines += [row("  " + g, summary["by_group"][g]) for g in GROUPS]
    lines.append("by rank")
    lines += [row("  " + r, summary["by_rank"][r]) for r in RANKS]
    return "\n".join(lines)


@command("run")
def run_command(args: argparse.Namespace) -> int:
    """Run one simulation from a config file and write its results."""
    from simulation.results import write_run
    from simulation.runner import simulate

    config = load_config(args.config, args.set, seed=args.seed, steps=args.steps)
    out = Path(args.out) if args.out else Path("results") / config.name
    from simulation.results import prepare_folder

    created = not out.exists()
    prepare_folder(out)
    try:
        result = simulate(config)
        written = write_run(result, out)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    summary = result.summary
    print(
        f"{config.name}: {summary['n_officers']:,} officers, {summary['steps']} steps, "
        f"seed {summary['seed']} ({summary['wall_time_seconds']:.2f} s)"
    )
    print(format_rates_table(summary))
    print(f"results in {out}/: " + ", ".join(p.name for p in written.values()))
    return 0


@command("config")
def config_command(args: argparse.Namespace) -> int:
    """Print the documented schema, or validate and print a resolved config."""
    if args.schema:
        if args.json:
            print(json.dumps(json_schema(), indent=2))
        else:
            print(schema_markdown() if args.markdown else schema_text())
        return 0
    if not args.config:
        raise ConfigError("give a config file to check, or --schema", "config")
    import yaml

    config = load_config(args.config, args.set)
    print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
    print(f"# {args.config}: valid", file=sys.stderr)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line `error: ...` with exit code 2, like config errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {self.prog}: {message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = OneLineParser(
        prog="reluctant-army",
        description="Agent-based simulation of an officer corps facing war orders.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one simulation from a config file")
    run.add_argument("config", help="YAML config file, e.g. configs/baseline.yaml")
    run.add_argument("--seed", type=int, help="random seed (overrides the file)")
    run.add_argument("--steps", type=int, help="number of steps (overrides the file)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value; repeatable",
    )
    run.add_argument("--out", help="results folder (default results/<config name>/)")

    config = sub.add_parser("config", help="print the config schema or check a config")
    config.add_argument("config", nargs="?", help="config file to validate and resolve")
    config.add_argument("--schema", action="store_true", help="print every parameter documented")
    config.add_argument("--json", action="store_true", help="with --schema: JSON Schema")
    config.add_argument("--markdown", action="store_true", help="with --schema: Markdown table")
    config.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE")

    for extend in EXTENSIONS:
        extend(sub)
    return parser


EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []
"""Functions adding subcommands defined in other modules (experiments, analysis, viz)."""


def _load_extensions() -> None:
    """Import the modules that register further subcommands, if present."""
    import importlib

    for module in ("simulation.cli_experiments", "simulation.cli_analysis", "simulation.cli_viz"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `reluctant-army` command."""
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
