"""Command line: `reluctant-army <command>` (also `python -m simulation <command>`).

A thin adapter over the Python API: parse arguments, call the API, print. The commands are
listed explicitly in :data:`COMMAND_MODULES`; each module adds its parsers and imports what
its commands need only when they run, so that ``--help``, ``config``, ``summarize``,
``report`` and ``discover`` never import Mesa.

Every user error (bad config, missing file, unwritable output, bad option) is printed as
one line naming the file or option, the key and what was expected, with exit code 2 and
no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import NoReturn

from simulation import __version__
from simulation.cli import analysis, explore, run, sweep, tables, uncertainty, viz
from simulation.errors import ArgumentError, ReluctantArmyError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

COMMAND_MODULES = (run, sweep, analysis, uncertainty, tables, viz, explore)
"""Modules that add subcommands, in the order `--help` lists them."""


POSITIONALS: frozenset[str] = frozenset({"config", "experiment", "folder"})
"""API arguments that the command line takes as positional arguments."""


def flag(name: str) -> str:
    """How the command line names an API argument: `scheduler_file` -> `--scheduler-file`,
    a positional `folder` -> `FOLDER`."""
    if name in POSITIONALS:
        return name.upper()
    return "--" + name.replace("_", "-")


def describe(error: ReluctantArmyError) -> str:
    """One line for a user error, naming options where the API names arguments."""
    if isinstance(error, ArgumentError):
        text = f"{flag(error.key or '')}: {error.detail}"
    else:
        text = str(error)
    if error.remedies:
        text += " (" + ", ".join(flag(name) for name in error.remedies) + ")"
    return shorten(text)


MAX_MESSAGE = 1000
"""Longest error line printed: a huge value quoted in a message (a 50 MB string given as a
name, say) is cut in the middle, keeping the file, key and what was expected."""


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text`, cut in the middle to at most about `limit` characters."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3) :]
    return f"{head} [... {len(text) - len(head) - len(tail):,} characters left out ...] {tail}"


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line `error: ...` with exit code 2, like config errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USER_ERROR, shorten(f"error: {self.prog}: {message} (see {self.prog} -h)") + "\n"
        )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default (unless its help already says what the default is)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if "(default:" in help_text:
            return help_text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = OneLineParser(
        prog="reluctant-army",
        description=(
            "Agent-based simulation of an officer corps facing war orders. Outputs explore "
            "'what if' under stated assumptions; they are not forecasts."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"reluctant-army {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub, HelpFormatter)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `reluctant-army` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_log = logging.getLogger("simulation")
    package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    try:
        return args.handler(args)
    except ReluctantArmyError as error:
        print(f"error: {describe(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        package_log.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
