"""The scenario comparison table and figure: generated from a sweep, at a lag after the order."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation import results_table, run_ensemble, run_experiment
from simulation.analysis.scenario_table import (
    COHORT_COLUMNS,
    COLUMNS,
    FLOW_COLUMNS,
    PERSONNEL_COLUMNS,
    README_END,
    README_START,
    caption,
    columns_for,
    format_rate,
    scenario_table,
    write_readme_table,
)
from simulation.cli import main
from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.precision import format_share

METRICS = [column.metric for column in COLUMNS]
COHORT_METRICS = [column.metric for column in COHORT_COLUMNS]
REPO = Path(__file__).resolve().parent.parent
TWO_SCENARIOS = {
    "status_quo": {},
    "fight": {"drivers.war_order_level": [{"step": 0, "value": 1}, {"step": 5, "value": 3}]},
}


def tiny_sweep(out: Path, metrics: list[str]) -> Path:
    """Status quo and an order to fight at month 5, 200 officers, 3 replications."""
    run_experiment(
        {
            "name": "tiny_scenarios",
            "base": {
                "config": str(REPO / "configs/baseline.yaml"),
                "overrides": {"population.n_officers": 200, "steps": 20},
            },
            "scenarios": TWO_SCENARIOS,
            "replications": 3,
            "metrics": metrics,
            "seed": 1,
        },
        workers=1,
        out=out,
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_sweep(tmp_path_factory.mktemp("scenarios") / "out", METRICS)


def test_table_compares_scenarios_at_the_lag_after_their_order(sweep_folder: Path) -> None:
    table = scenario_table(sweep_folder)
    assert table["scenario"].tolist() == ["status_quo", "fight"]
    assert {column.heading for column in COLUMNS} <= set(table.columns)
    import pandas as pd

    runs = pd.read_parquet(sweep_folder / "runs.parquet")
    fight = runs[runs["scenario"] == "fight"]["at_order_plus_12_refuse"]
    shown = table.set_index("scenario").loc["fight", "refuse"]
    assert shown.startswith(f"{100 * fight.mean():.0f}") or f"{100 * fight.mean():.1f}" in shown


def test_command_prints_the_table_and_writes_figure_and_readme(sweep_folder, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold\n{README_END}\nrest\n")
    figure = tmp_path / "scenarios.png"
    args = ["scenario-table", str(sweep_folder), "--figure", str(figure), "--readme", str(readme)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| scenario |" in printed and "12 months after" in printed
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert "| fight |" in text
    assert figure.stat().st_size > 10_000


def test_a_measure_the_sweep_did_not_record_is_refused(sweep_folder: Path) -> None:
    with pytest.raises(ArgumentError, match="at_order_plus_24"):
        scenario_table(sweep_folder, "at_order_plus_24")


def test_a_readme_without_markers_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(ResultsError, match="scenario-table"):
        write_readme_table(readme, "table")
    assert readme.read_text() == "no markers\n"


def test_a_sweep_without_the_cumulative_metrics_shows_dashes_and_says_how_to_record_them(
    tmp_path, capsys
) -> None:
    out = tmp_path / "plain"
    run_experiment(
        {
            "base": {"config": {"population": {"n_officers": 50}, "steps": 3}},
            "scenarios": {"a": {}, "b": {"drivers.war_order_level": 2}},
            "replications": 2,
        },
        workers=1,
        out=out,
        progress=False,
    )
    assert main(["scenario-table", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| a |" in printed and "| b |" in printed
    row = next(line for line in printed.splitlines() if line.startswith("| b |"))
    assert row.endswith("| - | - | - |")
    assert "did not record exited_share, arrested_share, dismissed_share" in printed
    assert "add them to 'metrics' in the experiment file" in printed


def test_a_swept_parameter_names_each_row(tmp_path) -> None:
    out = tmp_path / "swept"
    run_experiment(
        {
            "base": {"config": {"population": {"n_officers": 50}, "steps": 3}},
            "vary": {"drivers.punishment_severity": [0.0, 2.0]},
            "replications": 2,
        },
        workers=1,
        out=out,
        progress=False,
    )
    table = scenario_table(out, "final")
    assert table["scenario"].tolist() == ["punishment_severity=0", "punishment_severity=2"]


@pytest.mark.parametrize(
    ("mean", "low", "high", "sd", "shown"),
    [
        (0.123, 0.119, 0.127, 0.01, "12.3% ± 0.4%"),
        (0.5, 0.45, 0.55, 0.1, "50% ± 5%"),
        (0.9883, 0.98826, 0.98834, 0.0001, "98.830% ± 0.004%"),
        (0.00008, 0.0, 0.00017, 0.0001, "0.008% [0.000%, 0.017%]"),
        (1.0, 1.0, 1.0, 0.0, "all runs 100.0%"),
        (0.002, -0.001, 0.005, 0.004, "0.2% [0.0%, 0.5%]"),
        (0.999, 0.997, 1.001, 0.002, "99.9% [99.7%, 100.0%]"),
    ],
)
def test_precision_follows_the_uncertainty_and_intervals_stay_in_bounds(
    mean, low, high, sd, shown
) -> None:
    assert format_share(mean, low, high, sd) == shown


@pytest.fixture(scope="module")
def cohort_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_sweep(tmp_path_factory.mktemp("cohort") / "out", COHORT_METRICS)


def test_results_with_the_cohort_get_the_cohort_headline() -> None:
    assert columns_for(COHORT_METRICS + METRICS) is COHORT_COLUMNS
    assert columns_for(["at_order_plus_12_cohort_comply", "at_order_plus_12_comply"]) is (
        COHORT_COLUMNS
    )


def test_results_without_the_cohort_keep_the_serving_force_columns() -> None:
    assert columns_for(METRICS) is COLUMNS
    assert columns_for([*METRICS, "officer_comply"]) is PERSONNEL_COLUMNS


def test_whole_force_results_keep_their_categories_and_add_the_flows() -> None:
    """The cohort (the force at month 0) leaves out the reserve called up later, which is
    what the whole force's tables are about; the flows count everyone serving."""
    recorded = [*COHORT_METRICS, "comply", "officer_comply", "reservist_comply"]
    assert columns_for(recorded) == (*PERSONNEL_COLUMNS, *FLOW_COLUMNS)


def test_the_cohort_states_of_each_scenario_sum_to_the_whole_starting_force(
    cohort_folder: Path,
) -> None:
    import pandas as pd

    runs = pd.read_parquet(cohort_folder / "runs.parquet")
    states = [f"at_order_plus_12_{c.metric}" for c in COHORT_COLUMNS if c.denominator == "cohort"]
    assert runs[states].sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_the_compliers_at_a_rear_post_have_their_own_column_beside_comply(
    cohort_folder: Path,
) -> None:
    """Complying at a rear post after reassignment is a lighter order: its own state, named
    in the caption, not part of 'comply'."""
    headings = list(scenario_table(cohort_folder, columns=COHORT_COLUMNS).columns)
    assert headings[headings.index("comply") + 1] == "comply at rear post"
    assert "at a rear post" in caption(cohort_folder, "at_order_plus_12", COHORT_COLUMNS)


def test_flows_are_shown_as_numbers_per_1000_not_percentages(cohort_folder: Path) -> None:
    import pandas as pd

    table = scenario_table(cohort_folder, columns=COHORT_COLUMNS).set_index("scenario")
    runs = pd.read_parquet(cohort_folder / "runs.parquet")
    arrests = runs[runs["scenario"] == "fight"]["at_order_plus_12_flow_arrested_per_1000_serving"]
    shown = table.loc["fight", "arrests /1,000"]
    assert "%" not in shown and "%" in table.loc["fight", "comply"]
    assert float(shown.removeprefix("all runs ").split()[0]) == pytest.approx(
        arrests.mean(), abs=0.5
    )


def test_the_caption_names_the_denominator_of_shares_and_of_flows(cohort_folder: Path) -> None:
    text = caption(cohort_folder, "at_order_plus_12", COHORT_COLUMNS)
    assert "shares of the force at month 0" in text
    assert "per 1,000 serving that month" in text and "not percentages" in text
    assert "did not record" not in text


def test_the_command_picks_the_cohort_headline_from_what_the_sweep_recorded(
    cohort_folder: Path, capsys
) -> None:
    assert main(["scenario-table", str(cohort_folder)]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("| scenario |"))
    assert "| in jail |" in header and "| new refusers /1,000 |" in header
    assert "complicit comply" not in header


@pytest.mark.parametrize(
    ("mean", "low", "high", "sd", "shown"),
    [
        (12.3, 9.1, 15.5, 5.0, "12 ± 3"),
        (4.62, 4.21, 5.03, 0.8, "4.6 ± 0.4"),
        (0.05, 0.0, 0.13, 0.1, "0.05 [0.00, 0.13]"),
        (0.0, 0.0, 0.0, 0.0, "all runs 0.0"),
        (float("nan"), float("nan"), float("nan"), float("nan"), "-"),
    ],
)
def test_a_rate_per_1000_is_shown_to_the_precision_of_its_interval(
    mean, low, high, sd, shown
) -> None:
    assert format_rate(mean, low, high, sd) == shown


@pytest.fixture(scope="module")
def cohort_ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort_ensemble") / "tiny"
    experiment = {
        "name": "tiny_cohort_prior",
        "base": {
            "config": str(REPO / "configs/baseline.yaml"),
            "overrides": {"population.n_officers": 60},
        },
        "scenarios": {
            "status_quo": {"config": str(REPO / "configs/scenarios/status_quo.yaml")},
            "fight": {"config": str(REPO / "configs/scenarios/fight_order.yaml")},
        },
        "design": {"kind": "prior", "samples": 2},
        "replications": 2,
        "steps": 25,
        "metrics": COHORT_METRICS,
        "seed": 9,
    }
    return run_ensemble(experiment, workers=1, out=out, progress=False).folder


def test_the_ensemble_table_shows_flows_per_1000_and_their_differences_in_those_units(
    cohort_ensemble: Path,
) -> None:
    text = results_table(cohort_ensemble)
    levels, differences = text.split("Difference from")
    header = next(line for line in levels.splitlines() if line.startswith("| scenario |"))
    headings = [cell.strip() for cell in header.strip("|").split("|")]
    arrests = headings.index("arrests /1,000")
    fight = next(line for line in levels.splitlines() if line.startswith("| fight |"))
    assert "%" not in fight.strip("|").split("|")[arrests]
    assert "%" in fight.strip("|").split("|")[headings.index("comply")]
    assert "shares of the force at month 0" in levels
    assert "per 1,000 serving that month" in levels
    assert "the flows' columns: per 1,000 serving that month" in differences


@pytest.mark.parametrize(
    "experiment", ["scenarios.yaml", "scenarios_prior.yaml", "whole_force_prior.yaml"]
)
def test_the_experiments_behind_the_readme_tables_record_the_cohort_headline(
    experiment: str,
) -> None:
    import yaml

    metrics = yaml.safe_load((REPO / "experiments" / experiment).read_text())["metrics"]
    assert set(COHORT_METRICS) <= set(metrics)


def test_the_cohort_table_has_one_column_per_cohort_state() -> None:
    """A state added to the vocabulary gets its column (the shares then still sum to 100%)."""
    from simulation.analysis.scenario_table import STATE_COLUMNS
    from simulation.vocabulary import COHORT_STATES

    assert sorted(column.metric for column in STATE_COLUMNS) == sorted(
        f"cohort_{state}" for state in COHORT_STATES
    )
