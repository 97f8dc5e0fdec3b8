"""An ECharts figure on the page: Solara's FigureEcharts with a guarded template.

Solara's own template throws in the browser when an option arrives while ECharts is still
loading, or when a chart is removed before it was created (a console error on almost every
quick redraw); ours (``echarts.vue``, next to this file) waits instead, and stamps
``data-drawn`` on the chart's element after each drawing so that a test or a benchmark can
tell when the new picture is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipyvuetify
import solara
import traitlets


class EchartsWidget(ipyvuetify.VuetifyTemplate):
    """The chart widget: the option goes to the browser, clicks come back."""

    template_file = (__file__, "echarts.vue")

    attributes = traitlets.Dict(default_value=None, allow_none=True).tag(sync=True)
    option = traitlets.Any({}).tag(sync=True)
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


@solara.component
def EChart(
    option: dict[str, Any],
    height: int,
    classes: str = "",
    on_click: Callable[[dict[str, Any]], None] | None = None,
    drawn_key: str = "",
) -> Any:
    """An ECharts option drawn in a box `height` pixels high (full width)."""
    return EchartsWidget.element(
        option=option,
        on_click=on_click,
        drawn_key=drawn_key,
        attributes={"style": f"height: {height}px; width: 100%", "class": classes},
    )
