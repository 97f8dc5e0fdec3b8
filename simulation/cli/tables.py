"""Command `scenario-table`: the scenario comparison at a common lag after the order, from a
sweep's results (the README's table and figure are written by it)."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `scenario-table` to the command line."""
    table = sub.add_parser(
        "scenario-table",
        help="compare the scenarios of a sweep at a common lag after their order",
        description=(
            "Print a Markdown table of a scenario sweep at a lag after each scenario's change "
            "of war-order level: shares of the serving force, and the shares of the starting "
            "force that left, were arrested or dismissed (mean ± 95% interval). Optionally "
            "draw the figure and replace the README's table block."
        ),
        formatter_class=formatter,
    )
    table.add_argument("folder", help="a sweep's results folder, e.g. results/scenarios")
    table.add_argument(
        "--measure", default="at_order_plus_12", help="at_order_plus_<months>, final or peak"
    )
    table.add_argument("--figure", help="also draw the comparison into this PNG file")
    table.add_argument(
        "--readme", help="replace the block between the scenario-table markers of this file"
    )
    table.set_defaults(handler=scenario_table_command)


def scenario_table_command(args: argparse.Namespace) -> int:
    """Print (and optionally write) the scenario comparison table."""
    from simulation.analysis.scenario_table import (
        caption,
        markdown_table,
        plot_scenario_table,
        scenario_table,
        write_readme_table,
    )

    table = scenario_table(args.folder, args.measure)
    block = markdown_table(table) + "\n\n" + caption(args.folder, args.measure)
    print(block)
    if args.figure:
        print(f"figure: {plot_scenario_table(args.folder, args.figure, args.measure)}")
    if args.readme:
        print(f"table written into {write_readme_table(args.readme, block)}")
    return 0
