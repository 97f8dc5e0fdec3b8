"""Ensembles over the priors: prior designs, common random numbers, distributions, tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation import Experiment, results_table, run_ensemble
from simulation.analysis.ensemble import variance_split
from simulation.analysis.tables import replace_between_markers
from simulation.cli import main
from simulation.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def prior_experiment(draws: int = 4, replications: int = 2, **design: Any) -> dict[str, Any]:
    """Two scenarios from the library at a tiny size, with a prior design."""
    return {
        "name": "tiny_prior",
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 60},
        },
        "scenarios": {
            "status_quo": {"config": str(REPO / "configs" / "scenarios" / "status_quo.yaml")},
            "fight": {"config": str(REPO / "configs" / "scenarios" / "fight_order.yaml")},
        },
        "design": {"kind": "prior", "samples": draws, **design},
        "replications": replications,
        "steps": 25,
        "seed": 9,
    }


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ensemble") / "tiny"
    return run_ensemble(prior_experiment(), workers=1, out=out, progress=False)


def test_the_variance_split_recovers_known_seed_and_assumption_variance() -> None:
    rng = np.random.default_rng(0)
    draw_means = rng.normal(0.0, 2.0, size=(4000, 1))  # assumptions: variance 4
    values = draw_means + rng.normal(0.0, 1.0, size=(4000, 5))  # seeds: variance 1
    total, seed, assumptions = variance_split(values)
    assert seed == pytest.approx(1.0, rel=0.05)
    assert assumptions == pytest.approx(4.0, rel=0.1)
    assert total == pytest.approx(seed + assumptions)


def test_one_replication_per_draw_cannot_split_the_variance() -> None:
    total, seed, assumptions = variance_split(np.arange(10.0).reshape(10, 1))
    assert total > 0 and np.isnan(seed) and np.isnan(assumptions)


def test_scenarios_share_draws_and_seeds() -> None:
    experiment = Experiment.from_dict(prior_experiment())
    per_scenario = len(experiment.points) // 2
    for run in range(per_scenario * experiment.replications):
        twin = run + per_scenario * experiment.replications
        assert experiment.run_seed(run) == experiment.run_seed(twin)
        point, other = run // 2, twin // 2
        assert experiment.point_values[point] == experiment.point_values[other]
    seeds = {experiment.run_seed(run) for run in range(per_scenario * 2)}
    assert len(seeds) == per_scenario * 2


def test_the_same_root_seed_gives_the_same_draws() -> None:
    first = Experiment.from_dict(prior_experiment())
    again = Experiment.from_dict(prior_experiment())
    other = Experiment.from_dict({**prior_experiment(), "seed": 10})
    assert first.prior.draws == again.prior.draws
    assert first.prior.draws != other.prior.draws


def test_a_scenario_that_sets_an_assumption_keeps_its_value() -> None:
    data = prior_experiment()
    data["scenarios"]["fight"]["decision.social_weight"] = 0.55
    experiment = Experiment.from_dict(data)
    assert experiment.prior.kept == {"fight": ["decision.social_weight"]}
    fight = [p for p in experiment.points if p.scenario == "fight"]
    assert all(point.overrides["decision.social_weight"] == 0.55 for point in fight)
    quo = [p for p in experiment.points if p.scenario == "status_quo"]
    assert len({point.overrides["decision.social_weight"] for point in quo}) == len(quo)


def test_a_prior_design_refuses_varied_parameters() -> None:
    data = {**prior_experiment(), "vary": {"drivers.punishment_severity": [0, 1]}}
    with pytest.raises(ConfigError, match="^<experiment>: vary: a prior design draws"):
        Experiment.from_dict(data)


def test_a_missing_priors_file_is_named() -> None:
    data = prior_experiment(priors="no_such_priors.yaml")
    with pytest.raises(ConfigError, match="design.priors: priors file: .*no_such_priors.yaml"):
        Experiment.from_dict(data)


def test_every_output_of_every_scenario_is_a_distribution(ensemble) -> None:
    table = ensemble.distribution
    assert set(table["scenario"]) == {"status_quo", "fight"}
    assert len(table) == 2 * len(ensemble.manifest["outputs"])
    assert (table["q05"] <= table["q25"] + 1e-12).all()
    assert (table["q25"] <= table["median"] + 1e-12).all()
    assert (table["median"] <= table["q75"] + 1e-12).all()
    assert (table["q75"] <= table["q95"] + 1e-12).all()
    split = table.dropna(subset=["seed_share"])
    assert np.allclose(split["seed_share"] + split["assumption_share"], 1.0)


def test_differences_are_taken_run_by_run_against_the_reference(ensemble) -> None:
    runs = ensemble.sweep.runs
    fight = runs[runs["scenario"] == "fight"].sort_values(["point", "replication"])
    quo = runs[runs["scenario"] == "status_quo"].sort_values(["point", "replication"])
    assert list(fight["seed"]) == list(quo["seed"])
    expected = fight["final_refuse"].to_numpy() - quo["final_refuse"].to_numpy()
    table = ensemble.differences.set_index(["scenario", "reference", "output"])
    row = table.loc[("fight", "status_quo", "final_refuse")]
    assert row["median"] == pytest.approx(float(np.median(expected)))
    assert row["mean"] == pytest.approx(float(expected.mean()))
    back = table.loc[("status_quo", "fight", "final_refuse")]
    assert back["median"] == pytest.approx(-row["median"])


def test_the_folder_holds_the_tables_and_a_resumable_sweep(ensemble) -> None:
    folder = ensemble.folder
    for name in ("manifest.json", "distribution.csv", "differences.csv", "ensemble.png"):
        assert (folder / name).is_file(), name
    assert ensemble.manifest["kind"] == "ensemble"
    assert ensemble.manifest["draws"] == 4 and ensemble.manifest["replications"] == 2
    again = run_ensemble(prior_experiment(), workers=1, out=folder, resume=True, progress=False)
    assert again.sweep.report.ran == 0
    pd.testing.assert_frame_equal(again.distribution, ensemble.distribution)


def test_the_table_shows_intervals_and_differences_never_plus_minus(ensemble) -> None:
    text = results_table(ensemble.folder)
    assert "±" not in text
    assert "| status_quo |" in text and "| fight |" in text
    assert "Difference from `status_quo`" in text
    assert "90% interval over the priors" in text
    other = results_table(ensemble.folder, reference="fight")
    assert "Difference from `fight`" in other and "| status_quo |" in other.split("Difference")[1]


def test_the_table_goes_between_the_readme_markers(ensemble, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    marker = "scenario-prior-table"
    readme.write_text(f"before\n<!-- {marker}:start -->\nold\n<!-- {marker}:end -->\nafter\n")
    code = main(["table", str(ensemble.folder), "--readme", str(readme)])
    text = readme.read_text()
    assert code == 0
    assert "old" not in text and text.startswith("before\n") and text.endswith("after\n")
    assert results_table(ensemble.folder) in text


def _narrowed_copy(folder: Path, out: Path, factor: float) -> Path:
    """The ensemble folder with every 90% interval narrowed around its median by `factor`."""
    import shutil

    shutil.copytree(folder, out)
    table = pd.read_csv(out / "distribution.csv")
    for end in ("q05", "q95"):
        table[end] = table["median"] + (table[end] - table["median"]) / factor
    table.to_csv(out / "distribution.csv", index=False)
    return out


def test_a_posterior_table_gives_each_headline_interval_s_width_ratio(
    ensemble, tmp_path: Path
) -> None:
    from simulation.analysis.tables import width_ratio_table

    narrow = _narrowed_copy(ensemble.folder, tmp_path / "narrow", 2.0)
    text = width_ratio_table(narrow, ensemble.folder)
    rows = [line for line in text.splitlines() if line.startswith("| fight |")]
    cells = rows[0].strip("|").split("|")[1:]
    assert all(cell.strip() == "-" or cell.strip().startswith("2.0x (") for cell in cells)
    assert any(cell.strip().startswith("2.0x (") for cell in cells)
    same = width_ratio_table(ensemble.folder, ensemble.folder)
    assert "2.0x" not in same and "1.0x (" in same


def test_table_against_the_priors_adds_the_width_ratios(ensemble, tmp_path: Path, capsys) -> None:
    narrow = _narrowed_copy(ensemble.folder, tmp_path / "narrow", 4.0)
    code = main(["table", str(narrow), "--against", str(ensemble.folder)])
    printed = capsys.readouterr().out
    assert code == 0
    assert results_table(narrow) in printed and "4.0x (" in printed


def test_table_against_needs_an_ensemble(ensemble, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "not_results"
    folder.mkdir()
    code = main(["table", str(ensemble.folder), "--against", str(folder)])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_markers_missing_from_the_file_is_an_error(ensemble, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(Exception, match="has no markers"):
        replace_between_markers(readme, "scenario-table", "x")


def test_a_config_file_runs_as_a_one_scenario_ensemble(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "ensemble",
            str(REPO / "configs" / "scenarios" / "fight_order.yaml"),
            "--draws",
            "3",
            "--replications",
            "1",
            "--steps",
            "3",
            "--set",
            "population.n_officers=40",
            "--set",
            "structure.unit_size=10",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "one"),
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "| fight_order |" in printed
    table = pd.read_csv(tmp_path / "one" / "distribution.csv")
    assert set(table["scenario"]) == {"fight_order"}


def test_an_unknown_reference_scenario_is_one_line(tmp_path: Path, capsys) -> None:
    experiment = tmp_path / "e.yaml"
    experiment.write_text(yaml.safe_dump(prior_experiment(2, 1), sort_keys=False))
    code = main(["ensemble", str(experiment), "--reference", "nope", "--out", str(tmp_path / "x")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error == ("error: --reference: no scenario 'nope'; scenarios are status_quo, fight")


def test_an_ensemble_folder_has_a_report(ensemble) -> None:
    from simulation import build_report

    text = build_report(ensemble.folder).read_text()
    assert "Difference from" in text and "data:image/png;base64" in text


def test_the_shipped_scenario_ensemble_runs_every_scenario_file_over_the_priors() -> None:
    data = yaml.safe_load((REPO / "experiments" / "scenarios_prior.yaml").read_text())
    assert data["design"]["kind"] == "prior"
    files = sorted(path.stem for path in (REPO / "configs" / "scenarios").glob("*.yaml"))
    assert sorted(data["scenarios"]) == files
    small = {**data, "design": {"kind": "prior", "samples": 2}}
    experiment = Experiment.from_dict(small, base_dir=REPO / "experiments")
    assert len(experiment.points) == 2 * len(files)
