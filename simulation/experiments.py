"""Experiment files: schema, validation and the list of runs they describe.

An experiment file names a base config, the parameters to vary (or named scenarios to
compare), a design (full factorial, Latin hypercube, Sobol or Morris), replications and a
root seed. :func:`load_experiment` validates all of it *and* builds the config of every
design point before any run starts, so that a misspelt parameter fails fast with a
:class:`~simulation.config.ConfigError` (exit 2), never half-way through a sweep.

Every run's seed derives from the root seed and the run's index alone
(``SeedSequence(root, spawn_key=(index,))``): results do not depend on the number of
workers, the order in which runs finish, or on a resume.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import itertools
import json
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulation.config import (
    CHOICES,
    DEFAULT_DATA,
    GROUPS,
    ConfigError,
    SimulationConfig,
    apply_overrides,
    deep_merge,
    describe_validation_error,
    read_yaml,
    resolve_extends,
    validate_config,
)
from simulation.model import rate_columns

DEFAULT_METRICS: tuple[str, ...] = tuple(
    [*CHOICES] + [f"{group}_{choice}" for group in GROUPS for choice in CHOICES]
)
"""Outcomes recorded unless the file says otherwise: shares overall and by group."""

SERIES_EXTRA: tuple[str, ...] = (
    "n_active",
    "mean_russia_alignment",
    "mean_alignment",
    "mean_detection_probability",
    "recruited_by_russia",
    "retired",
    "entered",
)
"""Further per-step columns that may be named as metrics (beyond the share columns)."""

SAMPLED_DESIGNS: frozenset[str] = frozenset({"lhs", "sobol", "morris"})
DESIGN_SEED_KEY = 2**32 - 1
"""Spawn key of the design sampler's seed: outside the range of run indices."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BaseSpec(_Strict):
    """The base config every run starts from, with fixed overrides."""

    config: str = Field(description="Config file, relative to the experiment file.")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted keys set for every run, as with --set."
    )


class StopSpec(_Strict):
    """Stop a run early once a metric crosses a value (checked after each step)."""

    metric: str = Field(description="A per-step column, e.g. 'refuse' or 'passive_evade'.")
    op: Literal[">=", ">", "<=", "<"] = Field(">=", description="Comparison with `value`.")
    value: float = Field(description="Threshold of the metric.")
    after: int = Field(1, ge=0, description="Earliest step at which the condition is checked.")


class DesignSpec(_Strict):
    """How design points are generated from `vary`."""

    kind: Literal["factorial", "lhs", "sobol", "morris"] = Field(
        "factorial",
        description=(
            "factorial: every combination of the listed values; lhs/sobol/morris: samples "
            "over {low, high} ranges."
        ),
    )
    samples: int | None = Field(
        None,
        ge=1,
        description=(
            "lhs: number of points; sobol: base N (N*(D+2) points, N*(2D+2) with "
            "second_order); morris: trajectories (N*(D+1) points)."
        ),
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")
    levels: int = Field(4, ge=2, description="morris: number of grid levels.")


class ExperimentSpec(_Strict):
    """The experiment file, as validated data (derived values are built separately)."""

    name: str | None = Field(None, min_length=1, description="Defaults to the file's stem.")
    description: str = Field("", description="What the experiment explores.")
    base: BaseSpec
    scenarios: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Named sets of overrides compared side by side; reserved key 'config': the "
            "scenario's own config file (relative to the experiment file) instead of base.config."
        ),
    )
    vary: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Parameter -> list of values, {start, stop, step} (stop included), {low, high} "
            "(sampled designs); key 'zip': parameters varied together."
        ),
    )
    expressions: dict[str, str] = Field(
        default_factory=dict,
        description="Derived parameters: dotted key -> arithmetic over other parameters.",
    )
    design: DesignSpec = Field(default_factory=DesignSpec)
    replications: int = Field(1, ge=1, le=100_000, description="Runs per design point.")
    steps: int | None = Field(None, ge=1, le=100_000, description="Overrides the config's steps.")
    stop: StopSpec | None = Field(None, description="Optional early stop condition.")
    metrics: list[str] | None = Field(None, description="Per-step columns to record.")
    record_every: int | Literal["end"] = Field(
        "end", description="'end': outcomes only; N: also a per-step series every N steps."
    )
    seed: int = Field(0, ge=0, description="Root seed; each run's seed derives from it.")
    batch_size: int | None = Field(None, ge=1, le=100_000, description="Runs per task.")

    @field_validator("record_every")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("give 'end' or a whole number of steps >= 1")
        return value


# ---------------------------------------------------------------------------- expressions

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round}


def _dotted(node: ast.AST) -> str | None:
    """`a.b.c` as a string, or None if the node is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted(node.value)
        return None if parent is None else f"{parent}.{node.attr}"
    return None


def parse_expression(text: str) -> ast.Expression:
    """Parse an arithmetic expression, allowing only numbers, names and + - * / ** %."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a valid expression ({error.msg})") from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.Constant,
            ast.Name,
            ast.Attribute,
            ast.Call,
            ast.Load,
            *_BINARY,
            *_UNARY,
        )
        if not isinstance(node, allowed):
            raise ValueError(f"'{type(node).__name__}' is not allowed; use numbers, names, + - * /")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"only numbers are allowed as constants, got {node.value!r}")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS
        ):
            raise ValueError(f"only the functions {sorted(_FUNCTIONS)} may be called")
    return tree


def evaluate_expression(tree: ast.Expression, lookup: Any) -> float:
    """Evaluate a parsed expression; `lookup(dotted_name)` gives a name's value."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id](*[walk(arg) for arg in node.args])
        name = _dotted(node)
        if name is None:
            raise ValueError("unsupported expression")
        return lookup(name)

    return walk(tree)


# ---------------------------------------------------------------------------- vary


@dataclass(frozen=True)
class Factor:
    """One axis of a factorial design: one or more parameters (a zip group) and their rows."""

    names: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Bounds:
    """A {low, high} range of a sampled design."""

    name: str
    low: float
    high: float
    integer: bool = False


def _stepped(spec: dict[str, Any], where: str, source: Path) -> list[Any]:
    """Values start, start+step, ..., stop (stop included, as in BehaviorSpace)."""
    extra = sorted(set(spec) - {"start", "stop", "step"})
    if extra:
        raise ConfigError(
            f"unknown key '{extra[0]}'; a range is {{start, stop, step}}", source, where
        )
    try:
        start, stop, step = (spec[key] for key in ("start", "stop", "step"))
    except KeyError as missing:
        raise ConfigError(
            f"a range needs start, stop and step (missing {missing})", source, where
        ) from None
    numbers = (start, stop, step)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise ConfigError("start, stop and step must be numbers", source, where)
    if not all(math.isfinite(v) for v in numbers):
        raise ConfigError("start, stop and step must be finite", source, where)
    if step <= 0:
        raise ConfigError(f"step must be > 0, got {step}", source, where)
    if stop < start:
        raise ConfigError(f"stop ({stop}) must not be below start ({start})", source, where)
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 100_000:
        raise ConfigError(f"range gives {count} values; at most 100,000", source, where)
    whole = all(isinstance(v, int) for v in numbers)
    return [start + i * step if whole else round(start + i * step, 12) for i in range(count)]


def _values(raw: Any, where: str, source: Path) -> list[Any]:
    """A factorial parameter's values: a non-empty list or a stepped range."""
    if isinstance(raw, list):
        if not raw:
            raise ConfigError("the list of values is empty", source, where)
        return raw
    if isinstance(raw, dict):
        if {"low", "high"} & set(raw):
            raise ConfigError(
                "{low, high} ranges need a sampled design (design.kind: lhs, sobol or morris); "
                "for a factorial design give a list or {start, stop, step}",
                source,
                where,
            )
        return _stepped(raw, where, source)
    raise ConfigError(
        f"expected a list of values or {{start, stop, step}}, got {json.dumps(raw)}", source, where
    )


def _bounds(name: str, raw: Any, where: str, source: Path) -> Bounds:
    """A sampled design's {low, high[, integer]} range."""
    if not isinstance(raw, dict) or not {"low", "high"} <= set(raw):
        raise ConfigError(
            "a sampled design (lhs, sobol, morris) needs {low, high} for every parameter",
            source,
            where,
        )
    extra = sorted(set(raw) - {"low", "high", "integer"})
    if extra:
        raise ConfigError(f"unknown key '{extra[0]}'; expected low, high, integer", source, where)
    low, high = raw["low"], raw["high"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise ConfigError("low and high must be numbers", source, where)
    if not high > low:
        raise ConfigError(f"high ({high}) must be above low ({low})", source, where)
    return Bounds(name, float(low), float(high), bool(raw.get("integer", False)))


def _zip_groups(raw: Any, source: Path) -> list[Factor]:
    """`zip`: a mapping (or a list of mappings) of parameters with equally long lists."""
    groups = raw if isinstance(raw, list) else [raw]
    factors = []
    for number, group in enumerate(groups):
        where = "vary.zip" if not isinstance(raw, list) else f"vary.zip.{number}"
        if not isinstance(group, dict) or not group:
            raise ConfigError("a zip group maps parameters to lists of values", source, where)
        columns = {
            name: _values(values, f"{where}.{name}", source) for name, values in group.items()
        }
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) != 1:
            raise ConfigError(
                f"parameters varied together need lists of equal length, got {lengths}",
                source,
                where,
            )
        factors.append(Factor(tuple(columns), tuple(zip(*columns.values(), strict=True))))
    return factors


# ---------------------------------------------------------------------------- experiment


@dataclass
class DesignPoint:
    """One combination of parameters (within one scenario), shared by its replications."""

    index: int
    scenario: str
    overrides: dict[str, Any]
    base: str | None = None
    """Key of the scenario's own base config in `Experiment.scenario_bases`, or None for
    the experiment's base config."""


@dataclass
class Experiment:
    """A validated experiment: its points, their configs' raw data, and run bookkeeping."""

    path: Path
    spec: ExperimentSpec
    name: str
    text: str
    base_data: dict[str, Any]
    base_config: SimulationConfig
    points: list[DesignPoint]
    parameters: list[str]
    point_values: list[dict[str, Any]]
    metrics: list[str]
    axes: list[list[str]] = field(default_factory=list)
    sampled: list[Bounds] = field(default_factory=list)
    scenario_bases: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Scenario name -> raw data of its own config file (extends and defaults resolved,
    then base.overrides), for scenarios that give `config`."""
    scenario_files: dict[str, Path] = field(default_factory=dict)
    """Scenario name -> its own config file, for scenarios that give `config`."""
    point_steps: list[int] = field(default_factory=list)
    """Steps of each design point's config."""

    @property
    def replications(self) -> int:
        """Runs per design point."""
        return self.spec.replications

    @property
    def n_runs(self) -> int:
        """Design points x replications."""
        return len(self.points) * self.spec.replications

    @property
    def steps(self) -> int:
        """Steps per run of the base config (the experiment's `steps`, else the base
        config's); see :attr:`steps_label` when scenarios bring their own configs."""
        return self.base_config.steps

    @property
    def steps_label(self) -> int | str:
        """Steps per run: a number when all design points agree, else 'min-max'."""
        steps = self.point_steps or [self.steps]
        low, high = min(steps), max(steps)
        return low if low == high else f"{low}-{high}"

    @property
    def record_every(self) -> int | None:
        """Steps between recorded series rows, or None for outcomes only."""
        every = self.spec.record_every
        return None if every == "end" else int(every)

    @property
    def fingerprint(self) -> str:
        """Hash of the experiment text and the resolved base config (and the resolved config
        of every scenario that has its own file): a resume must match it."""
        digest = hashlib.sha256()
        digest.update(self.text.encode("utf-8"))
        digest.update(json.dumps(self.base_config.to_dict(), sort_keys=True).encode("utf-8"))
        if self.scenario_bases:  # absent otherwise: earlier results folders still resume
            digest.update(json.dumps(self.scenario_bases, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()

    def point_config(self, index: int) -> SimulationConfig:
        """The config of design point `index`, as its runs use it (before the run seed):
        its scenario's own config or the base config, then the point's overrides."""
        point = self.points[index]
        base = self.scenario_bases[point.base] if point.base else self.base_data
        return validate_config(apply_overrides(base, point.overrides), self.path)

    def run_seed(self, run_index: int) -> int:
        """The seed of run `run_index`, from the root seed and the index only."""
        return run_seed(self.spec.seed, run_index)

    def run_spec(self, run_index: int) -> dict[str, Any]:
        """What a worker needs to run `run_index` (point, replication, seed, overrides)."""
        point = self.points[run_index // self.replications]
        return {
            "run_index": run_index,
            "point": point.index,
            "scenario": point.scenario,
            "replication": run_index % self.replications,
            "seed": self.run_seed(run_index),
            "base": point.base,
            "overrides": point.overrides,
            "parameters": self.point_values[point.index],
        }


def run_seed(root: int, run_index: int) -> int:
    """A 32-bit seed for run `run_index`, independent of every other run."""
    sequence = np.random.SeedSequence(root, spawn_key=(run_index,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def _normalise(value: Any) -> Any:
    """A parameter value as a table cell: numbers and strings as they are, else JSON."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json.dumps(value, sort_keys=True)


def _lookup_dotted(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _sample(
    kind: str, ranges: list[Bounds], design: DesignSpec, root: int, source: Path
) -> np.ndarray:
    """Unit samples scaled to the ranges (rows = points), seeded from the root seed."""
    if design.samples is None:
        raise ConfigError(f"design '{kind}' needs a sample size", source, "design.samples")
    seed = int(np.random.SeedSequence(root, spawn_key=(DESIGN_SEED_KEY,)).generate_state(1)[0])
    low = np.array([b.low for b in ranges])
    high = np.array([b.high for b in ranges])
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(
            design.samples
        )
        values = qmc.scale(unit, low, high)
    else:
        problem = {
            "num_vars": len(ranges),
            "names": [b.name for b in ranges],
            "bounds": [[b.low, b.high] for b in ranges],
        }
        if kind == "sobol":
            from SALib.sample import sobol

            values = sobol.sample(
                problem, design.samples, calc_second_order=design.second_order, seed=seed
            )
        else:
            from SALib.sample import morris

            values = morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)
    for column, bounds in enumerate(ranges):
        if bounds.integer:
            values[:, column] = np.round(values[:, column])
    return values


def _factorial(
    spec: ExperimentSpec, source: Path
) -> tuple[list[dict[str, Any]], list[Bounds], list[list[str]]]:
    """The design's parameter combinations (without scenarios and derived values), its
    sampled ranges, and its axes (parameters varied together share an axis)."""
    if spec.design.kind in SAMPLED_DESIGNS:
        if not spec.vary:
            raise ConfigError("a sampled design needs parameters in 'vary'", source, "vary")
        if "zip" in spec.vary:
            raise ConfigError("zip groups need a factorial design", source, "vary.zip")
        ranges = [_bounds(name, raw, f"vary.{name}", source) for name, raw in spec.vary.items()]
        values = _sample(spec.design.kind, ranges, spec.design, spec.seed, source)
        rows = [
            {b.name: (int(v) if b.integer else float(v)) for b, v in zip(ranges, row, strict=True)}
            for row in values
        ]
        return rows, ranges, [[b.name] for b in ranges]
    factors: list[Factor] = []
    for name, raw in spec.vary.items():
        if name == "zip":
            factors += _zip_groups(raw, source)
        else:
            values = _values(raw, f"vary.{name}", source)
            factors.append(Factor((name,), tuple((value,) for value in values)))
    seen: set[str] = set()
    for factor in factors:
        for name in factor.names:
            if name in seen:
                raise ConfigError("parameter is varied twice", source, f"vary.{name}")
            seen.add(name)
    rows = []
    for combination in itertools.product(*(factor.rows for factor in factors)):
        row: dict[str, Any] = {}
        for factor, values in zip(factors, combination, strict=True):
            row.update(zip(factor.names, values, strict=True))
        rows.append(row)
    return rows, [], [list(factor.names) for factor in factors]


def _where(name: str, spec: ExperimentSpec) -> str:
    """The experiment-file key that sets parameter `name` (for error messages)."""
    if name in spec.expressions:
        return f"expressions.{name}"
    if name in spec.vary:
        return f"vary.{name}"
    zipped = spec.vary.get("zip")
    groups = zipped if isinstance(zipped, list) else [zipped] if zipped else []
    if any(isinstance(g, dict) and name in g for g in groups):
        return f"vary.zip.{name}"
    return f"vary.{name}"


def _check_overrides(
    base: dict[str, Any], overrides: dict[str, Any], source: Path, where: str
) -> SimulationConfig:
    """Build a config from the base data and overrides; report problems at `where`."""
    try:
        data = apply_overrides(base, overrides) if overrides else base
    except (AttributeError, TypeError):
        raise ConfigError(
            "overrides must be a mapping of dotted keys to values", source, where
        ) from None
    try:
        return validate_config(data, source)
    except ConfigError as error:
        key = f"{where}: {error.key}" if error.key else where
        raise ConfigError(error.detail, source, key) from None


def _derive(
    row: dict[str, Any],
    trees: dict[str, ast.Expression],
    base: dict[str, Any],
    source: Path,
) -> dict[str, Any]:
    """Add derived parameters to a design row (in file order; later ones may use earlier)."""
    row = dict(row)
    for name, tree in trees.items():

        def lookup(dotted: str, _name: str = name) -> Any:
            if dotted in row:
                return row[dotted]
            matches = [key for key in row if key.rsplit(".", 1)[-1] == dotted]
            if len(matches) == 1:
                return row[matches[0]]
            if len(matches) > 1:
                raise ConfigError(
                    f"name '{dotted}' is ambiguous ({matches}); use the dotted key",
                    source,
                    f"expressions.{_name}",
                )
            try:
                return _lookup_dotted(base, dotted)
            except KeyError:
                raise ConfigError(
                    f"unknown name '{dotted}'; use a varied parameter {list(row)} or a config key",
                    source,
                    f"expressions.{_name}",
                ) from None

        try:
            value = evaluate_expression(tree, lookup)
        except (ArithmeticError, TypeError, ValueError) as error:
            raise ConfigError(f"cannot evaluate ({error})", source, f"expressions.{name}") from None
        row[name] = round(float(value), 12) if isinstance(value, float) else value
    return row


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and expand an experiment file; every design point's config is built."""
    path = Path(path)
    raw = read_yaml(path)
    text = path.read_text(encoding="utf-8")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as error:
        raise describe_validation_error(error, path, root=ExperimentSpec) from None

    name = spec.name or path.stem
    _, base_data = _config_data(spec.base.config, path, "base.config", "base config")
    if spec.steps is not None:
        base_data["steps"] = spec.steps
    base_data["name"] = name
    base_config = _check_overrides(base_data, spec.base.overrides, path, "base.overrides")
    base_data = base_config.to_dict()
    scenario_files, scenario_bases = _scenario_configs(spec, path, name)

    metrics = list(spec.metrics) if spec.metrics is not None else list(DEFAULT_METRICS)
    known = [*rate_columns(), *SERIES_EXTRA]
    for index, metric in enumerate(metrics):
        if metric not in known:
            close = difflib.get_close_matches(metric, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(known)}"
            raise ConfigError(f"unknown metric '{metric}'{hint}", path, f"metrics.{index}")
    if not metrics:
        raise ConfigError("give at least one metric", path, "metrics")
    if spec.stop is not None and spec.stop.metric not in known:
        raise ConfigError(f"unknown metric '{spec.stop.metric}'", path, "stop.metric")

    trees: dict[str, ast.Expression] = {}
    for target, expression in spec.expressions.items():
        try:
            trees[target] = parse_expression(expression)
        except ValueError as error:
            raise ConfigError(str(error), path, f"expressions.{target}") from None

    _check_reserved(spec, path)

    rows, ranges, axes = _factorial(spec, path)
    clash = [name for name in trees if any(name in row for row in rows[:1])]
    if clash:
        raise ConfigError("a derived parameter is also varied", path, f"expressions.{clash[0]}")
    scenario_items = [
        (scenario, {key: value for key, value in entry.items() if key != "config"})
        for scenario, entry in spec.scenarios.items()
    ] or [("base", {})]
    points: list[DesignPoint] = []
    values: list[dict[str, Any]] = []
    steps: list[int] = []
    parameter_names = list(
        dict.fromkeys(
            [key for _, overrides in scenario_items for key in overrides]
            + [key for row in rows[:1] for key in row]
            + list(trees)
        )
    )
    for scenario, scenario_overrides in scenario_items:
        own = scenario if scenario in scenario_bases else None
        start = scenario_bases[scenario] if own else base_data
        for row in rows:
            overrides = _derive({**scenario_overrides, **row}, trees, start, path)
            config = _build_point(start, overrides, path, spec, len(points), scenario, overrides)
            resolved = config.to_dict()
            values.append(
                {key: _normalise(_lookup_dotted_or_none(resolved, key)) for key in parameter_names}
            )
            steps.append(config.steps)
            points.append(DesignPoint(len(points), scenario, overrides, own))
    _unify_columns(values, parameter_names)
    return Experiment(
        path=path,
        spec=spec,
        name=name,
        text=text,
        base_data=base_data,
        base_config=base_config,
        points=points,
        parameters=parameter_names,
        point_values=values,
        metrics=metrics,
        axes=axes,
        sampled=ranges,
        scenario_bases=scenario_bases,
        scenario_files=scenario_files,
        point_steps=steps,
    )


def _config_data(given: str, source: Path, where: str, what: str) -> tuple[Path, dict[str, Any]]:
    """A config file named in the experiment (relative to it), with its `extends` chain
    resolved and merged onto the defaults, as `load_config` reads it (not yet validated)."""
    config_path = Path(given)
    if not config_path.is_absolute():
        config_path = source.parent / config_path
    try:
        found = config_path.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise ConfigError(f"{what} not found: {config_path}", source, where)
    try:
        file_data = resolve_extends(config_path)
    except ConfigError as error:
        raise ConfigError(f"{what}: {error}", source, where) from None
    file_data.setdefault("name", config_path.stem)
    return config_path, deep_merge(DEFAULT_DATA, file_data)


def _scenario_configs(
    spec: ExperimentSpec, source: Path, name: str
) -> tuple[dict[str, Path], dict[str, dict[str, Any]]]:
    """The own config of each scenario that gives `config`: its file and its data (the
    experiment's `steps` if set, else the file's; then base.overrides), validated."""
    files: dict[str, Path] = {}
    bases: dict[str, dict[str, Any]] = {}
    for scenario, entry in spec.scenarios.items():
        if "config" not in entry:
            continue
        where = f"scenarios.{scenario}.config"
        given = entry["config"]
        if not isinstance(given, str) or not given.strip():
            raise ConfigError(
                "expected the path of a config file (relative to the experiment file), got "
                f"{json.dumps(given, default=str)}",
                source,
                where,
            )
        files[scenario], data = _config_data(given, source, where, "scenario config")
        if spec.steps is not None:
            data["steps"] = spec.steps
        data["name"] = name
        _check_overrides(data, {}, source, f"{where} ({files[scenario]})")
        bases[scenario] = _check_overrides(
            data, spec.base.overrides, source, f"base.overrides (on {where})"
        ).to_dict()
    return files, bases


RESERVED: frozenset[str] = frozenset({"seed", "name"})
"""Config keys an experiment may not vary: run seeds derive from the root seed, and the
name is the experiment's."""


def _check_reserved(spec: ExperimentSpec, source: Path) -> None:
    """Refuse varying `seed` or `name` (they would also clash with run-table columns)."""
    zipped = spec.vary.get("zip")
    groups = zipped if isinstance(zipped, list) else [zipped] if isinstance(zipped, dict) else []
    places = [(f"vary.{key}", key) for key in spec.vary if key != "zip"]
    places += [
        (f"vary.zip.{key}", key) for group in groups if isinstance(group, dict) for key in group
    ]
    places += [(f"expressions.{key}", key) for key in spec.expressions]
    places += [
        (f"scenarios.{name}.{key}", key)
        for name, overrides in spec.scenarios.items()
        for key in overrides
        if key != "config"
    ]
    for where, key in places:
        if key in RESERVED:
            raise ConfigError(
                f"'{key}' cannot be varied: each run's seed derives from the experiment's root "
                "seed; use replications (and the top-level 'seed') instead",
                source,
                where,
            )


def _build_point(
    base: dict[str, Any],
    overrides: dict[str, Any],
    source: Path,
    spec: ExperimentSpec,
    index: int,
    scenario: str,
    row: dict[str, Any],
) -> SimulationConfig:
    """Build a design point's config; an error names the file key that set the culprit."""
    try:
        return validate_config(apply_overrides(base, overrides), source)
    except ConfigError as error:
        culprit = [
            key
            for key in row
            if error.key and (key == error.key or key.startswith(error.key + "."))
        ]
        place = "design"
        if culprit:
            in_scenario = culprit[0] in spec.scenarios.get(scenario, {})
            place = (
                f"scenarios.{scenario}.{culprit[0]}" if in_scenario else _where(culprit[0], spec)
            )
        named = error.key and not (culprit and culprit[0] == error.key)
        detail = f"{error.key}: {error.detail}" if named else error.detail
        raise ConfigError(
            f"{detail} at design point {index} ({_describe(scenario, row)})", source, place
        ) from None


def _describe(scenario: str, row: dict[str, Any]) -> str:
    parts = [f"scenario {scenario}"] if scenario != "base" else []
    parts += [f"{key}={json.dumps(value)}" for key, value in row.items()]
    return ", ".join(parts) or "base"


def _lookup_dotted_or_none(data: dict[str, Any], dotted: str) -> Any:
    try:
        return _lookup_dotted(data, dotted)
    except KeyError:
        return None


def _unify_columns(values: list[dict[str, Any]], names: list[str]) -> None:
    """Make each parameter column one type (numbers as floats, or all text) for Parquet."""
    for name in names:
        cells = [row[name] for row in values if row[name] is not None]
        numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in cells)
        if numeric:
            for row in values:
                if row[name] is not None:
                    row[name] = float(row[name])
        elif not all(isinstance(c, bool) for c in cells):
            for row in values:
                if row[name] is not None and not isinstance(row[name], str):
                    row[name] = json.dumps(row[name])
