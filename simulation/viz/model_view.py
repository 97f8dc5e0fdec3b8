"""The model view: one run of the model, month by month, with the reasons behind it.

Sidebar: the scenario list, Reset / Play / Step, a month box to jump to any month, the
play speed, and the sliders (each with its value, a one-line description from the
schema, and a mark when it differs from the running run; changes apply on Reset).

Main area: the officers in their units (click one to see why he chose what he
chose), the rates over time by group or by rank with a marker wherever a driver changes,
the officer inspection or the units and their cross-unit ties, and the run summary. A run
opened from the explorer is a replay: its recorded final shares are shown next to the
replayed ones.

All text is escaped before it reaches the page; the charts are ECharts options
(:mod:`simulation.viz.echarts`).
"""

from __future__ import annotations

import html
from typing import Any

import solara
import solara.lab

from simulation.viz import state
from simulation.viz.figure import EChart, as_json
from simulation.viz.scenarios import (
    CONTROLS,
    MAX_VIEW_OFFICERS,
    Control,
    Source,
    describe_control,
    order_words,
    scenario_entries,
    schedule_note,
    war_orders_text,
)
from simulation.viz.scroll import ScrollIntoView
from simulation.viz.view_model import (
    ViewModel,
    inspect_officer,
    officers_figure,
    rates_figure,
    units_figure,
)
from simulation.vocabulary import (
    CHOICE_COLOURS,
    CHOICES,
    GROUPS,
    RANKS,
    WAR_ORDER_LEVELS,
)

CSS = """
.ra-caption { font-size: 12px; color: #555; line-height: 1.25; margin: -4px 0 6px 0; }
.ra-control-label { font-size: 13px; margin-top: 6px; }
.ra-control-label .ra-value { font-weight: 600; color: #1F4E79; }
.ra-changed { color: #B35900; font-size: 12px; }
.ra-table { border-collapse: collapse; font-size: 13px; }
.ra-table th, .ra-table td { border-bottom: 1px solid #E3E3E3; padding: 2px 8px; }
.ra-table td { text-align: right; }
.ra-table th:first-child, .ra-table td:first-child { text-align: left; }
.ra-kv p { margin: 0 0 4px 0; font-size: 13px; }
.ra-legend { font-size: 13px; text-align: center; }
.ra-month { font-size: 16px; font-weight: 600; }
"""

GROUP_SYMBOLS = {"complicit": "&#9632;", "passive": "&#9679;", "dissenting": "&#9650;"}
OFFICERS_HEIGHT = 660


def esc(value: Any) -> str:
    """Text made safe for the page (every dynamic string goes through this)."""
    return html.escape(str(value), quote=True)


def value_text(control: Control, value: Any) -> str:
    """A slider's value as shown next to its label."""
    if control.whole:
        text = f"{int(value):,}"
        if control.name == "war_order_level":
            text += f" ({WAR_ORDER_LEVELS.get(int(value), '').split(' (')[0]})"
        return text
    if control.name.endswith("_share"):
        return f"{float(value):.0%}"
    return f"{float(value):g}{control.unit}"


def legend_html() -> str:
    """Legend of the officer drawing: choice colours, group shapes, commanders, units."""

    def swatch(colour: str, border: str = "none", radius: str = "2px") -> str:
        return (
            f"<span style='display:inline-block;width:12px;height:12px;background:{colour};"
            f"border:{border};border-radius:{radius};margin:0 4px -1px 10px'></span>"
        )

    parts = [f"{swatch(colour)}{esc(choice)}" for choice, colour in CHOICE_COLOURS.items()]
    parts += [
        f"<span style='margin-left:10px;color:#555'>{GROUP_SYMBOLS[group]}</span> {esc(group)}"
        for group in GROUPS
    ]
    parts.append(f"{swatch('#888888', '2px solid #111', '50%')}commander (larger)")
    parts.append(f"{swatch('#DCE7F3', '1px solid #BBB')}special operations unit")
    return "<div class='ra-legend'>" + "".join(parts) + "</div>"


# ---------------------------------------------------------------------------- sidebar


def cut_note(control: Control, value: Any, source: Source | None) -> str:
    """'(of the scenario's 10,000: cut to fit the view)' on the Officers slider when the
    view runs fewer officers than the scenario has."""
    if control.name != "n_officers" or source is None or source.full_officers is None:
        return ""
    if int(value) != source.config.population.n_officers:
        return ""
    return f"(of the scenario's {source.full_officers:,}: cut to fit the view)"


@solara.component
def ControlRow(control: Control, running: dict[str, Any]) -> None:
    """One slider: its label and value, the slider, and its description from the schema
    (and the driver's schedule when it has one)."""
    value = state.controls.value.get(control.name, running.get(control.name))
    changed = value != running.get(control.name)
    mark = " <span class='ra-changed'>(changed: applies on Reset)</span>" if changed else ""

    def on_value(new: Any) -> None:
        state.set_control(control.name, new)

    current = state.model.value
    note = schedule_note(current.config, control) if current is not None else ""
    caption = describe_control(control) + (f" {note[0].upper()}{note[1:]}." if note else "")
    cut = cut_note(control, value, state.source.value)
    if cut:
        mark = f" <span class='ra-changed'>{esc(cut)}</span>" + mark
    label = f"{control.label} at month 0" if note and not changed else control.label
    with solara.Column(gap="0px", classes=[f"ra-control-{control.name}"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<div class='ra-control-label'>{esc(label)}: "
                f"<span class='ra-value'>{esc(value_text(control, value))}</span>{mark}</div>"
            ),
        )
        if control.whole:
            solara.SliderInt(
                "",
                value=int(value),
                min=int(control.low),
                max=int(control.high),
                step=int(control.step),
                on_value=on_value,
                thumb_label=False,
            )
        else:
            solara.SliderFloat(
                "",
                value=float(value),
                min=control.low,
                max=control.high,
                step=control.step,
                on_value=on_value,
                thumb_label=False,
            )
        solara.HTML(tag="div", unsafe_innerHTML=esc(caption), classes=["ra-caption"])


@solara.component
def RunControls(tick: int) -> None:
    """Scenario, Reset / Play / Step, the month, jump to a month, play speed.

    Only the buttons and the month redraw after every step (:func:`StepButtons`,
    :func:`MonthStatus`): the fewer components a step touches, the faster it is drawn.
    """
    model = state.model.value
    current = state.source.value
    entries = solara.use_memo(lambda: list(scenario_entries()), [])
    label = current.label if current is not None else ""
    if label not in entries:
        entries = [label, *entries]

    def chosen(entry: str) -> None:
        if entry != label:
            state.choose_scenario(entry)

    solara.Select("Scenario", values=entries, value=label, on_value=chosen, classes=["ra-scenario"])
    if current is not None:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=esc(source_caption(current)),
            classes=["ra-caption", "ra-source-caption"],
        )
    StepButtons(tick)
    if model is not None:
        MonthStatus(tick)
        MonthJump(model)
    solara.HTML(
        tag="div",
        unsafe_innerHTML="<div class='ra-control-label'>Play speed: <span class='ra-value'>"
        f"{state.play_interval.value} ms</span> between months</div>",
    )
    solara.SliderInt("", value=state.play_interval, min=0, max=1000, step=50, thumb_label=False)


def source_caption(current: Source) -> str:
    """What the run is: a scenario's own description; for a replay its war orders as
    recorded (its config's description may be inherited from a base that ordered
    something else)."""
    if current.replay is not None:
        return "Replayed run. " + war_orders_text(current.config, 0).split("; at month")[0] + "."
    return current.config.description or current.config.name


@solara.component
def StepButtons(tick: int) -> None:
    """Reset, Play / Pause and Step (Step and Play off once the run has ended)."""
    model = state.model.value
    finished = model is None or model.finished
    with solara.Row(gap="6px"):
        solara.Button("Reset", color="primary", on_click=state.reset)
        solara.Button(
            "❚❚ Pause" if state.playing.value else "▶ Play",
            color="primary",
            on_click=lambda: state.playing.set(not state.playing.value),
            disabled=finished and not state.playing.value,
        )
        solara.Button(
            "Step",
            color="primary",
            on_click=state.step,
            disabled=finished or state.playing.value,
        )


@solara.component
def MonthStatus(tick: int) -> None:
    """'Month: 5 of 60' and a progress bar."""
    model = state.model.value
    if model is None:
        return
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"Month: {model.steps} <span style='font-weight:normal'>of "
        f"{model.horizon}</span>",
        classes=["ra-month"],
    )
    solara.ProgressLinear(value=100.0 * model.steps / max(1, model.horizon))
    solara.HTML(
        tag="div",
        unsafe_innerHTML="War orders now: <span class='ra-value'>"
        f"{esc(order_words(model.drivers['war_order_level']))}</span>",
        classes=["ra-control-label", "ra-orders-now"],
    )


@solara.component
def MonthJump(model: ViewModel) -> None:
    """Go to any month: forward by stepping, back by running the same seed again."""
    target = solara.use_reactive(model.horizon)
    with solara.Row(gap="6px", style={"align-items": "center"}):
        with solara.Column(style={"flex": "1 1 auto"}):
            solara.InputInt("Go to month", value=target, dense=True, classes=["ra-goto"])
        solara.Button(
            "Go",
            on_click=lambda: state.go_to(target.value if target.value is not None else 0),
            outlined=True,
            disabled=state.playing.value,
        )


@solara.component
def Parameters() -> None:
    """The sliders and the seed; what changed since the run started (redrawn when the
    model or a control changes, not at every step)."""
    model = state.model.value
    if model is None:
        return
    from simulation.viz.scenarios import control_values

    running = control_values(model.config)
    solara.HTML(
        tag="div",
        unsafe_innerHTML="<b>Parameters</b> <span class='ra-caption'>changes apply on Reset; "
        "moving a slider replaces the scenario's value</span>",
    )
    for control in CONTROLS:
        ControlRow(control, running)
    solara.InputText(
        "Seed (whole number; same seed, same run)",
        value=state.seed_text,
        classes=["ra-seed"],
    )
    pending = state.pending_changes()
    if pending:
        solara.Info(
            "Not applied yet: "
            + ", ".join(p.replace("_", " ") for p in pending)
            + ". Press Reset.",
            dense=True,
        )


@solara.component
def PlayLoop() -> None:
    """Steps the model while Play is on (in a thread), stopping at the run's end."""
    playing = state.playing.value

    def loop() -> None:
        import time

        while state.playing.value:
            time.sleep(max(0, state.play_interval.value) / 1000.0)
            current = state.model.value
            if current is None or current.finished or not state.playing.value:
                break
            state.step()
        state.playing.value = False

    solara.lab.use_task(loop, dependencies=[playing], prefer_threaded=True)


# ---------------------------------------------------------------------------- main area


@solara.component
def OfficerView(tick: int) -> None:
    """The officers on the grid of units; a click selects an officer."""
    model = state.model.value
    if model is None:
        return
    if model.n_agents > MAX_VIEW_OFFICERS:
        solara.Info(
            f"{model.n_agents:,} agents are too many to draw (at most "
            f"{MAX_VIEW_OFFICERS:,}); the charts show the run."
        )
        return
    figure = officers_figure(model, state.selected_officer.value)

    def clicked(event: dict[str, Any]) -> None:
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, list) and len(data) == 3 and isinstance(data[2], int):
            state.select_officer(data[2])

    EChart(
        as_json(figure),
        OFFICERS_HEIGHT,
        "ra-officers",
        on_click=clicked,
        drawn_key=f"{id(model)}-{model.steps}-{state.selected_officer.value}",
    )
    solara.HTML(tag="div", unsafe_innerHTML=legend_html())
    solara.HTML(
        tag="div",
        unsafe_innerHTML="Click an officer to see why he chose what he chose.",
        classes=["ra-caption"],
    )


@solara.component
def RatesView(tick: int) -> None:
    """Shares over time, overall and by group or rank, with markers where drivers change."""
    model = state.model.value
    breakdown = solara.use_reactive("group")
    if model is None:
        return
    solara.ToggleButtonsSingle(value=breakdown, values=["group", "rank"], dense=True)
    figure = rates_figure(model, breakdown.value)
    EChart(
        as_json(figure.option), figure.height, "ra-rates", drawn_key=f"{id(model)}-{model.steps}"
    )


def report_html(model: ViewModel, slot: int) -> str:
    """The inspection of one officer as an HTML fragment (escaped)."""
    report = inspect_officer(model, slot)
    status = "serving" if report.serving else "left the army"
    head = (
        f"<p><b>{'Officer' if report.rank.endswith(' rank') else 'Soldier'} {report.slot}</b> "
        f"({esc(status)}): {esc(report.group)}, "
        f"{esc(report.rank)}, unit {report.unit} ({esc(report.unit_type.replace('_', ' '))})"
        f"{', commander' if report.commander else ''}; now: <b>{esc(report.choice)}</b>.</p>"
        f"<p>{esc(report.verdict)}</p>"
    )
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(f'{report.utilities[name]:+.3f}')}</td>"
        f"<td>{report.probabilities[name]:.1%}</td></tr>"
        for name in CHOICES
    )
    utilities = (
        "<table class='ra-table ra-utilities'><tr><th>action</th><th>utility</th>"
        f"<th>chance</th></tr>{rows}</table>"
    )
    attitudes = "".join(
        f"<tr><td>{esc(name.replace('_', ' '))}</td><td>{value:.3f}</td></tr>"
        for name, value in report.attitudes.items()
    )
    inputs = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(value)}</td></tr>" for name, value in report.inputs
    )
    return (
        head
        + "<div style='display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start'>"
        + f"<div><b>Utilities this month</b>{utilities}</div>"
        + f"<div><b>Attitudes</b><table class='ra-table'>{attitudes}</table></div>"
        + f"<div><b>What he faced</b><table class='ra-table'>{inputs}</table></div></div>"
    )


@solara.component
def InspectView(tick: int) -> None:
    """The selected officer: who he is and the utilities he weighed."""
    model = state.model.value
    slot = state.selected_officer.value
    if model is None:
        return
    with solara.Column(classes=["ra-inspect"]):
        if slot is None:
            solara.HTML(
                tag="div",
                unsafe_innerHTML="<p>Click an officer in the drawing to inspect him.</p>",
            )
            return
        solara.HTML(tag="div", unsafe_innerHTML=report_html(model, slot))
        ScrollIntoView("ra-why", f"{slot}")


@solara.component
def UnitsView(tick: int) -> None:
    """Units (nodes) and their cross-unit ties (edges); colour mixes the units' choices."""
    model = state.model.value
    if model is None:
        return
    EChart(as_json(units_figure(model)), 520, "ra-units", drawn_key=f"{id(model)}-{model.steps}")
    solara.HTML(
        tag="div",
        unsafe_innerHTML="Node: a unit (size: officers serving; colour: its comply / evade / "
        "refuse shares mixed; blue ring: special operations). Edge: officers tied across the "
        "two units (width: how many). Drag to pan, scroll to zoom, hover for details.",
        classes=["ra-caption"],
    )


def summary_rows(model: ViewModel) -> list[tuple[str, str]]:
    """What is running, as (label, text) rows."""
    config = model.config
    drivers = model.drivers
    stats = model.stats
    src = state.source.value
    changed = ", ".join(name.replace("_", " ") for name in state.applied.value)
    what = source_caption(src) if src is not None else config.description or "-"
    rows = [
        ("Run", f"{src.label if src else ''} ({config.name}): {what}"),
        (
            "Progress",
            f"month {model.steps} of {model.horizon}; {stats['n_active']:,} officers serving; "
            f"seed {model.seed}",
        ),
        ("War orders", war_orders_text(config, model.steps).removeprefix("War orders: ")),
        (
            "Drivers now",
            f"detection capacity {drivers['detection_capacity']:g}, punishment severity "
            f"{drivers['punishment_severity']:g}, incentive level {drivers['incentive_level']:g}, "
            f"Russian propaganda {drivers['russian_propaganda']:g} per month",
        ),
        (
            "Groups at start",
            ", ".join(f"{g} {config.population.group_shares[g]:.0%}" for g in GROUPS),
        ),
        ("Set by the controls", changed or "nothing: the run as written"),
    ]
    for label, prefix in (("all officers", ""), *((c, f"{c}_") for c in (*GROUPS, *RANKS))):
        serving = stats["n_active"] if not prefix else stats[f"n_{prefix[:-1]}"]
        shares = (
            "  ".join(f"{c} {stats[prefix + c]:.1%}" for c in CHOICES)
            if serving
            else "empty (0 serving)"
        )
        rows.append((label.capitalize(), shares))
    return rows


@solara.component
def RunInfo(tick: int) -> None:
    """The run summary: scenario, month, seed, drivers now, shares overall, by group, rank."""
    model = state.model.value
    if model is None:
        return
    body = "".join(
        f"<p><b>{esc(label)}:</b> {esc(text)}</p>" for label, text in summary_rows(model)
    )
    solara.HTML(tag="div", unsafe_innerHTML=body, classes=["ra-info", "ra-kv"])


def replay_rows(model: ViewModel) -> tuple[list[tuple[str, float, float | None, bool]], bool]:
    """(metric, recorded, replayed or None, equal) rows of a replay; and whether at the end."""
    src = state.source.value
    if src is None or src.replay is None:
        return [], False
    at_end = model.steps == src.replay.steps
    columns = model.datacollector.model_vars
    rows = []
    for metric, recorded in src.replay.recorded.items():
        replayed = float(columns[metric][-1]) if at_end and metric in columns else None
        rows.append((metric, recorded, replayed, replayed == recorded))
    return rows, at_end


@solara.component
def ReplayCheck(tick: int) -> None:
    """For a replayed run: the recorded final shares next to the replay's."""
    model = state.model.value
    src = state.source.value
    if model is None or src is None or src.replay is None:
        return
    rows, at_end = replay_rows(model)
    if not rows:
        return
    if at_end:
        same = sum(equal for *_, equal in rows)
        summary = (
            f"At month {model.steps} the replay gives exactly the recorded final shares: "
            f"{same} of {len(rows)} equal."
            if same == len(rows)
            else f"{len(rows) - same} of {len(rows)} final shares differ from the record."
        )
    else:
        summary = (
            f"The recorded run ended at month {src.replay.steps}; go there (Play, or Go to "
            "month) to compare its final shares with the replay's."
        )
    cells = "".join(
        f"<tr><td>{esc(metric)}</td><td>{recorded:.4%}</td>"
        f"<td>{'' if replayed is None else f'{replayed:.4%}'}</td>"
        f"<td>{'' if replayed is None else ('&#10003;' if equal else '&#10007;')}</td></tr>"
        for metric, recorded, replayed, equal in rows
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f"<p class='ra-replay-summary'><b>{esc(summary)}</b></p><table class='ra-table "
            "ra-replay-check'><tr><th>final share</th><th>recorded</th><th>replayed</th>"
            f"<th></th></tr>{cells}</table>"
        ),
    )


@solara.component
def Notices(tick: int) -> None:
    """Replay banner, errors, notes, and the notice when the run reaches its last month."""
    model = state.model.value
    src = state.source.value
    if src is not None and src.replay is not None:
        solara.Info(
            f"Replay of {src.replay.label}: its resolved config and seed {src.replay.seed} "
            f"from {src.replay.folder}.",
            classes=["ra-replay"],
        )
    if state.error.value:
        solara.Error(state.error.value, classes=["ra-error"])
    for note in state.notes.value:
        solara.Warning(note)
    if model is not None and model.finished:
        stats = model.stats
        solara.Success(
            f"Run finished at month {model.steps}: comply {stats['comply']:.1%}, evade "
            f"{stats['evade']:.1%}, refuse {stats['refuse']:.1%}. Reset to run again, or go "
            "to any month.",
            classes=["ra-finished"],
        )


@solara.component
def LowerPanel(tick: int) -> None:
    """Officer inspection, or the units and their ties (only the one shown is drawn)."""
    shown = solara.use_reactive("officer inspection")
    solara.ToggleButtonsSingle(
        value=shown, values=["officer inspection", "units and ties"], dense=True
    )
    if shown.value == "officer inspection":
        InspectView(tick)
    else:
        UnitsView(tick)


@solara.component
def ModelPage() -> None:
    """The model view; if a view fails to draw, one line instead of a traceback.

    (Nothing but the boundary here: an element made before it would make Solara render
    the failure again and again.)
    """
    failure, clear = solara.use_exception()
    if failure is not None:
        solara.Error(
            f"the model view failed ({type(failure).__name__}); the details are in the "
            "server's log",
            classes=["ra-error"],
        )
        solara.Button("Start again", on_click=lambda: (state.reset(), clear()), color="primary")
        return
    ModelViews()


@solara.component
def ModelViews() -> None:
    """The model view: one model per browser session (kept while the explorer is open).

    The views that change with every step take `tick` (the session's change counter) as
    an argument, so that a step redraws them in one rendering pass; the sidebar's sliders
    take nothing from it and are left alone.
    """
    solara.Style(CSS)
    solara.Title("Reluctant Army: model view")
    state.ensure_model()
    tick = state.tick.value  # the one subscription: every view below redraws in one pass
    PlayLoop()
    with solara.Sidebar():
        RunControls(tick)
        Parameters()
    with solara.Column(style={"padding": "0 8px"}):
        Notices(tick)
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            # the inspection sits under the drawing it is opened from, not under the
            # (taller) rates
            with solara.Column(style={"flex": "1 1 520px", "max-width": "760px"}):
                with solara.Card("Officers by unit"):
                    OfficerView(tick)
                with solara.Card("Why they choose", classes=["ra-why"]):
                    LowerPanel(tick)
            with solara.Column(style={"flex": "1 1 520px", "max-width": "900px"}):
                with solara.Card("Rates over time"):
                    RatesView(tick)
                with solara.Card("This run"):
                    ReplayCheck(tick)
                    RunInfo(tick)
