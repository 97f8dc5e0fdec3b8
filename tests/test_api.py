"""Specification of the Python API: a notebook user needs neither the CLI nor files on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulation
from simulation import (
    ArgumentError,
    ArmyModel,
    ConfigError,
    Experiment,
    find_tipping_point,
    load_config,
    run_experiment,
    simulate,
)
from simulation.vocabulary import REAR_POST_COMPLY

SMALL = {"population": {"n_officers": 200}, "steps": 6}


def test_every_public_name_is_importable_from_the_package() -> None:
    for name in simulation.__all__:
        assert getattr(simulation, name) is not None, name


def test_load_config_takes_data_and_an_override_mapping() -> None:
    config = load_config(SMALL, {"drivers.war_order_level": 3})
    assert config.population.n_officers == 200
    assert config.drivers.war_order_level == 3


def test_load_config_names_the_key_of_bad_data() -> None:
    with pytest.raises(ConfigError, match="drivers.punishment_severty"):
        load_config({"drivers": {"punishment_severty": 2}})


def test_simulate_takes_data_and_gives_series_and_summary() -> None:
    result = simulate(SMALL, seed=3)
    assert len(result.series) == 7
    assert result.summary["seed"] == 3
    # the three choices, and beside comply the part of it at a rear post after reassignment
    assert set(result.summary["overall"]["final"]) == {
        "comply",
        "evade",
        "refuse",
        REAR_POST_COMPLY,
    }


def test_simulate_is_reproducible_for_a_seed() -> None:
    first = simulate(SMALL, seed=8).series
    second = simulate(SMALL, seed=8).series
    assert first.drop(columns=[]).equals(second)


def test_run_result_writes_its_folder(tmp_path: Path) -> None:
    written = simulate(SMALL, seed=1).write(tmp_path / "run")
    assert {"manifest", "timeseries", "summary", "config", "figure"} <= set(written)
    assert all(path.exists() for path in written.values())


def test_run_experiment_from_data_needs_no_folder() -> None:
    experiment = Experiment.from_dict(
        {
            "base": {"config": SMALL},
            "vary": {"drivers.punishment_severity": [0.0, 2.0]},
            "replications": 2,
            "seed": 4,
        }
    )
    result = run_experiment(experiment, workers=1, progress=False)
    assert result.folder is None
    assert len(result.runs) == 4 and (result.runs["status"] == "ok").all()
    assert set(result.summary["point"]) == {0, 1}


def test_run_experiment_with_out_writes_a_resumable_folder(tmp_path: Path) -> None:
    data = {"base": {"config": SMALL}, "replications": 2}
    first = run_experiment(data, workers=1, out=tmp_path / "sweep", progress=False)
    assert (tmp_path / "sweep" / "runs.parquet").exists()
    again = run_experiment(data, workers=1, out=tmp_path / "sweep", resume=True, progress=False)
    assert again.report.ran == 0
    assert again.runs.equals(first.runs)


def test_run_experiment_refuses_resume_without_a_folder() -> None:
    with pytest.raises(ArgumentError, match="resum"):
        run_experiment({"base": {"config": SMALL}}, resume=True, progress=False)


def test_find_tipping_point_takes_config_data() -> None:
    result = find_tipping_point(
        {**SMALL, "drivers": {"war_order_level": 3}},
        "drivers.punishment_severity",
        0.0,
        4.0,
        "refuse",
        0.1,
        replications=2,
        iterations=2,
    )
    assert len(result.probes) >= 2


def test_army_model_takes_levers_as_keywords() -> None:
    model = ArmyModel(war_order_level=3, punishment_severity=2, n_officers=300, seed=1)
    assert model.config.drivers.war_order_level == 3
    assert model.config.drivers.punishment_severity == 2
    assert model.n_officers == 300


def test_army_model_suggests_the_lever_meant() -> None:
    with pytest.raises(ArgumentError, match="did you mean 'punishment_severity'"):
        ArmyModel(punishment=2)


def test_army_model_without_a_seed_draws_and_records_a_fresh_one() -> None:
    first, second = ArmyModel(n_officers=100), ArmyModel(n_officers=100)
    assert first.seed != second.seed
    again = ArmyModel(n_officers=100, seed=first.seed)
    assert np.array_equal(again.attitudes["war_aversion"], first.attitudes["war_aversion"])


def test_mesa_batch_run_gives_different_runs_and_reports_the_last_step() -> None:
    import mesa

    config = load_config(SMALL, {"drivers.war_order_level": 3})
    rows = mesa.batch_run(
        ArmyModel,
        parameters={"config": [config]},
        iterations=3,
        max_steps=100,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(rows) == 3
    assert {row["Step"] for row in rows} == {config.steps}
    assert len({row["evade"] for row in rows} | {row["refuse"] for row in rows}) > 2


def test_batch_run_last_row_equals_the_simulated_last_step() -> None:
    import mesa

    config = load_config(SMALL, {"drivers.war_order_level": 3})
    rows = mesa.batch_run(
        ArmyModel,
        parameters={"config": [config], "seed": [5]},
        iterations=1,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    last = simulate(config, seed=5).series.iloc[-1]
    assert rows[0]["refuse"] == last["refuse"] and rows[0]["evade"] == last["evade"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["config", "configs/baseline.yaml"],
        ["config", "--priors"],
        ["report", "--help"],
        ["summarize", "-h"],
        ["table", "-h"],
        ["calibrate", "-h"],
        ["cache"],
    ],
)
def test_commands_that_build_no_model_do_not_import_mesa(argv: list[str], repo: Path) -> None:
    code = (
        "import sys\nfrom simulation.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('MESA' if 'mesa' in sys.modules else 'NO MESA')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=repo, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().endswith("NO MESA")


def test_version_option_prints_the_package_version(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulation", "--version"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"reluctant-army {simulation.__version__}"


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    from simulation.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, command in commands.items():
        options = [
            action
            for action in command._actions  # noqa: SLF001
            if action.option_strings and action.dest != "help"
        ]
        for action in options:
            assert action.help, f"{name} {action.option_strings}"
        if any(action.default not in (None, False, []) for action in options):
            assert "(default:" in command.format_help(), name


def test_the_readme_python_example_runs(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (repo / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use from Python") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    (tmp_path / "configs").symlink_to(repo / "configs")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}  # as a notebook runs it
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "results" / "fight" / "summary.json").exists()
    assert len(namespace["sweep"].runs) == 12  # type: ignore[attr-defined]


def test_a_finished_run_leaves_no_model_behind() -> None:
    """Mesa 3.3 keeps every model in Agent._ids (mesa issue #3179): a worker running
    thousands of runs would grow without end unless the runner lets go."""
    import gc
    import weakref

    from simulation.experiments.runner import run_model

    outcome = run_model(load_config(SMALL, {"steps": 2}), 1)
    model = weakref.ref(outcome.model)
    del outcome
    gc.collect()
    assert model() is None
