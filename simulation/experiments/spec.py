"""The experiment file's schema: base config, scenarios, what to vary, design, replications.

Validated data only; :mod:`simulation.experiments.design` expands it into design points
and runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SAMPLED_DESIGNS: frozenset[str] = frozenset({"lhs", "sobol", "morris"})
DESIGN_SEED_KEY = 2**32 - 1
"""Spawn key of the design sampler's seed: outside the range of run indices."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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
    value: float = Field(description="Threshold of the metric.")
    after: int = Field(1, ge=0, description="Earliest step at which the condition is checked.")


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
    samples: int | None = Field(
        None,
        ge=1,
        description=(
            "lhs: number of points; sobol: base N (N*(D+2) points, N*(2D+2) with "
            "second_order); morris: trajectories (N*(D+1) points); prior: draws."
        ),
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")
    levels: int = Field(4, ge=2, description="morris: number of grid levels.")
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
