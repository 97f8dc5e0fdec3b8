"""Calibration targets: real-world anchors, what model output each maps to, and how weak it is.

A targets file (``configs/targets/*.yaml``) names the parameters to calibrate (keys of the
priors file), the model size the calibration runs at, the approximate-Bayesian-computation
settings, the **targets** (each with its source, the figure, why the analogy is weak, the
scenario and model output it maps to, the value, a tolerance on a stated scale, and a
weight) and **checks**: stylised facts the calibrated runs should still show although they
were not fitted to them. :func:`load_targets` validates all of it, with one line naming the
file and key for any problem, before any simulation runs.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulation.config.example_scale import scaled_targets
from simulation.config.loading import (
    apply_overrides,
    deep_merge,
    read_yaml,
    resolve_extends,
    validate_config,
)
from simulation.config.messages import describe_validation_error
from simulation.config.priors import DEFAULT_PRIORS_FILE, Priors, load_priors
from simulation.config.schema import DEFAULT_DATA
from simulation.errors import ConfigError
from simulation.vocabulary import metric_names

STATISTIC_HELP = (
    "final, peak, mean, at_order_plus_N (N months after the change of war-order level) or "
    "step_N (the value at step N)"
)
SCALES: dict[str, str] = {
    "linear": "the value itself",
    "log": "natural logarithm (ratios and small shares: a tolerance of 0.7 is a factor of 2)",
    "logit": "log-odds (shares near 0 or 1)",
    "count": (
        "a count likelihood for rare events: the output is a count of events, `exposure` the "
        "number at risk, and the model's count k is compared with the expected count "
        "value x exposure by the signed root of the negative-binomial deviance, with "
        "dispersion tolerance^2 (the analogy's spread on a log scale); a zero count is a "
        "finite distance, as likely as the expected count makes it"
    ),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ScenarioSpec(_Strict):
    """A scenario: a config file (relative to the targets file) and overrides."""

    config: str = Field(description="Config file, relative to the targets file.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted config keys.")


class TargetSpec(ScenarioSpec):
    """One real-world anchor and the model output it maps to."""

    source: str = Field(min_length=1, description="Where the figure comes from.")
    figure: str = Field(min_length=1, description="The figure as reported.")
    analogy: str = Field(min_length=1, description="Why the analogy is weak: what differs.")
    output: str = Field(description="Arithmetic over metric names, e.g. 'evade / refuse'.")
    statistic: str = Field("final", description=f"Of each metric: {STATISTIC_HELP}.")
    value: float = Field(description="The target, in the output's units.")
    scale: Literal["linear", "log", "logit", "count"] = Field(
        "linear", description="Scale on which the model is compared with the value."
    )
    tolerance: float = Field(
        gt=0,
        description="How far off (on the scale) still counts as a match: how weak the analogy is.",
    )
    weight: float = Field(1.0, gt=0, description="Relative weight in the distance.")
    exposure: str | None = Field(
        None,
        description=(
            "count scale: the number at risk, arithmetic over metrics at month 0 (e.g. "
            "'n_active * 12' for officer-months of a year); the target value is events per unit."
        ),
    )
    defence: str = Field(
        "",
        description=(
            "Why the model output measures the same behaviour as the figure, and why this "
            "tolerance."
        ),
    )

    @model_validator(mode="after")
    def _exposure_with_counts(self) -> TargetSpec:
        if (self.scale == "count") != (self.exposure is not None):
            raise ValueError("a count scale needs an exposure, and only a count scale takes one")
        return self


class CheckSpec(ScenarioSpec):
    """A stylised fact the calibrated runs should show (not fitted)."""

    description: str = Field(min_length=1, description="The fact and where it comes from.")
    output: str = Field(description="Arithmetic over metric names, e.g. 'comply'.")
    statistic: str = Field("final", description=f"Of each metric: {STATISTIC_HELP}.")
    versus: ScenarioSpec | None = Field(
        None, description="Another scenario: the check is on output(here) - output(versus)."
    )
    above: float | None = Field(None, description="The fact holds when the output is above this.")
    below: float | None = Field(None, description="... or below this.")

    @model_validator(mode="after")
    def _one_side(self) -> CheckSpec:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' and 'below'")
        return self


class AbcSpec(_Strict):
    """Settings of ABC-SMC (pyabc)."""

    population_size: int = Field(200, ge=10, le=100_000, description="Particles per generation.")
    generations: int = Field(8, ge=1, le=100, description="Most generations.")
    min_epsilon: float = Field(
        0.0, ge=0, description="Stop once the distance threshold is at or below this."
    )
    max_simulations: int = Field(
        20_000, ge=1, description="Stop after about this many simulations (all generations)."
    )
    quantile: float = Field(
        0.5, gt=0, lt=1, description="Each generation's threshold: this quantile of distances."
    )
    seed: int = Field(0, ge=0, description="Root seed (same seed, same posterior).")
    prior_mixture: float = Field(
        0.2,
        ge=0,
        lt=1,
        description=(
            "Share of each generation's proposals drawn from the prior (Hesterberg's "
            "defensive mixture): every importance weight is then at most 1/share. 0.2 keeps "
            "the weights bounded at a cost of a fifth of the proposals; 0 is pyabc's plain "
            "kernel, whose weights collapsed."
        ),
    )
    kernel: Literal["normal", "logit"] = Field(
        "normal",
        description=(
            "The fitted kernel: a multivariate normal on the parameters' own scales (normal) "
            "or on the logit of each one's position in its prior range (logit: proposals "
            "never leave the support)."
        ),
    )


class TargetsFileSpec(_Strict):
    """The targets file, as validated data."""

    name: str | None = Field(None, min_length=1, description="Defaults to the file's stem.")
    description: str = Field("", description="What this calibration is.")
    priors: str | None = Field(None, description="Priors file (default: configs/priors.yaml).")
    parameters: list[str] = Field(min_length=1, description="Prior keys to calibrate.")
    others: Literal["default", "prior"] = Field(
        "default",
        description=(
            "The other assumptions: at the config's values (default), or drawn from their "
            "priors in every simulation (prior: the posterior integrates over them)."
        ),
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Set in every scenario (e.g. the calibration's model size).",
    )
    replications: int = Field(1, ge=1, le=100, description="Runs averaged per scenario.")
    abc: AbcSpec = Field(default_factory=AbcSpec)
    predictive_draws: int = Field(
        100, ge=2, le=100_000, description="Posterior (and prior) predictive runs per scenario."
    )
    targets: dict[str, TargetSpec] = Field(min_length=1, description="The anchors.")
    checks: dict[str, CheckSpec] = Field(
        default_factory=dict, description="Stylised facts checked, not fitted."
    )


@dataclass(frozen=True)
class Output:
    """An output: an arithmetic expression over metrics, each taken at one statistic."""

    text: str
    statistic: str
    metrics: tuple[str, ...]

    def evaluate(self, values: dict[str, float]) -> float:
        """The output from metric values (NaN when it is undefined, e.g. a ratio over 0)."""
        from simulation.experiments.expressions import evaluate_expression, parse_expression

        try:
            return float(evaluate_expression(parse_expression(self.text), values.__getitem__))
        except (ArithmeticError, ValueError):
            return math.nan


@dataclass(frozen=True)
class Scenario:
    """A scenario's config data (validated), shared by the targets and checks that use it."""

    key: str
    label: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Target:
    name: str
    spec: TargetSpec
    scenario: str
    output: Output
    exposure: Output | None = None
    """count scale: the number at risk (at month 0)."""

    def transform(self, value: float) -> float:
        """A value on the target's comparison scale (count targets: see `residual`)."""
        return transform(value, self.spec.scale)

    @property
    def observed(self) -> float:
        """The target on its comparison scale (0 for a count target, whose statistic is
        already its standardised residual)."""
        return 0.0 if self.spec.scale == "count" else self.transform(self.spec.value)

    @property
    def divisor(self) -> float:
        """What a difference on the comparison scale is divided by in the distance."""
        return 1.0 if self.spec.scale == "count" else self.spec.tolerance

    def residual(self, count: float, exposure: float) -> float:
        """count scale: the signed deviance residual of `count` events among `exposure`."""
        return count_residual(count, self.spec.value * exposure, self.spec.tolerance**2)


@dataclass(frozen=True)
class Check:
    name: str
    spec: CheckSpec
    scenario: str
    versus: str | None
    output: Output

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.spec.above is not None:
            return value > self.spec.above
        return value < float(self.spec.below)  # type: ignore[arg-type]


def transform(value: float, scale: str) -> float:
    """`value` on a comparison scale: -inf or inf where a log or logit has no finite value
    (no floor: such a run is infinitely far, and a target prone to zeros must use a count
    scale instead)."""
    if math.isnan(value):
        return math.nan
    if scale == "log":
        return math.log(value) if value > 0 else -math.inf
    if scale == "logit":
        if value <= 0:
            return -math.inf
        if value >= 1:
            return math.inf
        return math.log(value / (1 - value))
    return value


def count_residual(count: float, expected: float, dispersion: float) -> float:
    """The signed root of the negative-binomial deviance of `count` against a mean of
    `expected` with variance expected + dispersion x expected^2: about (log count − log
    expected) / sqrt(dispersion) for large counts, finite at a count of 0 (the evidence of
    no event is as strong as the expected count makes it). NaN when nothing is at risk."""
    if not (math.isfinite(count) and math.isfinite(expected)) or expected < 0 or count < 0:
        return math.nan
    if expected == 0:
        return 0.0 if count == 0 else math.nan
    size = 1.0 / dispersion
    tail = (count + size) * math.log((count + size) / (expected + size))
    head = count * math.log(count / expected) if count > 0 else 0.0
    deviance = max(2.0 * (head - tail), 0.0)
    return math.copysign(math.sqrt(deviance), count - expected)


@dataclass
class Targets:
    """A validated targets file."""

    spec: TargetsFileSpec
    name: str
    source: str
    text: str
    priors: Priors
    """The priors of the calibrated parameters."""
    all_priors: Priors
    scenarios: dict[str, Scenario]
    targets: list[Target]
    checks: list[Check] = field(default_factory=list)
    base_dir: Path = Path(".")

    def with_values(self, values: dict[str, float]) -> Targets:
        """These targets with other values (e.g. simulated ones, to test recovery)."""
        data = self.spec.model_dump(exclude_none=True)
        for name, value in values.items():
            data["targets"][name]["value"] = value
        return targets_from_dict(data, self.source, self.base_dir, self.text)

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def others(self) -> Priors | None:
        """Priors drawn anew in every simulation (others: prior), or None."""
        if self.spec.others != "prior":
            return None
        return self.all_priors.without(set(self.parameters))

    @property
    def fingerprint(self) -> str:
        import hashlib

        digest = hashlib.sha256(json.dumps(self.spec.model_dump(), sort_keys=True).encode())
        digest.update(
            json.dumps({k: s.data for k, s in self.scenarios.items()}, sort_keys=True).encode()
        )
        digest.update(self.all_priors.text.encode("utf-8"))
        return digest.hexdigest()


def _output(text: str, statistic: str, source: str, where: str) -> Output:
    """Validate an output expression and its statistic."""
    from simulation.experiments.expressions import parse_expression

    try:
        tree = parse_expression(text)
    except ValueError as error:
        raise ConfigError(str(error), source, f"{where}.output") from None
    names = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id not in ("min", "max", "abs", "round")
    ]
    known = metric_names()
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown metric '{name}'{hint}", source, f"{where}.output")
    if not names:
        raise ConfigError("the output names no metric", source, f"{where}.output")
    lagged = any(
        statistic.startswith(prefix) and statistic.removeprefix(prefix).isdigit()
        for prefix in ("step_", "at_order_plus_")
    )
    if statistic not in ("final", "peak", "mean") and not lagged:
        raise ConfigError(
            f"unknown statistic '{statistic}'; use {STATISTIC_HELP}", source, f"{where}.statistic"
        )
    return Output(text, statistic, tuple(dict.fromkeys(names)))


def _scenario(
    spec: ScenarioSpec,
    common: dict[str, Any],
    base_dir: Path,
    source: str,
    where: str,
    scenarios: dict[str, Scenario],
) -> str:
    """Register a scenario (config + common overrides + own overrides); return its key."""
    path = Path(spec.config)
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ConfigError(f"config not found: {path}", source, f"{where}.config")
    try:
        data = deep_merge(DEFAULT_DATA, resolve_extends(path))
        data = apply_overrides(data, {**common, **spec.overrides})
        config = validate_config(data, path)
    except ConfigError as error:
        raise ConfigError(f"{error}", source, f"{where}.config") from None
    resolved = config.to_dict()
    resolved["name"] = path.stem
    key = json.dumps([str(path.resolve()), spec.overrides], sort_keys=True, default=str)
    if key not in scenarios:
        label = path.stem + ("" if not spec.overrides else f" ({len(spec.overrides)} overrides)")
        scenarios[key] = Scenario(key, label, resolved)
    return key


def targets_from_dict(
    data: Any, source: str | Path = "<targets>", base_dir: str | Path = ".", text: str = ""
) -> Targets:
    """Validate targets data (shaped like a targets file); config paths are relative to
    `base_dir`."""
    source = str(source)
    base_dir = Path(base_dir)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'parameters' and 'targets'", source)
    data = scaled_targets(data)
    try:
        spec = TargetsFileSpec.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, source, root=TargetsFileSpec) from None
    if spec.priors is None:
        all_priors = load_priors(DEFAULT_PRIORS_FILE)
    else:
        path = Path(spec.priors)
        path = path if path.is_absolute() else base_dir / path
        try:
            all_priors = load_priors(path)
        except ConfigError as error:
            raise ConfigError(f"priors file: {error}", source, "priors") from None
    for index, key in enumerate(spec.parameters):
        if key not in all_priors.priors:
            close = difflib.get_close_matches(key, list(all_priors.priors), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"'{key}' has no prior in {all_priors.source}{hint}", source, f"parameters.{index}"
            )
    if len(set(spec.parameters)) != len(spec.parameters):
        raise ConfigError("a parameter is listed twice", source, "parameters")
    priors = all_priors.select(spec.parameters)
    scenarios: dict[str, Scenario] = {}
    targets = []
    for name, target in spec.targets.items():
        where = f"targets.{name}"
        output = _output(target.output, target.statistic, source, where)
        if target.scale in ("log",) and target.value <= 0:
            raise ConfigError("a log scale needs a value above 0", source, f"{where}.value")
        if target.scale == "logit" and not 0 < target.value < 1:
            raise ConfigError("a logit scale needs a value in (0, 1)", source, f"{where}.value")
        if target.scale == "count" and target.value < 0:
            raise ConfigError("a count scale needs a rate of at least 0", source, f"{where}.value")
        exposure = (
            _output(target.exposure, "step_0", source, f"{where}.exposure")
            if target.exposure is not None
            else None
        )
        key = _scenario(target, spec.overrides, base_dir, source, where, scenarios)
        targets.append(Target(name, target, key, output, exposure))
    checks = []
    for name, check in spec.checks.items():
        where = f"checks.{name}"
        output = _output(check.output, check.statistic, source, where)
        key = _scenario(check, spec.overrides, base_dir, source, where, scenarios)
        versus = (
            _scenario(check.versus, spec.overrides, base_dir, source, f"{where}.versus", scenarios)
            if check.versus is not None
            else None
        )
        checks.append(Check(name, check, key, versus, output))
    name = spec.name or (Path(source).stem if source != "<targets>" else "calibration")
    return Targets(
        spec, name, source, text, priors, all_priors, scenarios, targets, checks, base_dir
    )


def load_targets(path: str | Path) -> Targets:
    """Read and validate a targets file."""
    path = Path(path)
    data = read_yaml(path)
    return targets_from_dict(data, path, path.parent, path.read_text(encoding="utf-8"))
