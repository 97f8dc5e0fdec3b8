"""Experiment files: schema, validation and the list of runs they describe.

An experiment file names a base config, the parameters to vary (or named scenarios to
compare), a design (full factorial, Latin hypercube, Sobol or Morris), replications and a
root seed. :func:`load_experiment` validates all of it *and* builds the config of every
design point before any run starts, so that a misspelt parameter fails fast with a
:class:`~simulation.errors.ConfigError` (exit 2 on the command line), never half-way
through a sweep.

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
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from simulation.config.example_scale import scaled_config, scaled_experiment
from simulation.config.limits import DESIGN_POINTS, RUNS
from simulation.config.loading import (
    apply_overrides,
    deep_merge,
    input_problem,
    parse_yaml,
    read_input_text,
    resolve_extends,
    validate_config,
    yaml_mapping,
)
from simulation.config.messages import describe_validation_error
from simulation.config.schema import DEFAULT_DATA, SimulationConfig
from simulation.errors import ConfigError
from simulation.experiments.expressions import evaluate_expression, parse_expression
from simulation.experiments.spec import (
    DESIGN_SEED_KEY,
    SAMPLED_DESIGNS,
    DesignSpec,
    ExperimentSpec,
)
from simulation.vocabulary import DEFAULT_METRICS, metric_names

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
    group: str | None = None
    """The prior a unit-cube coordinate belongs to (a design over the priors; a Dirichlet
    takes several coordinates), the group of its Sobol index."""


def _stepped(spec: dict[str, Any], where: str, source: str | Path) -> list[Any]:
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


def _values(raw: Any, where: str, source: str | Path) -> list[Any]:
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


def _bounds(name: str, raw: Any, where: str, source: str | Path) -> Bounds:
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


def _zip_groups(raw: Any, source: str | Path) -> list[Factor]:
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
    draw: int | None = None
    """The draw of a prior design: runs of the same draw and replication have the same
    seed in every scenario (common random numbers)."""

    @cached_property
    def key(self) -> int:
        """The point's identity (scenario and values), from which its runs' seeds derive."""
        return point_key(self.scenario, self.overrides)


@dataclass
class Experiment:
    """A validated experiment: its points, their configs' raw data, and run bookkeeping.

    Build one from a file with :func:`load_experiment`, or from data with
    :meth:`Experiment.from_dict` (a notebook needs no file).
    """

    source: str
    """The experiment file, or '<experiment>' for one built from data (names it in errors)."""
    base_dir: Path
    """Folder that relative config paths in the experiment are read from."""
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
    prior: Any = None
    """The draws of a prior design (:class:`~simulation.experiments.prior_design.PriorDesign`)."""
    notes: list[str] = field(default_factory=list)
    """What building the design had to say (e.g. a sampler's advice on the sample size)."""

    @property
    def replications(self) -> int:
        """Runs per design point (at most, with adaptive replications)."""
        return self.spec.max_replications

    @property
    def n_runs(self) -> int:
        """Design points x replications (an upper bound with adaptive replications: run
        indices are numbered as if every point ran its maximum)."""
        return len(self.points) * self.spec.max_replications

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
        if self.prior is not None:
            digest.update(self.prior.fingerprint().encode("utf-8"))
        return digest.hexdigest()

    def point_config(self, index: int) -> SimulationConfig:
        """The config of design point `index`, as its runs use it (before the run seed):
        its scenario's own config or the base config, then the point's overrides."""
        point = self.points[index]
        base = self.scenario_bases[point.base] if point.base else self.base_data
        return validate_config(apply_overrides(base, point.overrides), self.source)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, base_dir: str | Path = ".", name: str | None = None
    ) -> Experiment:
        """An experiment from data shaped like an experiment file.

        ``base.config`` (and a scenario's ``config``) may be a file, relative to `base_dir`,
        or a mapping of config data. `name` is used when the data gives none.
        """
        if not isinstance(data, dict):
            raise ConfigError("expected a mapping shaped like an experiment file", "<experiment>")
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return _build(data, text, "<experiment>", Path(base_dir), name or "experiment")

    def with_changes(self, **changes: Any) -> Experiment:
        """This experiment with top-level keys of its data replaced (e.g. another design)."""
        data = yaml.safe_load(self.text) or {}
        data.update(changes)
        data.setdefault("name", self.name)
        text = yaml.safe_dump(data, sort_keys=False)
        return _build(data, text, self.source, self.base_dir, self.name)

    def run_seed(self, run_index: int) -> int:
        """The seed of run `run_index`: from the root seed, its design point's identity
        (scenario and values) and its replication number; in a prior design, from its draw
        and replication, the same in every scenario (common random numbers)."""
        point = self.points[run_index // self.replications]
        return self._point_seed(point, run_index % self.replications)

    def _point_seed(self, point: DesignPoint, replication: int) -> int:
        if point.draw is not None:
            from simulation.experiments.prior_design import common_seed

            return common_seed(self.spec.seed, point.draw, replication)
        return run_seed(self.spec.seed, point.key, replication)

    def run_spec(self, run_index: int) -> dict[str, Any]:
        """What a worker needs to run `run_index` (point, replication, seed, overrides)."""
        point = self.points[run_index // self.replications]
        replication = run_index % self.replications
        return {
            "run_index": run_index,
            "point": point.index,
            "scenario": point.scenario,
            "replication": replication,
            "seed": self._point_seed(point, replication),
            "base": point.base,
            "overrides": point.overrides,
            "parameters": self.point_values[point.index],
        }


def run_seed(root: int, point_key: int, replication: int) -> int:
    """A 32-bit seed for one replication of one design point, independent of every other run.

    It depends on the point's identity (:func:`point_key`), not on its place in the design,
    so adding values, scenarios or replications to an experiment keeps the seeds (and, with
    the run cache, the results) of the runs it already had.
    """
    sequence = np.random.SeedSequence(root, spawn_key=(point_key, replication))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def point_key(scenario: str, overrides: dict[str, Any]) -> int:
    """A design point's identity as a 63-bit number: its scenario and its values."""
    text = json.dumps([scenario, overrides], sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


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
    kind: str, ranges: list[Bounds], design: DesignSpec, root: int, source: str | Path
) -> tuple[np.ndarray, list[str]]:
    """Unit samples scaled to the ranges (rows = points), seeded from the root seed, and
    the samplers' warnings as notes (SALib warns, say, that Sobol' points want a power
    of 2): the caller shows them once, as notes, instead of on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = _draw(kind, ranges, design, root, source)
    notes = list(dict.fromkeys(f"design.samples: {w.message}" for w in caught))
    return values, notes


def _draw(
    kind: str, ranges: list[Bounds], design: DesignSpec, root: int, source: str | Path
) -> np.ndarray:
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
        if any(b.group is not None for b in ranges):
            problem["groups"] = [b.group or b.name for b in ranges]
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
    spec: ExperimentSpec, source: str | Path, priors: Any = None
) -> tuple[list[dict[str, Any]], list[Bounds], list[list[str]], list[str]]:
    """The design's parameter combinations (without scenarios and derived values), its
    sampled ranges, its axes (parameters varied together share an axis) and notes. With
    `priors` (a sampled design's `design.priors`) every prior is sampled too, through its
    quantiles."""
    if spec.design.kind in SAMPLED_DESIGNS:
        if not spec.vary and priors is None:
            raise ConfigError("a sampled design needs parameters in 'vary'", source, "vary")
        if "zip" in spec.vary:
            raise ConfigError("zip groups need a factorial design", source, "vary.zip")
        ranges = [_bounds(name, raw, f"vary.{name}", source) for name, raw in spec.vary.items()]
        explicit = len(ranges)
        if priors is not None:
            ranges += [
                Bounds(key if size == 1 else f"{key}#{index}", 0.0, 1.0, group=key)
                for key, size in priors.unit_groups()
                for index in range(size)
            ]
        ranges = grouped_inputs(ranges, spec.design, source)
        _check_size(
            sampled_points(spec.design, len({b.group or b.name for b in ranges})),
            spec,
            source,
            "design.samples",
            f"{spec.design.kind} design of {spec.design.samples} samples",
        )
        values, notes = _sample(spec.design.kind, ranges, spec.design, spec.seed, source)
        rows = [
            {
                b.name: (int(v) if b.integer else float(v))
                for b, v in zip(ranges[:explicit], row, strict=True)
            }
            for row in values[:, :explicit]
        ]
        if priors is not None:
            for row, draw in zip(rows, priors.from_unit(values[:, explicit:]), strict=True):
                row.update(draw)
        return rows, ranges, [[b.name] for b in ranges[:explicit]], notes
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
    counts = [len(factor.rows) for factor in factors]
    _check_size(
        math.prod(counts), spec, source, "vary", " x ".join(f"{n:,}" for n in counts) + " values"
    )
    rows = []
    for combination in itertools.product(*(factor.rows for factor in factors)):
        row: dict[str, Any] = {}
        for factor, values in zip(factors, combination, strict=True):
            row.update(zip(factor.names, values, strict=True))
        rows.append(row)
    return rows, [], [list(factor.names) for factor in factors], []


def grouped_inputs(ranges: list[Bounds], design: DesignSpec, source: str | Path) -> list[Bounds]:
    """The sampled inputs with their index group (`design.groups`): by prior (the default: a
    Dirichlet's coordinates are one input), by config section, or by the file's mapping. The
    groups are sampled together (SALib's grouped Saltelli design), so the design, not only its
    analysis, depends on them."""
    groups = design.groups
    if groups == "prior":
        return ranges
    if design.kind not in ("sobol", "morris"):
        raise ConfigError(
            f"groups need a sobol or morris design (got {design.kind})", source, "design.groups"
        )
    if groups == "section":
        return [replace(b, group=b.group.split(".", 1)[0]) if b.group else b for b in ranges]
    if not groups:
        raise ConfigError("give at least one group", source, "design.groups")
    keys = list(dict.fromkeys(b.group or b.name for b in ranges))
    owner: dict[str, str] = {}
    for name, members in groups.items():
        if not members:
            raise ConfigError(
                "a group needs at least one member (a vary range, a prior key or a section)",
                source,
                f"design.groups.{name}",
            )
        for index, member in enumerate(members):
            matched = [key for key in keys if key == member or key.startswith(f"{member}.")]
            where = f"design.groups.{name}.{index}"
            if not matched:
                sections = ", ".join(dict.fromkeys(key.split(".", 1)[0] for key in keys))
                raise ConfigError(
                    f"'{member}' is no sampled input; expected a vary range, a prior key or a "
                    f"section of them ({sections})",
                    source,
                    where,
                )
            for key in matched:
                if owner.setdefault(key, name) != name:
                    raise ConfigError(f"'{key}' is already in group '{owner[key]}'", source, where)
    missing = [key for key in keys if key not in owner]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ConfigError(
            f"every sampled input needs a group; not in any: {shown}", source, "design.groups"
        )
    return [replace(b, group=owner[b.group or b.name]) for b in ranges]


def sampled_points(design: DesignSpec, parameters: int) -> int:
    """Design points of a sampled design before it is drawn (SALib's sizes; `parameters`
    counts groups in a grouped design)."""
    samples = design.samples or 0
    if design.kind == "sobol":
        return samples * (2 * parameters + 2 if design.second_order else parameters + 2)
    if design.kind == "morris":
        return samples * (parameters + 1)
    return samples


def _check_size(rows: int, spec: ExperimentSpec, source: str | Path, where: str, how: str) -> None:
    """Refuse, before building it, a design beyond the limits on design points and runs."""
    scenarios = max(1, len(spec.scenarios))
    points = rows * scenarios
    detail = how + (f" x {scenarios:,} scenarios" if scenarios > 1 else "")
    if points > DESIGN_POINTS.value:
        raise ConfigError(
            DESIGN_POINTS.exceeded(f"the design has {points:,} points ({detail})"), source, where
        )
    runs = points * spec.max_replications
    if runs > RUNS.value:
        raise ConfigError(
            RUNS.exceeded(
                f"the experiment has {runs:,} runs ({points:,} points x "
                f"{spec.max_replications:,} replications)"
            ),
            source,
            "replications",
        )


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
    base: dict[str, Any], overrides: dict[str, Any], source: str | Path, where: str
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
    source: str | Path,
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
    text = read_input_text(path)
    raw = yaml_mapping(parse_yaml(text, path), path)
    return _build(raw, text, str(path), path.parent, path.stem)


def _build(
    raw: dict[str, Any], text: str, source: str, base_dir: Path, default_name: str
) -> Experiment:
    """Validate experiment data and expand it into design points (shared by file and dict)."""
    path = source
    config_keys = sorted(set(raw) & (set(DEFAULT_DATA) - {"name", "description", "seed", "steps"}))
    if "base" not in raw and config_keys:
        keys = ", ".join(f"'{key}'" for key in config_keys)
        raise ConfigError(
            f"this is a config file (it has {keys}), not an experiment: run it, or name it "
            "as base.config in an experiment file",
            path,
        )
    raw = scaled_experiment(raw)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as error:
        raise describe_validation_error(error, path, root=ExperimentSpec) from None

    name = spec.name or default_name
    _, base_data = _config_data(spec.base.config, path, base_dir, "base.config", "base config")
    if spec.steps is not None:
        base_data["steps"] = spec.steps
    base_data["name"] = name
    base_config = _check_overrides(base_data, spec.base.overrides, path, "base.overrides")
    base_data = base_config.to_dict()
    scenario_files, scenario_bases = _scenario_configs(spec, path, base_dir, name)

    metrics = list(spec.metrics) if spec.metrics is not None else list(DEFAULT_METRICS)
    known = metric_names()
    for index, metric in enumerate(metrics):
        if metric not in known:
            close = difflib.get_close_matches(metric, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(known)}"
            raise ConfigError(f"unknown metric '{metric}'{hint}", path, f"metrics.{index}")
    if not metrics:
        raise ConfigError("give at least one metric", path, "metrics")
    if spec.stop is not None and spec.stop.metric not in known:
        raise ConfigError(f"unknown metric '{spec.stop.metric}'", path, "stop.metric")
    rule = spec.adaptive
    for index, metric in enumerate(rule.metrics or [] if rule else []):
        if metric not in metrics:
            raise ConfigError(
                f"'{metric}' is not recorded; expected one of the experiment's metrics: "
                f"{', '.join(metrics)}",
                path,
                f"replications.metrics.{index}",
            )

    trees: dict[str, ast.Expression] = {}
    for target, expression in spec.expressions.items():
        try:
            trees[target] = parse_expression(expression)
        except ValueError as error:
            raise ConfigError(str(error), path, f"expressions.{target}") from None

    _check_reserved(spec, path)

    prior = None
    notes: list[str] = []
    if spec.design.kind == "prior":
        draws = spec.design.samples or 0
        _check_size(draws, spec, path, "design.samples", f"prior design of {draws:,} draws")
        prior = _prior_draws(spec, path, base_dir, base_data, scenario_bases)
        rows, ranges, axes = [dict(draw) for draw in prior.draws], [], []
    elif spec.design.priors is not None and spec.design.kind in SAMPLED_DESIGNS:
        from simulation.experiments.prior_design import sampled_prior_design

        priors = _design_priors(spec, path, base_dir)
        rows, ranges, axes, notes = _factorial(spec, path, priors)
        prior = sampled_prior_design(priors, rows, spec, base_data, scenario_bases)
    else:
        rows, ranges, axes, notes = _factorial(spec, path)
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
    prior_columns = set(prior.columns) if prior is not None else set()
    for scenario, scenario_overrides in scenario_items:
        own = scenario if scenario in scenario_bases else None
        start = scenario_bases[scenario] if own else base_data
        for draw, row in enumerate(rows):
            if prior is not None:
                explicit = {k: v for k, v in row.items() if k not in prior_columns}
                fixed = _derive({**scenario_overrides, **explicit}, trees, start, path)
                overrides = prior.point_overrides(start, scenario, fixed, draw)
            else:
                overrides = _derive({**scenario_overrides, **row}, trees, start, path)
            config = _build_point(start, overrides, path, spec, len(points), scenario, overrides)
            resolved = config.to_dict()
            values.append(
                {key: _normalise(_lookup_dotted_or_none(resolved, key)) for key in parameter_names}
            )
            if prior is not None:  # the drawn values, as drawn (kept assumptions as kept)
                values[-1].update({key: float(value) for key, value in prior.draws[draw].items()})
                for key in prior.kept.get(scenario, []):
                    values[-1].update(dict.fromkeys(prior.priors.priors[key].columns))
            steps.append(config.steps)
            common = draw if spec.design.kind == "prior" else None
            points.append(DesignPoint(len(points), scenario, overrides, own, common))
    _unify_columns(values, parameter_names)
    return Experiment(
        source=source,
        base_dir=base_dir,
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
        prior=prior,
        notes=notes,
    )


def _design_priors(spec: ExperimentSpec, source: str, base_dir: Path) -> Any:
    """The priors file a design names (default: the project's)."""
    from simulation.experiments.prior_design import priors_for

    priors = priors_for(spec.design, base_dir, source)
    if spec.design.exclude:
        unknown = [key for key in spec.design.exclude if key not in priors.priors]
        if unknown:
            raise ConfigError(f"'{unknown[0]}' has no prior", source, "design.exclude")
        priors = priors.without(set(spec.design.exclude))
    varied = [key for key in spec.vary if key in priors.priors]
    return priors.without(set(varied))


def _prior_draws(
    spec: ExperimentSpec,
    source: str,
    base_dir: Path,
    base_data: dict[str, Any],
    scenario_bases: dict[str, dict[str, Any]],
) -> Any:
    """The draws of a prior design, valid for every scenario (see prior_design)."""
    from simulation.experiments.prior_design import build_prior_design

    if spec.vary or spec.expressions:
        raise ConfigError(
            "a prior design draws every assumption from its prior: compare levers as "
            "scenarios, and fix values in base.overrides",
            source,
            "vary" if spec.vary else "expressions",
        )
    items = {
        name: {key: value for key, value in entry.items() if key != "config"}
        for name, entry in spec.scenarios.items()
    } or {"base": {}}
    starts = {name: scenario_bases.get(name, base_data) for name in items}
    return build_prior_design(spec.design, spec.seed, starts, items, base_dir, source)


def _config_data(
    given: str | dict[str, Any], source: str, base_dir: Path, where: str, what: str
) -> tuple[Path | None, dict[str, Any]]:
    """A config named in the experiment: a file (relative to `base_dir`, its `extends` chain
    resolved) or config data; merged onto the defaults as `load_config` does, not yet
    validated."""
    if isinstance(given, dict):
        if "extends" in given:
            raise ConfigError(f"{what}: 'extends' needs a config file", source, where)
        return None, scaled_config(
            deep_merge(DEFAULT_DATA, json.loads(json.dumps(given, default=str)))
        )
    config_path = Path(given)
    if not config_path.is_absolute():
        config_path = base_dir / config_path
    problem = input_problem(config_path)
    if problem == "file not found":
        raise ConfigError(f"{what} not found: {config_path}", source, where)
    if problem:
        raise ConfigError(f"{what} {config_path}: {problem}", source, where)
    try:
        file_data = resolve_extends(config_path)
    except ConfigError as error:
        raise ConfigError(f"{what}: {error}", source, where) from None
    file_data.setdefault("name", config_path.stem)
    return config_path, scaled_config(deep_merge(DEFAULT_DATA, file_data))


def _scenario_configs(
    spec: ExperimentSpec, source: str, base_dir: Path, name: str
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
        if not (isinstance(given, str) and given.strip()) and not isinstance(given, dict):
            raise ConfigError(
                "expected the path of a config file (relative to the experiment file) or "
                f"config data, got {json.dumps(given, default=str)}",
                source,
                where,
            )
        config_path, data = _config_data(given, source, base_dir, where, "scenario config")
        if config_path is not None:
            files[scenario] = config_path
        if spec.steps is not None:
            data["steps"] = spec.steps
        data["name"] = name
        _check_overrides(data, {}, source, f"{where} ({config_path or 'data'})")
        bases[scenario] = _check_overrides(
            data, spec.base.overrides, source, f"base.overrides (on {where})"
        ).to_dict()
    return files, bases


RESERVED: frozenset[str] = frozenset({"seed", "name"})
"""Config keys an experiment may not vary: run seeds derive from the root seed, and the
name is the experiment's."""


def _check_reserved(spec: ExperimentSpec, source: str | Path) -> None:
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
    source: str | Path,
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
