"""Configuration schema, loading and validation.

Every parameter of the model lives here, with its type, range, default and a one-line
description carrying its unit. Numbers that the seed text
(`the-reluctant-army.txt`) does not give are *assumptions*: their description starts
with "Assumption" so that the schema printout, the ODD document and sensitivity
analyses can find them.

A bad config never produces a traceback: :func:`load_config` raises
:class:`ConfigError`, whose message names the file, the key and what was expected,
and the CLI turns it into exit code 2.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

GROUPS: tuple[str, ...] = ("complicit", "passive", "dissenting")
RANKS: tuple[str, ...] = ("senior", "field", "junior")
CHOICES: tuple[str, ...] = ("comply", "evade", "refuse")
WAR_ORDER_LEVELS: dict[int, str] = {
    0: "peacetime",
    1: "support role for Russian forces (infrastructure, hospitals, training)",
    2: "deployment / mobilisation at the border",
    3: "order to fight in Ukraine",
}

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class ConfigError(Exception):
    """A configuration problem a user can fix: the message names file, key and expectation."""

    def __init__(self, message: str, source: str | Path | None = None, key: str | None = None):
        self.source = str(source) if source is not None else None
        self.key = key
        self.detail = message
        where = self.source or "<config>"
        if key:
            where += f": {key}"
        super().__init__(one_line(f"{where}: {message}"))


def one_line(text: str) -> str:
    """`text` with control characters escaped, so that a message stays on one line."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are finite."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------- schedules


class ScheduleChange(StrictModel):
    """From `step` on (inclusive) the driver takes `value`, until the next change."""

    step: int = Field(ge=0, description="Step (month) from which the value applies.")
    value: float = Field(description="Driver value from this step on.")


def _check_schedule(name: str, value: Any, low: float, high: float) -> Any:
    """Validate a schedule: a constant, or changes starting at step 0 in increasing order."""
    if isinstance(value, list):
        if not value:
            raise ValueError(
                "a schedule list must not be empty; give a constant or [{step, value}, ...]"
            )
        steps = [change.step for change in value]
        if steps[0] != 0:
            raise ValueError(
                f"a schedule must start at step 0 (first change is at step {steps[0]})"
            )
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"schedule steps must be strictly increasing, got {steps}")
        values = [change.value for change in value]
    else:
        values = [value]
    for number in values:
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"values must be finite numbers in [{low}, {high}], got {number}")
    return value


Schedule = float | list[ScheduleChange]


def schedule_value(schedule: Schedule, step: int) -> float:
    """The value a schedule takes at `step`: the last change at or before it."""
    if not isinstance(schedule, list):
        return float(schedule)
    current = schedule[0].value
    for change in schedule:
        if change.step > step:
            break
        current = change.value
    return float(current)


# ---------------------------------------------------------------------------- population


class AttitudeDistribution(StrictModel):
    """Beta distribution on [0, 1] given by its mean and standard deviation (sd 0 = constant).

    Beta(1, 1), the uniform distribution, is mean 0.5 and sd 0.288675.
    """

    mean: Share = Field(description="Mean of the attitude, in [0, 1].")
    sd: NonNegative = Field(0.0, description="Standard deviation; must be < sqrt(mean (1 - mean)).")

    @model_validator(mode="after")
    def _feasible(self) -> AttitudeDistribution:
        if self.sd > 0 and self.sd**2 >= self.mean * (1 - self.mean) - 1e-12:
            limit = math.sqrt(self.mean * (1 - self.mean))
            raise ValueError(
                f"sd {self.sd} too large for a Beta distribution with mean {self.mean} "
                f"(must be below {limit:.4f})"
            )
        return self


class GroupAttitudes(StrictModel):
    """Attitude distributions of one officer group (all in [0, 1], dimensionless)."""

    regime_alignment: AttitudeDistribution = Field(
        description="Loyalty to the regime and its command (0 none, 1 total)."
    )
    russia_alignment: AttitudeDistribution = Field(
        description="Sympathy with Russia and the 'Russian world' (0 none, 1 total)."
    )
    war_aversion: AttitudeDistribution = Field(
        description="Moral cost of fighting Ukraine (0 none, 1 maximal)."
    )
    risk_aversion: AttitudeDistribution = Field(
        description="Weight put on the expected sanction (Epstein's R)."
    )
    benefit_value: AttitudeDistribution = Field(
        description="Value of pay, low-interest loans and pension (0 none, 1 everything)."
    )
    exit_cost: AttitudeDistribution = Field(
        description="Cost of leaving: training-debt repayment, fear of civilian life."
    )
    culpability: AttitudeDistribution = Field(
        description="Exposure to prosecution if the regime falls (2020 fraud, repression)."
    )
    threshold: AttitudeDistribution = Field(
        description="Granovetter threshold: share of non-compliant neighbours needed to act."
    )


def _dist(mean: float, sd: float) -> dict[str, float]:
    return {"mean": mean, "sd": sd}


DEFAULT_ATTITUDES: dict[str, dict[str, dict[str, float]]] = {
    # Assumptions: the seed gives directions only (complicit loyal and culpable, passive
    # valuing benefits and indifferent, dissenting opposed to the war); numbers are ours.
    "complicit": {
        "regime_alignment": _dist(0.85, 0.08),
        "russia_alignment": _dist(0.75, 0.12),
        "war_aversion": _dist(0.25, 0.12),
        "risk_aversion": _dist(0.5, 0.15),
        "benefit_value": _dist(0.6, 0.15),
        "exit_cost": _dist(0.6, 0.15),
        "culpability": _dist(0.7, 0.15),
        "threshold": _dist(0.7, 0.15),
    },
    "passive": {
        "regime_alignment": _dist(0.5, 0.12),
        "russia_alignment": _dist(0.45, 0.15),
        "war_aversion": _dist(0.6, 0.15),
        "risk_aversion": _dist(0.6, 0.15),
        "benefit_value": _dist(0.75, 0.12),
        "exit_cost": _dist(0.65, 0.15),
        "culpability": _dist(0.1, 0.06),
        "threshold": _dist(0.3, 0.12),
    },
    "dissenting": {
        "regime_alignment": _dist(0.15, 0.08),
        "russia_alignment": _dist(0.15, 0.08),
        "war_aversion": _dist(0.9, 0.06),
        "risk_aversion": _dist(0.4, 0.15),
        "benefit_value": _dist(0.5, 0.15),
        "exit_cost": _dist(0.5, 0.15),
        "culpability": _dist(0.03, 0.02),
        "threshold": _dist(0.15, 0.08),
    },
}

DEFAULT_RANK_SHARES: dict[str, dict[str, float]] = {
    # Assumptions shaped by the seed: complicit concentrated in senior posts, the passive
    # majority among middle and low-level officers, dissent strongest among the young.
    "complicit": {"senior": 0.45, "field": 0.40, "junior": 0.15},
    "passive": {"senior": 0.08, "field": 0.46, "junior": 0.46},
    "dissenting": {"senior": 0.04, "field": 0.36, "junior": 0.60},
}


def _check_shares(shares: dict[str, float], names: tuple[str, ...], what: str) -> dict[str, float]:
    missing = [name for name in names if name not in shares]
    if missing:
        raise ValueError(f"{what} must give a share for each of {list(names)}; missing {missing}")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, got {total:.6g}")
    return shares


class ThresholdOverride(StrictModel):
    """Thresholds set for every officer, replacing the per-group distributions.

    Used by the reference reductions (Granovetter 1978). `explicit` lists one value per
    officer; `normal` draws N(mean, sd); `normal_quantiles` places the officers at the
    quantiles (i + 0.5)/N of N(mean, sd), Granovetter's distribution without sampling
    noise. With `round_to_whole` the values are rounded to whole officers (half up) and
    negatives become 0, as in Granovetter's count thresholds.
    """

    kind: Literal["explicit", "normal", "normal_quantiles"] = Field(
        description="How thresholds are set."
    )
    values: list[float] | None = Field(None, description="Explicit thresholds, one per officer.")
    mean: float | None = Field(None, description="Mean of the normal distribution.")
    sd: NonNegative | None = Field(None, description="Standard deviation of the normal.")
    round_to_whole: bool = Field(False, description="Round to whole officers; negatives to 0.")

    @model_validator(mode="after")
    def _complete(self) -> ThresholdOverride:
        if self.kind == "explicit" and not self.values:
            raise ValueError("kind 'explicit' needs a non-empty list 'values'")
        if self.kind != "explicit" and (self.mean is None or self.sd is None):
            raise ValueError(f"kind '{self.kind}' needs 'mean' and 'sd'")
        return self


class PopulationConfig(StrictModel):
    """Who the officers are."""

    n_officers: int = Field(
        2000, ge=1, le=2_000_000, description="Number of officers (agents); 65,000 = whole force."
    )
    group_shares: dict[str, Share] = Field(
        default_factory=lambda: {"complicit": 0.15, "passive": 0.65, "dissenting": 0.20},
        description=(
            "Share of each group. Seed: the passive majority is 'the most numerous group'; "
            "the numbers are an assumption."
        ),
    )
    rank_shares_by_group: dict[str, dict[str, Share]] = Field(
        default_factory=lambda: json.loads(json.dumps(DEFAULT_RANK_SHARES)),
        description="Assumption: P(rank | group), rank in senior / field / junior.",
    )
    attitudes: dict[str, GroupAttitudes] = Field(
        default_factory=lambda: json.loads(json.dumps(DEFAULT_ATTITUDES)),
        description="Assumption: per-group attitude distributions (Beta by mean and sd).",
    )
    junior_russia_alignment_shift: Annotated[float, Field(ge=-1, le=1)] = Field(
        -0.10,
        description=(
            "Assumption: added to junior officers' Russia alignment. Seed: 'young officers feel "
            "more Belarusian and nation-oriented'."
        ),
    )
    senior_russia_alignment_shift: Annotated[float, Field(ge=-1, le=1)] = Field(
        0.05,
        description=(
            "Assumption: added to senior officers' Russia alignment. Seed: 'numerous high-level "
            "posts ... occupied by people who made their careers in Russia'."
        ),
    )
    threshold_override: ThresholdOverride | None = Field(
        None, description="Optional thresholds for every officer (reference reductions)."
    )

    @field_validator("group_shares")
    @classmethod
    def _groups_sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        unknown = [name for name in shares if name not in GROUPS]
        if unknown:
            raise ValueError(f"unknown group {unknown}; groups are {list(GROUPS)}")
        return _check_shares(shares, GROUPS, "group shares")

    @field_validator("rank_shares_by_group")
    @classmethod
    def _ranks_sum_to_one(cls, table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for group, shares in table.items():
            if group not in GROUPS:
                raise ValueError(f"unknown group '{group}'; groups are {list(GROUPS)}")
            unknown = [name for name in shares if name not in RANKS]
            if unknown:
                raise ValueError(f"unknown rank {unknown} for {group}; ranks are {list(RANKS)}")
            _check_shares(shares, RANKS, f"rank shares of {group}")
        missing = [group for group in GROUPS if group not in table]
        if missing:
            raise ValueError(f"rank shares missing for groups {missing}")
        return table

    @field_validator("attitudes")
    @classmethod
    def _all_groups(cls, table: dict[str, GroupAttitudes]) -> dict[str, GroupAttitudes]:
        unknown = [group for group in table if group not in GROUPS]
        if unknown:
            raise ValueError(f"unknown group {unknown}; groups are {list(GROUPS)}")
        missing = [group for group in GROUPS if group not in table]
        if missing:
            raise ValueError(f"attitudes missing for groups {missing}")
        return table

    @model_validator(mode="after")
    def _explicit_length(self) -> PopulationConfig:
        override = self.threshold_override
        if (
            override
            and override.kind == "explicit"
            and len(override.values or []) != self.n_officers
        ):
            raise ValueError(
                f"threshold_override.values has {len(override.values or [])} entries but "
                f"n_officers is {self.n_officers}"
            )
        return self


# ---------------------------------------------------------------------------- structure


class UnitType(StrictModel):
    """A kind of unit, e.g. regular units or the Special Operations Forces."""

    share: Share = Field(description="Share of officers serving in units of this type.")
    benefit_multiplier: NonNegative = Field(
        1.0, description="Multiplies benefit value (better-funded units pay more)."
    )
    order_hardship_multiplier: NonNegative = Field(
        1.0, description="Multiplies the hardship of orders (readier units find them easier)."
    )


class StructureConfig(StrictModel):
    """Units, commanders and the tie network."""

    unit_size: int = Field(
        20,
        ge=1,
        description=(
            "Assumption: officers per unit; ties are complete inside a unit. "
            "unit_size = n_officers gives a complete network."
        ),
    )
    cross_unit_ties: NonNegative = Field(
        2.0,
        le=100,
        description="Assumption: mean number of ties per officer to officers of other units.",
    )
    unit_types: dict[str, UnitType] = Field(
        default_factory=lambda: {
            "regular": {"share": 0.908},
            "special_operations": {
                "share": 0.092,
                "benefit_multiplier": 1.4,
                "order_hardship_multiplier": 0.7,
            },
        },
        description=(
            "Unit types and their shares. Seed: Forces of Special Operations, 6,000 of 65,000, "
            "'due to high financial investments ... relatively ready'; multipliers are assumptions."
        ),
    )

    @field_validator("unit_types")
    @classmethod
    def _types_sum_to_one(cls, types: dict[str, UnitType]) -> dict[str, UnitType]:
        if not types:
            raise ValueError("give at least one unit type")
        total = sum(unit_type.share for unit_type in types.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"unit type shares must sum to 1, got {total:.6g}")
        return types


# ---------------------------------------------------------------------------- decision


class DecisionConfig(StrictModel):
    """Weights of the choice between comply, evade and refuse (see docs/ODD.md, 'Choice')."""

    temperature: NonNegative = Field(
        0.02,
        description="Assumption: logit temperature (utility units); 0 = deterministic best choice.",
    )
    order_moral_cost: list[NonNegative] = Field(
        default_factory=lambda: [0.0, 0.2, 0.8, 2.0],
        description=(
            "Assumption: moral weight of the order at war-order levels 0-3 (peacetime, support, "
            "border deployment, fight in Ukraine); multiplies war aversion x (1 - alignment)."
        ),
    )
    order_hardship: list[NonNegative] = Field(
        default_factory=lambda: [0.0, 0.05, 0.15, 0.6],
        description=(
            "Assumption: inconvenience and danger of the order at levels 0-3, felt by everyone "
            "(seed: the passive 'will avoid inconveniences at all costs')."
        ),
    )
    hardship_alignment_relief: Share = Field(
        0.8,
        description="Assumption: how much alignment reduces felt hardship (0 none, 1 fully).",
    )
    russia_alignment_weight: Share = Field(
        0.5,
        description=(
            "Assumption: weight of Russia alignment (vs regime alignment) in the alignment that "
            "makes war orders acceptable."
        ),
    )
    detection_steepness: NonNegative = Field(
        2.3, description="Epstein's k in P = 1 - exp(-k E / A); 2.3 gives P = 0.9 at E = A = 1."
    )
    detection_ratio_rounding: Literal["none", "floor", "round"] = Field(
        "none", description="Rounding of E/A before the exponential (Epstein: floor; Mesa: round)."
    )
    external_enforcers_per_unit: NonNegative = Field(
        0.5,
        description=(
            "Assumption: enforcers per unit from outside it (military counter-intelligence, "
            "political officers), before scaling by detection capacity."
        ),
    )
    commander_enforcer_weight: NonNegative = Field(
        1.0, description="Assumption: enforcers contributed by a complying complicit commander."
    )
    complicit_enforcer_weight: NonNegative = Field(
        0.25,
        description="Assumption: enforcers contributed by each other complying complicit officer.",
    )
    evasion_visibility: Share = Field(
        0.35, description="Assumption: detection of evasion relative to open refusal."
    )
    evasion_moral_relief: Share = Field(
        0.3,
        description=(
            "Assumption: share of the order's moral cost avoided by evading (a stalling officer "
            "stays part of the operation)."
        ),
    )
    evasion_hardship_relief: Share = Field(
        0.9,
        description=(
            "Assumption: share of the order's hardship avoided by evading (seed: 'they will "
            "avoid inconveniences at all costs')."
        ),
    )
    evasion_punishment_share: Share = Field(
        0.4, description="Assumption: punishment for detected evasion relative to refusal."
    )
    benefit_weight: NonNegative = Field(
        0.6,
        description="Assumption: utility per unit of benefits forfeited (refusal, caught evasion).",
    )
    exit_cost_weight: NonNegative = Field(
        0.5, description="Assumption: utility per unit of exit cost paid on refusal/resignation."
    )
    lock_in_weight: NonNegative = Field(
        5.0, description="Assumption: weight of the complicit's fear of prosecution."
    )
    evasion_lock_in_share: Share = Field(
        0.5, description="Assumption: share of lock-in felt when evading rather than refusing."
    )
    refusal_threshold: float = Field(
        0.05,
        ge=-10,
        le=10,
        description="Assumption: fixed cost of open refusal (Epstein's T; 0.1 in his model).",
    )
    evasion_threshold: float = Field(
        0.02, ge=-10, le=10, description="Assumption: fixed cost of evading (effort, pretexts)."
    )
    social_weight: NonNegative = Field(
        0.3,
        description="Assumption: utility per unit of (neighbour share - own threshold).",
    )
    social_threshold_unit: Literal["share", "count"] = Field(
        "share",
        description=(
            "Thresholds as a share of neighbours, or as a number of officers (Granovetter's "
            "count; compared as count >= threshold)."
        ),
    )
    enable_evasion: bool = Field(
        True, description="If false, officers choose between comply and refuse only."
    )

    @field_validator("order_moral_cost", "order_hardship")
    @classmethod
    def _four_levels(cls, values: list[float]) -> list[float]:
        if len(values) != len(WAR_ORDER_LEVELS):
            raise ValueError(f"give one value per war-order level 0-3 ({len(WAR_ORDER_LEVELS)})")
        return values


# ---------------------------------------------------------------------------- drivers


DRIVER_RANGES: dict[str, tuple[float, float]] = {
    "war_order_level": (0, 3),
    "detection_capacity": (0, 100),
    "punishment_severity": (0, 100),
    "russian_propaganda": (0, 1),
    "russian_contact": (0, 1),
    "isolation": (0, 1),
    "incentive_level": (0, 10),
    "disillusion": (0, 1),
    "regime_stability": (0, 1),
    "amnesty": (0, 1),
    "russian_recruitment_rate": (0, 1),
}
"""Allowed values of each driver (every value of its schedule)."""


class DriversConfig(StrictModel):
    """Exogenous drivers; each is a constant or a list of {step, value} changes."""

    war_order_level: Schedule = Field(
        1,
        description=(
            "0 peacetime; 1 support role for Russian forces (seed: today); 2 border deployment / "
            "mobilisation; 3 order to fight in Ukraine."
        ),
    )
    detection_capacity: Schedule = Field(
        1.0, description="Command pressure: multiplies the enforcers each unit has (>= 0)."
    )
    punishment_severity: Schedule = Field(
        1.0, description="Command pressure: sanction for detected refusal (utility units, >= 0)."
    )
    russian_propaganda: Schedule = Field(
        0.002,
        description=(
            "Assumption: share of the gap to full Russia alignment closed per step by propaganda "
            "(seed: 'pro-Russian telegram channels ... make the army increasingly pro-Russian')."
        ),
    )
    russian_contact: Schedule = Field(
        0.002,
        description="Assumption: alignment pull per step of direct contact with Russian troops.",
    )
    isolation: Schedule = Field(
        0.7,
        description=(
            "Share of Russian-Belarusian contact cut off (seed: 'Russian military management "
            "forbids its soldiers to communicate ... the isolation is still significant')."
        ),
    )
    incentive_level: Schedule = Field(
        0.0, description="Extra pay and benefits as a share of normal benefits (0 = none)."
    )
    disillusion: Schedule = Field(
        0.0,
        description=(
            "Share of Russia alignment lost per step to news of Russian setbacks (seed: 'a "
            "discrepancy between the image of the Russian military ... and its factual results')."
        ),
    )
    regime_stability: Schedule = Field(
        0.8,
        description=(
            "Assumption: perceived stability of the regime in [0, 1]; 1 - stability is the "
            "perceived chance it falls. Sanctions are credible in proportion to it."
        ),
    )
    amnesty: Schedule = Field(
        0.0,
        description="Amnesty offered to complicit officers in [0, 1]; lowers their lock-in.",
    )
    russian_recruitment_rate: Schedule = Field(
        0.0,
        description=(
            "Per-step chance that a fully pro-Russian senior officer leaves for the Russian army "
            "(seed: 'efforts were made to recruit Belarusian generals ... high income')."
        ),
    )

    @model_validator(mode="after")
    def _ranges(self) -> DriversConfig:
        for name, (low, high) in DRIVER_RANGES.items():
            try:
                _check_schedule(name, getattr(self, name), low, high)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
        level = self.war_order_level
        values = [c.value for c in level] if isinstance(level, list) else [level]
        if any(float(v) != int(v) for v in values):
            raise ValueError("war_order_level: levels are whole numbers 0, 1, 2 or 3")
        return self


# ---------------------------------------------------------------------------- turnover


class NewCohortConfig(StrictModel):
    """Who the academy sends: young officers, more nation-oriented (seed)."""

    group_shares: dict[str, Share] = Field(
        default_factory=lambda: {"complicit": 0.05, "passive": 0.65, "dissenting": 0.30},
        description="Assumption: group shares among new junior officers.",
    )
    russia_alignment_shift: Annotated[float, Field(ge=-1, le=1)] = Field(
        -0.10,
        description="Assumption: extra shift of new officers' Russia alignment (nation-oriented).",
    )

    @field_validator("group_shares")
    @classmethod
    def _sum(cls, shares: dict[str, float]) -> dict[str, float]:
        unknown = [name for name in shares if name not in GROUPS]
        if unknown:
            raise ValueError(f"unknown group {unknown}; groups are {list(GROUPS)}")
        return _check_shares(shares, GROUPS, "new cohort group shares")


class TurnoverConfig(StrictModel):
    """Generational turnover over long horizons (one step = one month)."""

    enabled: bool = Field(False, description="Switch retirement, promotion and academy intake on.")
    retirement_rate_per_year: dict[str, Share] = Field(
        default_factory=lambda: {"senior": 0.08, "field": 0.02, "junior": 0.02},
        description="Assumption: yearly share of officers of each rank who retire or leave.",
    )
    promotion_rate_per_year: dict[str, Share] = Field(
        default_factory=lambda: {"field": 0.06, "junior": 0.12},
        description="Assumption: yearly share promoted (field -> senior, junior -> field).",
    )
    academy_fill_share: Share = Field(
        0.45,
        description=(
            "Share of vacancies filled by new academy graduates. Seed: 'less than half of the "
            "devoted places in military academies are occupied'."
        ),
    )
    new_cohort: NewCohortConfig = Field(default_factory=NewCohortConfig)

    @field_validator("retirement_rate_per_year")
    @classmethod
    def _ranks(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(rates) ^ set(RANKS))
        if bad:
            raise ValueError(f"give a rate for exactly the ranks {list(RANKS)} (problem: {bad})")
        return rates

    @field_validator("promotion_rate_per_year")
    @classmethod
    def _promotable(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(rates) ^ {"field", "junior"})
        if bad:
            raise ValueError(
                f"give a rate for exactly the ranks ['field', 'junior'] (problem: {bad})"
            )
        return rates


# ---------------------------------------------------------------------------- output


class OutputConfig(StrictModel):
    """What a run records (the model never writes files; the runner does)."""

    collect_agent_data: bool = Field(
        False, description="Record each officer's choice every step (large at 65,000 officers)."
    )
    figure: bool = Field(True, description="Write a PNG of the rates over time.")


class SimulationConfig(StrictModel):
    """A complete, validated configuration of one simulation run."""

    name: str = Field("run", min_length=1, description="Name of the run; names the results folder.")
    description: str = Field("", description="Free text: what this configuration explores.")
    seed: int = Field(42, ge=0, description="Root random seed (same seed, same numbers).")
    steps: int = Field(120, ge=0, le=100_000, description="Number of steps; one step = one month.")
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    structure: StructureConfig = Field(default_factory=StructureConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    drivers: DriversConfig = Field(default_factory=DriversConfig)
    turnover: TurnoverConfig = Field(default_factory=TurnoverConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _units_fit(self) -> SimulationConfig:
        if self.structure.unit_size > self.population.n_officers:
            raise ValueError(
                f"structure.unit_size ({self.structure.unit_size}) exceeds "
                f"population.n_officers ({self.population.n_officers})"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON/YAML-safe) of the fully resolved config."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------- loading


DEFAULT_DATA: dict[str, Any] = SimulationConfig().to_dict()
"""The defaults as plain data: files and overrides are merged onto it, so that a file
may set a single nested value (say one group's mean war aversion) and keep the rest."""


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
        current = _model_in(annotation)
        if current is None:
            return []
        free_key = _is_dict(annotation)
    return list(getattr(current, "model_fields", {}))


def _is_dict(annotation: Any) -> bool:
    """Whether an annotation is a dict (possibly inside X | None)."""
    if get_origin(annotation) is dict:
        return True
    return any(_is_dict(arg) for arg in getattr(annotation, "__args__", ()) or ())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (handles X | None, dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
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


def _model_named(name: str) -> type[BaseModel] | None:
    found = globals().get(name)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


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
        model = _model_named(str(first.get("ctx", {}).get("class_name", "")))
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
        raise ConfigError(f"override '{text}' must look like key.path=value", "--set")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{text}' has an empty key", "--set")
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
    path: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    *,
    seed: int | None = None,
    steps: int | None = None,
) -> SimulationConfig:
    """Load, merge (`extends`), override and validate a config file.

    Without a path the built-in defaults are used; a config's `name` defaults to the
    file's stem so that results land in `results/<config name>/`.
    """
    data: dict[str, Any] = resolve_extends(path) if path is not None else {}
    if path is not None and "name" not in data:
        data["name"] = Path(path).stem
    data = deep_merge(DEFAULT_DATA, data)
    if overrides:
        data = apply_overrides(data, overrides)
    if seed is not None:
        data["seed"] = seed
    if steps is not None:
        data["steps"] = steps
    source = path if path is not None else "<defaults>"
    try:
        return validate_config(data, source)
    except ConfigError as error:
        # a bad value given as an override is not the file's fault: say where it came from
        given = _override_labels(overrides, seed, steps)
        blamed = [label for key, label in given if error.key and _related(key, error.key)]
        if blamed:
            raise ConfigError(
                error.detail, f"{source} (override {blamed[-1]})", error.key
            ) from None
        raise


def _override_labels(
    overrides: list[str] | dict[str, Any] | None, seed: int | None, steps: int | None
) -> list[tuple[str, str]]:
    """(dotted key, how it was given) for each override, in the order applied."""
    labels: list[tuple[str, str]] = []
    if isinstance(overrides, dict):
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


def schema_rows() -> list[dict[str, str]]:
    """Every config key with its type, range, default and description (for docs and CLI)."""
    rows: list[dict[str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            nested = _model_in(field.annotation)
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
            if prefix == "drivers." and name in DRIVER_RANGES:
                low, high = DRIVER_RANGES[name]
                bounds = [f">= {low}", f"<= {high}"]
            shown = json.dumps(default.model_dump() if isinstance(default, BaseModel) else default)
            type_name = getattr(field.annotation, "__name__", None) or str(field.annotation)
            type_name = type_name.replace("typing.", "").replace("simulation.config.", "")
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


def schema_text() -> str:
    """The documented schema as plain text: `key: type [range] = default`, then the meaning."""
    lines = []
    for row in schema_rows():
        range_text = f" [{row['range']}]" if row["range"] else ""
        lines.append(f"{row['key']}: {row['type']}{range_text} = {row['default']}")
        if row["description"]:
            lines.append(f"    {row['description']}")
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
