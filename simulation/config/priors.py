"""Priors: what we believe about each assumed number before looking at any data.

Every schema parameter whose description calls it an assumption gets a prior in one file,
``configs/priors.yaml``: a distribution, a range and the reason for both. Shares that must
sum to 1 get a joint Dirichlet prior around their default. The file is validated like a
config (unknown keys, bad distributions and ranges the schema does not allow give one line
naming the file and key), and :func:`missing_priors` lists every assumed number that has
neither a prior nor a stated reason to stay fixed (``tests/test_priors.py`` fails on it).

A :class:`Priors` object draws parameter sets (ensembles), maps points of the unit cube to
parameter sets (Sobol designs over the priors), evaluates the joint density (calibration)
and turns a drawn set into config overrides. Drivers are schedules that scenarios change
over time, so their priors act on the whole schedule: ``apply: shift`` adds (draw - default)
to every value of the scenario's schedule, ``apply: scale`` multiplies every value by
draw / default; everything else is replaced by the draw.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulation.config.messages import describe_validation_error
from simulation.config.schema import DEFAULT_DATA, DRIVER_NAMES, driver_ranges
from simulation.errors import ConfigError

DEFAULT_PRIORS_FILE = Path(__file__).resolve().parents[2] / "configs" / "priors.yaml"
"""The project's priors (``configs/priors.yaml`` in the repository)."""

SD_CAP = 0.95
"""A drawn attitude sd is capped at this share of the largest a Beta with the drawn mean allows."""

ASSUMPTION = re.compile(r"\bassumption", re.IGNORECASE)
"""How the schema marks an assumed number (its description calls it an assumption)."""

DISTRIBUTIONS: tuple[str, ...] = (
    "uniform",
    "loguniform",
    "triangular",
    "normal",
    "beta",
    "dirichlet",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PriorSpec(_Strict):
    """One prior as written in the priors file."""

    dist: Literal["uniform", "loguniform", "triangular", "normal", "beta", "dirichlet"] = Field(
        description=(
            "uniform(low, high); loguniform(low, high); triangular(low, mode, high); normal(mean, "
            "sd) truncated to [low, high]; beta(mean, sd) scaled to [low, high]; dirichlet("
            "concentration) around `center` (shares that sum to 1)."
        )
    )
    low: float | None = Field(None, description="Lowest value (every scalar prior is bounded).")
    high: float | None = Field(None, description="Highest value.")
    mode: float | None = Field(None, description="triangular: the most likely value.")
    mean: float | None = Field(None, description="normal, beta: the mean (before truncation).")
    sd: float | None = Field(None, gt=0, description="normal, beta: the standard deviation.")
    center: dict[str, float] | None = Field(
        None, description="dirichlet: the expected shares (default: the schema's default)."
    )
    concentration: float | None = Field(
        None,
        gt=0,
        description="dirichlet: sum of the Dirichlet's alphas; larger means more certain.",
    )
    integer: bool = Field(False, description="Round the draw to a whole number.")
    apply: Literal["replace", "shift", "scale"] = Field(
        "replace",
        description=(
            "replace: the draw is the value; drivers only: shift adds (draw - default) to every "
            "value of the schedule, scale multiplies every value by draw / default."
        ),
    )
    reason: str = Field(min_length=1, description="Why this distribution and this range.")

    @model_validator(mode="after")
    def _complete(self) -> PriorSpec:
        needs: dict[str, tuple[str, ...]] = {
            "uniform": ("low", "high"),
            "loguniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("low", "high", "mean", "sd"),
            "beta": ("low", "high", "mean", "sd"),
            "dirichlet": ("concentration",),
        }
        missing = [name for name in needs[self.dist] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.dist} prior needs {', '.join(missing)}")
        allowed = set(needs[self.dist]) | ({"center"} if self.dist == "dirichlet" else set())
        extra = [
            name
            for name in ("low", "high", "mode", "mean", "sd", "center", "concentration")
            if getattr(self, name) is not None and name not in allowed
        ]
        if extra:
            raise ValueError(f"a {self.dist} prior takes no {', '.join(extra)}")
        if self.dist == "dirichlet":
            if self.integer:
                raise ValueError("a dirichlet prior cannot be integer")
            return self
        low, high = float(self.low), float(self.high)  # type: ignore[arg-type]
        if not high > low:
            raise ValueError(f"high ({high:g}) must be above low ({low:g})")
        if self.dist == "loguniform" and low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0 (got {low:g})")
        if self.dist == "triangular" and not low <= float(self.mode) <= high:  # type: ignore[arg-type]
            raise ValueError(f"mode ({self.mode:g}) must lie in [low, high]")
        if self.dist in ("normal", "beta") and not low < float(self.mean) < high:  # type: ignore[arg-type]
            raise ValueError(f"mean ({self.mean:g}) must lie inside (low, high)")
        if self.dist == "beta":
            scaled_mean = (float(self.mean) - low) / (high - low)  # type: ignore[arg-type]
            scaled_sd = float(self.sd) / (high - low)  # type: ignore[arg-type]
            if scaled_sd**2 >= scaled_mean * (1 - scaled_mean):
                limit = math.sqrt(scaled_mean * (1 - scaled_mean)) * (high - low)
                raise ValueError(
                    f"sd {self.sd:g} too large for a beta with mean {self.mean:g} on "
                    f"[{low:g}, {high:g}] (must be below {limit:.4g})"
                )
        return self


class PriorsFileSpec(_Strict):
    """The priors file: `priors` (key -> prior) and `fixed` (key -> why it stays fixed)."""

    description: str = Field("", description="What these priors are.")
    reasons: dict[str, str] = Field(
        default_factory=dict,
        description="Reasons shared by several priors (referred to by YAML anchors).",
    )
    priors: dict[str, PriorSpec] = Field(description="Dotted config key -> its prior.")
    fixed: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Dotted keys inside an assumption that deliberately have no prior, each with the "
            "reason (a definition, or a number the seed gives)."
        ),
    )


# ---------------------------------------------------------------------------- config paths


def split_key(dotted: str) -> list[str | int]:
    """'decision.order_moral_cost.3' -> ['decision', 'order_moral_cost', 3]."""
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def get_value(data: Any, dotted: str) -> Any:
    """The value at a dotted key (list entries by index); KeyError if there is none."""
    node = data
    for part in split_key(dotted):
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        else:
            raise KeyError(dotted)
    return node


def set_value(data: Any, dotted: str, value: Any) -> None:
    """Set the value at a dotted key that exists (list entries by index), in place."""
    parts = split_key(dotted)
    node = get_value(data, ".".join(str(p) for p in parts[:-1])) if len(parts) > 1 else data
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[str(last)] = value


def numeric_leaves(value: Any, prefix: str) -> list[str]:
    """Dotted keys of every number inside `value` (booleans and text are not numbers)."""
    if isinstance(value, Mapping):
        return [
            leaf
            for name, item in value.items()
            for leaf in numeric_leaves(item, f"{prefix}.{name}")
        ]
    if isinstance(value, list):
        return [
            leaf for i, item in enumerate(value) for leaf in numeric_leaves(item, f"{prefix}.{i}")
        ]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [prefix]
    return []


def _driver(key: str) -> str | None:
    """The driver a key names ('drivers.regime_stability' -> 'regime_stability'), or None."""
    head, _, name = key.partition(".")
    return name if head == "drivers" and name in DRIVER_NAMES else None


# ---------------------------------------------------------------------------- one prior


@dataclass(frozen=True)
class Prior:
    """One validated prior: its key, its distribution, and how a draw is applied."""

    key: str
    spec: PriorSpec
    default: Any
    """The schema's default at this key (a number, or a mapping of shares)."""

    @property
    def dist(self) -> str:
        return self.spec.dist

    @property
    def reason(self) -> str:
        return self.spec.reason

    @cached_property
    def components(self) -> tuple[str, ...]:
        """Names of a Dirichlet's shares (empty for a scalar prior)."""
        return tuple(self.center) if self.dist == "dirichlet" else ()

    @cached_property
    def center(self) -> dict[str, float]:
        """A Dirichlet's expected shares."""
        return dict(self.spec.center or self.default)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Names of the drawn values: the key, or key.share for each share of a Dirichlet."""
        return tuple(f"{self.key}.{name}" for name in self.components) or (self.key,)

    @property
    def unit_dimensions(self) -> int:
        """Coordinates of the unit cube this prior takes (K - 1 for a K-share Dirichlet)."""
        return len(self.components) - 1 if self.components else 1

    @cached_property
    def alphas(self) -> np.ndarray:
        concentration = float(self.spec.concentration or 0.0)
        return np.array([concentration * self.center[name] for name in self.components])

    @cached_property
    def frozen(self) -> Any:
        """The scalar prior as a frozen scipy.stats distribution."""
        from scipy import stats

        spec = self.spec
        low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
        width = high - low
        if spec.dist == "uniform":
            return stats.uniform(loc=low, scale=width)
        if spec.dist == "loguniform":
            return stats.loguniform(low, high)
        if spec.dist == "triangular":
            return stats.triang((float(spec.mode) - low) / width, loc=low, scale=width)  # type: ignore[arg-type]
        if spec.dist == "normal":
            mean, sd = float(spec.mean), float(spec.sd)  # type: ignore[arg-type]
            return stats.truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
        return stats.beta(*self.beta_shape, loc=low, scale=width)

    @cached_property
    def beta_shape(self) -> tuple[float, float]:
        """A beta prior's (a, b) from its mean and sd on [low, high]."""
        spec = self.spec
        low, width = float(spec.low), float(spec.high) - float(spec.low)  # type: ignore[arg-type]
        mean = (float(spec.mean) - low) / width  # type: ignore[arg-type]
        sd = float(spec.sd) / width  # type: ignore[arg-type]
        common = mean * (1 - mean) / sd**2 - 1
        return mean * common, (1 - mean) * common

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Values (rows, columns) from unit-cube coordinates (rows, unit_dimensions).

        Scalars use the inverse CDF; a Dirichlet is built share by share from the
        conditional Beta inverse CDFs (stick breaking), so a uniform cube gives the prior.
        """
        if not self.components:
            return self._round(self.frozen.ppf(np.clip(unit[:, 0], 0.0, 1.0)))[:, None]
        from scipy import stats

        alphas = self.alphas
        remaining = np.ones(unit.shape[0])
        shares = np.zeros((unit.shape[0], len(alphas)))
        for index in range(len(alphas) - 1):
            rest = alphas[index + 1 :].sum()
            fraction = stats.beta(alphas[index], rest).ppf(np.clip(unit[:, index], 0.0, 1.0))
            shares[:, index] = remaining * fraction
            remaining = remaining - shares[:, index]
        shares[:, -1] = np.maximum(remaining, 0.0)
        return shares

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` draws as (size, columns)."""
        if self.components:
            return rng.dirichlet(self.alphas, size=size)
        spec = self.spec
        low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
        if spec.dist == "uniform":  # numpy directly: a calibration draws thousands of sets
            values = rng.uniform(low, high, size)
        elif spec.dist == "loguniform":
            values = np.exp(rng.uniform(math.log(low), math.log(high), size))
        elif spec.dist == "triangular":
            values = rng.triangular(low, float(spec.mode), high, size)  # type: ignore[arg-type]
        elif spec.dist == "beta":
            values = low + (high - low) * rng.beta(*self.beta_shape, size)
        else:
            values = self.frozen.rvs(size=size, random_state=rng)
        return self._round(values)[:, None]

    def log_density(self, values: np.ndarray) -> float:
        """Log prior density at one draw (its columns); -inf outside the support."""
        if self.components:
            from scipy import stats

            shares = np.asarray(values, dtype=float)
            if np.any(shares <= 0) or abs(shares.sum() - 1.0) > 1e-6:
                return -math.inf
            return float(stats.dirichlet.logpdf(shares / shares.sum(), self.alphas))
        value = float(values[0])
        if self.spec.integer:  # the mass of the interval that rounds to this whole number
            mass = self.frozen.cdf(value + 0.5) - self.frozen.cdf(value - 0.5)
            return math.log(mass) if mass > 0 else -math.inf
        return float(self.frozen.logpdf(value))

    def _round(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return np.round(values) if self.spec.integer else values

    def quantiles(self, levels: tuple[float, ...]) -> dict[str, list[float]]:
        """Quantiles of each column (for the documentation of the prior)."""
        if self.components:
            from scipy import stats

            total = self.alphas.sum()
            return {
                column: [float(stats.beta(alpha, total - alpha).ppf(level)) for level in levels]
                for column, alpha in zip(self.columns, self.alphas, strict=True)
            }
        return {self.key: [float(v) for v in self._round(self.frozen.ppf(np.array(levels)))]}

    def describe(self) -> str:
        """A short formula of the prior, e.g. 'triangular(0.005, 0.02, 0.1)'."""
        spec = self.spec
        number = "{:.4g}".format
        if spec.dist == "dirichlet":
            centre = ", ".join(f"{name} {number(share)}" for name, share in self.center.items())
            text = f"dirichlet({centre}; concentration {number(spec.concentration)})"
        elif spec.dist in ("uniform", "loguniform"):
            text = f"{spec.dist}({number(spec.low)}, {number(spec.high)})"
        elif spec.dist == "triangular":
            text = f"triangular({number(spec.low)}, {number(spec.mode)}, {number(spec.high)})"
        else:
            text = (
                f"{spec.dist}(mean {number(spec.mean)}, sd {number(spec.sd)}) on "
                f"[{number(spec.low)}, {number(spec.high)}]"
            )
        if spec.integer:
            text += ", whole numbers"
        if spec.apply != "replace":
            text += f", {spec.apply}s the schedule"
        return text

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the cached scipy objects (rebuilt on use): small for workers."""
        return {key: self.__dict__[key] for key in ("key", "spec", "default")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def apply_draw(self, data: dict[str, Any], values: Mapping[str, float]) -> None:
        """Put one draw (column -> value) into raw config data, in place."""
        if self.components:
            set_value(
                data,
                self.key,
                {name: float(values[f"{self.key}.{name}"]) for name in self.components},
            )
            return
        value = values[self.key]
        value = int(round(value)) if self.spec.integer else float(value)
        driver = _driver(self.key)
        if driver is None or self.spec.apply == "replace":
            set_value(data, self.key, value)
            return
        low, high = driver_ranges()[driver]
        shift = value - float(self.default)
        factor = value / float(self.default) if self.spec.apply == "scale" else 1.0

        def moved(old: float) -> float:
            new = old + shift if self.spec.apply == "shift" else old * factor
            return float(min(max(new, low), high))

        schedule = data["drivers"][driver]
        if isinstance(schedule, list):
            data["drivers"][driver] = [
                {**change, "value": moved(float(change["value"]))} for change in schedule
            ]
        else:
            data["drivers"][driver] = moved(float(schedule))


# ---------------------------------------------------------------------------- all priors


@dataclass
class Priors:
    """The validated priors file: priors by key, keys kept fixed (with reasons), the source."""

    priors: dict[str, Prior]
    fixed: dict[str, str] = field(default_factory=dict)
    source: str = "<priors>"
    text: str = ""
    description: str = ""

    @property
    def keys(self) -> list[str]:
        return list(self.priors)

    @property
    def columns(self) -> list[str]:
        """Every drawn value's name, in file order (a Dirichlet gives one per share)."""
        return [column for prior in self.priors.values() for column in prior.columns]

    @property
    def unit_dimensions(self) -> int:
        return sum(prior.unit_dimensions for prior in self.priors.values())

    def select(self, keys: list[str] | tuple[str, ...], where: str = "parameters") -> Priors:
        """The priors of `keys` only (prior keys, in the order given)."""
        unknown = [key for key in keys if key not in self.priors]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(self.priors), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"'{unknown[0]}' has no prior in {self.source}{hint}", where)
        return Priors(
            {key: self.priors[key] for key in keys}, {}, self.source, self.text, self.description
        )

    def lean(self) -> Priors:
        """These priors without the file's text and the fixed keys (small to pickle)."""
        return Priors(dict(self.priors), {}, self.source, "", "")

    def without(self, keys: set[str]) -> Priors:
        """These priors less those of `keys`."""
        kept = {key: prior for key, prior in self.priors.items() if key not in keys}
        return Priors(kept, self.fixed, self.source, self.text, self.description)

    def sample(self, rng: np.random.Generator, size: int) -> list[dict[str, float]]:
        """`size` independent draws, each a mapping column -> value."""
        blocks = [prior.sample(rng, size) for prior in self.priors.values()]
        matrix = np.hstack(blocks) if blocks else np.zeros((size, 0))
        return [dict(zip(self.columns, map(float, row), strict=True)) for row in matrix]

    def from_unit(self, unit: np.ndarray) -> list[dict[str, float]]:
        """Draws from points of the unit cube (rows, unit_dimensions): quasi-random designs."""
        blocks, start = [], 0
        for prior in self.priors.values():
            blocks.append(prior.from_unit(unit[:, start : start + prior.unit_dimensions]))
            start += prior.unit_dimensions
        matrix = np.hstack(blocks) if blocks else np.zeros((unit.shape[0], 0))
        return [dict(zip(self.columns, map(float, row), strict=True)) for row in matrix]

    def unit_groups(self) -> list[tuple[str, int]]:
        """(prior key, unit dimensions) in order: how the unit cube splits into priors."""
        return [(key, prior.unit_dimensions) for key, prior in self.priors.items()]

    def log_density(self, draw: Mapping[str, float]) -> float:
        """Joint log density of one draw (independent priors)."""
        total = 0.0
        for prior in self.priors.values():
            total += prior.log_density(np.array([draw[column] for column in prior.columns]))
            if total == -math.inf:
                break
        return total

    def apply(self, data: dict[str, Any], draw: Mapping[str, float]) -> dict[str, Any]:
        """Raw config data with one draw put in (a copy)."""
        result = copy.deepcopy(data)
        for prior in self.priors.values():
            prior.apply_draw(result, draw)
        self._within_joint_limits(result)
        return result

    def _within_joint_limits(self, data: dict[str, Any]) -> None:
        """Cap drawn values that are valid alone but not together (part of the joint prior):
        an attitude's sd at SD_CAP of the largest a Beta with its mean allows, and the unit
        size at the number of officers."""
        for key in self.priors:
            parts = key.split(".")
            if parts[:2] == ["population", "attitudes"] and parts[-1] in ("mean", "sd"):
                attitude = get_value(data, ".".join(parts[:-1]))
                limit = SD_CAP * math.sqrt(attitude["mean"] * (1 - attitude["mean"]))
                attitude["sd"] = min(attitude["sd"], limit)
            elif key == "structure.unit_size":
                structure = data["structure"]
                structure["unit_size"] = min(
                    structure["unit_size"], data["population"]["n_officers"]
                )

    def overrides(self, data: dict[str, Any], draw: Mapping[str, float]) -> dict[str, Any]:
        """The draw as `{dotted key: value}` overrides of `data` (whole lists, schedules and
        share mappings, so that the overrides need no list indices)."""
        changed = self.apply(data, draw)
        tops: dict[str, Any] = {}
        for prior in self.priors.values():
            parts = prior.key.split(".")
            # a list entry is set through its whole list
            while parts and parts[-1].isdigit():
                parts.pop()
            if _driver(prior.key):
                parts = parts[:2]
            elif parts[:2] == ["population", "attitudes"]:  # mean and sd go together (capped)
                parts = parts[:4]
            dotted = ".".join(parts)
            tops[dotted] = copy.deepcopy(get_value(changed, dotted))
        return tops

    def explicit_in(self, data: Mapping[str, Any]) -> list[str]:
        """Keys of non-driver priors whose value in `data` differs from the schema default:
        a scenario that sets an assumption on purpose keeps its value."""
        kept = []
        for key, prior in self.priors.items():
            if _driver(key):
                continue
            try:
                value = get_value(data, key)
            except KeyError:
                continue
            if json.dumps(value, sort_keys=True) != json.dumps(prior.default, sort_keys=True):
                kept.append(key)
        return kept

    def quantile_table(self) -> list[dict[str, Any]]:
        """One row per column: key, default, prior formula, 5%/50%/95% and the reason."""
        rows = []
        for prior in self.priors.values():
            quantiles = prior.quantiles((0.05, 0.5, 0.95))
            for column in prior.columns:
                share = column.rsplit(".", 1)[-1] if prior.components else None
                default = prior.default[share] if share is not None else prior.default
                rows.append(
                    {
                        "key": column,
                        "default": default,
                        "prior": prior.describe(),
                        "q05": quantiles[column][0],
                        "median": quantiles[column][1],
                        "q95": quantiles[column][2],
                        "reason": prior.reason,
                    }
                )
        return rows


def _range_problem(data: dict[str, Any], key: str, value: Any) -> str | None:
    """Why the schema rejects `value` itself at `key`, or None if it accepts it.

    Problems of the value together with another one (a Beta's sd too large for a drawn
    mean, units larger than the force) are not the range's fault: draws that meet them are
    redrawn (the joint prior is truncated to valid configs).
    """
    from simulation.config.loading import validate_config

    trial = copy.deepcopy(data)
    set_value(trial, key, value)
    try:
        validate_config(trial, "<prior>")
    except ConfigError as error:
        return error.detail if error.key == key else None
    return None


def _check_prior(key: str, spec: PriorSpec, source: str) -> Prior:
    """A prior whose key names an assumed number and whose range the schema allows."""
    where = f"priors.{key}"
    try:
        default = get_value(DEFAULT_DATA, key)
    except KeyError:
        leaves = [
            leaf for name, value in DEFAULT_DATA.items() for leaf in numeric_leaves(value, name)
        ]
        close = difflib.get_close_matches(key, leaves, n=1, cutoff=0.8)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown config key '{key}'{hint}", source, where) from None
    driver = _driver(key)
    if spec.apply != "replace" and driver is None:
        raise ConfigError(
            f"apply: {spec.apply} is for drivers (schedules); use replace", source, where
        )
    if driver is not None and spec.apply == "replace":
        raise ConfigError(
            "a driver's prior must say how it moves a scenario's schedule: apply: shift or "
            "apply: scale",
            source,
            where,
        )
    if spec.dist == "dirichlet":
        if not isinstance(default, dict) or not all(
            isinstance(v, int | float) for v in default.values()
        ):
            raise ConfigError("a dirichlet prior needs a mapping of shares", source, where)
        center = spec.center or default
        if set(center) != set(default):
            raise ConfigError(
                f"center must give a share for each of {sorted(default)}", source, f"{where}.center"
            )
        if any(share <= 0 for share in center.values()) or abs(sum(center.values()) - 1) > 1e-6:
            raise ConfigError(
                "center shares must be positive and sum to 1", source, f"{where}.center"
            )
        problem = _range_problem(DEFAULT_DATA, key, dict(center))
        if problem:
            raise ConfigError(f"center is not a valid value ({problem})", source, where)
        return Prior(key, spec, dict(default))
    if not isinstance(default, int | float) or isinstance(default, bool):
        raise ConfigError(
            f"'{key}' is not a number (a mapping of shares takes dist: dirichlet)", source, where
        )
    low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
    if not low <= float(default) <= high:
        raise ConfigError(
            f"the range [{low:g}, {high:g}] excludes the default {default:g}", source, where
        )
    if spec.apply == "scale" and float(default) <= 0:
        raise ConfigError("apply: scale needs a default above 0", source, where)
    if driver is not None:
        allowed_low, allowed_high = driver_ranges()[driver]
        if low < allowed_low or high > allowed_high:
            raise ConfigError(
                f"the range [{low:g}, {high:g}] exceeds the driver's [{allowed_low:g}, "
                f"{allowed_high:g}]",
                source,
                where,
            )
    else:
        for end in (low, high):
            value: float | int = int(round(end)) if spec.integer else end
            problem = _range_problem(DEFAULT_DATA, key, value)
            if problem:
                raise ConfigError(
                    f"the range [{low:g}, {high:g}] goes where the config does not allow "
                    f"({problem})",
                    source,
                    where,
                )
    return Prior(key, spec, default)


def priors_from_dict(data: Any, source: str | Path = "<priors>", text: str = "") -> Priors:
    """Validate priors data (shaped like the priors file)."""
    source = str(source)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'priors' (and 'fixed')", source)
    try:
        spec = PriorsFileSpec.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, source, root=PriorsFileSpec) from None
    priors = {key: _check_prior(key, prior, source) for key, prior in spec.priors.items()}
    columns: dict[str, str] = {}
    for key, prior in priors.items():
        for column in prior.columns:
            clash = next(
                (
                    other
                    for other in columns
                    if column.startswith(other + ".")
                    or other.startswith(column + ".")
                    or other == column
                ),
                None,
            )
            if clash is not None:
                raise ConfigError(
                    f"overlaps the prior of '{columns[clash]}'", source, f"priors.{key}"
                )
            columns[column] = key
    for key in spec.fixed:
        try:
            get_value(DEFAULT_DATA, key)
        except KeyError:
            raise ConfigError(f"unknown config key '{key}'", source, f"fixed.{key}") from None
        if any(key == c or key.startswith(c + ".") for c in columns):
            raise ConfigError("has a prior too: fixed or drawn, not both", source, f"fixed.{key}")
    return Priors(priors, dict(spec.fixed), source, text, spec.description)


def load_priors(path: str | Path | None = None) -> Priors:
    """Read and validate a priors file (default: the project's ``configs/priors.yaml``)."""
    from simulation.config.loading import read_yaml

    path = Path(path) if path is not None else DEFAULT_PRIORS_FILE
    data = read_yaml(path)
    return priors_from_dict(data, path, path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------- coverage


def assumption_keys() -> list[str]:
    """Schema rows whose description calls them an assumption."""
    from simulation.config.docs import schema_rows

    return [row["key"] for row in schema_rows() if ASSUMPTION.search(row["description"])]


def missing_priors(priors: Priors) -> list[str]:
    """Every assumed number (a numeric leaf of an assumption's default) that has neither a
    prior nor a reason to stay fixed."""
    covered = [*priors.priors, *priors.fixed]
    missing = []
    for row_key in assumption_keys():
        default = get_value(DEFAULT_DATA, row_key)
        for leaf in numeric_leaves(default, row_key):
            if not any(leaf == key or leaf.startswith(key + ".") for key in covered):
                missing.append(leaf)
    return missing
