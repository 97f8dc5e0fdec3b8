"""The model step against the machine's limit: streaming the step's state once, same run.

Run: `python benchmarks/bench_limit.py [--quick] [--kernel numba|numpy]` (about 3 minutes;
--quick leaves out 1,000,000 officers and the 100-step run of 475,000).

The limit reference is measured here, at each size, beside the step: the time to read and
write once every per-officer array the model keeps (attitudes, tenure, choices, flags,
tastes, beliefs, the tie lists...), i.e. the least a step that touches all of its state
could take on this machine. A step within a few times that reference leaves little to gain
from anything but touching less memory. Printed: the step at 65,000 and 475,000 officers
(support role and order to fight), its ratio to the reference, set-up time, the scaling
exponent of step time from 10,000 to 1,000,000 officers, and set-up + 100 steps and peak
memory of a 475,000-strong force: all officers, and the mobilisation scenario
(configs/scenarios/mobilisation.yaml, 100 steps: 10,000 officers and their 465,000 men,
the reserve called up at months 12-15).

Every figure is measured with one path of the step's hot parts (performance.kernel: numba,
the default when it is installed, or numpy, `--kernel`); the step table also prints the
numpy path's step beside it, and the numba kernels' first-call time in a fresh process,
compiled without a cache and loaded from it.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_model import Figure, last_line_printed  # noqa: E402
from simulation.config.loading import load_config  # noqa: E402
from simulation.config.schema import numba_installed  # noqa: E402
from simulation.model.decision import KERNEL_ENVIRONMENT  # noqa: E402
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


def build(
    n_officers: int, level: int, seed: int = 1, kernel: str = "auto"
) -> tuple[ArmyModel, float]:
    """A model of `n_officers` under `level` computed with `kernel`, and its set-up seconds."""
    config = load_config(
        REPO / "configs" / "baseline.yaml",
        [
            f"population.n_officers={n_officers}",
            f"drivers.war_order_level={level}",
            f"performance.kernel={kernel}",
        ],
    )
    started = time.perf_counter()
    model = ArmyModel(config, seed=seed)
    return model, time.perf_counter() - started


def step_and_limit(
    n_officers: int, level: int, steps: int, repeats: int, kernel: str
) -> tuple[float, float, float, int]:
    """(median seconds per step, stream reference seconds, median set-up seconds, state
    bytes) at `n_officers`: a few steps to warm up, then `steps` timed steps, per repeat."""
    per_step, setups, references, state_bytes = [], [], [], 0
    for repeat in range(repeats):
        model, setup = build(n_officers, level, seed=repeat + 1, kernel=kernel)
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


MOBILISATION = REPO / "configs" / "scenarios" / "mobilisation.yaml"
"""The order to fight with the reserve called up: 475,000 agents in all (10,000 officers)."""

FRESH_RUN_CODE = """
import sys, time
sys.path.insert(0, {repo!r})
from simulation.config.loading import load_config
from simulation.model.model import ArmyModel
started = time.perf_counter()
model = ArmyModel(load_config({config!r}, {overrides!r}), seed=1)
for _ in range(100):
    model.step()
wall = time.perf_counter() - started
peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(wall, int(peak) / 1024, model.n_agents)
"""


def run_in_fresh_process(config: Path, overrides: list[str]) -> tuple[float, float, int]:
    """(set-up + 100 steps wall seconds, peak resident MB, agents) of `config` with
    `overrides` in a fresh process (VmHWM)."""
    code = FRESH_RUN_CODE.format(repo=str(REPO), config=str(config), overrides=overrides)
    wall, peak, agents = last_line_printed(code).split()
    return float(wall), float(peak), int(agents)


FIRST_CALL_CODE = """
import sys, time
sys.path.insert(0, {repo!r})
started = time.perf_counter()
import numba
imported = time.perf_counter()
from benchmarks.bench_limit import build
model, _ = build(1000, 3, kernel="numba")
built = time.perf_counter()
model.step()
print(imported - started, time.perf_counter() - built)
"""


def numba_first_call() -> list[tuple[str, float, float]]:
    """(label, seconds to import numba, seconds of the first step) in fresh processes: with
    an empty kernel cache (compiled), then with that cache (loaded)."""
    timings = []
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        environment.pop(KERNEL_ENVIRONMENT, None)
        for label in ("compiled (empty cache)", "loaded from the cache"):
            code = FIRST_CALL_CODE.format(repo=str(REPO))
            imported, first_step = last_line_printed(code, environment=environment).split()
            timings.append((label, float(imported), float(first_step)))
    return timings


def measure(quick: bool = False, kernel: str = "numba") -> list[Figure]:
    """The step against the limit at 65,000 and 475,000, scaling, and the mobilised run,
    with `kernel` computing the step's hot parts."""
    figures: list[Figure] = []
    if kernel == "numba":
        print("  numba kernels, first step of a fresh process (1,000 officers):")
        for label, imported, first_step in numba_first_call():
            print(
                f"    {label:<24} import numba {imported * 1000:6.0f} ms, "
                f"first step {first_step * 1000:6.0f} ms"
            )
    print(
        f"  step against the limit reference (stream the state arrays once, read + write), "
        f"kernel {kernel}; numpy's step beside it:"
    )
    print(
        f"    {'officers':>9} {'order':<15} {'state MB':>9} {'stream ms':>10} "
        f"{'step ms':>9} {'ratio':>7} {'numpy ms':>9} {'set-up ms':>10}"
    )
    for n_officers, steps, repeats in ((65_000, 20, 3), (475_000, 5, 1 if quick else 2)):
        for level, label in ((SUPPORT, "support role"), (FIGHT, "order to fight")):
            step, reference, setup, state_bytes = step_and_limit(
                n_officers, level, steps, repeats, kernel
            )
            numpy_step = (
                step
                if kernel == "numpy"
                else step_and_limit(n_officers, level, steps, repeats, "numpy")[0]
            )
            print(
                f"    {n_officers:>9,} {label:<15} {state_bytes / 1e6:>9.1f} "
                f"{reference * 1000:>10.2f} {step * 1000:>9.2f} {step / reference:>6.1f}x "
                f"{numpy_step * 1000:>9.2f} {setup * 1000:>10.0f}"
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
    print(
        f"  scaling, support role, kernel {kernel} (median step over 5 steps after 2 warm-up "
        f"steps):"
    )
    times = []
    for n_officers in sizes:
        repeats = 3 if n_officers < 100_000 else 1
        step, reference, setup, _ = step_and_limit(n_officers, SUPPORT, 5, repeats, kernel)
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
        runs = (
            (
                "475,000 officers, order to fight",
                "475,000 officers",
                REPO / "configs" / "baseline.yaml",
                ["population.n_officers=475000", f"drivers.war_order_level={FIGHT}"],
            ),
            (
                "mobilisation scenario (10,000 officers and their men, the reserve called up at "
                "months 12-15)",
                "mobilised force",
                MOBILISATION,
                ["steps=100"],
            ),
        )
        for label, short, config, overrides in runs:
            wall, peak, agents = run_in_fresh_process(
                config, [*overrides, f"performance.kernel={kernel}"]
            )
            print(
                f"  {label}, fresh process: {agents:,} agents, set-up + 100 steps "
                f"{wall:.1f} s, peak memory {peak:.0f} MB"
            )
            figures.append(Figure(f"{short}: set-up + 100 steps in process", wall, 6.0, "s", False))
            figures.append(Figure(f"{short}: peak memory", peak, 1500, "MB", False))
    return figures


def main() -> None:
    """Measure and print every figure."""
    kernel = "numba" if numba_installed() else "numpy"
    if "--kernel" in sys.argv:
        kernel = sys.argv[sys.argv.index("--kernel") + 1]
    for figure in measure("--quick" in sys.argv, kernel):
        print(figure.line())


if __name__ == "__main__":
    main()
