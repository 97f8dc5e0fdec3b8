"""The schema as documentation: plain text, a Markdown table (docs/ODD.md) and JSON Schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from simulation.config.messages import model_in
from simulation.config.schema import SimulationConfig, driver_ranges

if TYPE_CHECKING:
    from simulation.config.priors import Priors


def schema_rows() -> list[dict[str, str]]:
    """Every config key with its type, range, default and description (for docs and CLI)."""
    rows: list[dict[str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            nested = model_in(field.annotation)
            default = field.get_default(call_default_factory=True)
            if nested is not None and isinstance(default, BaseModel):
                walk(nested, key + ".")
                continue
            bounds = [
                f"{label} {getattr(meta, attr)}"
                for meta in field.metadata
                for attr, label in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                if getattr(meta, attr, None) is not None
            ]
            if prefix == "drivers.":
                low, high = driver_ranges()[name]
                bounds = [f">= {low}", f"<= {high}"]
            shown = json.dumps(default.model_dump() if isinstance(default, BaseModel) else default)
            type_name = getattr(field.annotation, "__name__", None) or str(field.annotation)
            type_name = type_name.replace("typing.", "").replace("simulation.config.schema.", "")
            type_name = type_name.replace("float | list[ScheduleChange]", "schedule")
            rows.append(
                {
                    "key": key,
                    "type": type_name,
                    "range": ", ".join(bounds),
                    "default": shown,
                    "description": field.description or "",
                }
            )

    walk(SimulationConfig, "")
    return rows


def schema_text(priors: Priors | None = None) -> str:
    """The documented schema as plain text: `key: type [range] = default`, then the meaning,
    then the prior of every assumed number in it (from `priors`, when given)."""
    lines = []
    for row in schema_rows():
        range_text = f" [{row['range']}]" if row["range"] else ""
        lines.append(f"{row['key']}: {row['type']}{range_text} = {row['default']}")
        if row["description"]:
            lines.append(f"    {row['description']}")
        if priors is not None:
            lines += _prior_lines(row["key"], priors)
    return "\n".join(lines)


def _prior_lines(row_key: str, priors: Priors) -> list[str]:
    """'    prior: ...' lines for the priors (and fixed numbers) inside one schema row."""
    lines = []
    for key, prior in priors.priors.items():
        if key == row_key or key.startswith(row_key + "."):
            inner = key.removeprefix(row_key).lstrip(".")
            lines.append(f"    prior{' ' + inner if inner else ''}: {prior.describe()}")
    for key, reason in priors.fixed.items():
        if key == row_key or key.startswith(row_key + "."):
            inner = key.removeprefix(row_key).lstrip(".")
            lines.append(f"    fixed {inner}: {reason}")
    return lines


def priors_markdown(priors: Priors) -> str:
    """The priors as Markdown tables (pasted into docs/ODD.md): every drawn value with its
    default, distribution, 5%-95% range and reason; then the numbers kept fixed."""
    number = "{:.4g}".format
    lines = [
        "| key | default | prior | 5% - 95% | reason |",
        "|---|---|---|---|---|",
    ]
    for row in priors.quantile_table():
        cells = [
            f"`{row['key']}`",
            number(row["default"]),
            row["prior"],
            f"{number(row['q05'])} - {number(row['q95'])}",
            row["reason"],
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    if priors.fixed:
        lines += ["", "| kept fixed | why |", "|---|---|"]
        lines += [f"| `{key}` | {reason} |" for key, reason in priors.fixed.items()]
    return "\n".join(lines)


def schema_markdown() -> str:
    """The documented schema as a Markdown table (pasted into docs/ODD.md)."""
    lines = ["| key | type | range | default | meaning, unit, source |", "|---|---|---|---|---|"]
    for row in schema_rows():
        default = row["default"] if len(row["default"]) <= 60 else "see text"
        cells = [f"`{row['key']}`", row["type"], row["range"], f"`{default}`", row["description"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config (for editors and scripts)."""
    return SimulationConfig.model_json_schema()
