"""Browser view (Mesa SolaraViz): officers by unit, coloured by choice, and the rates over time.

Start it with ``reluctant-army viz [configs/X.yaml]`` or ``solara run simulation/viz/app.py``.
The scenario given on the command line, and the folder of configs the page lists, reach
this module through environment variables (Solara imports the app file itself, so there
is no other channel); without them the page lists ``./configs`` and starts with its
``baseline.yaml``, or with the built-in defaults.

Every browser session builds its own model inside :func:`Page`: Mesa's usual pattern of a
module-level model would let one tab step another tab's model.

SolaraViz re-creates the model on Reset as ``model_class(**slider_values)``.
:class:`VizArmyModel` turns those keyword arguments into config overrides. A control
overrides the chosen scenario only when the user moved it away from its starting value,
so that picking another scenario in the list runs that scenario as written.
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import solara
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from simulation.cli.viz import CONFIG_ENV, SCENARIOS_ENV
from simulation.config.loading import load_config
from simulation.config.schema import SimulationConfig, schedule_value
from simulation.errors import ConfigError
from simulation.model.agents import Officer
from simulation.model.model import ArmyModel
from simulation.vocabulary import (
    CHOICE_COLOURS,
    CHOICES,
    GROUP_MARKERS,
    GROUPS,
    WAR_ORDER_LEVELS,
)

with warnings.catch_warnings():
    # Mesa 3.3.1's own ComponentsView breaks a Solara hook rule harmlessly; the warning
    # would greet every user of the view.
    warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite")
    from mesa.visualization import Slider, SolaraViz, SpaceRenderer
    from mesa.visualization.components import AgentPortrayalStyle
    from mesa.visualization.solara_viz import SpaceRendererComponent
    from mesa.visualization.utils import update_counter

CONFIG_DIR = Path(os.environ.get(SCENARIOS_ENV) or Path.cwd() / "configs").resolve()
"""The folder whose configs (and scenarios/ subfolder) the page lists."""
ROOT = CONFIG_DIR.parent
"""Scenario paths are shown relative to this folder (e.g. configs/baseline.yaml)."""
BUILT_IN = "built-in defaults"
"""The scenario entry that stands for the schema's defaults (no file)."""
MAX_VIEW_OFFICERS = 10_000
"""Above this the drawing gets slow (seconds per step); the view caps scenarios to it."""

UNIT_COLORS: dict[str, str] = {"regular": "#F2F2F2", "special_operations": "#DCE7F3"}
COMMANDER_EDGE = "#111111"

SLIDER_KEYS: dict[str, str] = {
    "war_order_level": "drivers.war_order_level",
    "detection_capacity": "drivers.detection_capacity",
    "punishment_severity": "drivers.punishment_severity",
    "incentive_level": "drivers.incentive_level",
    "russian_propaganda": "drivers.russian_propaganda",
    "n_officers": "population.n_officers",
}
"""Model keyword -> config key, for the controls that map one to one."""

CONTROL_LABELS: dict[str, str] = {
    "war_order_level": "war-order level",
    "detection_capacity": "detection capacity",
    "punishment_severity": "punishment severity",
    "incentive_level": "incentive level",
    "russian_propaganda": "Russian propaganda",
    "n_officers": "officers",
    "complicit_share": "complicit share",
    "dissenting_share": "dissenting share",
    "seed": "seed",
}


# ---------------------------------------------------------------------------- scenarios


def scenario_files(config_dir: Path = CONFIG_DIR) -> list[str]:
    """YAML files of the configs folder and its scenarios/, as the list shows them."""
    found: list[Path] = []
    for folder in (config_dir, config_dir / "scenarios"):
        found += sorted(p for p in folder.glob("*.y*ml") if p.is_file())
    return [display_path(p) for p in found]


def display_path(path: str | Path) -> str:
    """A scenario path as the list shows it: relative to the configs' parent when inside it."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(ROOT).as_posix()
    except ValueError:
        return str(resolved)


def resolve_scenario(scenario: str) -> Path | None:
    """The file behind a scenario entry (relative to the configs' parent); None for the
    built-in defaults."""
    if scenario == BUILT_IN:
        return None
    path = Path(scenario)
    return path if path.is_absolute() else ROOT / path


def launch_scenario() -> str:
    """The scenario the page starts with: the command line's file, else the configs'
    baseline.yaml, else the built-in defaults."""
    given = os.environ.get(CONFIG_ENV)
    if given:
        return display_path(given)
    baseline = CONFIG_DIR / "baseline.yaml"
    return display_path(baseline) if baseline.is_file() else BUILT_IN


def scenario_choices(launch: str) -> list[str]:
    """Scenario list for the Select: files in configs/, plus the launch file if elsewhere."""
    choices = [*scenario_files(), BUILT_IN]
    return choices if launch in choices else [launch, *choices]


def _first_value(schedule: Any) -> float:
    return schedule_value(schedule, 0)


def control_values(config: SimulationConfig) -> dict[str, Any]:
    """The controls' values that reproduce `config` (a schedule shows its starting value)."""
    drivers = config.drivers
    shares = config.population.group_shares
    return {
        "war_order_level": int(_first_value(drivers.war_order_level)),
        "detection_capacity": _first_value(drivers.detection_capacity),
        "punishment_severity": _first_value(drivers.punishment_severity),
        "incentive_level": _first_value(drivers.incentive_level),
        "russian_propaganda": _first_value(drivers.russian_propaganda),
        "complicit_share": shares["complicit"],
        "dissenting_share": shares["dissenting"],
        "n_officers": min(config.population.n_officers, MAX_VIEW_OFFICERS),
        "seed": config.seed,
    }


def load_launch_controls(scenario: str) -> dict[str, Any]:
    """Starting values of the controls: the launch scenario's, or the defaults if unreadable."""
    try:
        config = load_config(resolve_scenario(scenario))
    except ConfigError:
        config = SimulationConfig()
    return control_values(config)


def parse_seed(seed: int | str | None) -> int | None:
    """The seed as an integer (an edited InputText returns a string); None if not a number."""
    if isinstance(seed, bool):
        return None
    if isinstance(seed, int):
        return seed if seed >= 0 else None
    try:
        value = int(str(seed).strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def clip_group_shares(complicit: float, dissenting: float) -> tuple[dict[str, float], str | None]:
    """Group shares from the two sliders; passive is the remainder.

    If complicit + dissenting exceed 1, dissenting is cut to what is left, and the
    returned message says so.
    """
    complicit = float(np.clip(complicit, 0.0, 1.0))
    dissenting = float(np.clip(dissenting, 0.0, 1.0))
    message = None
    if complicit + dissenting > 1.0:
        message = (
            f"complicit {complicit:.2f} + dissenting {dissenting:.2f} exceed 1: "
            f"dissenting cut to {1.0 - complicit:.2f}, no passive officers"
        )
        dissenting = 1.0 - complicit
    passive = max(0.0, 1.0 - complicit - dissenting)
    return {
        "complicit": round(complicit, 6),
        "passive": round(passive, 6),
        "dissenting": round(dissenting, 6),
    }, message


def _same(name: str, value: Any, start: Any) -> bool:
    """Whether a control still has its starting value (the seed may come back as text)."""
    if name == "seed":
        return parse_seed(value) == start
    return value == start


def viz_config(
    scenario: str, controls: dict[str, Any], launch: dict[str, Any]
) -> tuple[SimulationConfig, list[str], list[str]]:
    """The config a Reset builds: the scenario, with the controls the user moved.

    Returns (config, names of the controls applied, messages for the user). Never raises
    for a bad scenario or slider combination: it falls back and says why, since an
    exception inside Reset would leave the page without a model.
    """
    messages: list[str] = []
    path: Path | None = resolve_scenario(scenario)
    try:
        base = load_config(path)
    except ConfigError as error:
        messages.append(f"{error}; built-in defaults used instead")
        base, path = SimulationConfig(), None

    moved = {
        name: value
        for name, value in controls.items()
        if value is not None and name in launch and not _same(name, value, launch[name])
    }
    overrides: dict[str, Any] = {}
    applied: list[str] = []
    for name, key in SLIDER_KEYS.items():
        if name in moved:
            whole = name in ("war_order_level", "n_officers")
            overrides[key] = int(moved[name]) if whole else float(moved[name])
            applied.append(name)
    if "complicit_share" in moved or "dissenting_share" in moved:
        scenario_shares = base.population.group_shares
        shares, clipped = clip_group_shares(
            moved.get("complicit_share", scenario_shares["complicit"]),
            moved.get("dissenting_share", scenario_shares["dissenting"]),
        )
        overrides["population.group_shares"] = shares
        applied += [n for n in ("complicit_share", "dissenting_share") if n in moved]
        if clipped:
            messages.append(clipped)
    seed = None
    if "seed" in moved:
        seed = parse_seed(moved["seed"])
        if seed is None:
            messages.append(
                f"seed {moved['seed']!r} is not a whole number >= 0: scenario seed used"
            )
        else:
            applied.append("seed")

    try:
        config = load_config(path, overrides, seed=seed) if overrides or seed is not None else base
    except ConfigError as error:
        messages.append(f"{error}; the controls were ignored")
        config, applied = base, []
    if config.population.n_officers > MAX_VIEW_OFFICERS:
        messages.append(
            f"the scenario has {config.population.n_officers:,} officers; the view draws at "
            f"most {MAX_VIEW_OFFICERS:,} (use `reluctant-army run` for the full size)"
        )
        config = config.model_copy(
            update={
                "population": config.population.model_copy(update={"n_officers": MAX_VIEW_OFFICERS})
            }
        )
    return config, applied, messages


LAUNCH_SCENARIO = launch_scenario()
LAUNCH_CONTROLS = load_launch_controls(LAUNCH_SCENARIO)


class VizArmyModel(ArmyModel):
    """ArmyModel built from the page's controls (SolaraViz passes them as keywords).

    A keyword left at None, or equal to its starting value, keeps the scenario's value.
    """

    def __init__(
        self,
        scenario: str | None = None,
        war_order_level: int | None = None,
        detection_capacity: float | None = None,
        punishment_severity: float | None = None,
        incentive_level: float | None = None,
        russian_propaganda: float | None = None,
        complicit_share: float | None = None,
        dissenting_share: float | None = None,
        n_officers: int | None = None,
        seed: int | str | None = None,
    ) -> None:
        self.scenario_file = scenario or LAUNCH_SCENARIO
        controls = {
            "war_order_level": war_order_level,
            "detection_capacity": detection_capacity,
            "punishment_severity": punishment_severity,
            "incentive_level": incentive_level,
            "russian_propaganda": russian_propaganda,
            "complicit_share": complicit_share,
            "dissenting_share": dissenting_share,
            "n_officers": n_officers,
            "seed": seed,
        }
        config, self.applied_controls, self.messages = viz_config(
            self.scenario_file, controls, LAUNCH_CONTROLS
        )
        super().__init__(config, seed=config.seed)

    def step(self) -> None:
        """One step; the view's Play stops at the scenario's last step."""
        super().step()
        if self.steps >= self.config.steps:
            self.running = False


def model_params() -> dict[str, Any]:
    """The sidebar's controls (Mesa user parameters), starting at the launch scenario."""
    start, launch = LAUNCH_CONTROLS, LAUNCH_SCENARIO
    return {
        "scenario": {
            "type": "Select",
            "value": launch,
            "values": scenario_choices(launch),
            "label": "Scenario (configs/)",
        },
        "war_order_level": Slider(
            "War-order level (0 peace - 3 fight)", start["war_order_level"], 0, 3, 1
        ),
        "detection_capacity": Slider(
            "Detection capacity", float(start["detection_capacity"]), 0.0, 5.0, 0.1
        ),
        "punishment_severity": Slider(
            "Punishment severity", float(start["punishment_severity"]), 0.0, 5.0, 0.1
        ),
        "incentive_level": Slider(
            "Incentive level", float(start["incentive_level"]), 0.0, 3.0, 0.1
        ),
        "russian_propaganda": Slider(
            "Russian propaganda (per step)", float(start["russian_propaganda"]), 0.0, 0.05, 0.001
        ),
        "complicit_share": Slider(
            "Complicit share", float(start["complicit_share"]), 0.0, 1.0, 0.01
        ),
        "dissenting_share": Slider(
            "Dissenting share (passive = rest)", float(start["dissenting_share"]), 0.0, 1.0, 0.01
        ),
        "n_officers": Slider("Officers", int(start["n_officers"]), 100, MAX_VIEW_OFFICERS, 100),
        "seed": {"type": "InputText", "value": str(start["seed"]), "label": "Seed"},
    }


# ---------------------------------------------------------------------------- drawing


def make_portrayal(size: float) -> Callable[[Officer], AgentPortrayalStyle]:
    """Portrayal of one officer: colour = choice, marker = group, commanders big and outlined."""
    commander_size = size * 2.2

    def portrayal(officer: Officer) -> AgentPortrayalStyle:
        model = officer.model
        index = officer.index
        commander = bool(model.is_commander[index])
        return AgentPortrayalStyle(
            color=CHOICE_COLOURS[CHOICES[model.choice[index]]],
            marker=GROUP_MARKERS[GROUPS[model.group[index]]],
            size=commander_size if commander else size,
            zorder=3 if commander else 2,
            edgecolors=COMMANDER_EDGE if commander else "none",
            linewidths=1.2 if commander else 0.0,
        )

    return portrayal


class UnitRenderer(SpaceRenderer):
    """Mesa's matplotlib SpaceRenderer for the unit grid: unit blocks behind the officers.

    Its figure is a plain matplotlib Figure, not a pyplot one: pyplot keeps every figure
    alive in a global registry shared by all sessions and threads.
    """

    FIGURE_INCHES = 7.0

    def __init__(self, model: ArmyModel) -> None:
        super().__init__(model, backend="matplotlib")
        import matplotlib.pyplot as plt

        plt.close(self.backend_renderer.fig)
        figure = Figure(figsize=(self.FIGURE_INCHES, self.FIGURE_INCHES))
        figure.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.01)
        self.backend_renderer.fig = figure
        self.backend_renderer.initialize_canvas(figure.add_subplot())
        self.model = model
        self._unit_boxes = unit_boxes(model)
        self.marker_size = marker_size(self.space.width, self.space.height, self.FIGURE_INCHES)
        self.draw_structure()
        portrayal = make_portrayal(self.marker_size)
        if hasattr(self, "setup_agents"):  # Mesa >= 3.4: portrayal set once, then drawn
            self.setup_agents(portrayal)
            self.draw_agents()
        else:
            self.draw_agents(portrayal)
        self.post_process = decorate_officer_axes

    def draw_structure(self, **kwargs: Any) -> Axes:
        """Shade each unit's block (special operations in blue) instead of per-cell lines."""
        self.space_kwargs = kwargs
        ax = self.canvas
        ax.set_xlim(-0.5, self.space.width - 0.5)
        ax.set_ylim(-0.5, self.space.height - 0.5)
        boxes, unit_type = self._unit_boxes
        names = self.model.unit_type_names
        colors = [UNIT_COLORS.get(names[t], "#EEEEEE") for t in unit_type]
        ax.add_collection(
            PolyCollection(boxes, facecolors=colors, edgecolors="#BBBBBB", linewidths=0.6, zorder=0)
        )
        self.space_mesh = ax
        return ax

    def draw_agents(self, agent_portrayal: Callable | None = None, **kwargs: Any) -> Axes:
        """Draw the officers (Mesa's renderer) and title the drawing with the current shares.

        Mesa 3.3 passes the portrayal here; from 3.4 on it is set by `setup_agents`.
        """
        if agent_portrayal is None:
            result = super().draw_agents(**kwargs)
        else:
            result = super().draw_agents(agent_portrayal, **kwargs)
        stats = self.model.stats
        self.canvas.set_title(
            f"Step {self.model.steps}:  comply {stats['comply']:.0%}  ·  "
            f"evade {stats['evade']:.0%}  ·  refuse {stats['refuse']:.0%}",
            fontsize=11,
        )
        return result


def unit_boxes(model: ArmyModel) -> tuple[np.ndarray, np.ndarray]:
    """Corner polygons of each unit's block in the grid, and each unit's type index."""
    _ = model.grid  # building the grid puts every officer in his cell
    officers = model.officers
    xy = np.array([officer.cell.coordinate for officer in officers], dtype=float)
    unit = model.unit[[officer.index for officer in officers]]
    low = np.full((model.n_units, 2), np.inf)
    high = np.full((model.n_units, 2), -np.inf)
    np.minimum.at(low, unit, xy)
    np.maximum.at(high, unit, xy)
    used = np.isfinite(low[:, 0])
    low, high = low[used] - 0.5, high[used] + 0.5
    boxes = np.stack(
        [low, np.c_[high[:, 0], low[:, 1]], high, np.c_[low[:, 0], high[:, 1]]], axis=1
    )
    return boxes, model.unit_type_of_unit[used]


def marker_size(width: int, height: int, inches: float) -> float:
    """Marker area (points squared) filling about 70% of a grid cell."""
    cell_points = inches * 72.0 / max(width, height, 1)
    return float((0.7 * cell_points) ** 2)


def decorate_officer_axes(ax: Axes) -> None:
    """Equal aspect and no ticks (the legend is HTML under the image: cheaper to draw)."""
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _swatch(colour: str, border: str = "none", round_: bool = False) -> str:
    radius = "50%" if round_ else "2px"
    return (
        f"<span style='display:inline-block;width:12px;height:12px;background:{colour};"
        f"border:{border};border-radius:{radius};margin:0 4px -1px 10px'></span>"
    )


GROUP_SYMBOLS: dict[str, str] = {
    "complicit": "&#9632;",
    "passive": "&#9679;",
    "dissenting": "&#9650;",
}
"""Unicode look-alikes of GROUP_MARKERS for the HTML legend."""
SYMBOL_STYLE = "margin-left:10px;color:#555;font-size:16px"


def officer_legend_html() -> str:
    """Legend of the officer drawing: choice colours, group markers, commanders, unit types."""
    parts = [f"{_swatch(colour)}{choice}" for choice, colour in CHOICE_COLOURS.items()]
    parts += [
        f"<span style='{SYMBOL_STYLE}'>{GROUP_SYMBOLS[group]}</span> {group}"
        for group in GROUP_MARKERS
    ]
    parts.append(f"{_swatch('#888888', f'2px solid {COMMANDER_EDGE}', True)}commander (larger)")
    parts.append(f"{_swatch(UNIT_COLORS['special_operations'], '1px solid #BBB')}special ops unit")
    return "<div style='font-size:13px;text-align:center'>" + "".join(parts) + "</div>"


class RatesFigure:
    """Shares of comply / evade / refuse over time: all officers and each group.

    One figure per model whose lines are updated in place: rebuilding four panels every
    step would double the time per step.
    """

    PANELS: tuple[tuple[str, str], ...] = (("all officers", ""),) + tuple(
        (group, f"{group}_") for group in GROUPS
    )

    def __init__(self) -> None:
        self.figure = Figure(figsize=(7.0, 7.0))
        self.figure.subplots_adjust(
            left=0.1, right=0.98, top=0.95, bottom=0.08, wspace=0.08, hspace=0.12
        )
        axes = self.figure.subplots(2, 2, sharex=True, sharey=True)
        self.axes = axes
        self.lines: dict[str, Line2D] = {}
        for ax, (title, prefix) in zip(axes.ravel(), self.PANELS, strict=True):
            for choice, color in CHOICE_COLOURS.items():
                (self.lines[f"{prefix}{choice}"],) = ax.plot([], [], color=color, label=choice)
            ax.set_title(title, fontsize=10)
            ax.set_ylim(-2, 102)
            ax.grid(alpha=0.3)
        for ax in axes[1]:
            ax.set_xlabel("step (month)")
        for ax in axes[:, 0]:
            ax.set_ylabel("% of officers")
        axes[0, 0].legend(fontsize=8, loc="center right")

    def update(self, model: ArmyModel) -> Figure:
        """Show the model's data collected so far."""
        data = model.datacollector.model_vars
        steps = np.arange(len(data["comply"]))
        for column, line in self.lines.items():
            line.set_data(steps, np.asarray(data[column]) * 100.0)
        self.axes[0, 0].set_xlim(0, max(int(steps[-1]), 1))
        self.axes[0, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
        return self.figure


# ---------------------------------------------------------------------------- components


@solara.component
def OfficerView(model: ArmyModel) -> None:
    """The officers by unit, redrawn after every step (Mesa's space component)."""
    update_counter.get()
    renderer = solara.use_memo(lambda: UnitRenderer(model), [model])
    with solara.Column(classes=["ra-officers"]):
        SpaceRendererComponent(model, renderer)
    solara.HTML(tag="div", unsafe_innerHTML=officer_legend_html())


@solara.component
def RatesChart(model: ArmyModel) -> None:
    """Live chart of the rates over time, overall and by group."""
    update_counter.get()
    chart = solara.use_memo(RatesFigure, [model])
    with solara.Column(classes=["ra-rates"]):
        solara.FigureMatplotlib(
            chart.update(model),
            format="png",
            dependencies=[model, model.steps],
            pil_kwargs={"compress_level": 1},
        )


def run_summary(model: VizArmyModel) -> list[tuple[str, str]]:
    """What is running, as (label, text) rows: scenario, controls applied, current shares."""
    config = model.config
    drivers = model.drivers
    level = int(drivers["war_order_level"])
    changed = ", ".join(CONTROL_LABELS[name] for name in model.applied_controls)
    stats = model.stats
    rows = [
        ("Scenario", f"{model.scenario_file} ({config.name}): {config.description or '-'}"),
        (
            "Progress",
            f"{model.steps} of {config.steps}; {stats['n_active']:,} officers; seed {model.seed}",
        ),
        ("War orders", f"level {level}: {WAR_ORDER_LEVELS[level]}"),
        (
            "Drivers now",
            f"detection capacity {drivers['detection_capacity']:g}, punishment severity "
            f"{drivers['punishment_severity']:g}, incentive level {drivers['incentive_level']:g}, "
            f"Russian propaganda {drivers['russian_propaganda']:g} per step",
        ),
        (
            "Groups at start",
            ", ".join(f"{g} {config.population.group_shares[g]:.0%}" for g in GROUPS),
        ),
        (
            "Set by the controls",
            (changed or "nothing: the scenario as written")
            + ". Controls left at their starting value keep the scenario's value; "
            "changes apply on Reset.",
        ),
    ]
    for label, prefix in (("All officers", ""), *((g, f"{g}_") for g in GROUPS)):
        shares = "  ".join(f"{c} {stats[prefix + c]:.1%}" for c in CHOICES)
        rows.append((label.capitalize(), shares))
    return rows


@solara.component
def RunInfo(model: VizArmyModel) -> None:
    """The run summary and any warning (clipped shares, capped size, unreadable scenario).

    Plain HTML rather than solara.Markdown: Markdown loads KaTeX from the CDN, which
    solara-assets does not ship, so it fails offline.
    """
    update_counter.get()
    body = "".join(
        f"<p style='margin:0 0 6px 0'><b>{html.escape(label)}:</b> {html.escape(text)}</p>"
        for label, text in run_summary(model)
    )
    with solara.Column(classes=["ra-info"]):
        solara.HTML(tag="div", unsafe_innerHTML=body)
        for message in model.messages:
            solara.Warning(message)


@solara.component
def ModelViews(model: VizArmyModel) -> None:
    """The main area: officers and charts side by side (wrapping on narrow windows), info."""
    solara.Style(PAGE_CSS)
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        with solara.Column(style={"flex": "1 1 480px", "max-width": "720px"}):
            OfficerView(model)
        with solara.Column(style={"flex": "1 1 480px", "max-width": "720px"}):
            RatesChart(model)
    RunInfo(model)


PAGE_CSS = ".ra-officers img, .ra-rates img { max-width: 100%; height: auto; }"
"""Figures shrink with the window instead of pushing the charts below the drawing."""


@solara.component
def Page() -> None:
    """The page; each browser session renders it and so gets a model of its own.

    SolaraViz supplies the app bar and the sidebar (controls, parameters, step counter)
    and shares this session's reactive model; the views are laid out here rather than in
    SolaraViz's draggable grid, whose fixed cell height crops a 2,000-officer drawing.
    """
    first = solara.use_memo(VizArmyModel, [])
    model = solara.use_reactive(first)
    SolaraViz(
        model,
        components=[],
        model_params=model_params(),
        name="Reluctant Army: officers facing war orders",
    )
    ModelViews(model.value)
