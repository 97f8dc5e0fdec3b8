"""Command `table` (also `scenario-table`): the tables of a results folder, as Markdown.

A sweep of scenarios gives the scenario comparison at a common lag after each scenario's
order (mean ± 95% interval over replications; the README's table and figure); an ensemble
gives each share's median with its 90% interval over the priors (or a posterior) and each
scenario's difference from a reference, run by run; a calibration its posterior against the
prior, its targets in the predictive runs and the stylised facts; a sensitivity analysis the
most influential assumptions per output; `--against FOLDER` adds, for an ensemble, how many
times narrower each headline 90% interval is than over another ensemble (a posterior's
against the priors'). `--readme FILE` writes the table into FILE between
``<!-- MARKER:start -->`` and ``<!-- MARKER:end -->``.
"""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `table` (alias `scenario-table`) to the command line."""
    table = sub.add_parser(
        "table",
        aliases=["scenario-table"],
        help="the tables of a sweep, ensemble, calibration or sensitivity folder (Markdown)",
        description=(
            "Print the tables of a results folder as Markdown. A scenario sweep: the "
            "scenarios at a lag after their order (mean ± 95% interval over replications); an "
            "ensemble: medians with 90% intervals over the priors or a posterior, and "
            "differences from a reference scenario, run by run; a calibration: posterior, "
            "targets and stylised facts; a sensitivity analysis: the most influential "
            "assumptions. Optionally draw a sweep's figure and write the table into a file "
            "between markers."
        ),
        formatter_class=formatter,
    )
    table.add_argument("folder", help="results folder, e.g. results/scenarios")
    table.add_argument(
        "--measure",
        default="at_order_plus_12",
        help="sweeps and ensembles: at_order_plus_<months>, final or peak",
    )
    table.add_argument("--reference", help="ensembles: the scenario differences are taken from")
    table.add_argument(
        "--against",
        help=(
            "ensembles: another ensemble folder (e.g. the priors' for a posterior ensemble); "
            "adds each headline 90%% interval's width ratio, its width there over its width here"
        ),
    )
    table.add_argument("--figure", help="sweeps: also draw the comparison into this PNG file")
    table.add_argument("--readme", help="write the table into this file, between the markers")
    table.add_argument(
        "--marker",
        help=(
            "marker name in --readme (default by kind: scenario-table, scenario-prior-table "
            "or scenario-posterior-table, calibration-results, sensitivity-table)"
        ),
    )
    table.set_defaults(handler=table_command)


def table_command(args: argparse.Namespace) -> int:
    """Print (and optionally write) the tables of a results folder."""
    from simulation.analysis.tables import default_marker, replace_between_markers, results_table
    from simulation.errors import ArgumentError
    from simulation.experiments.files import read_manifest

    kind = read_manifest(args.folder)["kind"]
    if args.figure and kind != "sweep":
        raise ArgumentError("draws a scenario sweep's comparison only", "figure")
    if args.against and kind != "ensemble":
        raise ArgumentError("compares an ensemble's intervals with another ensemble's", "against")
    text = results_table(args.folder, args.measure, args.reference)
    if args.against:
        from simulation.analysis.tables import width_ratio_table

        text += "\n\n" + width_ratio_table(args.folder, args.against, args.measure)
    print(text)
    if args.figure:
        from simulation.analysis.scenario_table import plot_scenario_table

        print(f"figure: {plot_scenario_table(args.folder, args.figure, args.measure)}")
    if args.readme:
        marker = args.marker or default_marker(args.folder)
        replace_between_markers(args.readme, marker, text)
        print(f"table written into {args.readme} between the {marker} markers")
    return 0
