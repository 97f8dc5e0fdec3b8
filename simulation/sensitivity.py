"""Global sensitivity analysis: Sobol indices, with a Morris screen, over an experiment's ranges.

The experiment file gives the uncertain parameters as `{low, high}` ranges with
`design.kind: sobol`. The same ranges are also screened with Morris's elementary effects
(cheap, μ* and σ). Both designs run through the sweep runner (parallel, resumable, each run
seeded from the root seed), and SALib computes the indices from the design-point means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simulation.config import ConfigError, read_yaml

OUTPUTS = ("refuse", "comply", "evade")
"""Default outputs: the overall final shares (`--outputs` adds e.g. passive_evade)."""


def morris_variant(experiment_path: Path, out: Path, trajectories: int, levels: int) -> Path:
    """Write a copy of the experiment with a Morris design (base config made absolute)."""
    raw = read_yaml(experiment_path)
    base = dict(raw.get("base") or {})
    config = Path(str(base.get("config", "")))
    if not config.is_absolute():
        base["config"] = str((experiment_path.parent / config).resolve())
    raw["base"] = base
    raw["design"] = {"kind": "morris", "samples": trajectories, "levels": levels}
    raw["name"] = f"{raw.get('name') or experiment_path.stem}_morris"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "morris.experiment.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def check_sobol(experiment: Any, path: Path) -> None:
    """A sensitivity experiment must be a Sobol design over sampled ranges, one scenario."""
    if experiment.spec.design.kind != "sobol":
        raise ConfigError(
            f"sensitivity needs design.kind: sobol (got {experiment.spec.design.kind})",
            path,
            "design.kind",
        )
    if experiment.spec.scenarios:
        raise ConfigError(
            "sensitivity takes one scenario: move it into base.overrides", path, "scenarios"
        )


def indices_table(
    sobol: pd.DataFrame | None, morris: pd.DataFrame | None, outputs: tuple[str, ...] = OUTPUTS
) -> pd.DataFrame:
    """One row per (output, parameter): Sobol S1/ST with confidence and Morris μ*/σ, for the
    final shares named in `outputs` (in that order), most influential parameter first."""
    frames = [frame for frame in (sobol, morris) if frame is not None]
    if not frames:
        return pd.DataFrame()
    table = frames[0]
    for frame in frames[1:]:
        table = table.merge(frame, on=["output", "parameter"], how="outer")
    wanted = [f"final_{name}" for name in outputs]
    table = table[table["output"].isin(wanted)].copy()
    table["_order"] = table["output"].map({name: index for index, name in enumerate(wanted)})
    ranking = "ST" if "ST" in table.columns else "mu_star"
    table = table.sort_values(["_order", ranking], ascending=[True, False])
    return table.drop(columns="_order").reset_index(drop=True)


def plot_indices(table: pd.DataFrame, path: Any, title: str = "") -> None:
    """Bar charts per output: Sobol first-order and total indices with 95% confidence bars,
    and Morris μ* with its confidence bar (σ as a marker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outputs = list(dict.fromkeys(table["output"]))
    has_sobol = "ST" in table.columns
    has_morris = "mu_star" in table.columns
    columns = int(has_sobol) + int(has_morris)
    figure, axes = plt.subplots(
        len(outputs), columns, figsize=(6.5 * columns, 2.8 * len(outputs) + 0.6), squeeze=False
    )
    for row, output in enumerate(outputs):
        part = table[table["output"] == output]
        names = [name.split(".", 1)[-1] for name in part["parameter"]]
        positions = np.arange(len(part))
        column = 0
        if has_sobol:
            axis = axes[row][column]
            axis.barh(
                positions - 0.2,
                part["S1"],
                0.4,
                xerr=part["S1_conf"],
                label="first order S1",
                color="#4C72B0",
                capsize=2,
            )
            axis.barh(
                positions + 0.2,
                part["ST"],
                0.4,
                xerr=part["ST_conf"],
                label="total ST",
                color="#DD8452",
                capsize=2,
            )
            axis.set_yticks(positions, names, fontsize=8)
            axis.invert_yaxis()
            axis.set_title(f"Sobol indices: {output}", fontsize=10)
            axis.grid(alpha=0.3, axis="x")
            axis.legend(fontsize=7)
            column += 1
        if has_morris:
            axis = axes[row][column]
            axis.barh(
                positions,
                part["mu_star"],
                0.5,
                xerr=part["mu_star_conf"],
                color="#55A868",
                capsize=2,
                label="μ* (mean |elementary effect|)",
            )
            axis.plot(part["sigma"], positions, "kx", label="σ (interaction / non-linearity)")
            axis.set_yticks(positions, names, fontsize=8)
            axis.invert_yaxis()
            axis.set_title(f"Morris screen: {output}", fontsize=10)
            axis.grid(alpha=0.3, axis="x")
            axis.legend(fontsize=7)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def format_indices(table: pd.DataFrame) -> str:
    """The table as aligned text, rounded."""
    shown = table.copy()
    shown["parameter"] = shown["parameter"].str.split(".", n=1).str[-1]
    return shown.to_string(index=False, float_format=lambda x: f"{x:.3f}")
