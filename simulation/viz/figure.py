"""An ECharts figure on the page: Solara's FigureEcharts with a guarded template.

The option travels as one JSON string, not as nested lists: Solara's renderer walks every
list and dict it is given (looking for elements), and a drawing of 2,000 officers is 8,000
small lists; a string is passed as it is. That alone took the server's time per step with
drawing from about 350 ms to a few milliseconds (benchmarks/bench_viz.py).

Solara's own template throws in the browser when an option arrives while ECharts is still
loading, or when a chart is removed before it was created (a console error on almost every
quick redraw); ours (``echarts.vue``, next to this file) waits instead, and stamps
``data-drawn`` on the chart's element after each drawing so that a test or a benchmark can
tell when the new picture is on screen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipyvuetify
import solara
import traitlets


class EchartsWidget(ipyvuetify.VuetifyTemplate):
    """The chart widget: the option goes to the browser, clicks come back."""

    template_file = (__file__, "echarts.vue")

    attributes = traitlets.Dict(default_value=None, allow_none=True).tag(sync=True)
    option_json = traitlets.Unicode("{}").tag(sync=True)
    drawn_key = traitlets.Unicode("").tag(sync=True)
    on_click = traitlets.Callable(None, allow_none=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self) -> str | None:
        import solara.settings

        if not solara.settings.assets.proxy:
            return solara.settings.assets.cdn
        return None

    def vue_on_click(self, data: Any) -> None:
        """A click on the chart (from the browser)."""
        if self.on_click is not None:
            self.on_click(data)


def as_json(option: dict[str, Any]) -> str:
    """An ECharts option as the JSON text the chart widget takes (NaN is refused: a value
    that is missing must be None, drawn as a gap)."""
    return json.dumps(option, separators=(",", ":"), allow_nan=False)


@solara.component
def EChart(
    option: str,
    height: int,
    classes: str = "",
    on_click: Callable[[dict[str, Any]], None] | None = None,
    drawn_key: str = "",
) -> Any:
    """An ECharts option (JSON text, see :func:`as_json`) drawn in a box `height` pixels
    high (full width). Give the text, not the dict: a component's arguments are walked by
    Solara's renderer, and text is not."""
    return EchartsWidget.element(
        option_json=option,
        on_click=on_click,
        drawn_key=drawn_key,
        attributes={"style": f"height: {height}px; width: 100%", "class": classes},
    )
