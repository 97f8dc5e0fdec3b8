"""ArmyModel in Mesa's own browser visualisation (SolaraViz), written as Mesa's tutorial does.

Run it with ``solara run simulation/viz/mesa_page.py`` or ``reluctant-army viz --mesa``.
Everything on it is Mesa's: ``SolaraViz`` with its Reset / Play / Step controls and step
counter, ``Slider`` model parameters (the drivers and the size of the corps; they apply
on Reset, when SolaraViz builds a new ``ArmyModel(**model_params)``), a ``SpaceRenderer``
of the model's grid of units (colour: the officer's choice; marker: his group) and
``make_plot_component`` charts of the shares over time.

Two things differ from the tutorial's ``page = SolaraViz(model, ...)`` at module level:
a model made at import time would be shared by every browser tab, so :func:`Page` makes
each session its own model (and renderer); and the first model is built from the same
``model_params`` that Reset uses, so Reset with untouched sliders starts the same run.
The project's own page (``reluctant-army viz``) is the richer view: scenarios, officer
inspection, units and ties, replays.
"""

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization import Slider, SolaraViz, SpaceRenderer, make_plot_component
from mesa.visualization.components import AgentPortrayalStyle
from solara.server import settings

from simulation.config.schema import SimulationConfig, schedule_value
from simulation.model.agents import Officer
from simulation.model.model import ArmyModel
from simulation.vocabulary import CHOICE_COLOURS, WAR_ORDER_LEVELS

settings.theme.show_banner = False  # no "This website runs on Solara" over the plots

DEFAULTS = SimulationConfig()
"""The built-in defaults: the sliders start at their values."""
MONTHS = 60
"""Months a run lasts on this page (five years: the order, the reaction and its aftermath)."""
OFFICERS = 500
"""Officers at start: few enough that the space is drawn in a fraction of a second."""
FIRST_ORDER = 3
"""The page opens on the order to fight (the built-in default is 1, the support role, under
which nearly everyone complies and the plots stay flat)."""
GROUP_MARKERS = {"complicit": "s", "passive": "o", "dissenting": "^"}
"""Matplotlib marker of each group (square, circle, triangle: as on the project's page)."""
JAILED_COLOUR = "#9E9E9E"


def driver_default(name: str) -> float:
    """A driver's built-in value at month 0 (the slider's starting point)."""
    return schedule_value(getattr(DEFAULTS.drivers, name), 0)


model_params: dict[str, Any] = {
    "seed": {"type": "InputText", "value": 42, "label": "Random seed"},
    "war_order_level": Slider(
        "War-order level (0-3)",
        FIRST_ORDER,
        0,
        3,
        1,
        dtype=int,
    ),
    "punishment_severity": Slider(
        "Punishment severity", driver_default("punishment_severity"), 0.0, 5.0, 0.1
    ),
    "detection_capacity": Slider(
        "Detection capacity", driver_default("detection_capacity"), 0.0, 5.0, 0.1
    ),
    "incentive_level": Slider("Incentive level", driver_default("incentive_level"), 0.0, 3.0, 0.1),
    "russian_propaganda": Slider(
        "Russian propaganda (per month)", driver_default("russian_propaganda"), 0.0, 0.05, 0.001
    ),
    "disillusion": Slider(
        "Disillusion (per month)", driver_default("disillusion"), 0.0, 0.05, 0.001
    ),
    "regime_stability": Slider(
        "Regime stability", driver_default("regime_stability"), 0.0, 1.0, 0.05
    ),
    "n_officers": Slider("Officers", OFFICERS, 100, 2000, 100, dtype=int),
    "steps": MONTHS,
}
"""Mesa's model parameters: a seed box, sliders, and the fixed horizon."""


def initial_parameters() -> dict[str, Any]:
    """The keyword arguments Reset would pass with every slider untouched."""
    values = {}
    for name, option in model_params.items():
        if isinstance(option, Slider):
            values[name] = option.value
        elif isinstance(option, dict) and "type" in option:
            values[name] = option["value"]
        else:
            values[name] = option
    return values


def agent_portrayal(agent: Officer) -> AgentPortrayalStyle:
    """An officer in his unit's block: colour his choice (grey in jail), marker his group."""
    jailed = bool(agent.model.jailed[agent.index])
    return AgentPortrayalStyle(
        color=JAILED_COLOUR if jailed else CHOICE_COLOURS[agent.choice],
        marker=GROUP_MARKERS[agent.group],
        size=18,
    )


def titled(title: str) -> Any:
    """A plot's post-processing: its title and the y axis's meaning."""

    def post_process(axes: Any) -> None:
        axes.set_title(title, fontsize=10)
        axes.set_ylabel("share of those serving")
        axes.set_ylim(-0.02, 1.02)  # a share of 0 or 1 stays visible off the frame

    return post_process


SharesPlot = make_plot_component(
    dict(CHOICE_COLOURS), post_process=titled("All officers: comply / evade / refuse")
)
DissentersPlot = make_plot_component(
    {f"dissenting_{choice}": colour for choice, colour in CHOICE_COLOURS.items()},
    post_process=titled("Dissenting officers"),
)


def run_summary(model: ArmyModel) -> Any:
    """The run in one line (a component as in Mesa's examples): month, war orders now,
    officers serving, and the shares of comply / evade / refuse."""
    level = int(model.drivers["war_order_level"])
    stats = model.stats
    shares = ", ".join(f"{choice} {stats[choice]:.1%}" for choice in CHOICE_COLOURS)
    text = (
        f"Month {model.steps} of {model.config.steps}. War-order level {level} "
        f"({WAR_ORDER_LEVELS[level]}); {int(stats['n_active']):,} of "
        f"{model.n_officers:,} officers serving: {shares}."
    )
    # not solara.Markdown: it fetches KaTeX from a CDN, which fails offline
    return solara.Text(text, classes=["ra-mesa-summary"])


@solara.component
def Page() -> Any:
    """Mesa's SolaraViz of one ArmyModel per browser session."""
    model = solara.use_memo(lambda: ArmyModel(**initial_parameters()), [])
    renderer = solara.use_memo(lambda: space_renderer(model), [model])
    return SolaraViz(
        model,
        renderer,
        components=[(run_summary, 0), SharesPlot, DissentersPlot],
        model_params=model_params,
        name="Reluctant Army (Mesa SolaraViz)",
    )


def space_renderer(model: ArmyModel) -> SpaceRenderer:
    """Mesa's renderer of the model's grid of units, officers drawn by :func:`agent_portrayal`."""
    renderer = SpaceRenderer(model, backend="matplotlib")
    renderer.render(agent_portrayal=agent_portrayal)
    return renderer
