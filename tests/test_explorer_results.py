"""Reading results folders back for the explorer and the report, and replaying their runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from explorer_support import grid_sweep, orders_sweep

from simulation.analysis import charts
from simulation.analysis import results as rs
from simulation.errors import ResultsError
from simulation.viz import echarts
from simulation.viz.figure import as_json
from simulation.viz.view_model import ViewModel


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sweep of two scenarios (one from its own config file) with series."""
    return orders_sweep(tmp_path_factory.mktemp("explorer") / "orders")


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small two-parameter grid without series."""
    return grid_sweep(tmp_path_factory.mktemp("explorer") / "grid")


def final_values(model: ViewModel, metrics: list[str]) -> dict[str, float]:
    columns = model.datacollector.model_vars
    return {metric: float(columns[metric][-1]) for metric in metrics}


def test_every_recorded_run_replays_to_exactly_its_recorded_final_shares(orders: Path) -> None:
    sweep = rs.Sweep(rs.open_results(orders))
    for run_index in sweep.runs["run_index"]:
        spec = sweep.replay(int(run_index))
        model = ViewModel(spec.config.model_copy(update={"steps": spec.steps}), spec.seed)
        while not model.finished:
            model.step()
        assert final_values(model, list(spec.recorded)) == spec.recorded, run_index


def test_replay_needs_only_the_folder_not_the_files_the_experiment_named(
    orders: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for item in orders.iterdir():
        if item.is_file():
            (moved / item.name).write_bytes(item.read_bytes())
    text = (moved / "experiment.yaml").read_text()
    (moved / "experiment.yaml").write_text(text.replace("configs/", "no-such-folder/"))
    spec = rs.Sweep(rs.open_results(moved)).replay(7)
    assert spec.recorded == rs.Sweep(rs.open_results(orders)).replay(7).recorded
    assert spec.seed == int(rs.Sweep(rs.open_results(orders)).run_row(7)["seed"])


def test_replay_of_a_run_that_is_not_recorded_names_the_run(orders: Path) -> None:
    with pytest.raises(ResultsError, match="no run 999"):
        rs.Sweep(rs.open_results(orders)).replay(999)


def test_point_table_gives_mean_and_interval_per_choice_in_percent(orders: Path) -> None:
    table = rs.Sweep(rs.open_results(orders)).point_table("final", "dissenting")
    assert list(table["scenario"]) == ["support", "support", "fight", "fight"]
    assert {"refuse %", "refuse 95% CI"} <= set(table.columns)
    assert table["refuse 95% CI"].str.endswith("%").all()
    assert (table["runs"] == 3).all()


def test_a_folder_of_an_unknown_kind_is_read_with_its_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "ensemble", "size": 12}))
    results = rs.open_results(tmp_path)
    assert results.kind == "ensemble"
    assert ("size", "12") in results.manifest_rows()
    assert not results.holds_sweep


@pytest.mark.parametrize(
    "manifest", ["not json", "[1, 2]", "{}", '{"kind": 3}'], ids=["text", "list", "empty", "kind"]
)
def test_a_damaged_manifest_is_one_readable_error(tmp_path: Path, manifest: str) -> None:
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(ResultsError, match="manifest.json"):
        rs.open_results(tmp_path)


def test_a_results_file_that_is_a_device_is_refused_unread(orders: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "manifest.json").write_text((orders / "manifest.json").read_text())
    os.symlink("/dev/zero", folder / "summary.csv")
    with pytest.raises(ResultsError, match="summary.csv is not a regular file"):
        rs.read_csv(folder / "summary.csv", folder)


def test_find_results_lists_nested_folders_but_not_parts(orders: Path) -> None:
    found = rs.find_results(orders.parent)
    assert orders in found
    assert not any(path.name in ("parts", "figures") for path in found)


def test_a_factorial_sweep_gets_a_chart_against_its_parameter_per_scenario(orders: Path) -> None:
    sweep = rs.Sweep(rs.open_results(orders))
    found = rs.sweep_charts(sweep, "final", "group", "fight")
    assert [chart.key for chart in found] == ["parameter"]
    assert [panel.title for panel in found[0].panels] == [
        "all officers",
        "complicit",
        "passive",
        "dissenting",
    ]


def test_ranks_are_a_breakdown_when_the_sweep_recorded_them(orders: Path) -> None:
    sweep = rs.Sweep(rs.open_results(orders))
    assert rs.breakdowns(sweep) == ["group", "rank"]
    chart = rs.sweep_charts(sweep, "final", "rank", "fight")[0]
    assert [panel.title for panel in chart.panels] == ["all officers", "senior", "junior"]


def test_two_parameters_give_a_heatmap_with_a_cell_per_design_point(grid: Path) -> None:
    sweep = rs.Sweep(rs.open_results(grid))
    heatmap = rs.sweep_charts(sweep, "final", "group")[0]
    assert heatmap.key == "heatmap"
    ids = {cell for panel in heatmap.panels for row in panel.ids for cell in row}
    assert ids == set(range(6))


def test_envelopes_cover_each_design_point_with_its_replications(orders: Path) -> None:
    sweep = rs.Sweep(rs.open_results(orders))
    chart = rs.sweep_envelopes(sweep, [0, 3], "overall")
    assert [panel.title.split(" (")[1] for panel in chart.panels] == ["3 runs)", "3 runs)"]
    band = chart.panels[0].series[0]
    bounds = zip(band.low, band.values, band.high, strict=True)
    assert all(lo <= mid <= hi for lo, mid, hi in bounds)


def test_a_sweep_without_series_has_no_envelopes(grid: Path) -> None:
    assert rs.sweep_envelopes(rs.Sweep(rs.open_results(grid)), [0], "overall") is None


def test_trace_of_runs_without_series_replays_them(grid: Path) -> None:
    sweep = rs.Sweep(rs.open_results(grid))
    row = sweep.run_row(3)
    trace = rs.trace_of_runs(sweep, [3], "run 3", ["comply", "evade", "refuse"])
    assert trace.middle["refuse"][-1] == pytest.approx(row["final_refuse"], abs=0)
    assert len(trace.steps) == 11


def test_every_chart_becomes_an_echarts_option_without_nan(orders: Path, grid: Path) -> None:
    found = []
    for folder in (orders, grid):
        sweep = rs.Sweep(rs.open_results(folder))
        for measure in sweep.measures:
            found += rs.sweep_charts(sweep, measure, "group", sweep.scenarios[0])
    found.append(rs.sweep_envelopes(rs.Sweep(rs.open_results(orders)), [0, 1], "passive"))
    for chart in found:
        text = as_json(echarts.option(chart).option)
        assert "NaN" not in text


def test_a_click_on_a_heatmap_cell_names_its_design_point(grid: Path) -> None:
    heatmap = rs.sweep_charts(rs.Sweep(rs.open_results(grid)), "final", "group")[0]
    data = echarts.option(heatmap).option["series"][0]["data"][4]
    assert echarts.clicked_id(heatmap, {"data": data, "dataIndex": 4}) == data[3]


def test_a_click_on_a_line_point_names_its_design_point(orders: Path) -> None:
    chart = rs.sweep_charts(rs.Sweep(rs.open_results(orders)), "final", "group", "fight")[0]
    event = {"seriesName": "refuse", "data": [2.0, 18.0], "dataIndex": 1}
    assert echarts.clicked_id(chart, event) == 3


def test_missing_values_stay_gaps_in_charts() -> None:
    assert charts.numbers([0.5, float("nan"), None, np.inf]) == [0.5, None, None, None]


def test_a_replayed_fight_run_is_described_by_its_own_war_orders(orders: Path) -> None:
    from simulation.viz.model_view import source_caption
    from simulation.viz.scenarios import replay_source

    sweep = rs.Sweep(rs.open_results(orders))
    fight = sweep.runs[sweep.runs["scenario"] == "fight"]["run_index"].iloc[0]
    source = replay_source(sweep.replay(int(fight)))
    assert source.config.description.startswith("Support role")  # inherited from its base
    assert source_caption(source) == (
        "Replayed run. War orders: level 1 (support role for Russian forces) from month 0, "
        "then level 3 (order to fight in Ukraine) from month 12."
    )


def test_a_series_recorded_every_few_months_is_drawn_as_marked_samples(orders: Path) -> None:
    from simulation.viz.explorer import marked_samples

    sweep = rs.Sweep(rs.open_results(orders))
    chart = marked_samples(rs.sweep_envelopes(sweep, [0], "overall"))
    assert chart.points
    assert chart.caption.endswith(
        "Recorded at months 0, 1, 3, 6, ... (every 3, and the order's month and the month "
        "after it; the dots): the lines only join the samples, so a change between two "
        "samples shows first at the next one. Record every month with record_every: 1 in the "
        "experiment."
    )
    assert echarts.option(chart).option["series"][0]["showSymbol"] is True


def test_a_monthly_series_is_drawn_as_plain_lines() -> None:
    from simulation.viz.explorer import marked_samples

    panel = charts.Panel(
        "all officers", [0.0, 1.0, 2.0], [charts.Series("comply", "#000", [1, 1, 1])]
    )
    chart = charts.LineChart("envelope", "t", "step (month)", "share", [panel])
    assert marked_samples(chart) is chart


@pytest.mark.parametrize(
    ("measure", "label"),
    [
        ("at_order_plus_12", "share 12 months after the order"),
        ("at_order_plus_1", "share 1 month after the order"),
        ("final", "final share"),
        ("mean", "mean"),
    ],
)
def test_measures_are_labelled_in_words(measure: str, label: str) -> None:
    assert charts.measure_label(measure) == label
