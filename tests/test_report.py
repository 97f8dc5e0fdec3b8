"""Specification of `reluctant-army report`: a self-contained HTML page for any results folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.cli import main

SMALL = ["--set", "population.n_officers=100", "--steps", "5"]


def read_report(folder: Path) -> str:
    assert main(["report", str(folder)]) == 0
    return (folder / "report.html").read_text()


def test_run_report_has_table_figure_config_and_disclaimer(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(repo / "configs" / "baseline.yaml"), "--out", str(out), *SMALL]) == 0
    page = read_report(out)
    assert "not forecasts" in page
    assert "passive" in page and "refuse final" in page
    assert "data:image/svg+xml;base64," in page
    assert "war_order_level" in page


def test_report_embeds_everything_so_the_file_stands_alone(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "run"
    main(["run", str(repo / "configs" / "baseline.yaml"), "--out", str(out), *SMALL])
    page = read_report(out)
    assert 'src="http' not in page and "<link" not in page


def test_tipping_report_states_the_answer(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "tip"
    code = main(
        [
            "tipping",
            str(repo / "configs" / "scenarios" / "fight_order.yaml"),
            "--lever",
            "drivers.punishment_severity",
            "--low",
            "0",
            "--high",
            "12",
            "--replications",
            "2",
            "--iterations",
            "2",
            "--level",
            "0.1",
            "--statistic",
            "peak",
            "--workers",
            "1",
            "--out",
            str(out),
            "--set",
            "population.n_officers=200",
            "--set",
            "steps=20",
        ]
    )
    assert code == 0
    page = read_report(out)
    assert "drivers.punishment_severity =" in page and "crosses 0.1" in page


def test_sweep_report_shows_rates_with_confidence_intervals(tmp_path: Path, repo: Path) -> None:
    experiment = tmp_path / "orders.yaml"
    experiment.write_text(
        f"base:\n  config: {repo / 'configs' / 'baseline.yaml'}\n"
        "  overrides:\n    population.n_officers: 100\n"
        "vary:\n  drivers.war_order_level: [1, 3]\nreplications: 3\nsteps: 5\nseed: 1\n"
    )
    out = tmp_path / "sweep"
    assert (
        main(["sweep", str(experiment), "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    )
    page = read_report(out)
    assert "± " in page and "By group" in page and "war_order_level" in page


def test_folder_that_is_not_a_results_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err
