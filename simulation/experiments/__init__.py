"""Experiments: the one run-and-reduce path (:mod:`.runner`), experiment files and designs
(:mod:`.spec`, :mod:`.design`), sweeps on any backend (:mod:`.sweep`, :mod:`.backends`),
results folders (:mod:`.storage`, :mod:`.run_folder`), summaries and figures."""
