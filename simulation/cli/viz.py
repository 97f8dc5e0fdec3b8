"""`reluctant-army viz [config]`: the project's browser view, or with --mesa Mesa's own
SolaraViz page of the model, served by Solara.

The project's view (``simulation/viz/app.py``) is built with Solara and ECharts on the
model and its DataCollector: scenarios, officer inspection, units and ties, replays. The Mesa
page (``simulation/viz/mesa_page.py``) is Mesa's ``SolaraViz`` with Mesa's components and
sliders, as Mesa's tutorial writes it.

Before the server starts, the scenario is validated, the port checked free and the host
resolved; a host beyond loopback gets a warning (the page runs simulations for whoever can
reach it). The server runs in its own process group; SIGTERM or SIGINT (Ctrl-C) to this
command is passed on to that group, and the command waits for it to stop, so no server is
left holding the port. Exit codes: 0 when the server is stopped, 2 for a bad scenario,
option or address, or a server that stopped on its own.

Solara imports ``simulation/viz/app.py`` itself, so the scenario and the folder of
scenarios reach the app through environment variables (:data:`CONFIG_ENV`,
:data:`SCENARIOS_ENV`). The server is started with telemetry and the version check off:
the view must work with no internet, and a simulation of an army's officers has no
business phoning home.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "viz" / "app.py"
"""The project's browser app (model view and explorer)."""
MESA_PAGE = Path(__file__).resolve().parent.parent / "viz" / "mesa_page.py"
"""Mesa's own SolaraViz page of the model."""
CONFIG_ENV = "RELUCTANT_ARMY_VIZ_CONFIG"
"""Environment variable naming the scenario the page starts with (read by the app)."""
SCENARIOS_ENV = "RELUCTANT_ARMY_VIZ_SCENARIOS"
"""Environment variable naming the folder whose configs the page lists (read by the app;
also the default of --configs)."""
STOP_TIMEOUT = 10.0
"""Seconds the server gets to stop after SIGTERM before it is killed."""
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

QUIET_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
}
"""Solara settings for an offline, private server."""


def add_parsers(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add the `viz` subcommand."""
    viz = sub.add_parser(
        "viz",
        help="open the browser view (the project's page; --mesa: Mesa's SolaraViz)",
        description=(
            "Serve the browser view: watch and steer one run at a time. By default the "
            "project's own page (Solara and ECharts, on the model and its DataCollector): pick a "
            "scenario, step or play, move sliders, click an officer to see why he chose, "
            "see units and their ties, replay runs from `explore`. With --mesa, Mesa's own "
            "SolaraViz page instead: Mesa's Reset / Play / Step, sliders for the drivers and "
            "the corps' size, the grid of units and plots of the shares."
        ),
        formatter_class=formatter,
    )
    viz.add_argument(
        "config",
        nargs="?",
        help="scenario to start with (default: the built-in defaults, or baseline.yaml of "
        "--configs); others can be picked in the page (not with --mesa)",
    )
    add_configs_option(viz)
    viz.add_argument(
        "--mesa",
        action="store_true",
        help="serve Mesa's own SolaraViz page of the model (simulation/viz/mesa_page.py: "
        "the built-in defaults with the order to fight and 500 officers; sliders apply on "
        "Reset) instead of the project's page",
    )
    add_server_options(viz)
    viz.set_defaults(handler=viz_command)


def add_configs_option(parser: argparse.ArgumentParser) -> None:
    """--configs: the folder whose configs the page lists (default ./configs, or the
    folder in RELUCTANT_ARMY_VIZ_SCENARIOS)."""
    parser.add_argument(
        "--configs",
        default=os.environ.get(SCENARIOS_ENV) or "configs",
        help=f"folder whose configs (and scenarios/ subfolder) the page lists (default: "
        f"${SCENARIOS_ENV}, else ./configs)",
    )


def configs_note(folder: str | Path) -> str | None:
    """A warning when the configs folder is missing: the page then offers only the
    built-in defaults, and says where it looked and how to point it elsewhere."""
    path = Path(folder).resolve()
    if path.is_dir():
        return None
    return (
        f"warning: no configs folder at {path}: the page offers only the built-in defaults "
        f"(point it at one with --configs DIR, or set {SCENARIOS_ENV}=DIR)"
    )


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --no-open, shared by the commands that serve the app."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (loopback: this machine only; anything else is reachable "
        "from the network, with a warning)",
    )
    parser.add_argument("--port", type=port_number, default=8765, help="port (0 = any free port)")
    parser.add_argument(
        "--no-open", action="store_true", help="do not open a browser window (just serve)"
    )


def port_number(text: str) -> int:
    """A TCP port number (argparse type): a whole number from 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text}")
    return port


def check_address(host: str, port: int) -> bool:
    """Fail before starting the server on a host that does not resolve or a port that is
    taken; returns whether the address is loopback only (this machine)."""
    from simulation.errors import ArgumentError

    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ArgumentError(f"cannot serve on '{host}' ({error})", "host") from None
    loopback = all(
        ipaddress.ip_address(str(address[4][0]).split("%")[0]).is_loopback for address in addresses
    )
    if port:
        family, kind, protocol, _, where = addresses[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(where)
            except OSError as error:
                raise ArgumentError(
                    f"cannot serve on {host}:{port} ({error.strerror}): choose another port, "
                    "or 0 for any free one",
                    "port",
                ) from None
    return loopback


def solara_command(args: argparse.Namespace) -> list[str]:
    """The `solara run` command line for these arguments."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(MESA_PAGE if getattr(args, "mesa", False) else APP),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-check-version",
        "--no-open" if args.no_open else "--open",
    ]


def solara_environment(args: argparse.Namespace) -> dict[str, str]:
    """Environment for the server: ours plus the scenario and Solara's offline settings."""
    env = dict(os.environ)
    env.update(QUIET_ENV)
    if args.config:
        env[CONFIG_ENV] = str(Path(args.config).resolve())
    else:
        env.pop(CONFIG_ENV, None)
    env[SCENARIOS_ENV] = str(Path(args.configs).resolve())
    return env


def missing_packages() -> list[str]:
    """Packages of the `viz` extra that are not installed."""
    modules = {"solara": "solara", "solara_assets": "solara-assets", "mesa.visualization": "mesa"}
    missing = []
    for module, package in modules.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


def viz_command(args: argparse.Namespace) -> int:
    """Check the scenario, then serve the browser view until interrupted."""
    from simulation.errors import ArgumentError

    if args.config and args.mesa:
        raise ArgumentError(
            "Mesa's page starts from the built-in defaults and its sliders; "
            "give a scenario to the project's page (without --mesa)",
            "mesa",
        )
    if args.config:
        from simulation.config.loading import load_config

        load_config(args.config)
    note = None if args.mesa else configs_note(args.configs)
    missing = missing_packages()
    if missing:
        print(
            f"error: the browser view needs {', '.join(missing)}: "
            "install the viz extra, e.g. pip install -e '.[viz]'",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    return serve(args, solara_environment(args), note)


def serve(args: argparse.Namespace, env: dict[str, str], note: str | None = None) -> int:
    """Check the address, warn beyond loopback, print `note` (once the address is good, so
    that a bad one stays one error line), run the Solara server until it stops; a server
    that stops on its own is one error line and exit code 2."""
    loopback = check_address(args.host, args.port)
    if note:
        print(note, file=sys.stderr)
    if not loopback:
        print(
            f"warning: --host {args.host} serves the view beyond this machine: anyone who can "
            "reach it on the network can use it (--host 127.0.0.1 keeps it local)",
            file=sys.stderr,
        )
    code, stopped = run_server(solara_command(args), env)
    if not stopped and code not in (0, EXIT_INTERRUPTED, -signal.SIGINT):
        print(f"error: the browser view's server stopped (exit code {code})", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def run_server(command: list[str], env: dict[str, str]) -> tuple[int, bool]:
    """Run the server in its own process group until it ends; returns its exit code and
    whether it was stopped by a signal to this process.

    `solara run` starts children of its own; a signal to this process alone would leave
    them serving. So SIGTERM and SIGINT are passed on to the server's whole group, and the
    group gets :data:`STOP_TIMEOUT` seconds before it is killed.
    """
    server = subprocess.Popen(command, env=env, start_new_session=True)
    stopped: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopped.append(signum)
        signal_group(server.pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                code = server.wait(timeout=STOP_TIMEOUT if stopped else None)
                break
            except subprocess.TimeoutExpired:
                signal_group(server.pid, signal.SIGKILL)
        signal_group(server.pid, signal.SIGKILL)  # a child that outlived the server
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code, bool(stopped)


def signal_group(leader: int, signum: int) -> None:
    """Send `signum` to the process group led by `leader` (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signum)
