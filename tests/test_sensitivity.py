"""Specification of the `sensitivity` command (Sobol indices with a Morris screen)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main

EXPERIMENT = """
name: tiny_sensitivity
base:
  config: {config}
  overrides:
    drivers.war_order_level: 3
    population.n_officers: 100
steps: 8
design:
  kind: {kind}
  samples: 8
vary:
  drivers.punishment_severity: {{low: 0.0, high: 3.0}}
  decision.social_weight: {{low: 0.1, high: 0.6}}
replications: 1
seed: 5
"""


def write_experiment(tmp_path: Path, repo: Path, kind: str = "sobol") -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(EXPERIMENT.format(config=repo / "configs" / "baseline.yaml", kind=kind))
    return path


def run_sensitivity(experiment: Path, out: Path, *extra: str) -> int:
    """`reluctant-army sensitivity` in this process, one worker, no progress bar."""
    return main(
        [
            "sensitivity",
            str(experiment),
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
    )


def test_writes_sobol_and_morris_indices_for_every_parameter(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "out"
    code = run_sensitivity(write_experiment(tmp_path, repo), out, "--morris-trajectories", "4")
    assert code == 0
    table = pd.read_csv(out / "indices.csv")
    assert set(table["output"]) == {"final_refuse", "final_comply", "final_evade"}
    assert set(table["parameter"]) == {"drivers.punishment_severity", "decision.social_weight"}
    for column in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma"):
        assert table[column].notna().all(), column
    assert (out / "indices.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "sobol" / "runs.parquet").exists() and (out / "morris" / "runs.parquet").exists()


def test_rerun_with_resume_repeats_no_run_and_gives_the_same_indices(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = write_experiment(tmp_path, repo)
    assert run_sensitivity(experiment, tmp_path / "out", "--no-morris") == 0
    first = pd.read_csv(tmp_path / "out" / "indices.csv")
    capsys.readouterr()
    assert run_sensitivity(experiment, tmp_path / "out", "--no-morris", "--resume") == 0
    assert "0 run now" in capsys.readouterr().err
    pd.testing.assert_frame_equal(first, pd.read_csv(tmp_path / "out" / "indices.csv"))


def test_non_sobol_design_exits_2(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "sensitivity",
            str(write_experiment(tmp_path, repo, kind="lhs")),
            "--out",
            str(tmp_path / "never"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "design.kind" in err and "sobol" in err
    assert not (tmp_path / "never").exists()


def test_outputs_option_gives_indices_by_group(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "out"
    code = run_sensitivity(
        write_experiment(tmp_path, repo),
        out,
        "--no-morris",
        "--outputs",
        "dissenting_refuse",
        "dissenting_evade",
    )
    assert code == 0
    table = pd.read_csv(out / "indices.csv")
    assert list(dict.fromkeys(table["output"])) == [
        "final_dissenting_refuse",
        "final_dissenting_evade",
    ]


def test_unknown_output_exits_2(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "sensitivity",
            str(write_experiment(tmp_path, repo)),
            "--outputs",
            "refusal",
            "--out",
            str(tmp_path / "never"),
        ]
    )
    assert code == 2
    assert "--outputs" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_output_that_never_varies_is_named_in_a_note(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "sensitivity",
            str(write_experiment(tmp_path, repo)),
            "--workers",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--no-morris",
            "--no-progress",
            "--outputs",
            "refuse",
            "complicit_refuse",
        ]
    )
    assert code == 0
    assert "complicit_refuse did not vary across the design" in capsys.readouterr().err


def test_outputs_that_never_vary_give_a_note_not_a_crash(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_sensitivity(
        write_experiment(tmp_path, repo),
        tmp_path / "out",
        "--no-morris",
        "--outputs",
        "complicit_refuse",
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "no indices: none of the outputs varied across the design" in out
    assert "complicit_refuse did not vary" in err


def test_salib_warnings_are_notes_not_python_warnings(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """N = 8 is a power of 2; N = 6 is not, which SALib warns about: one note, once."""
    path = write_experiment(tmp_path, repo)
    path.write_text(path.read_text().replace("samples: 8", "samples: 6"))
    assert run_sensitivity(path, tmp_path / "out", "--no-morris") == 0
    err = capsys.readouterr().err
    assert "Warning" not in err
    notes = [line for line in err.splitlines() if "power of 2" in line]
    assert len(notes) == 1 and notes[0].startswith("note: design.samples:")


def test_a_folder_of_other_files_is_refused_before_any_run(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert run_sensitivity(write_experiment(tmp_path, repo), out) == 2
    assert "holds no results" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
