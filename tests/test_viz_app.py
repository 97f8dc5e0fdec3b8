"""The browser view without a browser: the model factory, the drawing and the page objects."""

from __future__ import annotations

from pathlib import Path

import ipywidgets
import numpy as np
import pytest
import solara

from simulation.config.loading import load_config
from simulation.config.schema import schedule_value
from simulation.viz.app import (
    CONFIG_ENV,
    LAUNCH_CONTROLS,
    MAX_VIEW_OFFICERS,
    ModelViews,
    Page,
    UnitRenderer,
    VizArmyModel,
    clip_group_shares,
    launch_scenario,
    model_params,
    scenario_files,
    viz_config,
)

FIGHT_ORDER = "configs/scenarios/fight_order.yaml"


def small(**controls: object) -> VizArmyModel:
    """A view model of 200 officers (moved away from the 2,000 start, so it applies)."""
    return VizArmyModel(n_officers=200, **controls)


def test_scenario_list_holds_the_yaml_files_of_configs_and_scenarios(repo: Path) -> None:
    listed = scenario_files()
    expected = sorted(p.name for p in (repo / "configs").glob("*.yaml"))
    expected += sorted(p.name for p in (repo / "configs" / "scenarios").glob("*.yaml"))
    assert [Path(entry).name for entry in listed] == expected
    assert listed[0].startswith("configs/")


def test_launch_scenario_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(repo / FIGHT_ORDER))
    assert launch_scenario() == FIGHT_ORDER


def test_launch_scenario_defaults_to_the_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert launch_scenario() == "configs/baseline.yaml"


def test_controls_left_at_their_start_keep_the_scenario_as_written(repo: Path) -> None:
    config, applied, messages = viz_config(FIGHT_ORDER, dict(LAUNCH_CONTROLS), LAUNCH_CONTROLS)
    assert config == load_config(repo / FIGHT_ORDER)
    assert (applied, messages) == ([], [])


def test_a_moved_war_order_slider_overrides_the_scenario() -> None:
    model = small(war_order_level=3)
    assert schedule_value(model.config.drivers.war_order_level, 0) == 3
    assert "war_order_level" in model.applied_controls


def test_group_shares_above_one_are_clipped_with_a_readable_message() -> None:
    shares, message = clip_group_shares(0.7, 0.5)
    assert shares == {"complicit": 0.7, "passive": 0.0, "dissenting": 0.3}
    assert message is not None and "exceed 1" in message


def test_clipped_group_shares_still_build_a_model() -> None:
    model = small(complicit_share=0.7, dissenting_share=0.5)
    assert model.config.population.group_shares["passive"] == 0.0
    assert any("exceed 1" in message for message in model.messages)


def test_moving_one_share_slider_keeps_the_scenarios_other_share(tmp_path: Path) -> None:
    scenario = tmp_path / "many_complicit.yaml"
    scenario.write_text(
        "population:\n  group_shares: {complicit: 0.3, passive: 0.5, dissenting: 0.2}\n"
    )
    config, applied, _ = viz_config(str(scenario), {"dissenting_share": 0.5}, LAUNCH_CONTROLS)
    assert config.population.group_shares == {"complicit": 0.3, "passive": 0.2, "dissenting": 0.5}
    assert applied == ["dissenting_share"]


def test_seed_typed_as_text_gives_the_same_run_as_the_number() -> None:
    as_text, as_number = small(seed="7", war_order_level=3), small(seed=7, war_order_level=3)
    for model in (as_text, as_number):
        model.step()
    assert as_text.seed == as_number.seed == 7
    assert np.array_equal(as_text.choice, as_number.choice)


def test_seed_that_is_not_a_number_falls_back_with_a_message() -> None:
    model = small(seed="forty-two")
    assert model.seed == LAUNCH_CONTROLS["seed"]
    assert any("not a whole number" in message for message in model.messages)


def test_scenario_too_big_to_draw_is_capped_with_a_message() -> None:
    config, _, messages = viz_config("configs/full_force.yaml", {}, LAUNCH_CONTROLS)
    assert config.population.n_officers == MAX_VIEW_OFFICERS
    assert any("65,000" in message for message in messages)


def test_unreadable_scenario_falls_back_to_the_defaults_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("population: {n_officers: -5}\n")
    config, _, messages = viz_config(str(broken), {}, LAUNCH_CONTROLS)
    assert config.population.n_officers == 2000
    assert any("defaults used" in message for message in messages)


def test_model_class_accepts_every_control_as_a_keyword() -> None:
    from mesa.visualization.solara_viz import _check_model_params

    _check_model_params(VizArmyModel.__init__, model_params())


def test_drawing_has_one_marker_per_serving_officer() -> None:
    model = small()
    renderer = UnitRenderer(model)
    drawn = sum(len(c.get_offsets()) for c in renderer.canvas.collections[1:])
    assert drawn == model.stats["n_active"]


def test_commanders_are_drawn_larger_than_other_officers() -> None:
    model = small()
    renderer = UnitRenderer(model)
    sizes = np.concatenate([c.get_sizes() for c in renderer.canvas.collections[1:]])
    assert np.sort(sizes)[-model.n_units :].min() > np.median(sizes)
    assert (sizes > np.median(sizes)).sum() == model.is_commander.sum()


def test_views_redraw_officers_and_chart_after_a_step() -> None:
    from mesa.visualization.utils import force_update

    model = small(war_order_level=3)
    _, rc = solara.render(ModelViews(model), handle_error=False)
    before = [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]
    model.step()
    force_update()
    after = [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]
    assert len(before) == 2
    assert all(b != a for b, a in zip(before, after, strict=True))


def test_page_renders_its_model_views() -> None:
    from solara.widgets.widgets import HTML

    _, rc = solara.render(Page(), handle_error=False)
    assert len(rc.find(ipywidgets.Image).widgets) == 2
    html = "".join(widget.unsafe_innerHTML for widget in rc.find(HTML).widgets)
    assert "<b>Progress:</b> 0 of 120" in html
