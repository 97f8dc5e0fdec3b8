"""The model: the officer corps (:mod:`.model`), officers as Mesa agents (:mod:`.agents`),
the pure decision rule (:mod:`.decision`) and initialisation (:mod:`.population`)."""
