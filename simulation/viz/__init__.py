"""The browser view (Mesa SolaraViz): :mod:`.app` is the page Solara serves."""
