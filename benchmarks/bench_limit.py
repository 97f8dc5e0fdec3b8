"""The model step against the machine's limit: streaming the step's state once, same run.

Run: `python benchmarks/bench_limit.py [--quick]` (about 1-2 minutes; --quick leaves out
1,000,000 officers and the 100-step run of 475,000).

The limit reference is measured here, at each size, beside the step: the time to read and
write once every per-officer array the model keeps (attitudes, tenure, choices, flags,
tastes, beliefs, the tie lists...), i.e. the least a step that touches all of its state
could take on this machine. A step within a few times that reference leaves little to gain
from anything but touching less memory. Printed: the step at 65,000 and 475,000 officers
(support role and order to fight), its ratio to the reference, set-up time, the scaling
exponent of step time from 10,000 to 1,000,000 officers, and set-up + 100 steps and peak
memory of a 475,000-strong force (the mobilised force of issue 16, here all officers).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_model import Figure  # noqa: E402
from simulation.config.loading import load_config  # noqa: E402
from simulation.model.model import ArmyModel  # noqa: E402

SUPPORT, FIGHT = 1, 3
"""War-order levels measured: the support role (baseline) and the order to fight."""


def state_arrays(model: ArmyModel) -> list[np.ndarray]:
    """Every array of the model's state: one entry per officer slot (last axis) or per
    cross-unit tie (the tie lists a step reads), and the attitudes."""
    sizes = (model.n_officers, model.cross_ties.nnz)
    arrays = [
        value
        for value in vars(model).values()
        if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] in sizes
    ]
    return arrays + list(model.attitudes.values())


def stream_seconds(arrays: list[np.ndarray], repeats: int = 15) -> float:
    """Median time to read every array once and write it once (a copy into a buffer)."""
    targets = [np.empty_like(array) for array in arrays]
    for source, target in zip(arrays, targets, strict=True):  # fault the pages in
        np.copyto(target, source)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for source, target in zip(arrays, targets, strict=True):
            np.copyto(target, source)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build(n_officers: int, level: int, seed: int = 1) -> tuple[ArmyModel, float]:
    """A model of `n_officers` under `level`, and its set-up seconds."""
    config = load_config(
        REPO / "configs" / "baseline.yaml",
        [f"population.n_officers={n_officers}", f"drivers.war_order_level={level}"],
    )
    started = time.perf_counter()
    model = ArmyModel(config, seed=seed)
    return model, time.perf_counter() - started


def step_and_limit(
    n_officers: int, level: int, steps: int, repeats: int
) -> tuple[float, float, float, int]:
    """(median seconds per step, stream reference seconds, median set-up seconds, state
    bytes) at `n_officers`: a few steps to warm up, then `steps` timed steps, per repeat."""
    per_step, setups, references, state_bytes = [], [], [], 0
    for repeat in range(repeats):
        model, setup = build(n_officers, level, seed=repeat + 1)
        setups.append(setup)
        for _ in range(2):
            model.step()
        times = []
        for _ in range(steps):
            started = time.perf_counter()
            model.step()
            times.append(time.perf_counter() - started)
        per_step.append(statistics.median(times))
        arrays = state_arrays(model)
        state_bytes = sum(array.nbytes for array in arrays)
        references.append(stream_seconds(arrays))
        del model
    return (
        statistics.median(per_step),
        statistics.median(references),
        statistics.median(setups),
        state_bytes,
    )


MOBILISED_CODE = """
import sys, time
sys.path.insert(0, {repo!r})
from benchmarks.bench_limit import build
started = time.perf_counter()
model, _ = build({n}, {level})
for _ in range(100):
    model.step()
wall = time.perf_counter() - started
peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(wall, int(peak) / 1024)
"""


def run_in_fresh_process(n_officers: int, level: int) -> tuple[float, float]:
    """(set-up + 100 steps wall seconds, peak resident MB) of a fresh process (VmHWM)."""
    code = MOBILISED_CODE.format(repo=str(REPO), n=n_officers, level=level)
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    wall, peak = output.strip().splitlines()[-1].split()
    return float(wall), float(peak)


def measure(quick: bool = False) -> list[Figure]:
    """The step against the limit at 65,000 and 475,000, scaling, and the mobilised run."""
    figures: list[Figure] = []
    print("  step against the limit reference (stream the state arrays once, read + write):")
    print(
        f"    {'officers':>9} {'order':<15} {'state MB':>9} {'stream ms':>10} "
        f"{'step ms':>9} {'ratio':>7} {'set-up ms':>10}"
    )
    for n_officers, steps, repeats in ((65_000, 20, 3), (475_000, 5, 1 if quick else 2)):
        for level, label in ((SUPPORT, "support role"), (FIGHT, "order to fight")):
            step, reference, setup, state_bytes = step_and_limit(n_officers, level, steps, repeats)
            print(
                f"    {n_officers:>9,} {label:<15} {state_bytes / 1e6:>9.1f} "
                f"{reference * 1000:>10.2f} {step * 1000:>9.2f} {step / reference:>6.1f}x "
                f"{setup * 1000:>10.0f}"
            )
            figures.append(
                Figure(
                    f"step / limit reference, {n_officers:,} officers, {label}",
                    step / reference,
                    3.0,
                    "x",
                    False,
                )
            )

    sizes = [10_000, 30_000, 100_000, 300_000] + ([] if quick else [1_000_000])
    print("  scaling, support role (median step over 5 steps after 2 warm-up steps):")
    times = []
    for n_officers in sizes:
        repeats = 3 if n_officers < 100_000 else 1
        step, reference, setup, _ = step_and_limit(n_officers, SUPPORT, 5, repeats)
        times.append(step)
        print(
            f"    {n_officers:>9,} officers: step {step * 1000:9.2f} ms  "
            f"(limit {reference * 1000:7.2f} ms, {step / reference:4.1f}x)  "
            f"set-up {setup * 1000:8.0f} ms"
        )
    exponent = float(np.polyfit(np.log(sizes), np.log(times), 1)[0])
    figures.append(
        Figure(
            f"scaling exponent of step time, {sizes[0]:,}-{sizes[-1]:,} officers",
            exponent,
            1.05,
            "",
            False,
        )
    )

    if not quick:
        wall, peak = run_in_fresh_process(475_000, FIGHT)
        print(
            f"  475,000 officers, order to fight, fresh process: set-up + 100 steps "
            f"{wall:.1f} s, peak memory {peak:.0f} MB"
        )
        figures.append(
            Figure("475,000 officers: set-up + 100 steps in process", wall, 6.0, "s", False)
        )
        figures.append(Figure("475,000 officers: peak memory", peak, 1500, "MB", False))
    return figures


def main() -> None:
    """Measure and print every figure."""
    for figure in measure("--quick" in sys.argv):
        print(figure.line())


if __name__ == "__main__":
    main()
