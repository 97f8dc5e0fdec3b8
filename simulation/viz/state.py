"""Per-session state of the browser view, and the actions that change it.

Solara keeps the value of a module-level ``solara.reactive`` per browser session (per tab),
so every tab has its own model, controls and selection, while the model view and the
explorer of one tab share them: a run picked in the explorer opens in the model view.

The actions (:func:`choose_scenario`, :func:`reset`, :func:`step`, :func:`go_to`,
:func:`open_replay`, ...) are plain functions, testable without a browser. Each one is
:func:`guarded`: an unexpected error is logged on the server and shown on the page as one
line, never as a traceback.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar

import solara

from simulation.analysis.results import ReplaySpec
from simulation.errors import ArgumentError, ReluctantArmyError
from simulation.viz.scenarios import (
    CONTROLS,
    Built,
    Source,
    UnlistedScenarioError,
    build_run,
    control_values,
    launch_entry,
    replay_source,
    scenario_source,
)
from simulation.viz.view_model import ViewModel

log = logging.getLogger(__name__)
T = TypeVar("T")

model: solara.Reactive[ViewModel | None] = solara.reactive(None)
"""This session's model (one per browser session)."""
source: solara.Reactive[Source | None] = solara.reactive(None)
"""What the model was built from: a scenario or a replayed run."""
tick = solara.reactive(0)
"""Bumped after every change of the model, so that the views redraw."""
controls: solara.Reactive[dict[str, Any]] = solara.reactive({})
"""The sliders' values (applied on Reset)."""
seed_text = solara.reactive("")
"""The seed box's text (applied on Reset)."""
applied: solara.Reactive[tuple[str, ...]] = solara.reactive(())
"""Controls that changed the source in the current run."""
notes: solara.Reactive[tuple[str, ...]] = solara.reactive(())
"""Notes on the current run (capped size, clipped shares, a bad scenario file...)."""
error: solara.Reactive[str | None] = solara.reactive(None)
"""A one-line error for the page (a refused request, an unexpected failure)."""
selected_officer: solara.Reactive[int | None] = solara.reactive(None)
playing = solara.reactive(False)
play_interval = solara.reactive(150)
"""Milliseconds between steps while playing."""


def guarded(action: Callable[..., T]) -> Callable[..., T | None]:
    """Run `action`; a user error becomes its one line, anything else a short note (the
    traceback goes to the server's log only)."""

    @functools.wraps(action)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        try:
            return action(*args, **kwargs)
        except ReluctantArmyError as problem:
            error.value = str(problem)
        except Exception as problem:  # noqa: BLE001 - the page must never show a traceback
            log.exception("browser view: %s failed", action.__name__)
            error.value = (
                f"{action.__name__.replace('_', ' ')} failed ({type(problem).__name__}); "
                "the details are in the server's log"
            )
        return None

    return wrapper


def _run(built: Built) -> None:
    """Start `built` at month 0 as this session's model."""
    playing.value = False
    model.value = ViewModel(built.config, built.seed)
    applied.value = tuple(built.applied)
    notes.value = tuple(built.messages)
    selected_officer.value = None
    tick.value += 1


def start(new: Source) -> None:
    """Run `new` as written: controls and seed set from it, model at month 0."""
    source.value = new
    controls.value = control_values(new.config)
    seed_text.value = str(new.seed)
    error.value = None
    _run(Built(new.config, new.seed, [], list(new.messages)))


def ensure_model() -> None:
    """Give the session its first model (the launch scenario) if it has none."""
    if model.value is None:
        start(scenario_source(launch_entry()))


@guarded
def choose_scenario(entry: str) -> None:
    """Open a listed scenario (at once, at month 0); refuse any other name."""
    try:
        chosen = scenario_source(entry)
    except UnlistedScenarioError:
        error.value = "refused: the browser view opens only the scenarios it lists"
        return
    start(chosen)


@guarded
def open_replay(spec: ReplaySpec) -> None:
    """Open a recorded run (from the explorer) at month 0."""
    start(replay_source(spec))


@guarded
def reset() -> None:
    """A new run at month 0: the source with the moved controls and the seed box."""
    if source.value is None:
        ensure_model()
        return
    error.value = None
    built = build_run(source.value, dict(controls.value), seed_text.value)
    built.messages = list(source.value.messages) + built.messages
    _run(built)


@guarded
def step(count: int = 1) -> None:
    """Advance the model `count` months (not past its horizon)."""
    current = model.value
    if current is None:
        return
    for _ in range(max(0, count)):
        if current.finished:
            break
        current.step()
    tick.value += 1


@guarded
def go_to(month: int) -> None:
    """Show month `month`: step forward, or run the same config and seed again up to it."""
    current = model.value
    if current is None:
        return
    target = min(max(int(month), 0), current.horizon)
    playing.value = False
    if target < current.steps:
        again = ViewModel(current.config, current.seed)
        selected = selected_officer.value
        model.value = again
        selected_officer.value = selected
        current = again
    while current.steps < target:
        current.step()
    tick.value += 1


@guarded
def set_control(name: str, value: Any) -> None:
    """Record a slider's new value (it applies on Reset); a value no slider can give (a
    forged websocket message) gets the page's one-line message and is not recorded."""
    control = next((c for c in CONTROLS if c.name == name), None)
    if control is None:
        raise ArgumentError(f"no slider of that name ({str(name)[:40]!r})", "control")
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if (
        number is None
        or not math.isfinite(number)
        or not control.low <= number <= control.high
        or (control.whole and number != int(number))
    ):
        kind = "a whole number" if control.whole else "a number"
        raise ArgumentError(
            f"expected {kind} in [{control.low:g}, {control.high:g}], got {str(value)[:40]!r}",
            control.label,
        )
    controls.value = {**controls.value, name: value}


@guarded
def select_officer(slot: int | None) -> None:
    """Inspect officer `slot` (None: nobody)."""
    current = model.value
    if slot is None or current is None or not 0 <= int(slot) < current.n_agents:
        selected_officer.value = None
        return
    selected_officer.value = int(slot)


def pending_changes() -> list[str]:
    """Controls (and the seed) whose value differs from the current run's."""
    current = model.value
    src = source.value
    if current is None or src is None:
        return []
    running = control_values(current.config)
    changed = [name for name, value in controls.value.items() if running.get(name) != value]
    if seed_text.value.strip() != str(current.seed):
        changed.append("seed")
    return changed
