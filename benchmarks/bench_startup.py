"""Start-up of the command line, side by side with importing Mesa, in one run.

Times, as fresh processes, interleaved round by round so that machine noise hits all
alike: `python -c "import mesa"`, `reluctant-army --help`, `reluctant-army config
configs/baseline.yaml` and `reluctant-army run configs/baseline.yaml` (into a temporary
folder). Prints the median wall time of each and its ratio to importing Mesa, against the
targets: --help and config at most 0.3x, run of the baseline at most 1.5x.

    python benchmarks/bench_startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "simulation"]
TARGETS: dict[str, float] = {"--help": 0.3, "config": 0.3, "run": 1.5}


def commands(out: Path) -> dict[str, list[str]]:
    """The timed commands, by label."""
    baseline = str(REPO / "configs" / "baseline.yaml")
    return {
        "import mesa": [sys.executable, "-c", "import mesa"],
        "--help": [*CLI, "--help"],
        "config": [*CLI, "config", baseline],
        "run": [*CLI, "run", baseline, "--out", str(out)],
    }


def wall_seconds(command: list[str]) -> float:
    """Wall time of one run of `command` (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    """Measure, interleaved, and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="repeats of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        timed = commands(Path(scratch) / "run")
        for command in timed.values():  # warm the file cache once
            wall_seconds(command)
        samples: dict[str, list[float]] = {label: [] for label in timed}
        for _ in range(args.rounds):
            for label, command in timed.items():
                samples[label].append(wall_seconds(command))
    mesa = statistics.median(samples["import mesa"])
    print(f"start-up, median of {args.rounds} interleaved rounds (fresh processes)")
    print(f"{'command':<14}{'median s':>10}{'x import mesa':>16}{'target':>10}")
    for label, values in samples.items():
        median = statistics.median(values)
        target = TARGETS.get(label)
        verdict = (
            ""
            if target is None
            else f"<= {target:g}x " + ("met" if median / mesa <= target else "MISSED")
        )
        print(f"{label:<14}{median:>10.3f}{median / mesa:>16.2f}{verdict:>16}")


if __name__ == "__main__":
    main()
