"""Shares are shares: every share and interval in every output lies in [0, 1], cumulative
shares have everyone who ever served as denominator, and an empty group is NaN with its
count (never 0%), left out of means over runs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import run_experiment
from simulation.analysis.report import render_report
from simulation.analysis.scenario_table import COLUMNS, scenario_table
from simulation.cli import main
from simulation.config.loading import load_config
from simulation.experiments.precision import (
    format_share,
    mean_interval,
    wilson_interval,
)
from simulation.experiments.runner import reduce_values, simulate
from simulation.experiments.summary import summarize_runs
from simulation.vocabulary import CHOICES, FORCE_SHARES, GROUPS, RANKS

REPO = Path(__file__).resolve().parent.parent
SHARES = [
    *CHOICES,
    *(f"{group}_{choice}" for group in (*GROUPS, *RANKS) for choice in CHOICES),
]
PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)%")

share_values = st.one_of(st.floats(0.0, 1.0), st.just(math.nan))


def percentages(text: str) -> list[float]:
    """Every number written as a percentage in a text."""
    return [float(number) for number in PERCENT.findall(text)]


# ---------------------------------------------------------------------------- intervals


@given(st.lists(share_values, max_size=40))
def test_the_interval_of_a_mean_of_shares_lies_in_0_1_around_the_mean(values) -> None:
    mean, _, low, high, n = mean_interval(values)
    assert n == sum(not math.isnan(v) for v in values)
    if n >= 2:
        assert 0.0 <= low <= mean + 1e-12 and mean - 1e-12 <= high <= 1.0
    else:
        assert math.isnan(low) and math.isnan(high)


def test_the_interval_of_a_mean_is_the_same_every_time() -> None:
    values = [0.1, 0.4, 0.35, 0.2, 0.9]
    assert mean_interval(values) == mean_interval(list(values))


def test_the_interval_of_a_mean_narrows_with_agreeing_runs() -> None:
    _, _, low, high, _ = mean_interval([0.50, 0.51, 0.49, 0.50, 0.52, 0.48])
    assert 0.48 <= low < 0.5 < high <= 0.52


def test_runs_that_all_agree_have_a_point_interval() -> None:
    assert mean_interval([0.3, 0.3, 0.3]) == (0.3, 0.0, 0.3, 0.3, 3)


def test_the_interval_of_a_mean_is_undefined_for_one_run() -> None:
    mean, sd, low, high, n = mean_interval([0.4, math.nan])
    assert (mean, n) == (0.4, 1) and all(math.isnan(v) for v in (sd, low, high))


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_wilson_interval_lies_in_0_1_and_holds_the_share(case) -> None:
    successes, n = case
    low, high = wilson_interval(successes, n)
    if n == 0:
        assert math.isnan(low) and math.isnan(high)
    else:
        assert 0.0 <= low <= successes / n <= high <= 1.0


def test_the_wilson_interval_matches_its_formula() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0


@given(share_values, share_values, share_values, st.floats(0.0, 1.0))
def test_a_formatted_share_never_shows_a_percentage_outside_0_100(mean, a, b, sd) -> None:
    low, high = sorted((a, b)) if not (math.isnan(a) or math.isnan(b)) else (a, b)
    for number in percentages(format_share(mean, low, high, sd, runs=3, of=5)):
        assert 0.0 <= number <= 100.0


def test_an_empty_group_is_written_as_empty_never_as_zero() -> None:
    assert format_share(math.nan, math.nan, math.nan, math.nan, runs=0, of=20) == (
        "empty (0 serving)"
    )


def test_a_share_from_some_runs_says_how_many_contributed() -> None:
    assert format_share(0.2, 0.1, 0.3, 0.1, runs=4, of=20).endswith("(4 of 20 runs)")


# ---------------------------------------------------------------------------- runs


def test_peak_and_mean_are_over_the_months_a_group_exists() -> None:
    reduced = reduce_values([0.0, math.nan, math.nan, 0.4, 0.2])
    assert (reduced["final"], reduced["peak"]) == (0.2, 0.4)
    assert reduced["mean"] == pytest.approx(0.3)


def test_a_group_that_never_exists_has_no_peak() -> None:
    assert math.isnan(reduce_values([math.nan, math.nan, math.nan])["peak"])


def fight_run(*overrides: str, steps: int = 30, seed: int = 3):
    config = load_config(
        None,
        ["population.n_officers=150", f"steps={steps}", "drivers.war_order_level=3", *overrides],
    )
    return simulate(config, seed=seed)


def assert_shares_and_empty_groups(series: pd.DataFrame) -> None:
    for column in SHARES:
        values = series[column].to_numpy(float)
        present = ~np.isnan(values)
        assert ((values[present] >= 0) & (values[present] <= 1)).all(), column
    for category in (*GROUPS, *RANKS):
        empty = series[f"n_{category}"].to_numpy() == 0
        for choice in CHOICES:
            assert (np.isnan(series[f"{category}_{choice}"].to_numpy(float)) == empty).all()
    for column in FORCE_SHARES:
        assert series[column].between(0, 1).all(), column


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    detection=st.floats(0.5, 4.0),
    severity=st.floats(0.0, 4.0),
    jail=st.integers(0, 3),
    turnover=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_every_share_of_a_run_lies_in_0_1_and_an_empty_group_is_nan(
    detection, severity, jail, turnover, seed
) -> None:
    result = fight_run(
        f"drivers.detection_capacity={detection}",
        f"drivers.punishment_severity={severity}",
        f"consequences.jail_term_months={jail}",
        f"turnover.enabled={str(turnover).lower()}",
        "turnover.academy_fill_share=1.0",
        steps=24,
        seed=seed,
    )
    assert_shares_and_empty_groups(result.series)
    summary = json.loads(json.dumps(result.summary, allow_nan=False, default=str))
    for block in [summary["overall"], *summary["by_group"].values(), *summary["by_rank"].values()]:
        for measure in ("final", "peak"):
            for value in block[measure].values():
                assert value is None or 0.0 <= value <= 1.0
        if block["serving_at_end"] == 0:
            assert all(value is None for value in block["final"].values())


def test_an_empty_group_has_no_shares_and_a_count_of_zero() -> None:
    result = fight_run(
        "population.group_shares={complicit: 0.5, passive: 0.5, dissenting: 0.0}",
        "turnover.enabled=false",  # the academy's newcomers may be dissenters
    )
    series = result.series
    assert (series["n_dissenting"] == 0).all()
    assert series["dissenting_refuse"].isna().all()
    block = result.summary["by_group"]["dissenting"]
    assert block["serving_at_end"] == 0
    assert block["final"]["refuse"] is None and block["peak"]["refuse"] is None


def test_a_person_arrested_twice_counts_once_in_the_arrested_share() -> None:
    result = fight_run(
        "consequences.jail_term_months=1",
        "consequences.return_after_jail=true",
        "drivers.detection_capacity=4",
        steps=60,
    )
    counts = result.summary["counts"]
    assert counts["arrested"] > counts["persons_arrested"] > 0
    final = result.series.iloc[-1]
    assert final["arrested_share"] == counts["persons_arrested"] / counts["served"] <= 1.0


def test_entrants_are_counted_in_the_denominator_of_cumulative_shares() -> None:
    result = fight_run("turnover.enabled=true", "turnover.academy_fill_share=1.0", steps=60)
    counts = result.summary["counts"]
    assert counts["entered"] > 0
    assert counts["served"] == 150 + counts["mobilised"] + counts["entered"]
    final = result.series.iloc[-1]
    for name in ("dismissed", "resigned", "deserted", "exited"):
        assert final[f"{name}_share"] == counts[name] / counts["served"] <= 1.0


# ---------------------------------------------------------------------------- sweeps


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(share_values, min_size=6, max_size=6),
        min_size=1,
        max_size=8,
    )
)
def test_a_sweep_summary_keeps_every_share_and_interval_in_0_1(rows) -> None:
    metrics = ["refuse", "dissenting_refuse", "arrested_share"]
    runs = pd.DataFrame(
        {
            "point": [i % 2 for i in range(len(rows))],
            "scenario": "s",
            "status": "ok",
            **{
                f"{measure}_{metric}": [row[2 * j + k] for row in rows]
                for j, metric in enumerate(metrics)
                for k, measure in enumerate(("final", "peak"))
            },
        }
    )
    manifest = {"parameters": [], "metrics": metrics, "measures": ["final", "peak"]}
    summary = summarize_runs(runs, manifest)
    for column in ("mean", "ci_low", "ci_high"):
        values = summary[column].dropna()
        assert values.between(0, 1).all()
    for _, line in summary.iterrows():
        values = runs[runs["point"] == line["point"]][f"{line['measure']}_{line['metric']}"]
        assert line["n"] == values.notna().sum()
        assert line["n_empty"] == values.isna().sum()


@pytest.fixture(scope="module")
def sweep_with_an_emptying_group(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dissenters are few: in most runs of the order to fight none is left serving."""
    out = tmp_path_factory.mktemp("emptying") / "out"
    run_experiment(
        {
            "name": "emptying",
            "base": {
                "config": str(REPO / "configs" / "baseline.yaml"),
                "overrides": {
                    "population.n_officers": 60,
                    "population.group_shares": {
                        "complicit": 0.6,
                        "passive": 0.37,
                        "dissenting": 0.03,
                    },
                    "steps": 24,
                    "drivers.detection_capacity": 4.0,
                    "consequences.jail_term_months": 0,
                    # no newcomers, and every caught evader dismissed: rules that empty the
                    # few dissenters in some runs, which is what this tests
                    "consequences.response.enabled": False,
                    "consequences.evader_sanctions": {
                        "reprimand": 0.0,
                        "benefit_loss": 0.0,
                        "dismissal": 1.0,
                    },
                    "turnover.enabled": False,
                },
            },
            "scenarios": {
                "support": {},
                "fight": {"drivers.war_order_level": 3},
            },
            "replications": 8,
            "metrics": [c.metric for c in COLUMNS] + ["dissenting_evade"],
            "seed": 5,
        },
        workers=1,
        out=out,
        progress=False,
    )
    return out


def test_runs_without_the_group_are_left_out_of_its_mean_and_counted(
    sweep_with_an_emptying_group: Path,
) -> None:
    runs = pd.read_parquet(sweep_with_an_emptying_group / "runs.parquet")
    summary = pd.read_csv(sweep_with_an_emptying_group / "summary.csv")
    fight = runs[runs["scenario"] == "fight"]["final_dissenting_evade"]
    assert fight.isna().any(), "the fixture should empty the dissenters in some runs"
    line = summary[
        (summary["scenario"] == "fight")
        & (summary["measure"] == "final")
        & (summary["metric"] == "dissenting_evade")
    ].iloc[0]
    assert (line["n"], line["n_empty"]) == (fight.notna().sum(), fight.isna().sum())
    if fight.notna().any():
        assert line["mean"] == pytest.approx(fight.mean())
    else:
        assert math.isnan(line["mean"])


def test_every_output_of_a_sweep_keeps_shares_in_0_1(
    sweep_with_an_emptying_group: Path, capsys
) -> None:
    folder = sweep_with_an_emptying_group
    summary = pd.read_csv(folder / "summary.csv")
    for column in ("mean", "ci_low", "ci_high"):
        assert summary[column].dropna().between(0, 1).all()
    runs = pd.read_parquet(folder / "runs.parquet")
    shares = [c for c in runs.columns if c.split("_", 1)[0] in ("final", "peak", "at")]
    values = runs[shares].to_numpy(float)
    assert ((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1)).all()
    table = scenario_table(folder, "final")
    cells = " ".join(table.drop(columns=["scenario", "runs"]).to_numpy().ravel())
    assert all(0 <= p <= 100 for p in percentages(cells))
    assert main(["summarize", str(folder)]) == 0
    assert main(["table", str(folder), "--measure", "final"]) == 0
    printed = capsys.readouterr().out
    assert all(0 <= p <= 100 for p in percentages(printed))
    page = render_report(folder)
    assert all(0 <= p <= 100 for p in percentages(re.sub(r"<[^>]+>", " ", page)))


def test_the_report_of_a_run_keeps_shares_in_0_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", str(REPO / "configs" / "baseline.yaml"), "--out", str(out)]
    args += ["--set", "population.n_officers=120", "--set", "drivers.war_order_level=3"]
    assert main([*args, "--steps", "30"]) == 0
    page = render_report(out)
    assert all(0 <= p <= 100 for p in percentages(re.sub(r"<[^>]+>", " ", page)))


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_share_written_as_plus_minus_never_implies_a_bound_outside_0_100(a, b, c) -> None:
    low, mean, high = sorted((a, b, c))
    shown = format_share(mean, low, high, 0.1)
    if " ± " in shown:
        centre, half = (float(part.rstrip("%")) for part in shown.split(" ± "))
        decimals = len(shown.split(" ± ")[1].rstrip("%").partition(".")[2])
        assert centre - half >= -(10.0**-decimals) / 2
        assert centre + half <= 100 + (10.0**-decimals) / 2


def test_runs_that_agree_among_those_with_the_group_say_how_many_were_empty() -> None:
    assert format_share(1.0, 1.0, 1.0, 0.0, runs=4, of=20) == "all 4 runs 100.0% (16 of 20 empty)"
