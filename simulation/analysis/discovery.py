"""Scenario discovery: which regions of the parameter space give an outcome of interest.

Over the runs of a sampled sweep (e.g. a Latin hypercube), officers' refusal above a level
(say) is the "case of interest". PRIM (Friedman and Fisher 1999, the EMA Workbench's
implementation) peels boxes that concentrate those cases; a CART tree (scikit-learn) gives
the same question as readable rules. Coverage is the share of all cases of interest that a
box (or rule) holds; density is the share of the runs in it that are of interest.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import ArgumentError, ResultsError
from simulation.experiments.files import (
    MANIFEST,
    FolderClaim,
    new_manifest,
    read_manifest,
    read_table,
    write_atomic,
    write_json,
)
from simulation.experiments.storage import check_runs_table

OWNED_FILES: tuple[str, ...] = (MANIFEST, "discovery.json", "discovery.png")


@dataclass
class Region:
    """A box or rule: limits on some parameters, with its coverage and density."""

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    n_runs: int
    method: str
    trajectory: list[dict[str, float]] = field(default_factory=list)

    def describe(self) -> str:
        """Readable rule, e.g. `0.21 <= dissenting <= 0.35 and social_weight <= 0.4`."""
        parts = []
        for name, (low, high) in self.limits.items():
            if np.isinf(low):
                parts.append(f"{name} <= {high:.4g}")
            elif np.isinf(high):
                parts.append(f"{name} > {low:.4g}")
            else:
                parts.append(f"{low:.4g} <= {name} <= {high:.4g}")
        return " and ".join(parts) if parts else "(whole space)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "rule": self.describe(),
            "limits": {name: list(bounds) for name, bounds in self.limits.items()},
            "coverage": self.coverage,
            "density": self.density,
            "mass": self.mass,
            "n_runs": self.n_runs,
        }


def inputs_and_outcome(
    runs: pd.DataFrame, manifest: dict[str, Any], metric: str, level: float, below: bool = False
) -> tuple[pd.DataFrame, np.ndarray]:
    """The sampled parameters (one row per successful run) and the case-of-interest flags."""
    column = metric if metric in runs.columns else f"final_{metric}"
    if column not in runs.columns:
        choices = sorted(c for c in runs.columns if c.startswith(("final_", "peak_")))
        raise ArgumentError(
            f"unknown outcome '{metric}'; expected one of {', '.join(choices)}", "metric"
        )
    sampled = [entry["name"] for entry in manifest.get("sampled", [])]
    names = sampled or [p for p in manifest["parameters"] if p not in manifest.get("derived", [])]
    numeric = [n for n in names if n in runs and pd.api.types.is_numeric_dtype(runs[n])]
    if not numeric:
        raise ArgumentError(
            "the sweep varied no numeric parameter to discover regions in", "folder"
        )
    ok = runs[runs["status"] == "ok"]
    values = ok[column].to_numpy(dtype=float)
    flags = values < level if below else values > level
    return ok[numeric].reset_index(drop=True).astype(float), flags


def prim_regions(
    inputs: pd.DataFrame,
    flags: np.ndarray,
    threshold: float = 0.8,
    boxes: int = 2,
    peel_alpha: float = 0.05,
) -> list[Region]:
    """Up to `boxes` PRIM boxes; on each peeling trajectory the box with the highest coverage
    among those whose density reaches `threshold` (the densest box if none does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

    if flags.sum() == 0:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        options: dict[str, Any] = {"peel_alpha": peel_alpha}
        if "threshold" in inspect.signature(prim.Prim).parameters:  # EMA Workbench < 3
            options["threshold"] = threshold
        finder = prim.Prim(inputs, flags, **options)
    full = inputs.agg(["min", "max"])
    regions = []
    for _ in range(boxes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = finder.find_box()
        if box is None:
            break
        trajectory = box.peeling_trajectory
        dense = trajectory[trajectory["density"] >= threshold]
        chosen = (
            int(dense["coverage"].idxmax()) if len(dense) else int(trajectory["density"].idxmax())
        )
        box.select(chosen)
        limits = {}
        for name in inputs.columns:
            low, high = float(box.box_lim[name].iloc[0]), float(box.box_lim[name].iloc[1])
            if low > full.loc["min", name] or high < full.loc["max", name]:
                limits[name] = (low, high)
        inside = np.ones(len(flags), dtype=bool)
        for name, (low, high) in limits.items():
            inside &= (inputs[name] >= low).to_numpy() & (inputs[name] <= high).to_numpy()
        if not limits or not flags[inside].any():
            break
        regions.append(
            Region(
                limits=limits,
                coverage=float(flags[inside].sum() / flags.sum()),
                density=float(flags[inside].mean()),
                mass=float(inside.mean()),
                n_runs=int(inside.sum()),
                method="prim",
                trajectory=[
                    {"coverage": float(r["coverage"]), "density": float(r["density"])}
                    for _, r in trajectory.iterrows()
                ],
            )
        )
    return regions


def cart_regions(
    inputs: pd.DataFrame, flags: np.ndarray, max_depth: int = 3, min_leaf_share: float = 0.05
) -> list[Region]:
    """Leaves of a CART tree that predict the outcome, as rules with coverage and density."""
    from sklearn.tree import DecisionTreeClassifier

    if flags.sum() == 0:
        return []
    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=max(1, int(min_leaf_share * len(flags))),
        random_state=0,
    ).fit(inputs.to_numpy(), flags)
    structure = tree.tree_
    total_interest = float(flags.sum())
    leaves = tree.apply(inputs.to_numpy())
    regions = []

    def walk(node: int, limits: dict[str, tuple[float, float]]) -> None:
        if structure.children_left[node] == structure.children_right[node]:
            members = leaves == node
            density = float(flags[members].mean())
            if density > 0.5:
                regions.append(
                    Region(
                        limits=dict(limits),
                        coverage=float(flags[members].sum()) / total_interest,
                        density=density,
                        mass=float(members.mean()),
                        n_runs=int(members.sum()),
                        method="cart",
                    )
                )
            return
        name = inputs.columns[structure.feature[node]]
        cut = float(structure.threshold[node])
        low, high = limits.get(name, (-np.inf, np.inf))
        walk(structure.children_left[node], {**limits, name: (low, min(high, cut))})
        walk(structure.children_right[node], {**limits, name: (max(low, cut), high)})

    walk(0, {})
    return sorted(regions, key=lambda region: -region.coverage * region.density)


def plot_discovery(
    inputs: pd.DataFrame, flags: np.ndarray, regions: list[Region], path: Any, title: str = ""
) -> None:
    """Runs in the two most restricted parameters, cases of interest highlighted, boxes drawn;
    and the PRIM peeling trajectory (coverage against density)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts: dict[str, int] = {}
    for region in regions:
        for name in region.limits:
            counts[name] = counts.get(name, 0) + 1
    ranked = sorted(inputs.columns, key=lambda n: -counts.get(n, 0))
    x_name, y_name = (ranked + ranked)[:2] if len(ranked) == 1 else ranked[:2]
    figure, (scatter, tradeoff) = plt.subplots(1, 2, figsize=(11, 4.5))
    scatter.scatter(
        inputs[x_name][~flags], inputs[y_name][~flags], s=12, c="#9aa7b8", label="other runs"
    )
    scatter.scatter(
        inputs[x_name][flags], inputs[y_name][flags], s=14, c="#C44E52", label="case of interest"
    )
    for number, region in enumerate(r for r in regions if r.method == "prim"):
        x_low, x_high = region.limits.get(x_name, (inputs[x_name].min(), inputs[x_name].max()))
        y_low, y_high = region.limits.get(y_name, (inputs[y_name].min(), inputs[y_name].max()))
        scatter.add_patch(
            plt.Rectangle(
                (x_low, y_low), x_high - x_low, y_high - y_low, fill=False, lw=2, ec="black"
            )
        )
        scatter.annotate(f"box {number + 1}", (x_low, y_high), fontsize=8, va="bottom")
    scatter.set_xlabel(x_name)
    scatter.set_ylabel(y_name)
    scatter.legend(fontsize=8)
    for number, region in enumerate(r for r in regions if r.method == "prim"):
        points = region.trajectory
        tradeoff.plot(
            [p["coverage"] for p in points],
            [p["density"] for p in points],
            ".-",
            label=f"box {number + 1} peeling",
        )
        tradeoff.plot(region.coverage, region.density, "o", color="black")
    tradeoff.set_xlabel("coverage")
    tradeoff.set_ylabel("density")
    tradeoff.set_xlim(0, 1.02)
    tradeoff.set_ylim(0, 1.02)
    tradeoff.grid(alpha=0.3)
    if regions:
        tradeoff.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


@dataclass
class DiscoveryResult:
    """The case of interest, how many runs fall in it, and the regions that hold them."""

    case: str
    runs: int
    cases_of_interest: int
    parameters: list[str]
    regions: list[Region]
    folder: Path | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (discovery.json)."""
        return {
            "case_of_interest": self.case,
            "runs": self.runs,
            "cases_of_interest": self.cases_of_interest,
            "parameters": self.parameters,
            "regions": [region.to_dict() for region in self.regions],
        }


def discover(
    folder: str | Path,
    metric: str = "refuse",
    *,
    above: float | None = None,
    below: float | None = None,
    method: str = "both",
    threshold: float = 0.8,
    boxes: int = 2,
    depth: int = 3,
    out: str | Path | None = None,
    write: bool = True,
) -> DiscoveryResult:
    """PRIM boxes and CART rules where a sweep's outcome is above (or below) a level.

    `folder` is a finished sweep's results folder; the results go to `out` (default
    `folder/discovery`) unless `write` is False.
    """
    if above is not None and below is not None:
        raise ArgumentError("give a level above or below, not both", "above")
    for name, value in (("above", above), ("below", below), ("threshold", threshold)):
        if value is not None and not np.isfinite(value):
            raise ArgumentError(f"expected a number, got {value}", name)
    if method not in ("prim", "cart", "both"):
        raise ArgumentError(f"expected prim, cart or both, got {method!r}", "method")
    if not 0 < threshold <= 1:
        raise ArgumentError(f"expected a density in (0, 1], got {threshold}", "threshold")
    if boxes < 1:
        raise ArgumentError(f"must be at least 1, got {boxes}", "boxes")
    if depth < 1:
        raise ArgumentError(f"must be at least 1, got {depth}", "depth")
    manifest = read_manifest(folder)
    if manifest["kind"] != "sweep":
        raise ResultsError(f"holds a {manifest['kind']}, not a sweep", folder)
    for key in ("parameters", "metrics"):
        if not isinstance(manifest.get(key), list):
            raise ResultsError(f"{MANIFEST} lacks '{key}': not a sweep's manifest", folder)
    runs = read_table(
        folder,
        "runs.parquet",
        columns=("status",),
        hint="finish the sweep first (resume it), or summarize it to rebuild the table",
    )
    check_runs_table(folder, manifest, runs)
    is_below = below is not None
    level = below if is_below else (above if above is not None else 0.5)
    inputs, flags = inputs_and_outcome(runs, manifest, metric, level, is_below)
    regions: list[Region] = []
    if method in ("prim", "both"):
        regions += prim_regions(inputs, flags, threshold, boxes)
    if method in ("cart", "both"):
        regions += cart_regions(inputs, flags, depth)
    case = f"{metric} {'<' if is_below else '>'} {level:g}"
    result = DiscoveryResult(
        case=case,
        runs=int(len(flags)),
        cases_of_interest=int(flags.sum()),
        parameters=list(inputs.columns),
        regions=regions,
        folder=None,
    )
    if write:
        target = Path(out) if out is not None else Path(folder) / "discovery"
        with FolderClaim(target, "discovery", lambda held: True) as claim:
            write_json(target / MANIFEST, new_manifest("discovery", sweep=str(folder), case=case))
            write_json(target / "discovery.json", {"folder": str(folder), **result.to_dict()})
            write_atomic(
                target / "discovery.png",
                lambda tmp: plot_discovery(inputs, flags, regions, tmp, case),
            )
            claim.remove_stale(OWNED_FILES, OWNED_FILES)
        result.folder = target
    return result
