"""Server-side time per step of the browser view, drawing included.

Run: `python benchmarks/bench_viz.py [--officers 2000] [--steps 40]` (about 15 s).

It renders the page's views (officer drawing, rate charts, run summary) with Solara
outside a browser, then repeats what Mesa's Step button does: `model.step()` and
`force_update()`, which re-renders the views, draws 2,000 markers with Mesa's matplotlib
renderer and encodes both figures as PNG. The median is compared with the 200 ms
target. Network and browser time are not included. The CPU time of this process is
printed too: on a shared machine the wall time includes other programs' load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 200.0


def median_ms(samples: list[float]) -> float:
    """Median of durations in seconds, in milliseconds."""
    return statistics.median(samples) * 1000.0


def main(argv: list[str] | None = None) -> int:
    """Measure and print the median milliseconds per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=40, help="at most the scenario's steps")
    parser.add_argument("--war-order-level", type=int, default=3)
    args = parser.parse_args(argv)

    import solara

    from simulation.viz.app import ModelViews, VizArmyModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mesa.visualization.utils import force_update

    def build() -> VizArmyModel:
        return VizArmyModel(war_order_level=args.war_order_level, n_officers=args.officers)

    model, model_only = build(), build()
    solara.render(ModelViews(model), handle_error=False)
    step_times, full_times, cpu_times = [], [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        model_only.step()
        step_times.append(time.perf_counter() - start)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.step()
        force_update()
        full_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)

    full = median_ms(full_times)
    print(f"browser view, {args.officers:,} officers, war-order level {args.war_order_level}")
    print(f"  model step alone         median {median_ms(step_times):7.1f} ms")
    print(f"  step + drawing + charts  median {full:7.1f} ms  (target <= {TARGET_MS:.0f} ms)")
    print(
        f"  same, CPU time           median {median_ms(cpu_times):7.1f} ms  (other load excluded)"
    )
    print(f"  slowest of {args.steps} steps          {max(full_times) * 1000:7.1f} ms")
    print("  target met" if full <= TARGET_MS else "  TARGET MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
