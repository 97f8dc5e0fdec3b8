"""The experiment file's schema: base config, scenarios, what to vary, design, replications.

Validated data only; :mod:`simulation.experiments.design` expands it into design points
and runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from simulation.config.loading import path_component_problem
from simulation.experiments.timeouts import DEFAULT_RUN_TIMEOUT

SAMPLED_DESIGNS: frozenset[str] = frozenset({"lhs", "sobol", "morris"})
DESIGN_SEED_KEY = 2**32 - 1
"""Spawn key of the design sampler's seed: outside the range of run indices."""


def _not_boolean(value: Any) -> Any:
    """Refuse true/false where a number is expected (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


Whole = Annotated[int, BeforeValidator(_not_boolean)]
"""A whole number that is not a boolean."""
Number = Annotated[float, BeforeValidator(_not_boolean)]
"""A number that is not a boolean."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ReplicationRule(_Strict):
    """Adaptive replications: replicate each design point until the 95% confidence interval
    of its mean is tight enough, from `min` up to `max` runs."""

    until_ci_halfwidth: Number = Field(
        gt=0, description="Wanted half-width of the 95% CI of each outcome's mean (a share)."
    )
    min: Whole = Field(5, ge=2, description="Runs of every design point before any check.")
    max: Whole = Field(200, ge=2, le=100_000, description="Runs of a design point at most.")
    metrics: list[str] | None = Field(
        None, description="Metrics whose interval must be tight (default: every metric)."
    )
    measure: Literal["final", "peak"] = Field("final", description="Outcome measured.")

    @model_validator(mode="after")
    def _ordered(self) -> ReplicationRule:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class BaseSpec(_Strict):
    """The base config every run starts from, with fixed overrides."""

    config: str | dict[str, Any] = Field(
        description="Config file, relative to the experiment file, or config data."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted config keys set for every run."
    )


class StopSpec(_Strict):
    """Stop a run early once a metric crosses a value (checked after each step)."""

    metric: str = Field(description="A per-step column, e.g. 'refuse' or 'passive_evade'.")
    op: Literal[">=", ">", "<=", "<"] = Field(">=", description="Comparison with `value`.")
    value: Number = Field(description="Threshold of the metric.")
    after: Whole = Field(1, ge=0, description="Earliest step at which the condition is checked.")


class DesignSpec(_Strict):
    """How design points are generated from `vary`."""

    kind: Literal["factorial", "lhs", "sobol", "morris", "prior"] = Field(
        "factorial",
        description=(
            "factorial: every combination of the listed values; lhs/sobol/morris: samples "
            "over {low, high} ranges; prior: draws from the priors (or a posterior), the same "
            "draws and seeds in every scenario."
        ),
    )
    samples: Whole | None = Field(
        None,
        ge=1,
        description=(
            "lhs: number of points; sobol: base N (N*(D+2) points, N*(2D+2) with "
            "second_order); morris: trajectories (N*(D+1) points); D counts groups (see "
            "groups); prior: draws."
        ),
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")
    levels: Whole = Field(4, ge=2, description="morris: number of grid levels.")
    priors: str | None = Field(
        None,
        description="prior: priors file, relative to the experiment (default configs/priors.yaml).",
    )
    posterior: str | None = Field(
        None,
        description=(
            "prior: a calibration results folder whose posterior replaces the priors of the "
            "calibrated parameters."
        ),
    )
    exclude: list[str] = Field(
        default_factory=list, description="prior: assumptions kept at the config's values."
    )
    groups: Literal["prior", "section"] | dict[str, list[str]] = Field(
        "prior",
        description=(
            "sobol/morris: the groups of inputs that get one index each (SALib groups, sampled "
            "and analysed together). prior: every prior one (a Dirichlet's coordinates are "
            "one), every vary range one; section: the priors by config section (decision, "
            "exit, population...), every vary range one; or a mapping group name -> members, "
            "each a vary range, a prior key or a dotted prefix of prior keys (a section), "
            "every sampled input in exactly one group."
        ),
    )


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
    replications: Annotated[Whole, Field(ge=1, le=100_000)] | ReplicationRule = Field(
        1,
        description=(
            "Runs per design point, or {until_ci_halfwidth, min, max}: replicate each point "
            "until its 95% CI is that tight."
        ),
    )
    steps: Whole | None = Field(None, ge=1, le=100_000, description="Overrides the config's steps.")
    stop: StopSpec | None = Field(None, description="Optional early stop condition.")
    metrics: list[str] | None = Field(None, description="Per-step columns to record.")
    record_every: Whole | Literal["end"] = Field(
        "end", description="'end': outcomes only; N: also a per-step series every N steps."
    )
    seed: Whole = Field(0, ge=0, description="Root seed; each run's seed derives from it.")
    batch_size: Whole | None = Field(None, ge=1, le=100_000, description="Runs per task.")
    run_timeout: Number | None = Field(
        None,
        gt=0,
        description=(
            f"Seconds a run may take before it is stopped and recorded as failed (default "
            f"{DEFAULT_RUN_TIMEOUT:g})."
        ),
    )

    @field_validator("name")
    @classmethod
    def _one_path_component(cls, value: str | None) -> str | None:
        problem = None if value is None else path_component_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def max_replications(self) -> int:
        """Runs per design point at most (the fixed number, or the rule's `max`)."""
        rule = self.replications
        return rule.max if isinstance(rule, ReplicationRule) else rule

    @property
    def adaptive(self) -> ReplicationRule | None:
        """The adaptive replication rule, or None for a fixed number of replications."""
        rule = self.replications
        return rule if isinstance(rule, ReplicationRule) else None

    @field_validator("record_every")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("give 'end' or a whole number of steps >= 1")
        return value
