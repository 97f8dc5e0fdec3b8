"""Validation errors as one readable line: the file, the key, what was expected.

pydantic reports every problem with a location and a type; :func:`describe_validation_error`
keeps the one worth reading first (an unknown key, with "did you mean"), names its key as
a dotted path, and counts the rest.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from simulation.config.schema import SimulationConfig
from simulation.errors import ConfigError


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if not str(part).startswith(("function-", "list["))]
    cleaned: list[str] = []
    for part in parts:
        if part in {"float", "int", "bool", "str"} or part.startswith("list["):
            continue
        cleaned.append(part)
    return ".".join(cleaned)


def _known_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    """Keys allowed at `path` (for 'did you mean' suggestions).

    Inside a dict-valued section (attitudes of a group, a unit type) the next part of the
    path is a free key (the group or unit type name) and is skipped.
    """
    current: Any = model
    free_key = False
    for part in path:
        if free_key:
            free_key = False
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        annotation = fields[part].annotation
        current = model_in(annotation)
        if current is None:
            return []
        free_key = _is_dict(annotation)
    return list(getattr(current, "model_fields", {}))


def _is_dict(annotation: Any) -> bool:
    """Whether an annotation is a dict (possibly inside X | None)."""
    if get_origin(annotation) is dict:
        return True
    return any(_is_dict(arg) for arg in getattr(annotation, "__args__", ()) or ())


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (handles X | None, dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = model_in(arg)
        if found is not None:
            return found
    return None


def _is_branch_tag(part: Any) -> bool:
    """Whether a location part names a branch of a union (e.g. 'float', 'list[X]')."""
    return isinstance(part, str) and (
        part in {"float", "int", "bool", "str"} or part.startswith(("list[", "function-"))
    )


def _relevant_problems(problems: list[Any]) -> list[Any]:
    """Drop union branches that do not apply, and put unknown keys first.

    A schedule is `number | list of changes`: for a list with a bad entry pydantic also
    reports "should be a valid number" for the whole list (and "should be a valid list" for
    a bad number). Such whole-value type mismatches of one branch are dropped when another
    branch of the same key reports something more specific. A misspelled key also shows
    as a missing required key; the unknown key is the one worth reporting.
    """

    def branch(problem: Any) -> tuple[tuple[Any, ...], Any] | None:
        loc = tuple(problem["loc"])
        for index, part in enumerate(loc):
            if _is_branch_tag(part):
                return loc[:index], part
        return None

    kept = []
    for problem in problems:
        where = branch(problem)
        whole_value_mismatch = (
            where is not None
            and len(problem["loc"]) == len(where[0]) + 1
            and str(problem["type"]).endswith("_type")
        )
        others = [
            other
            for other in problems
            if other is not problem
            and (other_where := branch(other)) is not None
            and where is not None
            and other_where[0] == where[0]
            and other_where[1] != where[1]
        ]
        if whole_value_mismatch and others:
            continue
        kept.append(problem)
    kept = kept or problems
    return sorted(kept, key=lambda problem: problem["type"] != "extra_forbidden")


def _model_named(name: str, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class called `name` among `root` and the sections nested in it."""
    pending, seen = [root], set()
    while pending:
        model = pending.pop()
        if model.__name__ == name:
            return model
        seen.add(model)
        for field in model.model_fields.values():
            nested = model_in(field.annotation)
            if nested is not None and nested not in seen:
                pending.append(nested)
    return None


def describe_validation_error(
    error: ValidationError, source: str | Path | None, root: type[BaseModel] = SimulationConfig
) -> ConfigError:
    """Turn pydantic's report into one readable message (first problem, plus a count)."""
    problems = _relevant_problems(error.errors())
    first = problems[0]
    loc = [str(part) for part in first["loc"]]
    key = _location(tuple(first["loc"]))
    kind = first["type"]
    got = first.get("input")
    if isinstance(got, (int, float, str, bool)) or got is None:
        shown: str | None = json.dumps(got)
    elif kind.endswith("_type"):
        names = {dict: "a mapping", list: "a list"}
        shown = names.get(type(got), type(got).__name__)
    else:
        shown = None  # a whole section: naming its type says nothing
    if kind == "extra_forbidden":
        parent = [part for part in loc[:-1] if not part.isdigit() and not _is_branch_tag(part)]
        candidates = _known_keys(root, parent)
        suggestion = difflib.get_close_matches(loc[-1], candidates, n=1, cutoff=0.6)
        message = f"unknown key '{loc[-1]}'"
        if suggestion:
            message += f" (did you mean '{suggestion[0]}'?)"
        elif candidates:
            message += f"; allowed keys here: {', '.join(candidates)}"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "model_type":
        model = _model_named(str(first.get("ctx", {}).get("class_name", "")), root)
        names = list(model.model_fields) if model else []
        fields = f" with keys {', '.join(names)}" if 0 < len(names) <= 4 else " of keys to values"
        message = f"expected a mapping{fields} (got {shown})"
    else:
        message = first["msg"].replace("Value error, ", "")
        head, colon, rest = message.partition(": ")
        fields_here = _known_keys(root, [p for p in loc if not _is_branch_tag(p)])
        if kind == "value_error" and colon and head in fields_here:
            # a section's check naming one of its keys ("isolation: ..."): name it as the key
            key = f"{key}.{head}" if key else head
            message = rest
        if shown is not None:
            message += f" (got {shown})"
    if len(problems) > 1:
        message += f" [and {len(problems) - 1} more problem(s)]"
    return ConfigError(message, source, key or None)
