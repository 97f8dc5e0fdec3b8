"""The browser app (Solara): the model view and the experiment explorer; :mod:`.app` is
what Solara serves."""
