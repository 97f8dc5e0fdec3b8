"""Specification of `reluctant-army run`: what it prints and writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simulation.cli import main
from simulation.vocabulary import CHOICES, GROUPS, RANKS, REAR_POST_COMPLY


def run_baseline(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "configs/baseline.yaml",
            "--steps",
            "6",
            "--set",
            "population.n_officers=200",
            "--out",
            str(out),
            *extra,
        ]
    )
    assert code == 0
    return out


def test_run_writes_series_summary_config_and_figure(
    tmp_path: Path, repo: Path, monkeypatch
) -> None:
    monkeypatch.chdir(repo)
    out = run_baseline(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "config.resolved.yaml",
        "manifest.json",
        "rates.svg",
        "summary.json",
        "timeseries.csv",
    ]
    assert len(pd.read_csv(out / "timeseries.csv")) == 7
    assert (out / "rates.svg").read_text().startswith("<svg")


def test_summary_json_has_final_and_peak_shares_everywhere(
    tmp_path: Path, repo: Path, monkeypatch
) -> None:
    monkeypatch.chdir(repo)
    summary = json.loads((run_baseline(tmp_path) / "summary.json").read_text())
    assert (summary["seed"], summary["steps"], summary["n_officers"]) == (42, 6, 200)
    blocks = [
        *(summary["by_group"][g] for g in GROUPS),
        *(summary["by_rank"][r] for r in RANKS),
    ]
    for block in blocks:
        for kind in ("final", "peak"):
            assert set(block[kind]) == set(CHOICES)
    # overall, beside comply: the share of it complying at a rear post, and their number
    for kind in ("final", "peak"):
        assert set(summary["overall"][kind]) == {*CHOICES, REAR_POST_COMPLY}
        assert summary["overall"][f"count_{REAR_POST_COMPLY}"][kind] == 0


def test_seed_and_set_overrides_reach_the_resolved_config(
    tmp_path: Path, repo: Path, monkeypatch
) -> None:
    monkeypatch.chdir(repo)
    out = run_baseline(tmp_path, "--seed", "5", "--set", "drivers.war_order_level=3")
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["seed"] == 5
    assert resolved["drivers"]["war_order_level"] == 3


def test_run_prints_a_table_by_group_and_rank(
    tmp_path: Path, repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(repo)
    run_baseline(tmp_path)
    printed = capsys.readouterr().out
    for label in ("all officers", *GROUPS, *RANKS, "refuse final", "evade peak"):
        assert label in printed


def test_run_table_columns_are_fixed_width_and_separated(
    tmp_path: Path, repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(repo)
    run_baseline(tmp_path)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "comply final" in line)
    row = next(line for line in lines if line.startswith("all officers"))
    assert header.count(" | ") == row.count(" | ") == 7
    assert [len(cell) for cell in header.split(" | ")][1:-1] == [
        len(cell) for cell in row.split(" | ")
    ][1:-1]


def test_the_figure_is_titled_with_the_config_and_its_overrides(
    tmp_path: Path, repo: Path, monkeypatch
) -> None:
    monkeypatch.chdir(repo)
    out = run_baseline(tmp_path, "--set", "drivers.war_order_level=3")
    svg = (out / "rates.svg").read_text()
    assert "baseline, population.n_officers=200, drivers.war_order_level=3, steps=6" in svg


def test_departures_are_shares_of_everyone_who_served(
    tmp_path: Path, repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(repo)
    run_baseline(tmp_path, "--set", "drivers.war_order_level=3")
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "ever served" in ln)
    served = json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]["served"]
    assert line.startswith(
        f"of the {served:,} persons who ever served (200 at month 0 + 0 mobilised"
    )
    assert "ever arrested" in line


def test_a_category_called_up_later_has_a_peak_and_the_run_prints(
    tmp_path: Path, repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(repo)
    out = tmp_path / "mobilisation"
    args = ["run", "configs/scenarios/mobilisation.yaml", "--out", str(out), "--steps", "14"]
    assert main([*args, "--set", "population.n_officers=100"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    reservists = summary["by_category"]["reservist"]
    assert 0 <= reservists["peak"]["refuse"] <= 1 and reservists["serving_at_end"] > 0
    assert "reservist" in capsys.readouterr().out


def test_results_default_to_results_folder_named_after_config(
    tmp_path: Path, repo: Path, monkeypatch
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text("population: {n_officers: 50}\nsteps: 2\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    assert (tmp_path / "results" / "tiny" / "summary.json").exists()


def test_python_dash_m_runs_the_same_command(tmp_path: Path, repo: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulation",
            "run",
            "configs/baseline.yaml",
            "--steps",
            "2",
            "--set",
            "population.n_officers=100",
            "--out",
            str(tmp_path / "m"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "m" / "summary.json").exists()


def test_bad_config_exits_2_with_one_line_and_no_traceback(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("drivers:\n  war_order_levle: 3\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "bad.yaml" in err and "did you mean 'war_order_level'" in err
    assert not (tmp_path / "never").exists()


@pytest.fixture
def full_disk(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text file written from now on fails as on a full disk."""
    import errno

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.chdir(repo)
    monkeypatch.setattr(Path, "write_text", disk_full)


def run_small(out: Path) -> int:
    return main(
        [
            "run",
            "configs/baseline.yaml",
            "--steps",
            "2",
            "--set",
            "population.n_officers=50",
            "--out",
            str(out),
        ]
    )


def test_full_disk_exits_2_and_leaves_no_partial_results(
    tmp_path: Path, full_disk: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "full"
    assert run_small(out) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1
    assert not out.exists()


def test_failed_write_into_an_existing_folder_keeps_only_what_was_there(
    tmp_path: Path, full_disk: None
) -> None:
    out = tmp_path / "kept"
    out.mkdir()
    (out / "notes.txt").write_bytes(b"mine")
    assert run_small(out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_run_prints_the_headline_over_the_starting_force_first(
    tmp_path: Path, repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(repo)
    out = run_baseline(tmp_path, "--set", "drivers.war_order_level=3")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "the starting force: where each of the 200 serving at month 0 is"
    end = lines[2] if lines[2].startswith("  month 6 (the end)") else lines[3]
    headline = json.loads((out / "summary.json").read_text())["headline"]["final"]
    counts = [int(state["count"]) for state in headline.values()]
    assert sum(counts) == 200
    assert f"comply {headline['comply']['share']:.1%} ({int(headline['comply']['count']):,})" in end
