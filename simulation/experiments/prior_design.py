"""The prior design (``design.kind: prior``): runs over draws from the priors, or a posterior.

Each draw is one set of values of every assumption (``configs/priors.yaml``, or the file
the design names); with ``posterior`` the calibrated parameters come from a calibration's
posterior sample instead, and the others as the calibration treated them. Every scenario of
the experiment runs every draw, and replication ``r`` of draw ``d`` has the same seed in
every scenario: common random numbers, so that the difference between two scenarios is
measured on the same officers, the same assumptions and the same luck.

A draw that gives an invalid config for any scenario is drawn again (the joint prior is
truncated to valid configs); the number redrawn is recorded. A non-driver assumption that a
scenario sets on purpose (a value other than the schema default) keeps the scenario's value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.config.loading import apply_overrides, validate_config
from simulation.config.priors import DEFAULT_PRIORS_FILE, Priors, load_priors
from simulation.errors import ConfigError, ResultsError

PRIOR_SEED_KEY = 2**32 - 2
"""Spawn key of the prior draws' generator (beside the design sampler's 2**32 - 1)."""
COMMON_SEED_KEY = 2**32 - 3
"""First spawn key of the common run seeds (draw, replication)."""
MAX_REDRAWS = 20
"""Invalid draws tolerated per wanted draw before giving up (the priors are then wrong)."""


def common_seed(root: int, draw: int, replication: int) -> int:
    """The run seed of (draw, replication): the same in every scenario of the experiment."""
    sequence = np.random.SeedSequence(root, spawn_key=(COMMON_SEED_KEY, draw, replication))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


@dataclass
class PosteriorSample:
    """A calibration's posterior: weighted parameter sets, and how it treated the others."""

    folder: Path
    parameters: Any = None
    """The calibrated columns, one row per particle (a DataFrame)."""
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    calibrated: list[str] = field(default_factory=list)
    others: str = "default"
    digest: str = ""

    @classmethod
    def read(cls, folder: str | Path, source: str, where: str) -> PosteriorSample:
        """Read ``posterior.csv`` and the manifest of a calibration results folder."""
        import pandas as pd

        from simulation.experiments.files import read_manifest

        folder = Path(folder)
        try:
            manifest = read_manifest(folder)
        except ResultsError as error:
            raise ConfigError(f"{error.detail}: {folder}", source, where) from None
        if manifest.get("kind") != "calibration":
            raise ConfigError(
                f"{folder} holds results of kind '{manifest.get('kind')}', not a calibration",
                source,
                where,
            )
        path = folder / "posterior.csv"
        if not path.is_file():
            raise ConfigError(
                f"{folder} has no posterior.csv (the calibration did not finish a generation)",
                source,
                where,
            )
        try:
            table = pd.read_csv(path)
            calibrated = list(manifest["columns"])
            values = table[[*calibrated, "weight"]].to_numpy(dtype=float)
        except (KeyError, TypeError, ValueError, OSError, pd.errors.ParserError) as error:
            raise ConfigError(
                f"{path} is not a calibration's posterior ({type(error).__name__}: "
                f"{str(error)[:120]}): calibrate again",
                source,
                where,
            ) from None
        weights = values[:, -1]
        if not np.isfinite(values).all() or not len(values) or weights.sum() <= 0:
            raise ConfigError(
                f"{path} holds NaN, infinite or no weights (its calibration's distances could "
                "not be computed?): calibrate again",
                source,
                where,
            )
        return cls(
            folder=folder,
            parameters=table[calibrated],
            weights=weights / weights.sum(),
            calibrated=list(manifest["parameters"]),
            others=str(manifest.get("others", "default")),
            digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        )


@dataclass
class PriorDesign:
    """The draws of a prior design and what they were drawn from."""

    priors: Priors
    draws: list[dict[str, float]]
    redrawn: int
    posterior: PosteriorSample | None = None
    kept: dict[str, list[str]] = field(default_factory=dict)
    """Scenario -> assumptions it sets itself (kept at its value, not drawn)."""

    @property
    def columns(self) -> list[str]:
        return list(self.draws[0]) if self.draws else []

    def fingerprint(self) -> str:
        """What a resume must find unchanged: the priors text and the posterior sample."""
        digest = hashlib.sha256(self.priors.text.encode("utf-8"))
        if self.posterior is not None:
            digest.update(self.posterior.digest.encode("utf-8"))
        return digest.hexdigest()

    def point_overrides(
        self, start: dict[str, Any], scenario: str, scenario_overrides: dict[str, Any], draw: int
    ) -> dict[str, Any]:
        """Overrides of one (scenario, draw) point: the scenario's, then the draw's."""
        data = apply_overrides(start, scenario_overrides) if scenario_overrides else start
        values = self.draws[draw]
        kept = set(self.kept.get(scenario, []))
        drawn = [  # a posterior of some parameters leaves the others at the config's values
            key
            for key, prior in self.priors.priors.items()
            if key not in kept and all(column in values for column in prior.columns)
        ]
        return {**scenario_overrides, **self.priors.select(drawn).overrides(data, values)}

    def manifest(self) -> dict[str, Any]:
        """What the ensemble's manifest records about the draws."""
        return {
            "priors_file": self.priors.source,
            "posterior": str(self.posterior.folder) if self.posterior else None,
            "calibrated": self.posterior.calibrated if self.posterior else [],
            "others": self.posterior.others if self.posterior else "prior",
            "draws": len(self.draws),
            "redrawn": self.redrawn,
            "kept_by_scenario": self.kept,
            "columns": self.columns,
        }


def priors_for(design: Any, base_dir: Path, source: str) -> Priors:
    """The priors file a design names (relative to the experiment), or the project's."""
    if design.priors is None:
        if not DEFAULT_PRIORS_FILE.is_file():
            raise ConfigError(
                "no priors file: give design.priors (the project's configs/priors.yaml is "
                "not installed here)",
                source,
                "design.priors",
            )
        return load_priors()
    path = Path(design.priors)
    path = path if path.is_absolute() else base_dir / path
    try:
        return load_priors(path)
    except ConfigError as error:
        raise ConfigError(f"priors file: {error}", source, "design.priors") from None


def build_prior_design(
    design: Any,
    root_seed: int,
    starts: dict[str, dict[str, Any]],
    scenario_overrides: dict[str, dict[str, Any]],
    base_dir: Path,
    source: str,
) -> PriorDesign:
    """Draw `design.samples` parameter sets valid for every scenario.

    `starts` maps each scenario to its config data (before its overrides), and
    `scenario_overrides` to its overrides.
    """
    if design.samples is None:
        raise ConfigError("a prior design needs the number of draws", source, "design.samples")
    priors = priors_for(design, base_dir, source)
    excluded = list(design.exclude)
    if excluded:
        unknown = [key for key in excluded if key not in priors.priors]
        if unknown:
            raise ConfigError(f"'{unknown[0]}' has no prior", source, "design.exclude")
        priors = priors.without(set(excluded))
    posterior = None
    if design.posterior is not None:
        folder = Path(design.posterior)
        folder = folder if folder.is_absolute() else base_dir / folder
        posterior = PosteriorSample.read(folder, source, "design.posterior")
        unknown = [key for key in posterior.calibrated if key not in priors.priors]
        if unknown:
            raise ConfigError(
                f"the posterior's parameter '{unknown[0]}' has no prior in {priors.source}",
                source,
                "design.posterior",
            )
    kept = {}
    for scenario, start in starts.items():
        overrides = scenario_overrides[scenario]
        data = apply_overrides(start, overrides) if overrides else start
        explicit = priors.explicit_in(data)
        set_here = [key for key in priors.priors if key in overrides]
        if explicit or set_here:
            kept[scenario] = sorted(set(explicit) | set(set_here))
    sequence = np.random.SeedSequence(root_seed, spawn_key=(PRIOR_SEED_KEY,))
    rng = np.random.default_rng(sequence)
    wanted = design.samples
    draws: list[dict[str, float]] = []
    redrawn = 0
    design_obj = PriorDesign(priors, [], 0, posterior, kept)
    while len(draws) < wanted:
        draw = _one_draw(priors, posterior, rng)
        design_obj.draws = [draw]
        if all(
            _valid(
                start, design_obj.point_overrides(start, scenario, scenario_overrides[scenario], 0)
            )
            for scenario, start in starts.items()
        ):
            draws.append(draw)
            continue
        redrawn += 1
        if redrawn > MAX_REDRAWS * wanted:
            raise ConfigError(
                f"{redrawn} draws from {priors.source} gave invalid configs; widen or fix "
                "the priors",
                source,
                "design.priors",
            )
    design_obj.draws = draws
    design_obj.redrawn = redrawn
    return design_obj


def _one_draw(
    priors: Priors, posterior: PosteriorSample | None, rng: np.random.Generator
) -> dict[str, float]:
    """One parameter set: the posterior's for calibrated keys, the rest as calibrated."""
    if posterior is None:
        return priors.sample(rng, 1)[0]
    row = int(rng.choice(len(posterior.weights), p=posterior.weights))
    calibrated = {column: float(value) for column, value in posterior.parameters.iloc[row].items()}
    others = priors.without(set(posterior.calibrated))
    if posterior.others == "prior":
        return {**others.sample(rng, 1)[0], **calibrated}
    return calibrated


def _valid(data: dict[str, Any], overrides: dict[str, Any]) -> bool:
    try:
        validate_config(apply_overrides(data, overrides), "<draw>")
    except ConfigError:
        return False
    return True


def sampled_prior_design(
    priors: Priors,
    rows: list[dict[str, Any]],
    spec: Any,
    base_data: dict[str, Any],
    scenario_bases: dict[str, dict[str, Any]],
) -> PriorDesign:
    """The prior part of a sampled (Sobol, Morris, LHS) design over the priors: each row's
    prior columns are a draw; assumptions a scenario sets itself are kept."""
    columns = priors.columns
    draws = [{column: row[column] for column in columns} for row in rows]
    items = {
        name: {key: value for key, value in entry.items() if key != "config"}
        for name, entry in spec.scenarios.items()
    } or {"base": {}}
    kept = {}
    for name, overrides in items.items():
        start = scenario_bases.get(name, base_data)
        data = apply_overrides(start, overrides) if overrides else start
        explicit = set(priors.explicit_in(data)) | {k for k in priors.priors if k in overrides}
        if explicit:
            kept[name] = sorted(explicit)
    return PriorDesign(priors, draws, 0, None, kept)
