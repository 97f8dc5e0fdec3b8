"""The config schema: every parameter with its type, range, default and meaning.

Each section of a config file is a pydantic model here. Numbers that the seed text
(`docs/seed/the-reluctant-army.txt`; references in `docs/sources.md`) does not give are
*assumptions*: their description starts with "Assumption" so that the schema printout, the
ODD document and sensitivity analyses can find them. Loading files and turning validation
errors into one readable line live in :mod:`simulation.config.loading` and
:mod:`simulation.config.messages`.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulation.vocabulary import ATTITUDES, GROUPS, PERSONNEL, RANKS, WAR_ORDER_LEVELS

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


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
        "culpability": _dist(0.03, 0.02),
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


def _group_shares(shares: dict[str, float], what: str = "group shares") -> dict[str, float]:
    """Shares over the three groups: known names, each group given, summing to 1."""
    unknown = [name for name in shares if name not in GROUPS]
    if unknown:
        raise ValueError(f"unknown group {unknown}; groups are {list(GROUPS)}")
    return _check_shares(shares, GROUPS, what)


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


class TenureRange(StrictModel):
    """Years of service drawn uniformly in [low, high]."""

    low: Annotated[float, Field(ge=0.0, le=60.0)] = Field(description="Fewest years (>= 0).")
    high: Annotated[float, Field(ge=0.0, le=60.0)] = Field(description="Most years (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> TenureRange:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be at least low ({self.low})")
        return self


class TraitSpread(StrictModel):
    """Individual heterogeneity in the traits that decide, within each group: each member's
    multipliers, lognormal with mean 1 and these sds of the log, drawn once when he enters
    (docs/ODD.md §7.5, 'Individuals, not types'). 0 switches a trait off (no draw)."""

    moral_cost: NonNegative = Field(
        0.4,
        le=3,
        description=(
            "Assumption: sd of the log of each member's multiplier of the order's moral cost "
            "(conscience differs within a group)."
        ),
    )
    career: NonNegative = Field(
        0.4,
        le=3,
        description=(
            "Assumption: sd of the log of each member's multiplier of what his career is "
            "worth to him (benefits and what ending it forfeits: career dependence)."
        ),
    )
    fear: NonNegative = Field(
        0.4,
        le=3,
        description=(
            "Assumption: sd of the log of each member's multiplier of the sanction he fears "
            "(risk attitude)."
        ),
    )
    ties: NonNegative = Field(
        0.4,
        le=3,
        description=(
            "Assumption: sd of the log of each member's susceptibility to his peers "
            "(multiplier of every social term: tie strength)."
        ),
    )


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
    trait_spread: TraitSpread = Field(default_factory=TraitSpread)
    tenure_years_by_rank: dict[str, TenureRange] = Field(
        default_factory=lambda: {
            "senior": {"low": 18.0, "high": 30.0},
            "field": {"low": 5.0, "high": 18.0},
            "junior": {"low": 0.0, "high": 5.0},
        },
        description=(
            "Assumption: years of service at the start, uniform in [low, high] by rank "
            "(lieutenants in their first years, majors and captains mid-career, colonels and "
            "generals near or past the pension threshold)."
        ),
    )

    @field_validator("group_shares")
    @classmethod
    def _groups_sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        return _group_shares(shares, "group shares")

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

    @field_validator("tenure_years_by_rank")
    @classmethod
    def _every_rank(cls, table: dict[str, TenureRange]) -> dict[str, TenureRange]:
        bad = sorted(set(table) ^ set(RANKS))
        if bad:
            raise ValueError(f"give a range for exactly the ranks {list(RANKS)} (problem: {bad})")
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


# ---------------------------------------------------------------------------- personnel


def _category(
    *,
    group_shares: tuple[float, float, float],
    attitudes: dict[str, tuple[float, float]],
    benefit_multiplier: float,
    hardship_multiplier: float = 1.0,
    pension: bool = False,
    can_resign: bool = False,
    stop_loss: bool = True,
    tenure: tuple[float, float] = (0.0, 0.0),
    term_years: float | None = None,
    replacement_share: float = 0.0,
    reserve: bool = False,
    russia_alignment_shift: float = 0.0,
    enforcer_weight: float = 0.0,
) -> dict[str, Any]:
    """Default data of one personnel category (every number an assumption, see ODD §5)."""
    return {
        "per_officer": 0.0,
        "group_shares": dict(zip(GROUPS, group_shares, strict=True)),
        "attitudes": {name: _dist(*value) for name, value in attitudes.items()},
        "russia_alignment_shift": russia_alignment_shift,
        "benefit_multiplier": benefit_multiplier,
        "hardship_multiplier": hardship_multiplier,
        "training_debt": False,
        "pension": pension,
        "can_resign": can_resign,
        "stop_loss": stop_loss,
        "tenure_years": {"low": tenure[0], "high": tenure[1]},
        "term_years": term_years,
        "replacement_share": replacement_share,
        "reserve": reserve,
        "enforcer_weight": enforcer_weight,
        "punishment_multiplier": 1.0,
    }


DEFAULT_CATEGORIES: dict[str, dict[str, Any]] = {
    "contract_soldier": _category(
        group_shares=(0.05, 0.80, 0.15),
        attitudes={"culpability": (0.05, 0.05), "exit_cost": (0.30, 0.15)},
        benefit_multiplier=0.6,
        pension=True,
        can_resign=True,
        tenure=(0.0, 10.0),
        replacement_share=0.45,
        russia_alignment_shift=-0.05,
        enforcer_weight=0.25,
    ),
    "conscript": _category(
        group_shares=(0.02, 0.78, 0.20),
        attitudes={"culpability": (0.02, 0.02), "exit_cost": (0.10, 0.08)},
        benefit_multiplier=0.1,
        tenure=(0.0, 1.5),
        term_years=1.5,
        replacement_share=1.0,
        russia_alignment_shift=-0.10,
    ),
    "service_staff": _category(
        group_shares=(0.03, 0.87, 0.10),
        attitudes={"culpability": (0.02, 0.02), "exit_cost": (0.25, 0.12)},
        benefit_multiplier=0.4,
        hardship_multiplier=0.3,
        pension=True,
        can_resign=True,
        stop_loss=False,
        tenure=(0.0, 25.0),
        replacement_share=0.5,
    ),
    "reservist": _category(
        group_shares=(0.02, 0.73, 0.25),
        attitudes={"culpability": (0.01, 0.01), "exit_cost": (0.15, 0.10)},
        benefit_multiplier=0.3,
        hardship_multiplier=1.2,
        reserve=True,
    ),
    "territorial_defence": _category(
        group_shares=(0.03, 0.77, 0.20),
        attitudes={"culpability": (0.01, 0.01), "exit_cost": (0.15, 0.10)},
        benefit_multiplier=0.2,
        reserve=True,
    ),
}
"""The categories besides officers, absent (per_officer 0) unless a config gives them a number."""


class PersonnelCategory(StrictModel):
    """One category of personnel besides officers: how many, who they are, what they stand to
    lose. The three groups are the same three attitude profiles as officers' (loyal to the
    regime, passive, dissenting); attitudes not listed here come from the officers' group
    distributions. Every default is an assumption (docs/ODD.md §5) under a prior."""

    per_officer: NonNegative = Field(
        0.0,
        le=1000,
        description=(
            "Members of this category per officer (0 = none). Seed: 45,000 personnel, 65,000 "
            "with service staff, reserve 290,000, territorial defence 120,000; with 10,000 "
            "officers (an assumption) that is 1.5 contract soldiers, 2.0 conscripts, 2.0 "
            "service staff, 29 reservists and 12 territorial defence per officer."
        ),
    )
    group_shares: dict[str, Share] = Field(
        description=(
            "Assumption: share of the loyal (complicit), passive and dissenting profiles in "
            "this category."
        )
    )
    attitudes: dict[str, AttitudeDistribution] = Field(
        default_factory=dict,
        description=(
            "Assumption: attitude distributions (Beta by mean and sd) that replace the officers' "
            "for every group of this category, e.g. culpability near 0 for those who had no "
            "part in 2020's fraud and repression."
        ),
    )
    russia_alignment_shift: Annotated[float, Field(ge=-1, le=1)] = Field(
        0.0,
        description=(
            "Assumption: added to Russia alignment (seed: 'young officers feel more Belarusian "
            "and nation-oriented'; conscripts are the youngest)."
        ),
    )
    benefit_multiplier: NonNegative = Field(
        1.0,
        le=100,
        description=(
            "Assumption: pay and benefits relative to an officer's (conscripts' pay is token; "
            "no academy loans)."
        ),
    )
    hardship_multiplier: NonNegative = Field(
        1.0,
        le=100,
        description="Assumption: hardship of the same order relative to an officer's.",
    )
    training_debt: bool = Field(
        False, description="Whether the academy's training debt binds them (officers only: no)."
    )
    pension: bool = Field(
        False, description="Whether years of service build a pension stake (career.*)."
    )
    can_resign: bool = Field(
        False,
        description=(
            "Whether they may leave lawfully at all (conscripts and mobilised reservists may "
            "not: their only exit is desertion)."
        ),
    )
    stop_loss: bool = Field(
        True,
        description=(
            "Whether exit.stop_loss_from_level closes resignation for them too (civilian "
            "service staff: no)."
        ),
    )
    tenure_years: TenureRange = Field(description="Assumption: years of service at the start.")
    term_years: Annotated[float, Field(gt=0.0, le=60.0)] | None = Field(
        None,
        description=(
            "Length of service (conscripts: 1.5 years, an assumption); at its end they are "
            "discharged (counted as retired) while resignation is open for them, i.e. not under "
            "stop-loss. null = no fixed term. Needs turnover.enabled."
        ),
    )
    replacement_share: Share = Field(
        0.0,
        description=(
            "Assumption: share of this category's vacancies filled by new members each month "
            "(conscription: all; contracts: like the academy's 0.45). Needs turnover.enabled."
        ),
    )
    reserve: bool = Field(
        False,
        description=(
            "Whether they are held in the reserve until the mobilisation driver calls them up "
            "(reservists, territorial defence)."
        ),
    )
    punishment_multiplier: NonNegative = Field(
        1.0,
        le=100,
        description=(
            "Assumption: the sanction for detected refusal (drivers.punishment_severity) as "
            "they weigh it, relative to an officer (1 = the same jail; the seed gives nothing "
            "on soldiers' sanctions). With little career to lose, it is most of what deters "
            "them from open refusal (docs/ODD.md, 'Personnel')."
        ),
    )
    enforcer_weight: NonNegative = Field(
        0.0,
        le=10,
        description=(
            "Assumption: enforcers contributed by each complying member of the loyal "
            "(complicit) profile, as decision.complicit_enforcer_weight for officers (contract "
            "sergeants: 0.25, like a complicit officer; seed: 'several soldiers were noted for "
            "torturing or even killing protestors')."
        ),
    )

    @field_validator("group_shares")
    @classmethod
    def _groups(cls, shares: dict[str, float]) -> dict[str, float]:
        return _group_shares(shares, "group shares")

    @field_validator("attitudes")
    @classmethod
    def _known_attitudes(
        cls, table: dict[str, AttitudeDistribution]
    ) -> dict[str, AttitudeDistribution]:
        unknown = [name for name in table if name not in ATTITUDES or name == "threshold"]
        if unknown:
            raise ValueError(
                f"unknown attitude {unknown}; attitudes are "
                f"{[name for name in ATTITUDES if name != 'threshold']}"
            )
        return table


class CallUpConfig(StrictModel):
    """Whether the called-up reservists and territorial defence report (docs/ODD.md §7.9,
    "The call-up"; issue 22)."""

    evasion_propensity: Share = Field(
        0.6,
        description=(
            "Assumption: the chance that a man wholly averse to the war (war_aversion 1) who "
            "fears no enforcement evades his call-up (leaves the country, hides, seeks an "
            "exemption); scaled by his war aversion and lowered by the enforcement he fears. "
            "Anchor: after Russia's 2022 call-up men leaving (Kazakhstan ~400,000 entries by "
            "late November, Georgia 10,000 a day at the peak) far outnumbered refusal in "
            "service. 0 = everyone called reports."
        ),
    )
    detection_per_month: Share = Field(
        0.05,
        description=(
            "Assumption: monthly chance that a man evading his call-up is found (military "
            "commissariat, police); he fears being found within a year: 1 - (1 - p)^12."
        ),
    )
    forced_to_serve_share: Share = Field(
        0.5,
        description=(
            "Assumption: share of the found evaders sent to their units; the rest face a "
            "criminal case and stay out of the force."
        ),
    )


class PersonnelConfig(StrictModel):
    """The men the officers command: contract soldiers, conscripts, service staff, and the
    reserve and territorial defence a mobilisation calls up (docs/ODD.md, 'Personnel')."""

    categories: dict[str, PersonnelCategory] = Field(
        default_factory=lambda: json.loads(json.dumps(DEFAULT_CATEGORIES)),
        description=(
            "Every category besides officers (contract_soldier, conscript, service_staff, "
            "reservist, territorial_defence), each with per_officer (0 = absent), group_shares, "
            "attitudes, benefit and hardship multipliers, pension, can_resign, stop_loss, "
            "tenure_years, term_years, replacement_share and reserve."
        ),
    )
    external_enforcers_per_100: NonNegative = Field(
        2.5,
        le=100,
        description=(
            "Assumption: enforcers from outside the unit (military police, counter-intelligence) "
            "per 100 members of the other categories posted to it, before scaling by detection "
            "capacity: 2.5 is the officers' density (decision.external_enforcers_per_unit 0.5 "
            "per unit of 20), so a unit's outside enforcement grows with its men."
        ),
    )
    leader_example_weight: Share = Field(
        0.5,
        description=(
            "Assumption: weight soldiers put on what their unit's officers do, against the share "
            "of all their unit peers (0 = officers count like anyone; 1 = only officers count). "
            "Seed: 'officers used their power to make soldiers falsify the election's results'. "
            "Applies to shares (decision.social_threshold_unit: share)."
        ),
    )

    call_up: CallUpConfig = Field(default_factory=CallUpConfig)

    @field_validator("categories", mode="before")
    @classmethod
    def _known(cls, table: Any) -> Any:
        """Names first: an unknown category is one clear error, not its missing fields."""
        others = list(PERSONNEL[1:])
        unknown = [name for name in table if name not in others] if isinstance(table, dict) else []
        if unknown:
            raise ValueError(f"unknown category {unknown}; categories are {others}")
        return table

    def counts(self, n_officers: int) -> dict[str, int]:
        """Members of each category present for `n_officers` officers (rounded)."""
        return {
            name: round(category.per_officer * n_officers)
            for name, category in self.categories.items()
            if round(category.per_officer * n_officers) > 0
        }


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
    group_mix: dict[str, Share] | None = Field(
        None,
        description=(
            "Assumption when given: shares of complicit, passive and dissenting officers in "
            "units of this type (e.g. Special Operations Forces staffed by the loyal: "
            "coup-proofing, Dworschak 2020); null = whoever is left after the types that have "
            "a mix, at random. The mixes must fit the population's group shares."
        ),
    )
    war_order_level: Schedule | None = Field(
        None,
        description=(
            "War-order level of units of this type (a schedule like drivers.war_order_level, "
            "values 0-3), e.g. only the Special Operations Forces ordered to fight; null = "
            "drivers.war_order_level."
        ),
    )

    @field_validator("group_mix")
    @classmethod
    def _mix(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        if mix is None:
            return None
        return _group_shares(mix, "group_mix")

    @field_validator("war_order_level")
    @classmethod
    def _level(cls, level: Schedule | None) -> Schedule | None:
        if level is None:
            return None
        _check_schedule("war_order_level", level, 0, 3)
        values = [c.value for c in level] if isinstance(level, list) else [level]
        if any(float(v) != int(v) for v in values):
            raise ValueError("levels are whole numbers 0, 1, 2 or 3")
        return level


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
            "Unit types and their shares, each with benefit_multiplier, "
            "order_hardship_multiplier, group_mix (shares of each group in its units, null = "
            "at random) and war_order_level (its own order schedule, null = the driver). "
            "Seed: Forces of Special Operations, 6,000 of 65,000, 'due to high financial "
            "investments ... relatively ready'; multipliers and mixes are assumptions."
        ),
    )
    group_clustering: Share = Field(
        0.0,
        description=(
            "Assumption: how far officers are posted to units by group, within each unit type: "
            "0 = at random (units are random mixes), 1 = sorted (units as homogeneous as the "
            "counts allow); in between, that share of officers is posted by group and the rest "
            "at random. Heterogeneous, polarised units desert more (McLauchlin 2015)."
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
        description=(
            "Assumption: scale of the month-to-month idiosyncratic shocks (logit temperature, "
            "utility units); 0 = deterministic best choice. See docs/ODD.md 'Choice noise'."
        ),
    )
    taste_sd: NonNegative = Field(
        0.03,
        le=10,
        description=(
            "Assumption: standard deviation of each officer's persistent taste for each action "
            "(evade, refuse, exit; utility units), drawn once when he enters: the unobserved "
            "heterogeneity between officers, made explicit. 0 = none."
        ),
    )
    activation: Literal["synchronous", "random"] = Field(
        "synchronous",
        description=(
            "synchronous: everyone decides from last month's state; random: within each unit, "
            "officers decide one after another in a random order, each seeing the choices made "
            "before him (Epstein's random activation; slower, for the reference reduction)."
        ),
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
        0.35,
        description=(
            "Assumption: detection of evasion by enforcers relative to open refusal (see "
            "evasion_peer_visibility for what fellow officers see)."
        ),
    )
    evasion_peer_visibility: Share = Field(
        0.5,
        description=(
            "Assumption: chance that fellow officers (unit, ties, rumour) see an officer's "
            "evasion as such, where refusal and exit are seen for certain; distinct from "
            "evasion_visibility (to enforcers): comrades notice stalling the command misses."
        ),
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
    refusal_moral_relief: Share = Field(
        0.8,
        description=(
            "Assumption: share of the order's moral cost avoided by open refusal (he does not "
            "carry it out, but stays in the unit that does until the command answers)."
        ),
    )
    refusal_hardship_relief: Share = Field(
        0.3,
        description=(
            "Assumption: share of the order's hardship avoided by open refusal (a refuser "
            "under pressure is still in his unit, at its post)."
        ),
    )
    evasion_punishment_share: Share = Field(
        0.4, description="Assumption: punishment for detected evasion relative to refusal."
    )
    evasion_punishment_elasticity: NonNegative = Field(
        0.5,
        le=3,
        description=(
            "Assumption: elasticity of a caught evader's feared punishment in the "
            "punishment_severity driver (his share of it times severity to this power, where "
            "open refusal's is severity itself): covert non-performance is met with "
            "administrative sanctions and milder articles, so a harsher criminal code reaches "
            "it less (docs/ODD.md §7.5). 1: as exposed as refusal; 0: not at all; at severity "
            "1 no effect."
        ),
    )
    benefit_weight: NonNegative = Field(
        0.6,
        description="Assumption: utility per unit of benefits forfeited (refusal, caught evasion).",
    )
    exit_cost_weight: NonNegative = Field(
        0.3,
        description=(
            "Assumption: utility per unit of the attitude exit_cost (fear of civilian life: "
            "'people with a military past won't find a place in civil life'), paid by an "
            "officer whose career ends (refusal, exit, dismissal)."
        ),
    )
    training_debt_weight: NonNegative = Field(
        0.4,
        description=(
            "Assumption: utility of the full training debt, repaid by an officer who leaves "
            "before the end of his obligation (seed: 'pay an enormous sum to compensate the "
            "government'); the debt left falls linearly with tenure (career section)."
        ),
    )
    pension_weight: NonNegative = Field(
        0.4,
        description=(
            "Assumption: utility of the full service pension (seed: 'retirement plans'), "
            "forfeited by an officer who leaves before he is entitled to it (or by desertion "
            "and dismissal at any tenure); the stake rises with tenure."
        ),
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
        description=(
            "Assumption: weight of the officer's own unit (strong ties) in the social term of "
            "each action: the utility between seeing none and seeing all of his unit peers "
            "take it, the response turning at his threshold (Granovetter 1978; strong ties "
            "persuade, Koehler, Ohl & Albrecht 2016)."
        ),
    )
    cross_unit_social_weight: NonNegative = Field(
        0.1,
        description=(
            "Assumption: weight of ties to officers of other units (weak ties) in the social "
            "term, as social_weight for the unit; weaker than unit ties (Koehler, Ohl & "
            "Albrecht 2016)."
        ),
    )
    social_response: Literal["linear", "logistic"] = Field(
        "logistic",
        description=(
            "How the social term responds to (seen share - threshold): linear, weight x "
            "(share - threshold) (Granovetter's rule and the earlier model); logistic, weight x "
            "(1 / (1 + exp(-(share - threshold) / social_response_width)) - 1/2), a threshold "
            "response between -weight/2 and +weight/2, which makes tipping possible."
        ),
    )
    social_response_width: float = Field(
        0.05,
        gt=0.0,
        le=10.0,
        description=(
            "Assumption: width of the logistic social response (share units; count units "
            "with social_threshold_unit count); small = a sharp threshold."
        ),
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


# ---------------------------------------------------------------------------- expectations


class ExpectationsConfig(StrictModel):
    """Perceived regime strength: each officer's belief that the regime will stand.

    It sets the fear of the regime (the expected sanction grows with it) and, for the
    complicit, the fear of justice after a fall (which grows as it falls). See docs/ODD.md,
    'Expectations'.
    """

    enabled: bool = Field(
        True,
        description=(
            "If false, every officer's perceived regime strength is the driver "
            "regime_stability (no beliefs, no learning from defection: the earlier model)."
        ),
    )
    update_rate: Share = Field(
        0.2,
        description=(
            "Assumption: share of the gap between belief and this month's evidence closed per "
            "month (beliefs adjust over about five months)."
        ),
    )
    defection_weight: float = Field(
        3.0,
        ge=0.0,
        le=50.0,
        description=(
            "Assumption: how much seen defection lowers perceived strength: log-odds of the "
            "regime standing lost per unit of the share of officers seen defecting (0.5 "
            "seen defecting: odds divided by e^1.5 = 4.5). McLauchlin 2010: loyalty bought "
            "with incentives rests on a continuous judgement of regime strength."
        ),
    )
    prior_sd: float = Field(
        0.5,
        ge=0.0,
        le=5.0,
        description=(
            "Assumption: standard deviation (log-odds) of each officer's persistent bias in "
            "judging the regime's strength, drawn once: heterogeneous priors (0.5: at "
            "stability 0.8 the middle 80% of officers perceive 0.67-0.89)."
        ),
    )
    career_dependence: Share = Field(
        0.5,
        description=(
            "Assumption: share of what a career is worth (benefits, pension, debt, standing) "
            "that rests on the regime standing: defecting forfeits it only if the regime "
            "survives, so an officer expecting the fall has less to lose. Extra incentives "
            "(incentive_level) rest on it entirely. McLauchlin 2010: loyalty bought with "
            "individual incentives rests on a continuous judgement of regime strength. 0 = "
            "careers do not depend on it."
        ),
    )
    unit_weight: NonNegative = Field(
        0.5,
        le=1.0,
        description=(
            "Assumption: weight of what he sees in his own unit in the defection he observes "
            "(weights of unit, ties and rumour are normalised over the sources he has)."
        ),
    )
    tie_weight: NonNegative = Field(
        0.2,
        le=1.0,
        description="Assumption: weight of what he sees among his ties to other units.",
    )
    rumour_weight: NonNegative = Field(
        0.3,
        le=1.0,
        description=("Assumption: weight of rumours of the army-wide level of seen defection."),
    )
    rumour_noise: NonNegative = Field(
        0.05,
        le=1.0,
        description=(
            "Assumption: standard deviation of the error in the army-wide level each officer "
            "hears each month (share units)."
        ),
    )

    # -- issue 22: what Russian setbacks and disillusion do to expectations
    setback_news_weight: NonNegative = Field(
        10.0,
        le=100.0,
        description=(
            "Assumption: log-odds of the regime standing lost, in every member's belief "
            "target, per unit of this month's disillusion driver (news of Russian setbacks): "
            "a setback shock of 0.05 a month lowers the target by 0.5 log-odds, the "
            "background 0.004 by 0.04. Seed ('With Russia in mind'): the war revealed the "
            "Russian army's 'factual results'; McLauchlin 2010: loyalty collapses when "
            "officers expect the regime to fall. 0 = news does not touch beliefs."
        ),
    )
    russia_doubt_weight: NonNegative = Field(
        3.0,
        le=50.0,
        description=(
            "Assumption: log-odds of the regime standing lost per unit fall of a member's "
            "Russia alignment below the value he joined with (his anchor), gained per unit "
            "rise: the Belarusian regime stands on Russia's support (seed), so doubt about "
            "Russia is doubt about the regime. 0 = alignment does not touch beliefs."
        ),
    )

    @model_validator(mode="after")
    def _some_source(self) -> ExpectationsConfig:
        if self.unit_weight + self.tie_weight + self.rumour_weight <= 0:
            raise ValueError("unit_weight, tie_weight and rumour_weight cannot all be 0")
        return self


class AttitudeDynamicsConfig(StrictModel):
    """How Russia alignment moves over time (see docs/ODD.md, 'Attitude dynamics')."""

    mean_reversion: Share = Field(
        0.02,
        description=(
            "Assumption: share of the gap between an officer's Russia alignment and his own "
            "anchor (the value he entered with, set by his generation) closed per month: "
            "attitudes pulled by propaganda or disillusion drift back (half-life about three "
            "years). 0 = no anchor (the earlier model)."
        ),
    )


# ---------------------------------------------------------------------------- career


class CareerConfig(StrictModel):
    """What an officer's years of service are worth: training debt and pension."""

    training_obligation_years: Annotated[float, Field(gt=0.0, le=40.0)] = Field(
        5.0,
        description=(
            "Years of service after the academy during which leaving means repaying the "
            "training debt; the debt left falls linearly to zero at this tenure. Seed: "
            "graduates 'are obliged to serve for an extended amount of time'; 5 years is an "
            "assumption."
        ),
    )
    pension_service_years: Annotated[float, Field(gt=0.0, le=50.0)] = Field(
        20.0,
        description=(
            "Assumption: years of service that entitle an officer to a service pension; the "
            "pension stake rises linearly to 1 at this tenure, and retirement is open from it."
        ),
    )


# ---------------------------------------------------------------------------- consequences


class EvaderSanctions(StrictModel):
    """What happens to a detected evader: one of three sanctions, with these probabilities."""

    reprimand: Share = Field(0.25, description="Assumption: a reprimand (no lasting effect).")
    benefit_loss: Share = Field(
        0.7, description="Assumption: loss of benefits for benefit_loss_months."
    )
    dismissal: Share = Field(
        0.05,
        description=(
            "Assumption: dismissal from the force (rare: a command short of officers keeps "
            "its evaders)."
        ),
    )

    @model_validator(mode="after")
    def _sum(self) -> EvaderSanctions:
        total = self.reprimand + self.benefit_loss + self.dismissal
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"sanction probabilities must sum to 1, got {total:.6g}")
        return self


class ResponseShares(StrictModel):
    """How the command answers a first known open refusal: one rung of the response ladder,
    with these probabilities (docs/ODD.md §7.6, 'The response ladder')."""

    pressure: Share = Field(
        0.5,
        description=(
            "Assumption: pressure and persuasion (talks, threats, humiliation): the refuser "
            "stays at his post and may be talked back (response.persuasion_probability)."
        ),
    )
    reassignment: Share = Field(
        0.2,
        description=(
            "Assumption: moved to a rear post: he stays, relieved of the order only partly "
            "(response.reassignment_order_share)."
        ),
    )
    administrative: Share = Field(
        0.2,
        description=(
            "Assumption: administrative sanction: loss of benefits for benefit_loss_months, "
            "or dismissal (response.administrative_dismissal)."
        ),
    )
    criminal_case: Share = Field(
        0.1,
        description=(
            "Assumption: a criminal case (arrest and jail after response.case_months), within "
            "the case capacity; beyond it, an administrative sanction."
        ),
    )

    @model_validator(mode="after")
    def _sum(self) -> ResponseShares:
        total = self.pressure + self.reassignment + self.administrative + self.criminal_case
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"response probabilities must sum to 1, got {total:.6g}")
        return self


class ResponseLadder(StrictModel):
    """Open refusal is known to the commander; what varies is the response: pressure,
    reassignment, administrative sanction, criminal case, with a capacity for cases, their
    delay and escalation of repeated refusal (docs/ODD.md §7.6, 'The response ladder')."""

    enabled: bool = Field(
        True,
        description=(
            "If true, every open refusal is known (detection 1) and answered by the ladder; "
            "if false, refusal is detected with Epstein's probability and answered by "
            "arrest_rule (the reductions of docs/ODD.md §7.8)."
        ),
    )
    first_response: ResponseShares = Field(default_factory=ResponseShares)
    escalation: int = Field(
        1,
        ge=0,
        le=3,
        description=(
            "Assumption: rungs a repeated known refusal climbs above the last response he "
            "met (0: every refusal answered as a first one)."
        ),
    )
    persuasion_probability: Share = Field(
        0.4,
        description=(
            "Assumption: chance that a pressured refuser (or one awaiting trial) is talked "
            "back the next month (what he does then: response.persuaded_outcome)."
        ),
    )
    persuaded_outcome: Literal["comply", "withdraw_refusal"] = Field(
        "comply",
        description=(
            "What a persuaded refuser does the next month. comply: he complies (talked back "
            "for free, the model before this option); withdraw_refusal: open refusal is "
            "taken out of his choice set for that month and he takes his best remaining act "
            "(comply, evade or exit, by his utilities and decision.temperature): pressure "
            "suppresses open defiance, not its covert forms (Scott 1985). A scenario switch "
            "between two structures, not an assumed number: docs/ODD.md §7.6."
        ),
    )
    pressure_cost: NonNegative = Field(
        0.1,
        le=10,
        description=(
            "Assumption: utility cost of being pressured (talks, threats, humiliation, "
            "detention in the unit), paid by a refuser on the pressure rung."
        ),
    )
    reassignment_order_share: Share = Field(
        0.5,
        description=(
            "Assumption: share of the order's moral cost and hardship a reassigned member "
            "still bears (rear post), for as long as he serves."
        ),
    )
    administrative_dismissal: Share = Field(
        0.2,
        description=(
            "Assumption: share of administrative sanctions that are dismissal (the others: "
            "loss of benefits for benefit_loss_months)."
        ),
    )
    case_capacity_per_1000: NonNegative = Field(
        5.0,
        le=1000,
        description=(
            "Assumption: criminal cases the command and military prosecutors can open per "
            "month per 1,000 serving members, times the detection_capacity driver."
        ),
    )
    case_capacity_punishment_elasticity: NonNegative = Field(
        1.0,
        le=5,
        description=(
            "Assumption: elasticity of the case capacity in the punishment_severity driver "
            "(capacity times severity to this power): a regime that punishes harder also "
            "prosecutes more (Russia, September 2022: harsher articles 332/337, then several "
            "times the cases). 0: capacity independent of severity; at severity 1 no effect."
        ),
    )
    criminal_case_punishment_elasticity: NonNegative = Field(
        1.0,
        le=5,
        description=(
            "Assumption: elasticity of the share of first refusals answered by a criminal case "
            "(first_response.criminal_case) in the punishment_severity driver (that share "
            "times severity to this power, at most 1; the other rungs share the rest in their "
            "proportions): a regime that punishes harder also answers more refusals with a "
            "case (Russia, September 2022: refusal to take part in hostilities made a crime, "
            "article 332). 0: the shares as given whatever the severity; at severity 1 no "
            "effect."
        ),
    )
    case_months: int = Field(
        3,
        ge=0,
        le=120,
        description=(
            "Assumption: months from a case's opening to arrest (investigation); the accused "
            "serves under pressure meanwhile. 0: arrested at once."
        ),
    )


class ConsequencesConfig(StrictModel):
    """What detection brings: arrest and jail for refusers, sanctions for evaders."""

    enabled: bool = Field(
        True,
        description=(
            "If false, detection has no consequences (no arrest, jail, dismissal or sanction): "
            "the decision rule alone, as before consequences existed."
        ),
    )
    arrest_rule: Literal["detection", "capacity"] = Field(
        "detection",
        description=(
            "detection: each refuser is detected with his Epstein probability P, then arrested "
            "with arrest_probability (else dismissed); capacity: each enforcer arrests one "
            "refuser of his unit per month, chosen at random (Epstein's cops)."
        ),
    )
    arrest_probability: Share = Field(
        0.8,
        description=(
            "Assumption: chance that a detected refuser is arrested (the others are dismissed). "
            "Epstein: 1."
        ),
    )
    jail_term_months: int = Field(
        24,
        ge=0,
        le=1200,
        description=(
            "Assumption: months an arrested officer is held (Epstein's J); 0 = dismissed for "
            "good at arrest. His post is kept for him while he is held."
        ),
    )
    jail_term_draw: Literal["fixed", "uniform"] = Field(
        "fixed",
        description=(
            "fixed: every term is jail_term_months; uniform: each arrest draws a term uniformly "
            "from 1 to jail_term_months (Epstein draws from U(0, J_max))."
        ),
    )
    return_after_jail: bool = Field(
        False,
        description=(
            "Whether an officer returns to his post at the end of his term (Epstein: yes); "
            "if not he is dismissed then."
        ),
    )
    jail_grievance_increase: Share = Field(
        0.3,
        description=(
            "Assumption: on return from jail, share of the gap to 1 added to his war aversion "
            "and share of his regime alignment lost (grievance raised). Epstein: 0."
        ),
    )
    response: ResponseLadder = Field(default_factory=ResponseLadder)
    evader_sanctions: EvaderSanctions = Field(default_factory=EvaderSanctions)
    benefit_loss_months: int = Field(
        12,
        ge=0,
        le=1200,
        description="Assumption: months a sanctioned evader goes without his benefits.",
    )


class ExitConfig(StrictModel):
    """Leaving the force as a fourth action: resignation while open, desertion when closed."""

    enabled: bool = Field(
        True, description="If false, officers choose among comply, evade and refuse only."
    )
    exit_threshold: float = Field(
        0.1,
        ge=-10,
        le=10,
        description="Assumption: fixed cost of leaving (procedure, moving, finding work).",
    )
    stop_loss_from_level: int = Field(
        2,
        ge=0,
        le=4,
        description=(
            "Assumption: resignation is closed (stop-loss) from this war-order level on; 4 = "
            "never. It is also closed whenever the driver resignation_open is 0."
        ),
    )
    desertion_cost: NonNegative = Field(
        0.3,
        le=10,
        description=(
            "Assumption: extra cost of deserting rather than resigning (flight, possibly "
            "abroad, family left behind, criminal record)."
        ),
    )
    desertion_visibility: Share = Field(
        0.5,
        description=(
            "Assumption: chance of detecting a deserter relative to an open refuser; a caught "
            "deserter is arrested."
        ),
    )


# ---------------------------------------------------------------------------- drivers


def driver(default: float, low: float, high: float, description: str) -> Any:
    """A driver's field: a schedule whose every value must lie in [low, high]."""
    return Field(default, description=description, json_schema_extra={"range": [low, high]})


def driver_ranges() -> dict[str, tuple[float, float]]:
    """Allowed values of each driver (every value of its schedule), from the schema."""
    return {
        name: tuple(field.json_schema_extra["range"])  # type: ignore[index]
        for name, field in DriversConfig.model_fields.items()
    }


class DriversConfig(StrictModel):
    """Exogenous drivers; each is a constant or a list of {step, value} changes."""

    war_order_level: Schedule = driver(
        1,
        0,
        3,
        (
            "0 peacetime; 1 support role for Russian forces (seed: today); 2 border deployment / "
            "mobilisation; 3 order to fight in Ukraine."
        ),
    )
    detection_capacity: Schedule = driver(
        1.0, 0, 100, "Command pressure: multiplies the enforcers each unit has (>= 0)."
    )
    punishment_severity: Schedule = driver(
        1.0, 0, 100, "Command pressure: sanction for detected refusal (utility units, >= 0)."
    )
    russian_propaganda: Schedule = driver(
        0.002,
        0,
        1,
        (
            "Assumption: share of the gap to full Russia alignment closed per step by propaganda "
            "(seed: 'pro-Russian telegram channels ... make the army increasingly pro-Russian')."
        ),
    )
    russian_contact: Schedule = driver(
        0.002,
        0,
        1,
        "Assumption: alignment pull per step of direct contact with Russian troops.",
    )
    isolation: Schedule = driver(
        0.7,
        0,
        1,
        (
            "Share of Russian-Belarusian contact cut off (seed: 'Russian military management "
            "forbids its soldiers to communicate ... the isolation is still significant')."
        ),
    )
    incentive_level: Schedule = driver(
        0.0, 0, 10, "Extra pay and benefits as a share of normal benefits (0 = none)."
    )
    disillusion: Schedule = driver(
        0.004,
        0,
        1,
        (
            "Share of Russia alignment lost per step to news of Russian setbacks (seed: 'a "
            "discrepancy between the image of the Russian military ... and its factual results', "
            "'Time also works against Russian sentiment'). Assumption: 0.004 a month by default, "
            "a little more than propaganda and contact add at today's mean alignment, so that "
            "it does not rise (the seed's direction; the seed gives no rate)."
        ),
    )
    regime_stability: Schedule = driver(
        0.8,
        0,
        1,
        (
            "Assumption: perceived stability of the regime in [0, 1]; 1 - stability is the "
            "perceived chance it falls. Sanctions are credible in proportion to it."
        ),
    )
    amnesty: Schedule = driver(
        0.0,
        0,
        1,
        "Amnesty offered to complicit officers in [0, 1]; lowers their lock-in.",
    )
    russian_recruitment_rate: Schedule = driver(
        0.0,
        0,
        1,
        (
            "Per-step chance that a fully pro-Russian senior officer leaves for the Russian army "
            "(seed: 'efforts were made to recruit Belarusian generals ... high income')."
        ),
    )
    resignation_open: Schedule = driver(
        1,
        0,
        1,
        (
            "1: officers may resign (at war-order levels below exit.stop_loss_from_level); 0: "
            "resignation closed, exit only by desertion. Belarusian officials quit after 2020 "
            "despite financial penalties (docs/ODD.md)."
        ),
    )
    mobilisation: Schedule = driver(
        0.0,
        0,
        1,
        (
            "Share of the reserve categories (personnel.categories.<name>.reserve: reservists, "
            "territorial defence) called up by this month, e.g. [{step: 12, value: 0.5}, "
            "{step: 13, value: 1}]; those called join units under the officers and stay (a "
            "lower value later demobilises no one). Seed: 'The military reserve is around "
            "290,000 people, and territorial defence forces are 120,000.'"
        ),
    )
    desertion_opportunity: Schedule = driver(
        0.05,
        0,
        1,
        (
            "Assumption: per-month chance that an officer has a practical opportunity to "
            "desert (leave, a posting near the border); without one he cannot desert that month."
        ),
    )

    @model_validator(mode="after")
    def _ranges(self) -> DriversConfig:
        for name, (low, high) in driver_ranges().items():
            try:
                _check_schedule(name, getattr(self, name), low, high)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
        level = self.war_order_level
        values = [c.value for c in level] if isinstance(level, list) else [level]
        if any(float(v) != int(v) for v in values):
            raise ValueError("war_order_level: levels are whole numbers 0, 1, 2 or 3")
        opening = self.resignation_open
        values = [c.value for c in opening] if isinstance(opening, list) else [opening]
        if any(float(v) not in (0.0, 1.0) for v in values):
            raise ValueError("resignation_open: values are 0 (closed) or 1 (open)")
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
        return _group_shares(shares, "new cohort group shares")


class TurnoverConfig(StrictModel):
    """Generational turnover over long horizons (one step = one month)."""

    enabled: bool = Field(
        True,
        description=(
            "Switch retirement, promotion, peacetime resignations and academy intake on (on by "
            "default since issue 22: a long horizon is not a closed cohort; the Epstein and "
            "Granovetter reductions switch it off)."
        ),
    )
    retirement_rate_per_year: dict[str, Share] = Field(
        default_factory=lambda: {"senior": 0.08, "field": 0.02, "junior": 0.02},
        description=(
            "Assumption: yearly share of officers of each rank entitled to a pension (tenure at "
            "least career.pension_service_years) who retire."
        ),
    )
    max_service_years: Annotated[float, Field(gt=0.0, le=60.0)] = Field(
        35.0, description="Assumption: tenure at which every officer retires."
    )
    promotion_rate_per_year: dict[str, Share] = Field(
        default_factory=lambda: {"field": 0.06, "junior": 0.12},
        description=(
            "Assumption: yearly share promoted among those with enough tenure (field -> senior, "
            "junior -> field)."
        ),
    )
    promotion_min_years: dict[str, Annotated[float, Field(ge=0.0, le=60.0)]] = Field(
        default_factory=lambda: {"field": 12.0, "junior": 4.0},
        description=(
            "Assumption: least tenure for promotion (field -> senior after 12 years, junior -> "
            "field after 4)."
        ),
    )
    academy_fill_share: Share = Field(
        0.45,
        description=(
            "Share of vacancies filled by new academy graduates. Seed: 'less than half of the "
            "devoted places in military academies are occupied'."
        ),
    )
    new_cohort: NewCohortConfig = Field(default_factory=NewCohortConfig)
    # -- issue 22: peacetime attrition and pay as the retention lever
    civilian_resignation_rate_per_year: Share = Field(
        0.03,
        description=(
            "Assumption: yearly share of officers who resign for civilian jobs while the "
            "lawful route is open, with no extra pay (drivers.incentive_level 0). Seed "
            "(Education): the academies fill 'less than half of the devoted places', "
            "service is not attractive; the seed gives no resignation rate."
        ),
    )
    pay_retention_elasticity: NonNegative = Field(
        0.5,
        le=5.0,
        description=(
            "Assumption: how extra pay and benefits keep officers: the resignation hazard is "
            "multiplied by exp(-elasticity x incentive_level) (incentive 1, benefits doubled: "
            "x 0.61 at 0.5). 0 = pay does not retain."
        ),
    )

    @field_validator("retirement_rate_per_year")
    @classmethod
    def _ranks(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(rates) ^ set(RANKS))
        if bad:
            raise ValueError(f"give a rate for exactly the ranks {list(RANKS)} (problem: {bad})")
        return rates

    @field_validator("promotion_rate_per_year", "promotion_min_years")
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
    order_lags: list[Annotated[int, Field(ge=0, le=100_000)]] = Field(
        default_factory=lambda: [1, 12],
        max_length=12,
        description=(
            "Months after the change of the war-order level at which outcomes are also "
            "reported (at_order_plus_<lag>), besides final and peak."
        ),
    )
    lag_reference: Literal["first_change", "last_change"] = Field(
        "first_change",
        description=(
            "Which change of the war-order level the lags count from (within the run); "
            "with no change, step 0 (the standing order)."
        ),
    )

    @field_validator("order_lags")
    @classmethod
    def _distinct(cls, lags: list[int]) -> list[int]:
        if len(set(lags)) != len(lags):
            raise ValueError(f"lags must be distinct, got {lags}")
        return sorted(lags)


MAX_PERSONNEL = 5_000_000
"""Most agents a run may have (officers and every other category)."""


# ---------------------------------------------------------------------------- performance


class PerformanceConfig(StrictModel):
    """How a step is computed, never what it computes: both paths give the same numbers."""

    kernel: Literal["auto", "numpy", "numba"] = Field(
        "auto",
        description=(
            "How the hot parts of the step (observation counts, beliefs, utilities, choice, "
            "private inclination) are computed: numpy, whole-array operations (the reference); "
            "numba, fused compiled kernels (simulation/model/kernels.py; the same numbers, bit "
            "for bit; needs numba; compiled on first call when not yet cached, about 5 s once "
            "a machine); auto, numba when numba is installed, the force has at least "
            "numba_from_officers officer slots and the kernels are in their disk cache, numpy "
            "otherwise (a run that finds the cache empty starts building it in the background "
            "and never waits for it; `reluctant-army warm-up` builds it now). The environment "
            "variable RELUCTANT_ARMY_KERNEL=numpy|numba overrides it (tests run both paths "
            "with it)."
        ),
    )
    numba_from_officers: int = Field(
        40_000,
        ge=0,
        le=100_000_000,
        description=(
            "With kernel auto, the smallest force (officer slots) computed with numba. "
            "Importing numba and loading its compiled kernels costs about 0.9 s once per "
            "process; measured here, the kernels save about 1.6 ms a step at 10,000 officers, "
            "5.8 ms at 30,000 and 22 ms at 100,000, so a 120-step run gains from about 40,000."
        ),
    )

    @field_validator("kernel")
    @classmethod
    def _numba_installed(cls, kernel: str) -> str:
        if kernel == "numba" and not numba_installed():
            raise ValueError("numba is not installed: install it, or use auto or numpy")
        return kernel


def numba_installed() -> bool:
    """Whether numba can be imported (looked up without importing it)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


class SimulationConfig(StrictModel):
    """A complete, validated configuration of one simulation run."""

    name: str = Field("run", min_length=1, description="Name of the run; names the results folder.")
    description: str = Field("", description="Free text: what this configuration explores.")
    seed: int = Field(42, ge=0, description="Root random seed (same seed, same numbers).")
    steps: int = Field(120, ge=0, le=100_000, description="Number of steps; one step = one month.")
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    structure: StructureConfig = Field(default_factory=StructureConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    career: CareerConfig = Field(default_factory=CareerConfig)
    consequences: ConsequencesConfig = Field(default_factory=ConsequencesConfig)
    exit: ExitConfig = Field(default_factory=ExitConfig)
    expectations: ExpectationsConfig = Field(default_factory=ExpectationsConfig)
    attitude_dynamics: AttitudeDynamicsConfig = Field(default_factory=AttitudeDynamicsConfig)
    drivers: DriversConfig = Field(default_factory=DriversConfig)
    turnover: TurnoverConfig = Field(default_factory=TurnoverConfig)
    personnel: PersonnelConfig = Field(default_factory=PersonnelConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)

    @property
    def n_personnel(self) -> int:
        """Agents of a run: officers plus every other category present (reserve included)."""
        n_officers = self.population.n_officers
        return n_officers + sum(self.personnel.counts(n_officers).values())

    @model_validator(mode="after")
    def _personnel_fits(self) -> SimulationConfig:
        if self.n_personnel > MAX_PERSONNEL:
            raise ValueError(
                f"personnel: {self.n_personnel:,} agents in all (population.n_officers x (1 + "
                f"the categories' per_officer)); at most {MAX_PERSONNEL:,}"
            )
        return self

    @model_validator(mode="after")
    def _units_fit(self) -> SimulationConfig:
        if self.structure.unit_size > self.population.n_officers:
            raise ValueError(
                f"structure.unit_size ({self.structure.unit_size}) exceeds "
                f"population.n_officers ({self.population.n_officers})"
            )
        return self

    @model_validator(mode="after")
    def _mixes_fit(self) -> SimulationConfig:
        types = self.structure.unit_types.values()
        mixed = [t for t in types if t.group_mix is not None]
        if not mixed:
            return self
        for group in GROUPS:
            wanted = sum(t.share * t.group_mix[group] for t in mixed)  # type: ignore[index]
            available = self.population.group_shares[group]
            if wanted > available + 1e-6 or (
                len(mixed) == len(types) and wanted < available - 1e-6
            ):
                raise ValueError(
                    f"structure.unit_types: the group mixes give {wanted:.4g} of the force to "
                    f"{group} officers but population.group_shares gives {available:.4g}"
                )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON/YAML-safe) of the fully resolved config."""
        return self.model_dump(mode="json")


DEFAULT_DATA: dict[str, Any] = SimulationConfig().to_dict()
"""The defaults as plain data: files and overrides are merged onto it, so that a file
may set a single nested value (say one group's mean war aversion) and keep the rest."""

DRIVER_NAMES: tuple[str, ...] = tuple(DriversConfig.model_fields)
"""Every driver, in schema order (derived from the schema, never listed by hand)."""
