"""The browser app (Solara): the model view at ``/`` and the experiment explorer at ``/explore``.

Start it with ``reluctant-army viz [configs/X.yaml]`` (opens the model view) or
``reluctant-army explore [RESULTS_DIR ...]`` (opens the explorer), or with Solara itself:
``solara run simulation/viz/app.py``. The scenario, the configs folder and the results
folders reach the app through environment variables set by those commands (Solara imports
this file itself, so there is no other channel).

Both pages share one session (one model per browser tab, :mod:`simulation.viz.state`):
a run picked in the explorer is replayed in the model view.
"""

from __future__ import annotations

from typing import Any

import solara
from solara.server import settings

from simulation.viz.explorer import ExplorerPage
from simulation.viz.model_view import ModelPage

TITLE = "Reluctant Army"

settings.theme.show_banner = False  # no "This website runs on Solara" over the charts
settings.theme.title = TITLE  # the loading page's title


@solara.component
def Layout(children: list | None = None) -> Any:
    """The app bar (title, a link to each page, the current one underlined) around the
    page; Solara uses this layout for every route."""
    current, pages = solara.use_route()
    links = [
        solara.Link(
            page,
            children=[
                solara.Button(
                    page.label,
                    text=True,
                    style={
                        "color": "white",
                        "text-decoration": "underline" if page is current else "none",
                    },
                )
            ],
            classes=[f"ra-link-{page.path.strip('/') or 'model'}"],
        )
        for page in pages
    ]
    return solara.AppLayout(
        children=[solara.AppBar(children=links), *(children or [])],
        title=TITLE,
        navigation=False,
        color="#1F4E79",
    )


routes = [
    solara.Route(path="/", component=ModelPage, label="Model view", layout=Layout),
    solara.Route(path="explore", component=ExplorerPage, label="Experiment explorer"),
]
