"""`reluctant-army viz`: argument handling and how it starts Solara (the server is mocked)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.cli import viz as cli_viz
from tests.sweep_support import ctrl_c_as_from_a_terminal


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """Record `solara run` invocations instead of serving."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(command: list[str], env: dict[str, str]) -> tuple[int, bool]:
        calls.append((command, env))
        return 0, False

    monkeypatch.setattr(cli_viz, "run_server", fake_run)
    return calls


def test_viz_runs_solara_on_the_app_file_in_production_mode(launched: list) -> None:
    assert main(["viz", "--port", "9123", "--no-open"]) == 0
    command, _ = launched[0]
    assert command[:5] == [sys.executable, "-m", "solara", "run", str(cli_viz.APP)]
    assert command[5:] == [
        "--host",
        "127.0.0.1",
        "--port",
        "9123",
        "--production",
        "--no-check-version",
        "--no-open",
    ]


def test_viz_passes_the_scenario_to_the_app_as_an_absolute_path(
    launched: list, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    assert main(["viz", "configs/scenarios/fight_order.yaml", "--no-open"]) == 0
    _, env = launched[0]
    assert env[cli_viz.CONFIG_ENV] == str(repo / "configs/scenarios/fight_order.yaml")


def test_viz_turns_solara_telemetry_off(launched: list) -> None:
    main(["viz", "--no-open"])
    _, env = launched[0]
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_viz_rejects_a_missing_scenario_with_exit_code_2(
    launched: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["viz", "no/such/file.yaml"]) == 2
    assert "no/such/file.yaml: file not found" in capsys.readouterr().err
    assert launched == []


def test_viz_without_the_viz_extra_says_what_to_install(
    launched: list, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_viz, "missing_packages", lambda: ["solara-assets"])
    assert main(["viz"]) == 2
    assert "pip install -e '.[viz]'" in capsys.readouterr().err
    assert launched == []


def test_viz_warns_when_served_beyond_loopback(
    launched: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["viz", "--host", "0.0.0.0", "--port", "0", "--no-open"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: --host 0.0.0.0 serves the view beyond this machine")
    assert len(err.splitlines()) == 1
    assert launched


def test_viz_on_loopback_says_nothing(launched: list, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["viz", "--host", "127.0.0.1", "--port", "0", "--no-open"]) == 0
    assert capsys.readouterr().err == ""


def test_viz_refuses_a_port_in_use_before_starting_the_server(
    launched: list, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["viz", "--port", str(port), "--no-open"]) == 2
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err
    assert launched == []


def test_a_server_that_stops_on_its_own_gives_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_viz, "run_server", lambda command, env: (3, False))
    assert main(["viz", "--port", "0", "--no-open"]) == 2
    assert capsys.readouterr().err == "error: the browser view's server stopped (exit code 3)\n"


def test_explore_serves_the_app_with_the_results_folders(
    launched: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.cli.explore import RESULTS_ENV

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert main(["explore", str(first), str(second), "--no-open", "--port", "9124"]) == 0
    command, env = launched[0]
    assert command[:5] == [sys.executable, "-m", "solara", "run", str(cli_viz.APP)]
    assert env[RESULTS_ENV].split(os.pathsep) == [str(first), str(second)]
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_explore_of_a_missing_folder_exits_2_naming_it(
    launched: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", "no/such/results", "--no-open"]) == 2
    assert "no/such/results: results folder not found" in capsys.readouterr().err
    assert launched == []


def test_explore_opens_the_explorer_page_not_the_model_view() -> None:
    from simulation.cli.explore import explorer_url

    assert explorer_url("127.0.0.1", 8765) == "http://localhost:8765/explore"


def test_explore_without_folders_offers_the_results_folder_here(
    launched: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.cli.explore import RESULTS_ENV

    monkeypatch.chdir(tmp_path)
    assert main(["explore", "--no-open"]) == 0
    _, env = launched[0]
    assert env[RESULTS_ENV] == str(tmp_path / "results")


def test_viz_mesa_serves_mesas_own_solaraviz_page(launched: list) -> None:
    assert main(["viz", "--mesa", "--port", "0", "--no-open"]) == 0
    command, _ = launched[0]
    assert command[4] == str(cli_viz.MESA_PAGE)
    assert Path(command[4]).name == "mesa_page.py"


def test_viz_mesa_refuses_a_scenario_with_exit_code_2(
    launched: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["viz", "--mesa", "configs/baseline.yaml", "--no-open"]) == 2
    assert capsys.readouterr().err.startswith("error: --mesa: Mesa's page starts from")
    assert launched == []


def test_viz_help_names_the_projects_page_and_mesas_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["viz", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the project's own page" in text
    assert "With --mesa, Mesa's own SolaraViz page" in text


def test_viz_outside_the_repository_says_where_it_looked_for_configs(
    launched: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cli_viz.SCENARIOS_ENV, raising=False)
    assert main(["viz", "--port", "0", "--no-open"]) == 0
    err = capsys.readouterr().err
    assert err == (
        f"warning: no configs folder at {tmp_path / 'configs'}: the page offers only the "
        f"built-in defaults (point it at one with --configs DIR, or set "
        f"{cli_viz.SCENARIOS_ENV}=DIR)\n"
    )


def test_viz_configs_default_comes_from_the_environment(
    launched: list, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(cli_viz.SCENARIOS_ENV, str(repo / "configs"))
    assert main(["viz", "--port", "0", "--no-open"]) == 0
    _, env = launched[0]
    assert env[cli_viz.SCENARIOS_ENV] == str(repo / "configs")


SLEEPING_SERVER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""
"""A stand-in for `solara run`: a process that starts a child of its own and sleeps."""


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_to_viz_stops_the_servers_whole_process_group(signum: str, tmp_path: Path) -> None:
    import signal
    import time

    script = (
        "import sys, signal\n"
        "from simulation.cli import viz\n"
        f"code, stopped = viz.run_server([sys.executable, '-c', {SLEEPING_SERVER!r}], {{}})\n"
        "print('stopped' if stopped else 'ended', code, flush=True)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        preexec_fn=ctrl_c_as_from_a_terminal,  # the server inherits it: Ctrl-C must end it
    )
    grandchild = int(parent.stdout.readline())
    time.sleep(0.5)  # the signal handlers are in place once the server has started
    parent.send_signal(getattr(signal, signum))
    out, _ = parent.communicate(timeout=30)
    assert out.split()[0] == "stopped"
    assert parent.returncode == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.1)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("command", ["viz", "explore"])
def test_kill_term_on_the_command_frees_the_port(command: str, repo: Path, tmp_path: Path) -> None:
    """The real server: SIGTERM to `reluctant-army viz` / `explore` alone (not its group)
    stops `solara run` and its children, and the port can be bound again."""
    import signal

    from viz_support import free_port, wait_until_serving

    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        parent = subprocess.Popen(
            [sys.executable, "-m", "simulation", command, "--port", str(port), "--no-open"],
            cwd=repo,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of our own, so that cleanup can reach it all
        )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", parent, log_path, 90)
        server = _descendants(parent.pid)
        assert server, "the command started no server process"
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=30) == 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
        assert [pid for pid in server if _alive(pid)] == []
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found
