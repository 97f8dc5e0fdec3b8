"""A widget that brings part of the page into view when something is picked there.

Solara cannot run script in the page; a Vue template can. :func:`ScrollIntoView` placed
inside a panel scrolls the nearest ancestor with the given CSS class into view (only as
far as needed) whenever its `key` changes, e.g. when a click on the drawing selects
another officer to inspect.
"""

from __future__ import annotations

from typing import Any

import ipyvuetify
import solara
import traitlets

TEMPLATE = """
<template>
  <span ref="anchor" style="display:none"></span>
</template>
<script>
module.exports = {
  mounted() { this.reveal(); },
  watch: { key() { this.reveal(); } },
  methods: {
    reveal() {
      this.$nextTick(() => {
        const anchor = this.$refs.anchor;
        const target = anchor && anchor.parentElement &&
          anchor.parentElement.closest("." + this.target_class);
        if (target) target.scrollIntoView({ block: "nearest", behavior: "smooth" });
      });
    },
  },
};
</script>
"""


class ScrollWidget(ipyvuetify.VuetifyTemplate):
    """Scrolls the ancestor with class `target_class` into view when `key` changes."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    target_class = traitlets.Unicode("").tag(sync=True)


@solara.component
def ScrollIntoView(target_class: str, key: str) -> Any:
    """Bring the enclosing element of class `target_class` into view on each new `key`."""
    return ScrollWidget.element(target_class=target_class, key=key)
