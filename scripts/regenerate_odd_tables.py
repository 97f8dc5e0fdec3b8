"""Rewrite the generated tables of docs/ODD.md: the schema (§9) and the priors (§8).

Both are pasted between markers (`<!-- schema:start -->`, `<!-- priors:start -->`) and
checked by tests/test_docs.py and tests/test_priors.py; this writes what those tests expect.

    python scripts/regenerate_odd_tables.py
"""

from __future__ import annotations

import re
from pathlib import Path

from simulation.config.docs import priors_markdown, schema_markdown
from simulation.config.priors import load_priors

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"


def replace_between(text: str, marker: str, body: str) -> str:
    """The text with what stands between `<!-- marker:start -->` and `:end` replaced."""
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: {ODD}: no {marker} markers")
    return pattern.sub(lambda m: m.group(1) + body.strip() + "\n" + m.group(2), text)


def main() -> None:
    text = ODD.read_text()
    text = replace_between(text, "schema", schema_markdown())
    text = replace_between(text, "priors", priors_markdown(load_priors()))
    ODD.write_text(text)
    print(f"rewrote the schema and priors tables of {ODD}")


if __name__ == "__main__":
    main()
