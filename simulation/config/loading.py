"""Reading config files: YAML with unique keys, `extends` chains, overrides, validation.

A bad config never produces a traceback: :func:`load_config` raises
:class:`~simulation.errors.ConfigError`, whose message names the file, the key and what
was expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.config.messages import describe_validation_error
from simulation.config.schema import DEFAULT_DATA, SimulationConfig
from simulation.errors import ConfigError


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden
            continue
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: construct_mapping reports it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key '{key}'",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with ConfigError for a missing file or malformed content."""
    path = Path(path)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as error:  # e.g. a name too long, a NUL byte
        raise ConfigError(f"cannot read file ({_reason(error)})", path) from None
    if not exists:
        raise ConfigError("file not found", path)
    if is_dir:
        raise ConfigError("is a folder, expected a YAML file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read file ({error})", path) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"malformed YAML{where}: {problem}", path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of keys to values, got {type(data).__name__}", path)
    return data


REPLACED_WHOLE: frozenset[str] = frozenset({"unit_types", "threshold_override"})
"""Mappings that a file or override replaces instead of merging into (a partial set of unit
types should not silently keep the default ones)."""


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Merge `update` into a copy of `base`; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(merged.get(key), dict)
            and key not in REPLACED_WHOLE
        ):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config and the chain of files it `extends` (relative paths), child wins."""
    path = Path(path)
    try:
        resolved = path.resolve()
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read file ({_reason(error)})", path) from None
    if resolved in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, resolved))
        raise ConfigError(f"cyclic 'extends': {cycle}", path, "extends")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError("expected a file path (string)", path, "extends")
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    try:
        found = parent_path.exists()
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot read {parent_path} ({_reason(error)})", path, "extends"
        ) from None
    if not found:
        raise ConfigError(f"extended file not found: {parent_path}", path, "extends")
    return deep_merge(resolve_extends(parent_path, (*_chain, resolved)), data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse `key.path=value`; the value is read as YAML (numbers, lists, mappings)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.path=value", "overrides")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{text}' has an empty key", "overrides")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """Apply `key.path=value` strings (or a {dotted.key: value} mapping) to raw config data."""
    items = (
        [(key.split("."), value) for key, value in overrides.items()]
        if isinstance(overrides, dict)
        else [parse_override(text) for text in overrides]
    )
    result = json.loads(json.dumps(data, default=str))
    for path, value in items:
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return result


def validate_config(data: dict[str, Any], source: str | Path | None = None) -> SimulationConfig:
    """Validate raw config data, raising ConfigError with a readable message."""
    try:
        return SimulationConfig.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, source) from None


def load_config(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: list[str] | Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    steps: int | None = None,
) -> SimulationConfig:
    """Load, merge (`extends`), override and validate a config.

    `source` is a YAML file, a mapping of config data (as a file would hold it; a notebook
    needs no file), or None for the built-in defaults. `overrides` are `key.path=value`
    strings or a `{dotted.key: value}` mapping. A file's `name` defaults to its stem, so
    that results land in `results/<config name>/`.
    """
    if isinstance(source, Mapping):
        data: dict[str, Any] = json.loads(json.dumps(dict(source), default=str))
        if "extends" in data:
            raise ConfigError("'extends' needs a file; merge mappings in Python instead", "<dict>")
        label: str | Path = "<dict>"
    elif source is not None:
        data = resolve_extends(source)
        data.setdefault("name", Path(source).stem)
        label = source
    else:
        data, label = {}, "<defaults>"
    data = deep_merge(DEFAULT_DATA, data)
    if overrides:
        data = apply_overrides(
            data, dict(overrides) if isinstance(overrides, Mapping) else overrides
        )
    if seed is not None:
        data["seed"] = seed
    if steps is not None:
        data["steps"] = steps
    try:
        return validate_config(data, label)
    except ConfigError as error:
        # a bad value given as an override is not the file's fault: say where it came from
        given = _override_labels(overrides, seed, steps)
        blamed = [text for key, text in given if error.key and _related(key, error.key)]
        if blamed:
            raise ConfigError(
                error.detail, f"{error.source} (override {blamed[-1]})", error.key
            ) from None
        raise


def _override_labels(
    overrides: list[str] | Mapping[str, Any] | None, seed: int | None, steps: int | None
) -> list[tuple[str, str]]:
    """(dotted key, how it was given) for each override, in the order applied."""
    labels: list[tuple[str, str]] = []
    if isinstance(overrides, Mapping):
        labels += [(key, f"{key}={value}") for key, value in overrides.items()]
    elif overrides:
        labels += [(text.split("=", 1)[0].strip(), text) for text in overrides]
    if seed is not None:
        labels.append(("seed", f"seed={seed}"))
    if steps is not None:
        labels.append(("steps", f"steps={steps}"))
    return labels


def _related(key: str, other: str) -> bool:
    """Whether one dotted key is the other or lies inside it."""
    return key == other or key.startswith(other + ".") or other.startswith(key + ".")
