"""Analysis: global sensitivity (:mod:`.sensitivity`), tipping points (:mod:`.tipping`),
scenario discovery (:mod:`.discovery`) and self-contained reports (:mod:`.report`)."""
