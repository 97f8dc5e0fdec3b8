"""`reluctant-army explore [RESULTS_DIR ...]`: the experiment explorer in the browser.

Serves the same Solara app as `viz` (the model view and the explorer are two pages of it)
and opens the explorer's page. The results folders reach the app through an environment
variable (:data:`RESULTS_ENV`), as the scenario does for `viz`: Solara imports the app file
itself. This module imports neither Solara nor Mesa (the server does).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

from simulation.cli.viz import (
    EXIT_USER_ERROR,
    add_configs_option,
    add_server_options,
    configs_note,
    missing_packages,
    serve,
    solara_environment,
)
from simulation.errors import ResultsError

RESULTS_ENV = "RELUCTANT_ARMY_RESULTS"
"""Environment variable listing the results folders the explorer offers (os.pathsep-joined)."""
EXPLORER_PATH = "explore"
"""The explorer's page, relative to the server's root (the model view is the root)."""


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add the `explore` subcommand."""
    explore = sub.add_parser(
        "explore",
        help="open the experiment explorer in the browser",
        description=(
            "Serve the experiment explorer: browse results folders (sweeps, sensitivity, "
            "tipping, discovery, runs), plot them, compare runs, and replay any run in the "
            "model view."
        ),
        formatter_class=formatter,
    )
    explore.add_argument(
        "results",
        nargs="*",
        metavar="RESULTS_DIR",
        default=argparse.SUPPRESS,
        help="results folders, or folders holding them (none given: ./results)",
    )
    add_configs_option(explore)
    add_server_options(explore)
    explore.set_defaults(handler=explore_command)


def results_folders(given: list[str]) -> list[Path]:
    """The folders to offer, checked to exist (default ./results, which may be missing)."""
    if not given:
        return [Path("results").resolve()]
    folders = []
    for name in given:
        path = Path(name)
        if not path.is_dir():
            raise ResultsError("results folder not found", path)
        folders.append(path.resolve())
    return folders


def explorer_url(host: str, port: int) -> str:
    """The explorer's address on a server at `host`:`port`."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    return f"http://{shown}:{port}/{EXPLORER_PATH}"


def open_when_ready(url: str, timeout: float = 60.0) -> None:
    """Open `url` in the user's browser once the server answers (in the background)."""

    def wait_then_open() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url.rsplit("/", 1)[0] + "/readyz", timeout=2):
                    webbrowser.open(url)
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.3)

    threading.Thread(target=wait_then_open, daemon=True).start()


def explore_command(args: argparse.Namespace) -> int:
    """Check the folders, then serve the app until interrupted, opening the explorer."""
    folders = results_folders(getattr(args, "results", []))
    missing = missing_packages()
    if missing:
        print(
            f"error: the explorer needs {', '.join(missing)}: "
            "install the viz extra, e.g. pip install -e '.[viz]'",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    note = configs_note(args.configs)
    served = argparse.Namespace(
        config=None, configs=args.configs, host=args.host, port=args.port, no_open=True
    )
    env = solara_environment(served)
    env[RESULTS_ENV] = os.pathsep.join(str(folder) for folder in folders)
    if not args.no_open and args.port != 0:
        open_when_ready(explorer_url(args.host, args.port))
    return serve(served, env, note)
