"""Reading config files: YAML with unique keys, `extends` chains, overrides, validation.

A bad config never produces a traceback: :func:`load_config` raises
:class:`~simulation.errors.ConfigError`, whose message names the file, the key and what
was expected. Inputs are bounded before they are trusted (see
:mod:`simulation.config.limits`): only regular files are read (a FIFO or ``/dev/zero`` would
block or never end), up to a size; YAML nesting and alias expansion are capped (an alias
bomb is refused before anything copies it); driver schedules have a maximum length.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.config.example_scale import scaled_config
from simulation.config.limits import FILE_BYTES, SCHEDULE_ENTRIES, YAML_DEPTH, YAML_NODES
from simulation.config.messages import describe_validation_error
from simulation.config.schema import DEFAULT_DATA, SimulationConfig
from simulation.errors import ConfigError


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno == errno.ELOOP:
        return "a loop of symbolic links"
    return getattr(error, "strerror", None) or str(error)


FILE_KINDS: dict[str, Any] = {
    "a folder": stat.S_ISDIR,
    "a FIFO (named pipe)": stat.S_ISFIFO,
    "a character device": stat.S_ISCHR,
    "a block device": stat.S_ISBLK,
    "a socket": stat.S_ISSOCK,
}


def input_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as an input file (missing, a loop of links, a FIFO, a
    device, a folder, too large), or None for a regular file within the size limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except (OSError, ValueError) as error:  # a loop of links, a name too long, a NUL byte
        return f"cannot read file ({_reason(error)})"
    return _kind_problem(info)


def _kind_problem(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for name, test in FILE_KINDS.items() if test(info.st_mode)), "special")
        return f"is {kind}, expected a regular YAML file"
    if info.st_size > FILE_BYTES.value:
        return FILE_BYTES.exceeded(f"the file has {info.st_size:,} bytes")
    return None


def read_input_text(path: str | Path) -> str:
    """The text of an input file: a regular file within the size limit, UTF-8.

    The file is opened without blocking and checked again once open, so a file swapped for
    a FIFO between the check and the read cannot hang the program either.
    """
    problem = input_problem(path)
    if problem:
        raise ConfigError(problem, path)
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise ConfigError(f"cannot read file ({_reason(error)})", path) from None
    try:
        problem = _kind_problem(os.fstat(handle))
        if problem:
            raise ConfigError(problem, path)
        with os.fdopen(handle, "rb", closefd=False) as stream:
            raw = stream.read(FILE_BYTES.value + 1)
    except OSError as error:
        raise ConfigError(f"cannot read file ({_reason(error)})", path) from None
    finally:
        os.close(handle)
    if len(raw) > FILE_BYTES.value:
        raise ConfigError(FILE_BYTES.exceeded("the file grew while it was read"), path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"cannot read file ({error})", path) from None


class YamlTooLargeError(Exception):
    """YAML data beyond a limit (nesting depth or expanded size)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last),
    nesting deeper than the limit and aliases that expand to more values than the limit."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose a node, counting nesting (PyYAML recurses once per level)."""
        self._depth += 1
        try:
            if self._depth > YAML_DEPTH.value:
                raise YamlTooLargeError(YAML_DEPTH.exceeded("YAML nested too deeply"))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self) -> Any:
        """The document, once its size with every alias expanded is within the limit
        (aliases share one node here, but any copy of the data expands them)."""
        node = self.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return self.construct_document(node)


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the values of a node graph as if every alias were copied out (memoised over
    shared nodes, so an alias bomb is measured without being expanded)."""
    limit = YAML_NODES.value
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlTooLargeError("an alias refers to a node that contains it (a loop)")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        if total > limit:
            raise YamlTooLargeError(YAML_NODES.exceeded("YAML aliases expand to too many values"))
        return total

    size(root)


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


def parse_yaml(text: str, source: str | Path) -> Any:
    """YAML text as data, with ConfigError (naming `source`) for malformed or oversized data."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except YamlTooLargeError as error:
        raise ConfigError(str(error), source) from None
    except RecursionError:
        raise ConfigError(YAML_DEPTH.exceeded("YAML nested too deeply"), source) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"malformed YAML{where}: {problem}", source) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a regular file, with ConfigError for anything else."""
    return yaml_mapping(parse_yaml(read_input_text(path), path), path)


def yaml_mapping(data: Any, source: str | Path) -> dict[str, Any]:
    """`data` as a mapping (None, an empty document, as an empty one)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of keys to values, got {type(data).__name__}", source
        )
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
    problem = input_problem(path)
    if problem:
        raise ConfigError(problem, path)
    resolved = Path(os.path.realpath(path))
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
    problem = input_problem(parent_path)
    if problem == "file not found":
        raise ConfigError(f"extended file not found: {parent_path}", path, "extends")
    if problem:
        raise ConfigError(f"extended file {parent_path}: {problem}", path, "extends")
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
        value = yaml.load(raw, Loader=UniqueKeyLoader) if raw.strip() else ""  # noqa: S506
    except YamlTooLargeError as error:
        raise ConfigError(f"override '{key}': {error}", "overrides") from None
    except (yaml.YAMLError, RecursionError):
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
    """Validate raw config data, raising ConfigError with a readable message.

    Beyond the schema: schedules longer than the limit are refused before they are parsed,
    `true`/`false` are not taken for the numbers 1 and 0, and `name` must be one path
    component (it names the results folder).
    """
    _check_schedule_lengths(data, source)
    _check_no_boolean_numbers(data, DEFAULT_DATA, source)
    try:
        config = SimulationConfig.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, source) from None
    _check_no_boolean_numbers(data, config.to_dict(), source)
    problem = path_component_problem(config.name)
    if problem:
        raise ConfigError(f"{problem} (got {json.dumps(config.name)})", source, "name")
    return config


def path_component_problem(name: str) -> str | None:
    """Why `name` cannot name a folder inside `results/` (None when it can): it must be one
    path component, so that results never land outside the folder meant for them."""
    if not name.strip():
        return "expected a name, got an empty one"
    if name in (".", "..") or any(sep in name for sep in ("/", "\\", "\0")):
        return "expected a plain name (it names a results folder): no '/', '\\', '..' or '.'"
    if len(name) > 100:
        return f"expected a name of at most 100 characters, got {len(name)}"
    if not name.isprintable():
        return (
            "expected a name of printable characters (it names a results folder and is "
            "printed): no control characters such as a newline, tab or escape"
        )
    return None


def _check_schedule_lengths(data: Any, source: str | Path | None) -> None:
    drivers = data.get("drivers") if isinstance(data, dict) else None
    if not isinstance(drivers, dict):
        return
    for name, schedule in drivers.items():
        if isinstance(schedule, list) and len(schedule) > SCHEDULE_ENTRIES.value:
            raise ConfigError(
                SCHEDULE_ENTRIES.exceeded(f"the schedule has {len(schedule):,} entries"),
                source,
                f"drivers.{name}",
            )


def _check_no_boolean_numbers(
    raw: Any, resolved: Any, source: str | Path | None, prefix: str = ""
) -> None:
    """Refuse `true`/`false` where the schema took them for a number (pydantic's lax mode
    reads true as 1): walk the given data beside the validated config."""
    if isinstance(raw, bool):
        if not isinstance(resolved, bool) and isinstance(resolved, int | float):
            raise ConfigError(f"expected a number, got {json.dumps(raw)}", source, prefix or None)
        return
    if isinstance(raw, dict) and isinstance(resolved, dict):
        for key, value in raw.items():
            if key in resolved:
                place = f"{prefix}.{key}" if prefix else str(key)
                _check_no_boolean_numbers(value, resolved[key], source, place)
    elif isinstance(raw, list) and isinstance(resolved, list) and len(raw) == len(resolved):
        for index, (value, done) in enumerate(zip(raw, resolved, strict=True)):
            _check_no_boolean_numbers(value, done, source, f"{prefix}.{index}")


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
    that results land in `results/<config name>/`. With RELUCTANT_ARMY_EXAMPLE_SCALE set, the
    file's (or data's) size is capped before the overrides (simulation.config.example_scale).
    """
    if isinstance(source, Mapping):
        data: dict[str, Any] = json.loads(json.dumps(dict(source), default=str))
        if "extends" in data:
            raise ConfigError("'extends' needs a file; merge mappings in Python instead", "<dict>")
        label: str | Path = "<dict>"
    elif source is not None:
        data = resolve_extends(source)
        _refuse_experiment_file(data, source)
        data.setdefault("name", Path(source).stem)
        label = source
    else:
        data, label = {}, "<defaults>"
    data = scaled_config(deep_merge(DEFAULT_DATA, data))  # before the overrides: they stand
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


EXPERIMENT_KEYS: frozenset[str] = frozenset(
    {"base", "vary", "scenarios", "replications", "design", "expressions", "metrics"}
)
"""Top-level keys of an experiment file that no config has."""


def _refuse_experiment_file(data: dict[str, Any], source: str | Path) -> None:
    """An experiment file given where a config is expected: say so, not "unknown key"."""
    if "base" in data and set(data) - set(DEFAULT_DATA):
        keys = ", ".join(f"'{key}'" for key in sorted(EXPERIMENT_KEYS & set(data)))
        raise ConfigError(
            f"this is an experiment file (it has {keys}), not a config: sweep it, or give a "
            "config file here",
            source,
        )


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
