"""`reluctant-army viz [config]`: the browser view (Mesa SolaraViz), served by Solara.

Before the server starts, the scenario is validated, the port checked free and the host
resolved; a host beyond loopback gets a warning (the page runs simulations for whoever can
reach it). Exit codes: 0 when the server is stopped, 2 for a bad scenario, option or
address, or a server that stopped on its own.

Solara imports ``simulation/viz/app.py`` itself, so the scenario and the folder of
scenarios reach the app through environment variables (:data:`CONFIG_ENV`,
:data:`SCENARIOS_ENV`). The server is started with telemetry and the version check off:
the view must work with no internet, and a simulation of an army's officers has no
business phoning home.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "viz" / "app.py"
CONFIG_ENV = "RELUCTANT_ARMY_VIZ_CONFIG"
"""Environment variable naming the scenario the page starts with (read by the app)."""
SCENARIOS_ENV = "RELUCTANT_ARMY_VIZ_SCENARIOS"
"""Environment variable naming the folder whose configs the page lists (read by the app)."""
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
        help="open the browser view (Mesa SolaraViz)",
        description="Serve the browser view: watch and steer one run at a time.",
        formatter_class=formatter,
    )
    viz.add_argument(
        "config",
        nargs="?",
        help="scenario to start with (default: the built-in defaults, or baseline.yaml of "
        "--configs); others can be picked in the page",
    )
    viz.add_argument(
        "--configs",
        default="configs",
        help="folder whose configs (and scenarios/ subfolder) the page lists",
    )
    add_server_options(viz)
    viz.set_defaults(handler=viz_command)


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
        str(APP),
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
    if args.config:
        from simulation.config.loading import load_config

        load_config(args.config)
    missing = missing_packages()
    if missing:
        print(
            f"error: the browser view needs {', '.join(missing)}: "
            "install the viz extra, e.g. pip install -e '.[viz]'",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    return serve(args, solara_environment(args))


def serve(args: argparse.Namespace, env: dict[str, str]) -> int:
    """Check the address, warn beyond loopback, run the Solara server until it stops; a
    server that stops on its own is one error line and exit code 2."""
    if not check_address(args.host, args.port):
        print(
            f"warning: --host {args.host} serves the view beyond this machine: anyone who can "
            "reach it on the network can use it (--host 127.0.0.1 keeps it local)",
            file=sys.stderr,
        )
    code = subprocess.call(solara_command(args), env=env)
    if code not in (0, EXIT_INTERRUPTED, -signal.SIGINT):
        print(f"error: the browser view's server stopped (exit code {code})", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0
