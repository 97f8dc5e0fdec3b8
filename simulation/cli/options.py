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
