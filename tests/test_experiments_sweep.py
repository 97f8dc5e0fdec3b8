"""Specification of `reluctant-army sweep` and `summarize`: same results whatever runs them,
failures recorded, summaries with confidence intervals, figures by design."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simulation.cli import main
from simulation.experiments.summary import SUMMARY_COLUMNS
from simulation.experiments.sweep import FAULT_ENV
from tests.sweep_support import runs, sweep

REPO = Path(__file__).resolve().parent.parent


def experiment_file(tmp_path: Path, name: str = "small", **fields: Any) -> Path:
    """A small experiment: 200 officers, 6 steps, 2 x 2 points x 3 replications."""
    data: dict[str, Any] = {
        "base": {
            "config": str(REPO / "configs" / "baseline.yaml"),
            "overrides": {"population.n_officers": 200, "drivers.war_order_level": 3},
        },
        "vary": {"drivers.punishment_severity": [0, 3], "drivers.incentive_level": [0, 1]},
        "replications": 3,
        "steps": 6,
        "seed": 1,
        "batch_size": 2,
        **fields,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_one_and_two_workers_give_identical_tables(tmp_path: Path) -> None:
    path = experiment_file(tmp_path, record_every=2)
    one = sweep(path, tmp_path / "one", "--workers", "1")
    two = sweep(path, tmp_path / "two", "--workers", "2")
    pd.testing.assert_frame_equal(runs(one), runs(two))
    pd.testing.assert_frame_equal(
        pd.read_parquet(one / "series.parquet"), pd.read_parquet(two / "series.parquet")
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(one / "summary.csv"), pd.read_csv(two / "summary.csv")
    )


def test_dask_cluster_gives_the_same_table_as_one_worker(tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = experiment_file(tmp_path)
    local = sweep(path, tmp_path / "local", "--workers", "1")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        remote = sweep(path, tmp_path / "dask", "--scheduler", cluster.scheduler_address)
    pd.testing.assert_frame_equal(runs(local), runs(remote))


def test_batch_size_does_not_change_results(tmp_path: Path) -> None:
    path = experiment_file(tmp_path)
    small = sweep(path, tmp_path / "b1", "--workers", "1", "--batch-size", "1")
    large = sweep(path, tmp_path / "b5", "--workers", "1", "--batch-size", "5")
    pd.testing.assert_frame_equal(runs(small), runs(large))


def test_runs_table_has_one_row_per_run_with_identity_parameters_and_outcomes(
    tmp_path: Path,
) -> None:
    table = runs(sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1"))
    assert table["run_index"].tolist() == list(range(12))
    assert table["point"].tolist() == [p for p in range(4) for _ in range(3)]
    assert table["replication"].tolist() == [0, 1, 2] * 4
    assert table["seed"].is_unique
    assert set(table["drivers.punishment_severity"]) == {0.0, 3.0}
    for column in ("final_refuse", "peak_evade", "final_passive_comply", "peak_dissenting_refuse"):
        assert table[column].between(0, 1).all()
    shares = table[["final_comply", "final_evade", "final_refuse"]].sum(axis=1)
    assert shares.round(9).eq(1).all()
    assert (table["status"] == "ok").all() and table["error"].isna().all()


def test_results_folder_keeps_experiment_base_config_versions_and_design(tmp_path: Path) -> None:
    import json

    path = experiment_file(tmp_path)
    out = sweep(path, tmp_path / "out", "--workers", "1")
    assert (out / "experiment.yaml").read_text() == path.read_text()
    base = yaml.safe_load((out / "base_config.resolved.yaml").read_text())
    assert base["population"]["n_officers"] == 200 and base["steps"] == 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert {"mesa", "reluctant-army", "pyarrow"} <= set(manifest["versions"])
    assert len(pd.read_parquet(out / "design.parquet")) == 4


def test_recorded_versions_are_the_installed_ones_and_each_caller_gets_its_own_copy() -> None:
    from importlib import metadata

    from simulation.vocabulary import package_versions

    versions = package_versions()  # read once per process (every run's summary records them)
    assert versions["mesa"] == metadata.version("mesa")
    versions["mesa"] = "changed by a caller"
    assert package_versions()["mesa"] == metadata.version("mesa")


def test_a_run_that_raises_is_recorded_and_the_sweep_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import simulation.experiments.sweep

    real_run = simulation.experiments.sweep.run_model

    def fragile_run(config: Any, seed: int, **options: Any) -> Any:
        if config.drivers.incentive_level == 1:
            raise ValueError("incentives broke the model")
        return real_run(config, seed, **options)

    monkeypatch.setattr(simulation.experiments.sweep, "run_model", fragile_run)
    table = runs(sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1"))
    failed = table[table["status"] == "failed"]
    assert sorted(failed["point"].unique()) == [1, 3]
    assert (failed["error"] == "ValueError: incentives broke the model").all()
    assert failed["final_refuse"].isna().all()
    assert (table.loc[table["status"] == "ok", "point"].unique() == [0, 2]).all()
    assert "6 run(s) failed" in capsys.readouterr().err


def test_summary_counts_failed_runs_per_design_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "0:raise,1:raise")
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    summary = pd.read_csv(out / "summary.csv")
    first = summary[(summary["point"] == 0) & (summary["metric"] == "refuse")].iloc[0]
    assert (first["n"], first["n_failed"]) == (1, 2)
    assert math.isnan(first["sd"])


def test_a_worker_process_that_dies_is_recorded_and_the_sweep_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "4:exit")
    path = experiment_file(tmp_path)
    out = sweep(path, tmp_path / "out", "--workers", "2")
    table = runs(out)
    assert table["run_index"].tolist() == list(range(12))
    assert table.loc[table["status"] == "failed", "run_index"].tolist() == [4]
    assert table.loc[4, "error"] == "worker process died (BrokenProcessPool)"
    monkeypatch.delenv(FAULT_ENV)
    clean = runs(sweep(path, tmp_path / "clean", "--workers", "1"))
    survivors = table["status"] == "ok"
    pd.testing.assert_frame_equal(table[survivors], clean[survivors], check_dtype=False)


def test_a_dask_worker_that_dies_is_recorded_and_the_sweep_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dask
    from distributed import LocalCluster

    monkeypatch.setenv(FAULT_ENV, "5:exit")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        out = sweep(
            experiment_file(tmp_path), tmp_path / "dask", "--scheduler", cluster.scheduler_address
        )
    table = runs(out)
    assert table["run_index"].tolist() == list(range(12))
    failed = table[table["status"] == "failed"]
    assert failed["run_index"].tolist() == [5]
    assert failed["error"].tolist() == ["worker process died (KilledWorker)"]


def test_summary_gives_mean_sd_and_the_bootstrap_interval_of_the_mean(tmp_path: Path) -> None:
    from simulation.experiments.precision import mean_interval

    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    table, summary = runs(out), pd.read_csv(out / "summary.csv")
    values = table.loc[table["point"] == 2, "final_evade"]
    row = summary[
        (summary["point"] == 2) & (summary["measure"] == "final") & (summary["metric"] == "evade")
    ].iloc[0]
    _, _, low, high, n = mean_interval(values.to_numpy())
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert values.min() <= row["ci_low"] <= row["ci_high"] <= values.max()
    assert (row["n"], row["n_empty"]) == (n, 0)


def test_summary_covers_final_peak_and_lags_overall_and_by_group(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    summary = pd.read_csv(out / "summary.csv")
    measures = {"final", "peak", "at_order_plus_1", "at_order_plus_12"}
    assert set(summary["measure"]) == measures
    assert set(summary["category"]) == {"overall", "complicit", "passive", "dissenting"}
    assert len(summary) == 4 * len(measures) * 4 * 3


def test_sweep_prints_the_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    printed = capsys.readouterr().out
    assert "12 runs recorded, 0 failed" in printed
    assert "punishment_severity=3, incentive_level=1" in printed
    assert "±" in printed


@pytest.mark.parametrize(
    ("fields", "figure"),
    [
        ({"vary": {"drivers.punishment_severity": [0, 2, 4]}}, "sweep.png"),
        ({}, "heatmap.png"),
        (
            {
                "vary": {},
                "scenarios": {"calm": {"drivers.war_order_level": 1}, "war": {}},
            },
            "scenarios.png",
        ),
        (
            {
                "design": {"kind": "lhs", "samples": 4},
                "vary": {"drivers.incentive_level": {"low": 0, "high": 1}},
            },
            "sampled.png",
        ),
        (
            {
                "design": {
                    "kind": "sobol",
                    "samples": 2,
                    "groups": {
                        "pressure": ["drivers.punishment_severity"],
                        "pay": ["drivers.incentive_level"],
                    },
                },
                "vary": {
                    "drivers.incentive_level": {"low": 0, "high": 1},
                    "drivers.punishment_severity": {"low": 0, "high": 2},
                },
            },
            "sampled.png",
        ),
    ],
    ids=["one_parameter", "two_parameters", "scenarios", "latin_hypercube", "grouped_ranges"],
)
def test_figure_suits_the_design(tmp_path: Path, fields: dict[str, Any], figure: str) -> None:
    out = sweep(
        experiment_file(tmp_path, replications=2, **fields), tmp_path / "out", "--workers", "1"
    )
    assert [p.name for p in (out / "figures").iterdir()] == [figure]
    assert (out / "figures" / figure).read_bytes()[:4] == b"\x89PNG"


def test_stop_condition_ends_runs_early(tmp_path: Path) -> None:
    path = experiment_file(
        tmp_path, steps=40, stop={"metric": "comply", "op": "<", "value": 0.99, "after": 2}
    )
    table = runs(sweep(path, tmp_path / "out", "--workers", "1"))
    assert (table["steps_run"] == 2).all()


def test_series_is_recorded_every_n_steps_the_first_month_after_the_order_and_the_last(
    tmp_path: Path,
) -> None:
    path = experiment_file(tmp_path, record_every=4, metrics=["refuse", "passive_evade"])
    out = sweep(path, tmp_path / "out", "--workers", "1")
    series = pd.read_parquet(out / "series.parquet")
    assert list(series.columns) == ["run_index", "step", "refuse", "passive_evade"]
    assert series.loc[series["run_index"] == 0, "step"].tolist() == [0, 1, 4, 6]
    assert len(series) == 12 * 4


def test_outcomes_only_when_series_not_asked(tmp_path: Path) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    assert not (out / "series.parquet").exists()
    assert not list((out / "parts").glob("series-*"))


def test_summarize_rebuilds_summary_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    summary = pd.read_csv(out / "summary.csv")
    (out / "summary.csv").unlink()
    (out / "figures" / "heatmap.png").unlink()
    capsys.readouterr()
    assert main(["summarize", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary)
    assert (out / "figures" / "heatmap.png").exists()
    assert "12 runs recorded" in capsys.readouterr().out


def test_a_sweep_run_records_only_its_metrics_and_gives_the_same_numbers() -> None:
    """The sweep path asks the model for its metrics only (not every reporter every step)
    and builds no Mesa agents: the columns it keeps are those, with the same values as a
    full recording, turnover (officers leaving and entering) included."""
    from simulation.config.loading import load_config
    from simulation.experiments.runner import StopRule, run_model

    config = load_config(
        REPO / "configs" / "scenarios" / "generational_turnover.yaml",
        {"population.n_officers": 300, "steps": 24},
    )
    full = run_model(config, 5)
    assert full.model.agents and full.columns["entered"][-1] > 0
    stop = StopRule(metric="evade", op=">=", value=2.0)
    lean = run_model(config, 5, columns=["refuse", "passive_evade"], stop=stop)
    assert list(lean.columns) == ["refuse", "passive_evade", "evade"]
    assert not lean.model.agents
    for name, values in lean.columns.items():
        assert values == full.columns[name]
    asked = ["junior_refuse", "cohort_refuse", "mean_alignment", "arrested_share"]
    for name, values in run_model(config, 5, columns=asked).columns.items():
        assert values == full.columns[name], name


def test_an_unknown_recorded_column_is_an_argument_error() -> None:
    from simulation.errors import ArgumentError
    from simulation.model.model import ArmyModel

    with pytest.raises(ArgumentError, match="record: unknown column"):
        ArmyModel(n_officers=100, seed=1, record=["refusal"])


LATIN_HYPERCUBE: dict[str, Any] = {
    "design": {"kind": "lhs", "samples": 4},
    "vary": {
        "drivers.incentive_level": {"low": 0, "high": 1},
        "drivers.punishment_severity": {"low": 0, "high": 4},
    },
    "replications": 2,
}


def every_input_inline(table: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The summary as it was written before the inputs moved out (a reference): one row per
    design point x measure x metric, every parameter of the point on each row."""
    from simulation.experiments.precision import mean_interval
    from simulation.vocabulary import split_metric

    records = []
    for point, group in table.groupby("point", sort=True):
        ok = group[group["status"] == "ok"]
        identity = {"point": int(point), "scenario": group.iloc[0]["scenario"]}
        identity |= {name: group.iloc[0][name] for name in manifest["parameters"]}
        for measure in manifest["measures"]:
            for metric in manifest["metrics"]:
                category, choice = split_metric(metric)
                values = ok[f"{measure}_{metric}"].to_numpy(dtype=float)
                mean, sd, low, high, n = mean_interval(values)
                records.append(
                    identity
                    | {"measure": measure, "category": category, "choice": choice}
                    | {"metric": metric, "n": n, "n_empty": len(ok) - n}
                    | {"n_failed": len(group) - len(ok), "mean": mean, "sd": sd}
                    | {"ci_low": low, "ci_high": high}
                )
    return pd.DataFrame.from_records(records)


@pytest.mark.parametrize(
    "design",
    [
        LATIN_HYPERCUBE,
        {**LATIN_HYPERCUBE, "design": {"kind": "sobol", "samples": 2}},
        {"design": {"kind": "prior", "samples": 3}, "vary": {}, "replications": 1},
    ],
    ids=["latin_hypercube", "sobol", "prior"],
)
def test_a_sampled_designs_summary_holds_no_input_columns(
    tmp_path: Path, design: dict[str, Any]
) -> None:
    from simulation.experiments.files import read_manifest

    out = sweep(experiment_file(tmp_path, **design), tmp_path / "out", "--workers", "1")
    manifest = read_manifest(out)
    header = pd.read_csv(out / "summary.csv", nrows=0).columns
    assert manifest["parameters"] and not set(manifest["parameters"]) & set(header)
    assert list(header) == [
        "point",
        "scenario",
        "measure",
        "category",
        "choice",
        "metric",
        *SUMMARY_COLUMNS,
    ]


def test_the_inputs_joined_back_give_exactly_the_rows_with_every_input_inline(
    tmp_path: Path,
) -> None:
    from simulation.experiments.files import read_manifest

    out = sweep(experiment_file(tmp_path, **LATIN_HYPERCUBE), tmp_path / "out", "--workers", "1")
    manifest = read_manifest(out)
    inputs = pd.read_parquet(out / "design.parquet")[["point", *manifest["parameters"]]]
    joined = pd.read_csv(out / "summary.csv").merge(inputs, on="point", how="left")
    expected = pd.read_csv(io.StringIO(every_input_inline(runs(out), manifest).to_csv(index=False)))
    pd.testing.assert_frame_equal(joined[expected.columns], expected)


def test_a_factorial_designs_summary_keeps_its_grid_values_on_every_row(tmp_path: Path) -> None:
    from simulation.experiments.files import read_manifest

    out = sweep(experiment_file(tmp_path), tmp_path / "out", "--workers", "1")
    manifest = read_manifest(out)
    expected = pd.read_csv(io.StringIO(every_input_inline(runs(out), manifest).to_csv(index=False)))
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), expected)


def test_a_sampled_designs_printed_summary_labels_points_by_their_drawn_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sweep(experiment_file(tmp_path, **LATIN_HYPERCUBE), tmp_path / "out", "--workers", "1")
    drawn = runs(out).sort_values("point").iloc[0]["drivers.incentive_level"]
    assert f"incentive_level={drawn:.4g}, punishment_severity=" in capsys.readouterr().out


def test_a_summary_written_with_every_input_inline_is_still_read_the_same(tmp_path: Path) -> None:
    """Folders summarised before the inputs moved out keep giving the same tables, labels and
    point tables (readers take an inline input when it is there)."""
    from simulation.analysis import results as rs
    from simulation.analysis.scenario_table import scenario_table
    from simulation.experiments.files import read_manifest

    out = sweep(experiment_file(tmp_path, **LATIN_HYPERCUBE), tmp_path / "out", "--workers", "1")

    def readings() -> tuple[pd.DataFrame, pd.DataFrame, dict[int, str]]:
        found = rs.Sweep(rs.open_results(out))
        return scenario_table(out), found.point_table("final", "overall"), found.point_labels()

    now = readings()
    every_input_inline(runs(out), read_manifest(out)).to_csv(out / "summary.csv", index=False)
    before = readings()
    pd.testing.assert_frame_equal(before[0], now[0])
    pd.testing.assert_frame_equal(before[1], now[1])
    assert before[2] == now[2] and "incentive_level=" in now[2][0]


def test_the_api_gives_each_points_inputs_beside_a_sampled_designs_summary(
    tmp_path: Path,
) -> None:
    from simulation import run_experiment

    experiment = yaml.safe_load(experiment_file(tmp_path, **LATIN_HYPERCUBE).read_text())
    result = run_experiment(experiment, workers=1, progress=False, cache=False)
    names = result.manifest["parameters"]
    assert not set(names) & set(result.summary.columns)
    first_runs = result.runs.drop_duplicates("point").sort_values("point")
    expected = first_runs[["point", *names]].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.inputs, expected)
