"""Specification of `reluctant-army report`: a self-contained HTML page for any results folder."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from explorer_support import HOSTILE, orders_sweep

from simulation.analysis.report import render_report
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
    assert "passive" in page and "final refuse" in page
    assert "data:image/png;base64," in page
    assert "<details><summary>config.resolved.yaml</summary>" in page
    assert "war_order_level" in page


def test_run_report_names_the_part_of_comply_at_a_rear_post(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(repo / "configs" / "baseline.yaml"), "--out", str(out), *SMALL]) == 0
    assert "at a rear post after the response ladder reassigned them" in read_report(out)


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
            "--metric",
            "refuse",
            "--level",
            "0.3",
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
    assert "drivers.punishment_severity =" in page and "crosses 30.0%" in page


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
    assert "By group" in page and "war_order_level" in page
    assert "<details><summary>experiment.yaml</summary>" in page


def test_folder_that_is_not_a_results_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sweep of named scenarios with a description that carries script."""
    return orders_sweep(tmp_path_factory.mktemp("report") / "orders", description=HOSTILE)


@pytest.fixture(scope="module")
def orders_page(orders: Path) -> str:
    """The report of that sweep."""
    return render_report(orders)


def test_sweep_report_escapes_a_script_bearing_description(orders_page: str) -> None:
    assert "<script" not in orders_page and "<img src=x" not in orders_page
    assert html.escape(HOSTILE) in orders_page


def test_sweep_report_forbids_any_script_in_its_page(orders_page: str) -> None:
    assert "Content-Security-Policy" in orders_page and "default-src 'none'" in orders_page


def test_every_sweep_table_names_the_scenario_of_each_row(orders_page: str) -> None:
    tables = re.findall(r"<table>(.*?)</table>", orders_page, flags=re.S)
    shares = [t for t in tables if ">comply</th>" in t]
    # final, peak and 1 and 12 months after the order x all officers, by group, by rank
    assert len(shares) == 12
    assert all("<th class='text'>scenario</th>" in t for t in shares)


def test_every_share_in_the_report_is_a_percentage(orders_page: str) -> None:
    cells = re.findall(r"<td class=''>([^<]*)</td>", orders_page)
    shares = [cell for cell in cells if "(" in cell]
    share = r"[\d.]+% \([\d.]+ to [\d.]+%\)( \(\d+ of \d+ runs\))?|empty \(0 serving\)"
    assert shares and all(re.fullmatch(share, c) for c in shares)


def test_sweep_report_has_final_and_peak_tables_and_collapsed_configs(orders_page: str) -> None:
    assert "Final share: mean (95% CI)" in orders_page
    assert "Peak share: mean (95% CI)" in orders_page
    assert "<details><summary>scenario_configs.resolved.yaml</summary>" in orders_page
    assert "<details open" not in orders_page


def test_sweep_report_draws_the_explorers_figures(orders: Path, orders_page: str) -> None:
    from simulation.analysis import results as rs

    sweep = rs.Sweep(rs.open_results(orders))
    expected = {chart.title for chart in rs.sweep_charts(sweep, "final", "group", "fight")}
    expected.add(rs.sweep_envelopes(sweep, [0, 1, 2, 3], "overall").title)
    shown = set(re.findall(r'<img alt="([^"]*)"', orders_page))
    assert {html.escape(title) for title in expected} <= shown


def test_report_of_an_unknown_kind_shows_its_manifest_escaped(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps({"kind": "future_kind", "note": "<b onmouseover=alert(1)>x</b>"})
    )
    page = render_report(tmp_path)
    assert "no section for 'future_kind' folders" in page
    assert "&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt;" in page
