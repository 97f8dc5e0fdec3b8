"""Speed of the model itself: full force, step rate, scaling, memory, and Mesa's Epstein peer.

Run: `python benchmarks/bench_model.py` (about a minute). Prints medians over repeats, the
targets of the performance issue, and ratios measured side by side in this one run.

`python benchmarks/bench_model.py --against /work/main` times the step at 2,000 and 65,000
officers of this and another checkout of the project, alternating between the two in fresh
processes (so that both see the same load on a shared machine), and prints the ratios of
the median wall time and of the median CPU time (the process's own, less moved by other
processes' load); `--rounds N` alternates N times (default 3).
`--schedule` prints the month's schedule timed per row at 65,000 officers (where the time goes).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from simulation.config.loading import load_config  # noqa: E402
from simulation.model.model import ArmyModel  # noqa: E402


@dataclass
class Figure:
    """One measured figure against its target."""

    name: str
    measured: float
    target: float
    unit: str
    higher_is_better: bool = True

    @property
    def met(self) -> bool:
        """Whether the target is met."""
        return (
            self.measured >= self.target if self.higher_is_better else self.measured <= self.target
        )

    def line(self) -> str:
        """One printable line: name, measured, target, verdict."""
        sign = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "NOT met"
        return (
            f"{self.name:<58} {self.measured:>14,.3f} {self.unit:<16} "
            f"target {sign} {self.target:,.3f}  {verdict}"
        )


def last_line_printed(
    code: str, environment: dict[str, str] | None = None, cwd: Path = REPO
) -> str:
    """The last line that `code` prints, run by this Python in a fresh process (so that
    peak memory, imports and caches are its own)."""
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=environment,
    ).stdout
    return output.strip().splitlines()[-1]


def median_time(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of `action` over `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def full_force_run(steps: int = 100) -> None:
    """Set up the 65,000-officer force and run it: what a user waits for."""
    model = ArmyModel(load_config(REPO / "configs" / "full_force.yaml"))
    for _ in range(steps):
        model.step()


def step_seconds(
    n_officers: int, steps: int, repeats: int = 3, overrides: tuple[str, ...] = ()
) -> tuple[float, float]:
    """(median set-up seconds, median seconds per step) at `n_officers`."""
    config = load_config(
        REPO / "configs" / "baseline.yaml", [f"population.n_officers={n_officers}", *overrides]
    )
    setups, per_step = [], []
    for repeat in range(repeats):
        started = time.perf_counter()
        model = ArmyModel(config, seed=repeat)
        setups.append(time.perf_counter() - started)
        model.step()  # warm caches
        started = time.perf_counter()
        for _ in range(steps):
            model.step()
        per_step.append((time.perf_counter() - started) / steps)
    return statistics.median(setups), statistics.median(per_step)


def epstein_rate(side: int, steps: int, repeats: int = 3) -> tuple[int, float]:
    """(agents, agent-steps per second) of Mesa's Epstein civil-violence example."""
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    rates, agents = [], 0
    for repeat in range(repeats):
        model = EpsteinCivilViolence(width=side, height=side, seed=42 + repeat)
        agents = len(model.agents)
        started = time.perf_counter()
        for _ in range(steps):
            model.step()
        rates.append(agents * steps / (time.perf_counter() - started))
    return agents, statistics.median(rates)


def ours_rate(n_officers: int, steps: int = 100, repeats: int = 3) -> float:
    """Agent-steps per second of this model at `n_officers` (set-up excluded, as for Epstein)."""
    _, per_step = step_seconds(n_officers, steps, repeats)
    return n_officers / per_step


def step_rate_without_kept_memory() -> float:
    """Agent-steps per second at 65,000 officers in a fresh process where freed memory is
    returned to the system after every step (glibc's default), for comparison."""
    import os

    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r});"
        "from benchmarks.bench_model import step_seconds;"
        "print(65_000 / step_seconds(65_000, 50, 2)[1])"
    )
    environment = {**os.environ, "RELUCTANT_ARMY_KEEP_MEMORY": "0"}
    return float(last_line_printed(code, environment=environment))


def peak_rss_megabytes() -> float:
    """Peak resident memory (VmHWM) of a fresh process running the full force for 100 steps.

    VmHWM, not getrusage: ru_maxrss survives exec, so a child started from this (large)
    benchmark process would report the parent's peak.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r});"
        "from benchmarks.bench_model import full_force_run; full_force_run();"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    return int(last_line_printed(code)) / 1024


def measure(quick: bool = False) -> list[Figure]:
    """All model figures of the performance issue."""
    repeats = 2 if quick else 3
    figures: list[Figure] = []

    wall = median_time(full_force_run, repeats)
    figures.append(
        Figure("full force 65,000 x 100 steps, wall incl. set-up", wall, 3.0, "s", False)
    )
    figures.append(
        Figure("full force agent-steps per second (incl. set-up)", 65_000 * 100 / wall, 2e6, "/s")
    )
    setup, per_step = step_seconds(65_000, 50, repeats)
    figures.append(
        Figure("model step alone at 65,000: agent-steps per second", 65_000 / per_step, 1e7, "/s")
    )
    print(f"  (65,000 officers: set-up {setup * 1000:.0f} ms, step {per_step * 1000:.2f} ms)")
    for kernel in ("numpy", "numba"):
        _, kernel_step = step_seconds(65_000, 50, repeats, (f"performance.kernel={kernel}",))
        print(
            f"  performance.kernel={kernel}: step {kernel_step * 1000:.2f} ms at 65,000 "
            f"({65_000 / kernel_step / 1e6:.1f} M agent-steps/s; the default, auto, takes "
            f"numba from performance.numba_from_officers)"
        )
    _, fight_step = step_seconds(65_000, 50, repeats, ("drivers.war_order_level=3",))
    print(
        f"  order to fight (arrests, jail, sanctions, desertion every month): step "
        f"{fight_step * 1000:.2f} ms = {65_000 / fight_step / 1e6:.1f} M agent-steps/s"
    )
    released = step_rate_without_kept_memory()
    print(
        f"  the same step with freed memory returned to the system "
        f"(RELUCTANT_ARMY_KEEP_MEMORY=0): {released / 1e6:.1f} M agent-steps/s, "
        f"{65_000 / per_step / released:.2f}x slower than kept (simulation/model/memory.py)"
    )

    print("  scaling, time per step (median):")
    sizes = [1_000, 3_000, 10_000, 30_000, 100_000]
    times = []
    for n in sizes:
        setup_n, step_n = step_seconds(n, 40 if n <= 30_000 else 20, repeats)
        times.append(step_n)
        print(
            f"    {n:>7,} officers: step {step_n * 1000:8.3f} ms   set-up {setup_n * 1000:8.1f} ms"
        )
    exponent = float(np.polyfit(np.log(sizes[1:]), np.log(times[1:]), 1)[0])
    figures.append(
        Figure("scaling exponent of step time, 3k-100k officers", exponent, 1.1, "", False)
    )

    print("  against Mesa's Epstein civil-violence example (same agent counts):")
    ratios = []
    for side, epstein_steps in (
        (36, 30 if quick else 50),
        (80, 10 if quick else 20),
        (161, 5 if quick else 10),
    ):
        agents, epstein = epstein_rate(side, epstein_steps, repeats)
        ours = ours_rate(agents, 100, repeats)
        ratios.append(ours / epstein)
        print(
            f"    {agents:>6,} agents: Epstein {epstein:>12,.0f}/s   ours {ours:>14,.0f}/s   "
            f"ratio {ours / epstein:>8,.0f}x"
        )
    figures.append(
        Figure("speed-up over Mesa's Epstein example (smallest of 3 sizes)", min(ratios), 100, "x")
    )

    figures.append(
        Figure("peak RSS, 65,000 officers x 100 steps", peak_rss_megabytes(), 400, "MB", False)
    )
    return figures


STEP_CODE = """
import statistics, sys, time
sys.path.insert(0, {repo!r})
import simulation
assert simulation.__file__.startswith({repo!r}), simulation.__file__
from simulation.config.loading import load_config
from simulation.model.model import ArmyModel
config = load_config({repo!r} + '/configs/baseline.yaml',
                     ['population.n_officers={officers}', 'drivers.war_order_level={level}'])
model = ArmyModel(config, seed=1)
for _ in range(3):
    model.step()
times, cpu = [], []
for _ in range({steps}):
    started, started_cpu = time.perf_counter(), time.thread_time()
    model.step()
    times.append(time.perf_counter() - started)
    cpu.append(time.thread_time() - started_cpu)
print(statistics.median(times), statistics.median(cpu))
"""

SIDE_BY_SIDE: tuple[tuple[int, int], ...] = ((2_000, 200), (65_000, 30))
"""(officers, timed steps) of each size the side-by-side comparison times."""


def step_in(repo: Path, level: int, steps: int = 30, officers: int = 65_000) -> tuple[float, float]:
    """Median (wall, CPU) seconds per step at `officers` officers of the checkout at `repo`,
    in a fresh process that imports that checkout's code. The CPU time is the process's
    own (its thread's), so it varies less than the wall time when the machine is shared."""
    code = STEP_CODE.format(repo=str(repo), level=level, steps=steps, officers=officers)
    wall, cpu = last_line_printed(code, cwd=repo).split()
    return float(wall), float(cpu)


def compare_with(other: Path, rounds: int = 3) -> None:
    """This checkout's step against another's, alternating A B A B ..., at each size: the
    medians of wall time and of CPU time over the rounds."""
    for officers, steps in SIDE_BY_SIDE:
        print(f"  side by side with {other} ({officers:,} officers, median step, {rounds} rounds):")
        for level, label in ((1, "support role"), (3, "order to fight")):
            ours, theirs = [], []
            for _ in range(rounds):
                ours.append(step_in(REPO, level, steps, officers))
                theirs.append(step_in(other, level, steps, officers))
            for clock, index in (("wall", 0), ("CPU", 1)):
                mine = statistics.median(times[index] for times in ours)
                base = statistics.median(times[index] for times in theirs)
                print(
                    f"    {label:<15} {clock:<4} this {mine * 1000:7.2f} ms   other "
                    f"{base * 1000:7.2f} ms   ratio {mine / base:5.2f}x   "
                    f"({officers / mine / 1e6:.1f} M agent-steps/s here)"
                )


def schedule_breakdown(officers: int = 65_000, steps: int = 20) -> None:
    """Where a month's time goes: the schedule's rows timed over `steps` months."""
    config = load_config(
        REPO / "configs" / "baseline.yaml",
        [f"population.n_officers={officers}", "drivers.war_order_level=3"],
    )
    model = ArmyModel(config, seed=1)
    model.step()
    model.schedule.timed = True
    for _ in range(steps):
        model.step()
    print(f"  schedule at {officers:,} officers, order to fight, {steps} months:")
    print(model.schedule_table())


def main() -> None:
    """Measure and print every figure."""
    if "--against" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
        compare_with(Path(sys.argv[sys.argv.index("--against") + 1]).resolve(), rounds)
        return
    if "--schedule" in sys.argv:
        schedule_breakdown()
        return
    quick = "--quick" in sys.argv
    for figure in measure(quick):
        print(figure.line())


if __name__ == "__main__":
    main()
