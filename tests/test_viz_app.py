"""The browser view without a browser: scenarios, controls, the session's actions, the
model's drawing and its officers' reasons, and the pages rendered by Solara."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import solara

from simulation.config.loading import load_config
from simulation.config.schema import schedule_value
from simulation.model.decision import choice_utilities
from simulation.viz import scenarios, state
from simulation.viz.scenarios import (
    BUILT_IN,
    CONFIG_ENV,
    CONTROLS,
    MAX_VIEW_OFFICERS,
    SCENARIOS_ENV,
    Source,
    UnlistedScenarioError,
    build_run,
    clip_group_shares,
    control_values,
    describe_control,
    driver_changes,
    launch_entry,
    scenario_entries,
    scenario_source,
)
from simulation.viz.view_model import (
    ViewModel,
    inspect_officer,
    officers_figure,
    rates_figure,
    unit_network,
    units_figure,
)

FIGHT_ORDER = "configs/scenarios/fight_order.yaml"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    """A page session of its own, listing the repository's configs."""
    monkeypatch.chdir(repo)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)
    solara.render(solara.Text("session"), handle_error=False)
    for reactive in (state.model, state.source, state.error, state.selected_officer):
        reactive.value = None
    state.start(small(FIGHT_ORDER))


def small(entry: str, officers: int = 200) -> Source:
    """A listed scenario cut to `officers` officers (fast)."""
    source = scenario_source(entry)
    population = source.config.population.model_copy(update={"n_officers": officers})
    config = source.config.model_copy(update={"population": population})
    return Source(source.label, config, source.seed)


# ---------------------------------------------------------------------------- scenarios


def test_the_list_holds_the_scenarios_of_configs_and_scenarios_then_the_defaults(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)
    listed = list(scenario_entries())
    expected = sorted(p.name for p in (repo / "configs").glob("*.yaml") if p.name != "priors.yaml")
    expected += sorted(p.name for p in (repo / "configs" / "scenarios").glob("*.yaml"))
    assert [Path(entry).name for entry in listed[:-1]] == expected
    assert listed[-1] == BUILT_IN


def test_priors_and_targets_files_are_not_offered_as_scenarios(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, str(repo / "configs"))
    assert "configs/priors.yaml" not in scenario_entries()
    monkeypatch.setenv(SCENARIOS_ENV, str(repo / "configs" / "targets"))
    assert list(scenario_entries()) == [BUILT_IN]


def test_a_yaml_file_that_cannot_be_read_stays_listed_to_show_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo.yaml").write_text("drivers: {war_order_level: [\n")
    monkeypatch.setenv(SCENARIOS_ENV, str(tmp_path))
    assert f"{tmp_path.name}/typo.yaml" in scenario_entries()


def test_without_a_configs_folder_the_page_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    source = scenario_source(launch_entry())
    assert source.messages[0] == (
        f"no configs folder at {tmp_path / 'configs'}: only the built-in defaults are offered "
        f"(start the view with --configs DIR, or set {SCENARIOS_ENV}=DIR)"
    )


def test_the_page_starts_with_the_command_lines_scenario(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setenv(CONFIG_ENV, str(repo / FIGHT_ORDER))
    assert launch_entry() == FIGHT_ORDER


def test_the_page_starts_with_the_baseline_by_default(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert launch_entry() == "configs/baseline.yaml"


@pytest.mark.parametrize(
    "entry", ["/etc/passwd", "/dev/zero", "configs/../configs/baseline.yaml", "", None]
)
def test_a_scenario_that_is_not_listed_is_refused_unread(entry: object, session: None) -> None:
    with pytest.raises(UnlistedScenarioError):
        scenario_source(entry)  # type: ignore[arg-type]


def test_choosing_an_unlisted_path_keeps_the_run_and_says_refused(session: None) -> None:
    before = state.model.value
    state.choose_scenario("/dev/zero")
    assert state.model.value is before
    assert state.error.value == "refused: the browser view opens only the scenarios it lists"


def test_a_listed_file_that_fails_validation_runs_the_defaults_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.yaml").write_text("population: {n_officers: -5}\n")
    monkeypatch.setenv(SCENARIOS_ENV, str(tmp_path))
    source = scenario_source(f"{tmp_path.name}/broken.yaml")
    assert source.config.population.n_officers == 2000
    assert "defaults used" in source.messages[0] and "n_officers" in source.messages[0]


def test_a_listed_file_too_large_to_be_a_config_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "huge.yaml").write_text("# " + "x" * (scenarios.SCENARIO_FILE_LIMIT + 10))
    monkeypatch.setenv(SCENARIOS_ENV, str(tmp_path))
    source = scenario_source(f"{tmp_path.name}/huge.yaml")
    assert source.config.population.n_officers == 2000
    assert "larger than" in source.messages[0]


def test_a_scenario_too_big_to_draw_is_cut_with_a_note(session: None) -> None:
    source = scenario_source("configs/full_force.yaml")
    assert source.config.population.n_officers == 1500  # 65,000 cut to 9,750 in proportion
    assert "65,000" in source.messages[0]


# ---------------------------------------------------------------------------- controls


def test_every_slider_has_a_description_from_the_schema() -> None:
    assert all(describe_control(control) for control in CONTROLS)


def test_choosing_a_scenario_sets_the_sliders_to_its_values(session: None) -> None:
    state.choose_scenario("configs/full_force.yaml")
    cut = state.model.value.config
    assert state.controls.value["n_officers"] == cut.population.n_officers
    assert cut.n_personnel == 9750 <= MAX_VIEW_OFFICERS
    assert state.controls.value == control_values(state.model.value.config)


def test_controls_left_at_the_sources_values_keep_it_as_written(repo: Path) -> None:
    source = Source("x", load_config(repo / FIGHT_ORDER), 42)
    built = build_run(source, control_values(source.config), str(source.seed))
    assert built.config == source.config
    assert (built.applied, built.messages) == ([], [])


def test_a_moved_war_order_slider_replaces_the_schedule_by_a_constant(repo: Path) -> None:
    source = Source("x", load_config(repo / FIGHT_ORDER), 42)
    controls = {**control_values(source.config), "war_order_level": 3}
    built = build_run(source, controls, "42")
    assert built.config.drivers.war_order_level == 3
    assert built.applied == ["war_order_level"]


def test_group_shares_above_one_are_clipped_with_a_message() -> None:
    shares, message = clip_group_shares(0.7, 0.5)
    assert shares == {"complicit": 0.7, "passive": 0.0, "dissenting": 0.3}
    assert message is not None and "exceed 1" in message


def test_a_seed_that_is_not_a_number_keeps_the_runs_seed_with_a_message(repo: Path) -> None:
    source = Source("x", load_config(repo / FIGHT_ORDER), 42)
    built = build_run(source, control_values(source.config), "forty-two")
    assert built.seed == 42
    assert "not a whole number" in built.messages[0]


def test_a_typed_seed_gives_the_same_run_as_the_number(repo: Path) -> None:
    source = Source("x", load_config(repo / FIGHT_ORDER), 42)
    as_text = build_run(source, control_values(source.config), " 7 ")
    assert as_text.seed == 7 and as_text.applied == ["seed"]


# ---------------------------------------------------------------------------- actions


def test_reset_starts_the_run_again_at_month_zero_with_a_new_model(session: None) -> None:
    state.step(5)
    old = state.model.value
    state.reset()
    assert state.model.value is not old
    assert state.model.value.steps == 0
    assert json.loads(json.dumps(officers_figure(state.model.value)))["title"]["text"].startswith(
        "Month 0:"
    )


def test_a_slider_changed_then_reset_runs_with_it(session: None) -> None:
    state.set_control("war_order_level", 3)
    assert state.pending_changes() == ["war_order_level"]
    state.reset()
    assert state.model.value.config.drivers.war_order_level == 3
    assert state.applied.value == ("war_order_level",)
    assert state.pending_changes() == []


def test_going_back_to_a_month_gives_the_same_state_as_stepping_to_it(session: None) -> None:
    state.go_to(15)
    at_fifteen = state.model.value.choice.copy()
    state.go_to(20)
    state.go_to(15)
    assert state.model.value.steps == 15
    assert np.array_equal(state.model.value.choice, at_fifteen)


def test_a_run_stops_at_its_last_month(session: None) -> None:
    state.go_to(10_000)
    model = state.model.value
    assert model.steps == model.horizon == 60
    state.step()
    assert model.steps == 60 and model.finished


def test_an_unexpected_failure_is_one_line_on_the_page(session: None) -> None:
    @state.guarded
    def explode() -> None:
        raise KeyError("secret internals")

    explode()
    assert state.error.value == "explode failed (KeyError); the details are in the server's log"


# ---------------------------------------------------------------------------- the model


def test_the_drawing_has_one_officer_per_serving_officer(repo: Path) -> None:
    model = ViewModel(load_config(repo / FIGHT_ORDER, {"population.n_officers": 300}), 1)
    option = officers_figure(model)
    drawn = [row[2] for series in option["series"][1:] for row in series["data"]]
    assert sorted(drawn) == list(np.flatnonzero(model.active))


def test_inspection_gives_the_utilities_the_decision_rule_computed(repo: Path) -> None:
    model = ViewModel(load_config(repo / FIGHT_ORDER, {"population.n_officers": 300}), 1)
    for _ in range(14):
        model.step()
    refusing = int(np.flatnonzero(model.choice == 2)[0])
    report = inspect_officer(model, refusing)
    rules = (None, model.config.exit, model.config.consequences.evader_sanctions)
    decision = model.config.decision
    expected = choice_utilities(model.attitudes, model.decided_in, decision, *rules)[refusing]
    assert list(report.utilities.values()) == pytest.approx(list(expected), abs=0)
    assert report.choice == "refuse" and "he chose to refuse" in report.verdict
    assert sum(report.probabilities.values()) == pytest.approx(1.0)


def test_inspection_before_any_decision_says_so(repo: Path) -> None:
    model = ViewModel(load_config(repo / FIGHT_ORDER, {"population.n_officers": 300}), 1)
    report = inspect_officer(model, 0)
    assert not report.decided and "everyone starts by complying" in report.verdict


def test_rates_mark_the_month_a_driver_changes(repo: Path) -> None:
    config = load_config(repo / FIGHT_ORDER, {"population.n_officers": 300})
    assert driver_changes(config) == [(12, "orders 3: order to fight in Ukraine")]
    option = rates_figure(ViewModel(config, 1), "rank").option
    marks = option["series"][0]["markLine"]["data"]
    assert marks == [
        {
            "xAxis": 12.0,
            "label": {
                "formatter": "orders 3: order to fight in Ukraine",
                "position": "insideEndTop",
                "fontSize": 10,
            },
        }
    ]
    assert [title["text"] for title in option["title"][1:]] == [
        "all officers",
        "senior",
        "field",
        "junior",
    ]


def test_units_view_counts_every_cross_unit_tie_once(repo: Path) -> None:
    model = ViewModel(load_config(repo / FIGHT_ORDER, {"population.n_officers": 400}), 3)
    network = unit_network(model)
    unit = model.unit
    ties = model.cross_ties.tocoo()
    across = sum(1 for a, b in zip(ties.row, ties.col, strict=True) if a < b and unit[a] != unit[b])
    assert sum(count for _, _, count in network.ties) == across
    assert len(units_figure(model)["series"][0]["data"]) == model.n_units


def test_the_view_model_keeps_the_schedule_of_the_model(repo: Path) -> None:
    config = load_config(repo / FIGHT_ORDER, {"population.n_officers": 200})
    model = ViewModel(config, 5)
    for _ in range(13):
        model.step()
    assert model.drivers["war_order_level"] == schedule_value(config.drivers.war_order_level, 13)


# ---------------------------------------------------------------------------- pages


def test_the_model_page_renders_its_views(session: None) -> None:
    from simulation.viz.figure import EchartsWidget
    from simulation.viz.model_view import ModelPage

    _, rendered = solara.render(ModelPage(), handle_error=False)
    classes = {w.attributes["class"] for w in rendered.find(EchartsWidget).widgets}
    assert classes == {"ra-officers", "ra-rates"}


def test_the_explorer_page_renders_with_no_results_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from solara.widgets.widgets import HTML

    from simulation.cli.explore import RESULTS_ENV
    from simulation.viz.explorer import ExplorerPage

    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    _, rendered = solara.render(ExplorerPage(), handle_error=False)
    assert rendered.find(HTML).widgets
    assert scenarios.config_dir().name == "configs"


def test_a_view_that_fails_shows_one_line_not_a_traceback(
    session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipyvuetify

    from simulation.viz import model_view

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr(model_view, "officers_figure", broken)
    _, rendered = solara.render(model_view.ModelPage(), handle_error=False)
    alerts = [str(w.children) for w in rendered.find(ipyvuetify.Alert).widgets]
    assert any("the model view failed (RuntimeError)" in text for text in alerts)
    assert not any("Traceback" in text or "internal detail" in text for text in alerts)


def test_a_damaged_results_folder_is_one_line_in_the_explorer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipyvuetify

    from simulation.cli.explore import RESULTS_ENV
    from simulation.viz import explorer

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "manifest.json").write_text(json.dumps({"kind": "sweep", "metrics": ["refuse"]}))
    (damaged / "runs.parquet").write_text("not a parquet file")
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    explorer.folder.value = None
    _, rendered = solara.render(explorer.ExplorerPage(), handle_error=False)
    alerts = [str(w.children) for w in rendered.find(ipyvuetify.Alert).widgets]
    assert any("cannot read runs.parquet (" in text for text in alerts)
    assert not any("Traceback" in text for text in alerts)


def test_inspecting_a_mobilised_reservist_names_his_category() -> None:
    source = scenario_source("configs/scenarios/mobilisation.yaml")
    model = ViewModel(source.config, 1)
    for _ in range(14):
        model.step()
    soldier = inspect_officer(model, model.n_agents - 1)
    assert soldier.rank == "territorial defence" and not soldier.commander
    assert inspect_officer(model, 0).rank.endswith(" rank")


# ---------------------------------------------------------------------------- rough edges


def test_war_orders_are_described_with_the_level_in_force_at_the_month(repo: Path) -> None:
    from simulation.viz.scenarios import war_orders_text

    config = load_config(repo / FIGHT_ORDER)
    assert war_orders_text(config, 24) == (
        "War orders: level 1 (support role for Russian forces) from month 0, then level 3 "
        "(order to fight in Ukraine) from month 12; at month 24: level 3 (order to fight in "
        "Ukraine)."
    )


def test_unit_types_with_their_own_orders_are_described_too(repo: Path) -> None:
    from simulation.viz.scenarios import war_orders_text

    config = load_config(repo / "configs/scenarios/elite_units_fight.yaml")
    assert war_orders_text(config, 12).endswith(
        "Special operations units: level 1 (support role for Russian forces) from month 0, "
        "then level 3 (order to fight in Ukraine) from month 12; at month 12: level 3 (order "
        "to fight in Ukraine)."
    )


def test_a_reserve_not_yet_called_up_leaves_no_empty_blocks(repo: Path) -> None:
    source = scenario_source("configs/scenarios/mobilisation.yaml")
    model = ViewModel(source.config, 1)
    layout = model.layout
    width, height = layout.size
    serving = int(model.active.sum())
    assert serving / (width * height) > 0.5  # was under 0.15: reservists' posts drawn empty


def test_a_call_up_makes_a_new_layout_with_a_place_for_everyone(repo: Path) -> None:
    model = ViewModel(scenario_source("configs/scenarios/mobilisation.yaml").config, 1)
    before = model.layout
    for _ in range(13):
        model.step()
    after = model.layout
    assert after is not before
    assert (after.xy[model.active] >= 0).all()
    cells = {tuple(cell) for cell in after.xy[model.active]}
    assert len(cells) == int(model.active.sum())


def test_officers_keep_their_places_while_no_one_is_called_up(session: None) -> None:
    model = state.model.value
    before = model.layout
    for _ in range(3):
        model.step()
    assert model.layout is before


def test_the_officers_slider_names_the_scenarios_size_when_the_view_cuts_it() -> None:
    from simulation.viz.model_view import cut_note

    source = scenario_source("configs/scenarios/mobilisation.yaml")
    officers = next(c for c in CONTROLS if c.name == "n_officers")
    shown = source.config.population.n_officers
    assert cut_note(officers, shown, source) == ("(of the scenario's 10,000: cut to fit the view)")
    assert cut_note(officers, shown + 100, source) == ""


def test_the_officer_tooltip_is_a_template_filled_in_the_browser(session: None) -> None:
    option = officers_figure(state.model.value)
    assert option["tooltip"]["template"] == "officer {2}: {a}"
    assert "formatter" not in option["tooltip"]


def test_the_summary_shows_an_emptied_group_as_empty_not_as_nan(repo: Path) -> None:
    from simulation.viz.model_view import summary_rows

    config = load_config(
        repo / FIGHT_ORDER,
        {
            "population.n_officers": 100,
            "population.group_shares": {"complicit": 0.2, "passive": 0.8, "dissenting": 0.0},
        },
    )
    model = ViewModel(config, 1)
    rows = dict(summary_rows(model))
    assert rows["Dissenting"] == "empty (0 serving)"
    assert "nan" not in " ".join(rows.values())
