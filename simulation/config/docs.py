"""The schema as documentation: plain text, a Markdown table (docs/ODD.md) and JSON Schema."""

from __future__ import annotations

import json
import re
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simulation.config.messages import model_in
from simulation.config.schema import (
    PersonnelCategory,
    SimulationConfig,
    UnitType,
    driver_ranges,
)

if TYPE_CHECKING:
    from simulation.config.priors import Priors


ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "structure.unit_types": UnitType,
    "personnel.categories": PersonnelCategory,
}
"""Sections whose value is a mapping of named entries of one model: the docs list the
fields of an entry under `<section>.<name>.<field>` (documentation rows only; they are no
keyword levers and need no prior of their own, the entries' priors are per name)."""


def entry_rows(section: str) -> list[dict[str, str]]:
    """The fields of one entry of a mapping section (e.g. personnel.categories.<name>)."""
    return [
        {**row, "key": f"{section}.<name>.{row['key']}"} for row in _rows(ENTRY_MODELS[section], "")
    ]


def documented_rows() -> list[dict[str, str]]:
    """schema_rows with each mapping section followed by the fields of its entries."""
    rows = []
    for row in schema_rows():
        rows.append(row)
        if row["key"] in ENTRY_MODELS:
            rows += entry_rows(row["key"])
    return rows


def schema_rows() -> list[dict[str, str]]:
    """Every config key with its type, range, default and description (for docs and CLI)."""
    return _rows(SimulationConfig, "")


def _rows(root: type[BaseModel], root_prefix: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            nested = model_in(field.annotation)
            default = field.get_default(call_default_factory=True)
            required = default is PydanticUndefined  # a field an entry must give
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
            shown = (
                "(required)"
                if required
                else json.dumps(default.model_dump() if isinstance(default, BaseModel) else default)
            )
            type_name = type_label(field.annotation)
            rows.append(
                {
                    "key": key,
                    "type": type_name,
                    "range": ", ".join(bounds),
                    "default": shown,
                    "description": field.description or "",
                }
            )

    walk(root, root_prefix)
    return rows


SCALAR_LABELS: dict[Any, str] = {
    float: "number",
    int: "integer",
    bool: "true/false",
    str: "text",
    type(None): "null",
}
"""Plain words for the scalar types a config value can have."""


def type_label(annotation: Any) -> str:
    """A field's type in plain words, built from the annotation itself (never from a library's
    repr, which changes between versions): "number", "list of number ≥ 0", "schedule", ..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _bounded(type_label(args[0]), args[1:])
    if origin in (Union, UnionType):
        options = [arg for arg in args if arg is not type(None)]
        label = " or ".join(type_label(arg) for arg in options)
        return f"{label} or null" if len(options) < len(args) else label
    if origin is Literal:
        return "one of " + ", ".join(str(arg) for arg in args)
    if origin is list:
        return f"list of {type_label(args[0])}"
    if origin is tuple:
        return "(" + ", ".join(type_label(arg) for arg in args) + ")"
    if origin is dict:
        key = "name" if args[0] is str else type_label(args[0])
        return f"map of {key} to {type_label(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _record_label(annotation)
    return SCALAR_LABELS.get(annotation, getattr(annotation, "__name__", "value"))


def _record_label(model: type[BaseModel]) -> str:
    """A small record by its keys ("{step, value}"), a larger one by its name in words
    ("personnel category"; its fields are documented in rows of their own)."""
    if len(model.model_fields) <= 5:
        return "{" + ", ".join(model.model_fields) + "}"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def _bounded(label: str, metadata: tuple[Any, ...]) -> str:
    """`label` with the bounds of an Annotated type, e.g. "number in [0, 1]", "integer ≥ 0"."""
    constraints = [
        inner for meta in metadata for inner in (getattr(meta, "metadata", None) or [meta])
    ]
    found = {
        attr: getattr(meta, attr)
        for meta in constraints
        for attr in ("ge", "gt", "le", "lt")
        if getattr(meta, attr, None) is not None
    }
    low_attr = "ge" if "ge" in found else "gt" if "gt" in found else None
    high_attr = "le" if "le" in found else "lt" if "lt" in found else None
    if low_attr and high_attr:
        opening, closing = ("[" if low_attr == "ge" else "("), ("]" if high_attr == "le" else ")")
        return (
            f"{label} in {opening}{_number(found[low_attr])}, {_number(found[high_attr])}{closing}"
        )
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    for attr in (low_attr, high_attr):
        if attr:
            label += f" {symbols[attr]} {_number(found[attr])}"
    return label


def _number(value: float) -> str:
    """A bound as written in the schema (0.0 as 0, 100_000 as 100000)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def schema_text(priors: Priors | None = None) -> str:
    """The documented schema as plain text: `key: type [range] = default`, then the meaning,
    then the prior of every assumed number in it (from `priors`, when given)."""
    lines = []
    for row in documented_rows():
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
    for row in documented_rows():
        default = row["default"] if len(row["default"]) <= 60 else "see text"
        cells = [f"`{row['key']}`", row["type"], row["range"], f"`{default}`", row["description"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config (for editors and scripts)."""
    return SimulationConfig.model_json_schema()
