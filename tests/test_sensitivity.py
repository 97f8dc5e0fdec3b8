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
    assert {"final_refuse", "final_comply", "final_evade"} <= set(table["output"])
    assert set(table["output"]) <= {
        "final_refuse",
        "final_comply",
        "final_evade",
        "final_complicit_comply",
        "final_passive_evade",
        "final_dissenting_refuse",
    }  # each group's key behaviour too, unless it never varied
    assert set(table["parameter"]) == {"drivers.punishment_severity", "decision.social_weight"}
    overall = table[table["output"].isin(["final_refuse", "final_comply", "final_evade"])]
    for column in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma"):
        assert overall[column].notna().all(), column
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
        "passive_evade",
        "passive_comply",
    )
    assert code == 0
    table = pd.read_csv(out / "indices.csv")
    assert list(dict.fromkeys(table["output"])) == [
        "final_passive_evade",
        "final_passive_comply",
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


def test_the_sensitivity_table_lists_the_most_influential_parameters(
    tmp_path: Path, repo: Path
) -> None:
    from simulation import results_table

    out = tmp_path / "out"
    assert run_sensitivity(write_experiment(tmp_path, repo), out, "--no-morris") == 0
    text = results_table(out)
    assert "| `final_refuse` |" in text and "`drivers.punishment_severity`" in text


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


# ---------------------------------------------------------------------------- grouped inputs


def _additive_design(samples: int, groups: list[str]) -> tuple[pd.DataFrame, dict]:
    """y = a.one + a.two + 0.3 b.one over uniform inputs, as a Sobol design sampled with
    groups `groups` (SALib's grouped Saltelli design); the summary and manifest a sweep
    would give."""
    from SALib.sample import sobol as sobol_sample

    names = ["a.one", "a.two", "b.one"]
    problem = {"num_vars": 3, "names": names, "bounds": [[0, 1]] * 3, "groups": groups}
    inputs = sobol_sample.sample(problem, samples, calc_second_order=False, seed=2)
    outputs = inputs[:, 0] + inputs[:, 1] + 0.3 * inputs[:, 2]
    summary = pd.DataFrame(
        {
            "measure": "at_order_plus_12",
            "metric": "refuse",
            "point": range(len(outputs)),
            "mean": outputs,
        }
    )
    manifest = {
        "design": "sobol",
        "scenarios": ["base"],
        "second_order": False,
        "sampled": [
            {"name": name, "low": 0, "high": 1, "group": group}
            for name, group in zip(names, groups, strict=True)
        ],
    }
    return summary, manifest


def test_grouped_inputs_get_one_index_per_group_with_the_known_value() -> None:
    from simulation.analysis.sensitivity import design_indices

    summary, manifest = _additive_design(256, ["a", "a", "b"])
    table, _ = design_indices(summary, manifest, ["at_order_plus_12"])
    assert list(table["parameter"]) == ["a", "b"]
    assert set(table["output"]) == {"at_order_plus_12_refuse"}
    section_a = table.set_index("parameter").loc["a", "ST"]
    assert section_a == pytest.approx(2 / 12 / (2 / 12 + 0.09 / 12), abs=0.06)


def test_the_sample_size_rule_asks_for_more_samples_when_intervals_are_wide() -> None:
    from simulation.analysis.sensitivity import design_indices, required_samples

    summary, manifest = _additive_design(16, ["a", "a", "b"])
    table, _ = design_indices(summary, manifest, ["at_order_plus_12"])
    widest = table[["S1_conf", "ST_conf"]].to_numpy().max()
    needed = required_samples(table, 16)
    assert needed >= 16 * (widest / 0.05) ** 2 and needed & (needed - 1) == 0
    narrow = table.assign(S1_conf=0.01, ST_conf=0.01)
    assert required_samples(narrow, 16) == 16


def test_the_sample_size_note_names_each_output_that_misses_the_rule() -> None:
    from simulation.analysis.sensitivity import sample_size_notes

    table = pd.DataFrame(
        {
            "output": ["at_order_plus_1_comply"] * 2 + ["at_order_plus_1_refuse"] * 2,
            "parameter": ["a", "b", "a", "b"],
            "S1": [0.6, 0.1, 0.5, 0.2],
            "S1_conf": [0.02, 0.01, 0.2, 0.05],
            "ST": [0.7, 0.2, 0.6, 0.3],
            "ST_conf": [0.03, 0.01, 0.1, 0.05],
        }
    )
    (note,) = sample_size_notes(table, 64)
    assert "met for at_order_plus_1_comply;" in note
    assert "at_order_plus_1_refuse N = 1,024" in note  # 64 x (0.2 / 0.05)^2
