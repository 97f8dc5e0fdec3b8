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


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """Record `solara run` invocations instead of serving."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_call(command: list[str], env: dict[str, str]) -> int:
        calls.append((command, env))
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
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
    monkeypatch.setattr(subprocess, "call", lambda command, env: 3)
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
