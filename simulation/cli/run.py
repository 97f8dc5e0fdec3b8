"""Commands `run` (one simulation), `config` (the schema, or a checked config) and `warm-up`
(the numba kernels compiled into their cache now)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulation.cli.options import add_set_option
from simulation.vocabulary import CHOICES, GROUPS, RANKS, REAR_POST_COMPLY


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add `run`, `config` and `warm-up` to the command line."""
    run = sub.add_parser(
        "run",
        help="run one simulation from a config file",
        description="Run one simulation and write its series, summary, config and figure.",
        formatter_class=formatter,
    )
    run.add_argument("config", help="YAML config file, e.g. configs/baseline.yaml")
    run.add_argument("--seed", type=int, help="random seed (default: the file's seed)")
    run.add_argument("--steps", type=int, help="number of steps (default: the file's steps)")
    add_set_option(run)
    run.add_argument("--out", help="results folder (default: results/<config name>/)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run of another config in --out (a run of the same config is "
        "always replaced)",
    )
    run.set_defaults(handler=run_command)

    config = sub.add_parser(
        "config",
        help="print the config schema or check a config",
        description="Print every parameter documented, or validate and print a resolved config.",
        formatter_class=formatter,
    )
    config.add_argument("config", nargs="?", help="config file to validate and resolve")
    config.add_argument("--schema", action="store_true", help="print every parameter documented")
    config.add_argument("--json", action="store_true", help="with --schema: JSON Schema")
    config.add_argument(
        "--markdown", action="store_true", help="with --schema or --priors: Markdown table"
    )
    config.add_argument(
        "--priors",
        nargs="?",
        const="configs/priors.yaml",
        metavar="FILE",
        help="print the priors of the assumptions (default file: configs/priors.yaml)",
    )
    add_set_option(config)
    config.set_defaults(handler=config_command)

    warm_up = sub.add_parser(
        "warm-up",
        help="compile the numba kernels into their cache now",
        description=(
            "Compile the numba kernels of large runs into their on-disk cache (about 5 s, "
            "once per machine and version). Without it the first large run computes with "
            "numpy (the same numbers) while a background process compiles them."
        ),
        formatter_class=formatter,
    )
    warm_up.set_defaults(handler=warm_up_command)


def format_rates_table(summary: dict[str, Any]) -> str:
    """Readable table of final and peak shares: overall, by group, by rank and by category,
    in fixed-width columns separated by ' | '; a group with no one serving shows '-' and
    its count serving."""
    from simulation.experiments.summary import fixed_width_table

    categories = summary.get("by_category", {})
    header = ["", *(f"{c} {m}" for c in CHOICES for m in ("final", "peak")), "serving at end"]

    def row(label: str, block: dict[str, Any]) -> list[str]:
        cells = [
            _percent(block[measure][choice]) for choice in CHOICES for measure in ("final", "peak")
        ]
        serving = block.get("serving_at_end")
        shown = "-" if serving is None else f"{serving:,}" + (" (empty)" if serving == 0 else "")
        return [label, *cells, shown]

    rows = [row("all personnel" if categories else "all officers", summary["overall"])]
    rows.append(["by group (officers)" if categories else "by group"])
    rows += [row("  " + g, summary["by_group"][g]) for g in GROUPS]
    rows.append(["by rank"])
    rows += [row("  " + r, summary["by_rank"][r]) for r in RANKS]
    if categories:
        rows.append(["by category"])
        rows += [row("  " + c.replace("_", " "), block) for c, block in categories.items()]
    rows = [cells + [""] * (len(header) - len(cells)) for cells in rows]
    lines = fixed_width_table(header, rows)
    lines.append(
        "shares of those of the row serving then (final: last month; peak: highest after "
        "month 0, over the months the row had anyone serving); '-': no one serving"
    )
    rear = format_rear_post(summary["overall"])
    if rear:
        lines.append(rear)
    return "\n".join(lines)


def format_rear_post(overall: dict[str, Any]) -> str:
    """One line: how many of the overall comply share comply at a rear post after the
    response ladder reassigned them (bearing only part of the order); '' when the summary
    does not carry it."""
    share = (overall.get("final") or {}).get(REAR_POST_COMPLY)
    count = (overall.get(f"count_{REAR_POST_COMPLY}") or {}).get("final")
    if share is None or count is None:
        return ""
    return (
        f"of comply, at a rear post after reassignment (bearing part of the order): final "
        f"{_percent(share)} ({int(count):,}) of those serving"
    )


def _percent(value: float | None) -> str:
    """'12.3%', or '-' for a share that does not exist (no one serving)."""
    return "-" if value is None or value != value else f"{value:.1%}"


HEADLINE_LABELS: dict[str, str] = {
    "comply": "comply",
    "comply_at_rear_post": "comply at a rear post (reassigned)",
    "evade": "evade",
    "refuse": "refuse",
    "jailed": "in jail",
    "dismissed": "dismissed",
    "resigned": "resigned",
    "deserted": "deserted",
    "retired": "retired",
    "recruited_by_russia": "recruited by Russia",
}
"""The states of the starting force in the headline, in the order printed."""


def format_headline(summary: dict[str, Any]) -> str:
    """The headline over the starting force: where each member of the force at month 0 is,
    12 months after the order (when the run got there) and at the end. Its denominator never
    shrinks, so arrests and exits cannot make a costlier order look more obeyed."""
    headline = summary.get("headline")
    if not headline:
        return ""
    start = headline["starting_force"]
    order = summary.get("order_change_step") or 0
    when = [
        (measure, label)
        for measure, label in (
            ("at_order_plus_12", f"month {order + 12} (12 months after the order)"),
            ("final", f"month {summary['steps']} (the end)"),
        )
        if measure in headline and headline[measure]["comply"]["count"] is not None
    ]
    lines = [f"the starting force: where each of the {start:,} serving at month 0 is"]
    for measure, label in when:
        states = headline[measure]
        cells = ", ".join(
            f"{name} {_percent(states[key]['share'])} ({int(states[key]['count']):,})"
            for key, name in HEADLINE_LABELS.items()
            if key in states
        )
        lines.append(f"  {label}: {cells}")
    return "\n".join(lines)


def format_departures(summary: dict[str, Any]) -> str:
    """One line: what became of everyone who served by the end of the run (each person
    counted once, so every share is at most 100%)."""
    final = summary["force_shares"]["final"]
    counts = summary["counts"]
    served = counts["served"]
    started = served - counts["mobilised"] - counts["entered"]
    newcomers = (
        f"{started:,} at month 0 + {counts['mobilised']:,} mobilised + {counts['entered']:,} "
        "entered"
    )
    return (
        f"of the {served:,} persons who ever served ({newcomers}): left "
        f"{_percent(final['exited_share'])} (resigned {_percent(final['resigned_share'])}, "
        f"deserted {_percent(final['deserted_share'])}), ever arrested "
        f"{_percent(final['arrested_share'])} ({counts['arrested']:,} arrests of "
        f"{counts['persons_arrested']:,} persons), dismissed {_percent(final['dismissed_share'])}"
        f", in jail now {_percent(final['jailed_share'])}"
    )


def run_title(name: str, args: argparse.Namespace) -> str:
    """What was run, for the figure: the config's name and every override given
    ('baseline, drivers.war_order_level=3, seed=5')."""
    given = [*(args.set or [])]
    given += [f"seed={args.seed}"] if args.seed is not None else []
    given += [f"steps={args.steps}"] if args.steps is not None else []
    return ", ".join([name, *given])


def warm_up_command(args: argparse.Namespace) -> int:
    """Build the kernels' cache in the foreground and say where it is."""
    from simulation.config.schema import numba_installed

    if not numba_installed():
        print("numba is not installed: runs compute with numpy, nothing to compile")
        return 0
    from simulation.model.kernel_cache import build

    folder, seconds = build()
    print(f"numba kernels compiled or loaded in {seconds:.1f} s; cache: {folder}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    """Run one simulation from a config file and write its results."""
    from simulation.config.limits import check_agent_data
    from simulation.config.loading import load_config
    from simulation.experiments.run_folder import check_run_folder
    from simulation.experiments.runner import simulate

    config = load_config(args.config, args.set, seed=args.seed, steps=args.steps)
    check_agent_data(
        config.n_personnel, config.steps, config.output.collect_agent_data, args.config
    )
    out = Path(args.out) if args.out else Path("results") / config.name
    check_run_folder(out, config.name, overwrite=args.overwrite)
    result = simulate(config)
    written = result.write(out, overwrite=args.overwrite, title=run_title(config.name, args))
    summary = result.summary
    print(
        f"{config.name}: {_force(summary)}, {summary['steps']} steps, "
        f"seed {summary['seed']} ({summary['wall_time_seconds']:.2f} s)"
    )
    headline = format_headline(summary)
    if headline:
        print(headline)
    print(format_rates_table(summary))
    print(format_departures(summary))
    print(f"results in {out}/: " + ", ".join(p.name for p in written.values()))
    return 0


def config_command(args: argparse.Namespace) -> int:
    """Print the documented schema, or validate and print a resolved config."""
    from simulation.errors import ArgumentError

    if args.priors:
        from simulation.config.docs import priors_markdown
        from simulation.config.priors import load_priors

        priors = load_priors(args.priors)
        if args.markdown:
            print(priors_markdown(priors))
        else:
            for row in priors.quantile_table():
                print(
                    f"{row['key']}: {row['prior']} (default {row['default']:.4g}; 90% in "
                    f"{row['q05']:.4g} - {row['q95']:.4g})"
                )
                print(f"    {row['reason']}")
            for key, reason in priors.fixed.items():
                print(f"{key}: fixed\n    {reason}")
        return 0
    if args.schema:
        from simulation.config.docs import json_schema, schema_markdown, schema_text

        if args.json:
            print(json.dumps(json_schema(), indent=2))
        elif args.markdown:
            print(schema_markdown())
        else:
            print(schema_text(_project_priors()))
        return 0
    if not args.config:
        raise ArgumentError("give a config file to check, or --schema", "config")
    import yaml

    from simulation.config.loading import load_config

    config = load_config(args.config, args.set)
    print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
    print(f"# {args.config}: valid", file=sys.stderr)
    return 0


def _project_priors() -> Any:
    """The project's priors for the schema printout, or None when the file is not there."""
    from simulation.config.priors import DEFAULT_PRIORS_FILE, load_priors

    return load_priors() if DEFAULT_PRIORS_FILE.is_file() else None


def _force(summary: dict) -> str:
    """'2,000 officers', or '10,000 officers of 65,000 personnel' with other categories."""
    officers, everyone = summary["n_officers"], summary.get("n_personnel", summary["n_officers"])
    if everyone == officers:
        return f"{officers:,} officers"
    return f"{officers:,} officers of {everyone:,} personnel"
