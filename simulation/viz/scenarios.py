"""What the browser view may run: its listed scenarios, replays, and the controls' values.

The page lists the YAML files of one configs folder (and its ``scenarios/``), plus the
built-in defaults. Only those entries can be opened: a scenario name that arrives over
the websocket is looked up in the list, never used as a path, so a page user cannot make
the server read another file (``/etc/passwd``, ``/dev/zero``). A replay comes from the
explorer's own results folders (:mod:`simulation.analysis.results`), never from the page.

A run in the view is a :class:`Source` (a scenario or a replay: its config, seed and
horizon) plus the controls the user moved away from the source's values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from simulation.analysis.results import ReplaySpec, checked_file
from simulation.cli.viz import CONFIG_ENV, SCENARIOS_ENV
from simulation.config.loading import load_config
from simulation.config.schema import DRIVER_NAMES, SimulationConfig, schedule_value
from simulation.errors import ConfigError, ReluctantArmyError

BUILT_IN = "built-in defaults"
"""The scenario entry that stands for the schema's defaults (no file)."""
MAX_VIEW_OFFICERS = 10_000
"""Largest corps the view draws; a bigger scenario is cut to this size, with a note."""
SCENARIO_FILE_LIMIT = 1024 * 1024
"""Largest scenario file the view reads (bytes): configs are a few kilobytes."""


def config_dir() -> Path:
    """The folder whose configs (and scenarios/ subfolder) the page lists."""
    return Path(os.environ.get(SCENARIOS_ENV) or Path.cwd() / "configs").resolve()


def display_path(path: str | Path, root: Path | None = None) -> str:
    """A scenario file as the list shows it: relative to the configs' parent when inside."""
    root = root or config_dir().parent
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return str(resolved)


def listed_files(folder: Path | None = None) -> dict[str, Path]:
    """Entry -> file of every scenario config the page lists (configs/ and
    configs/scenarios/); other YAML there (priors, targets) is not a scenario."""
    folder = folder or config_dir()
    found: dict[str, Path] = {}
    for place in (folder, folder / "scenarios"):
        try:
            files = sorted(p for p in place.glob("*.y*ml") if p.is_file())
        except OSError:
            files = []
        for path in files:
            if is_scenario_file(path):
                found[display_path(path, folder.parent)] = path.resolve()
    return found


def is_scenario_file(path: Path) -> bool:
    """Whether a YAML file is a scenario: a mapping of config sections and ``extends``
    (``priors.yaml`` has
    ``reasons`` and ``parameters``, a targets file ``targets``, so they are left out). A file
    that cannot be read as YAML stays listed, so that opening it shows what is wrong."""
    import yaml

    try:
        if path.stat().st_size > SCENARIO_FILE_LIMIT:
            return True
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, dict) and set(data) <= {*SimulationConfig.model_fields, "extends"}


def missing_configs_note() -> str | None:
    """Where the page looked for configs, and how to point it, when the folder is missing."""
    folder = config_dir()
    if folder.is_dir():
        return None
    return (
        f"no configs folder at {folder}: only the built-in defaults are offered (start the "
        f"view with --configs DIR, or set {SCENARIOS_ENV}=DIR)"
    )


def launch_file() -> Path | None:
    """The scenario file the command line named, if any."""
    given = os.environ.get(CONFIG_ENV)
    return Path(given).resolve() if given else None


def scenario_entries() -> dict[str, Path | None]:
    """Every entry the page may open, in the list's order: the launch file (when it lies
    outside the configs folder), the listed files, then the built-in defaults."""
    entries: dict[str, Path | None] = {}
    launch = launch_file()
    listed = listed_files()
    if launch is not None and launch not in listed.values():
        entries[display_path(launch)] = launch
    entries.update(listed)
    entries[BUILT_IN] = None
    return entries


def launch_entry() -> str:
    """The entry the page starts with: the command line's file, else baseline.yaml of the
    configs folder, else the built-in defaults."""
    entries = scenario_entries()
    launch = launch_file()
    if launch is not None:
        return next(name for name, path in entries.items() if path == launch)
    baseline = (config_dir() / "baseline.yaml").resolve()
    return next((name for name, path in entries.items() if path == baseline), BUILT_IN)


class UnlistedScenarioError(ValueError):
    """A scenario entry that is not in the page's list (refused, never read)."""


# ---------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """What a run in the view starts from: a scenario or a replayed run."""

    label: str
    config: SimulationConfig
    seed: int
    replay: ReplaySpec | None = None
    messages: tuple[str, ...] = ()
    full_officers: int | None = None
    """Officers in the scenario as written, when the view runs fewer (see cap_officers)."""

    @property
    def horizon(self) -> int:
        """The month the run ends."""
        return self.config.steps


def cap_officers(config: SimulationConfig) -> tuple[SimulationConfig, list[str]]:
    """A config the view can draw: at most MAX_VIEW_OFFICERS agents (officers and the men
    they command, in the same proportions), with a note."""
    count = config.n_personnel
    if count <= MAX_VIEW_OFFICERS:
        return config, []
    officers = config.population.n_officers
    step = 100  # the officers slider's step, so that the slider shows the value exactly
    kept = max(config.structure.unit_size, officers * MAX_VIEW_OFFICERS // count // step * step)
    what = "officers" if count == officers else "personnel (officers and the men they command)"
    note = (
        f"the scenario has {count:,} {what}; the view draws at most "
        f"{MAX_VIEW_OFFICERS:,} (use `reluctant-army run` for the full size)"
    )
    population = config.population.model_copy(update={"n_officers": kept})
    return config.model_copy(update={"population": population}), [note]


def scenario_source(entry: str) -> Source:
    """The run of a listed scenario as written. UnlistedScenarioError for anything else.

    A listed file that fails validation gives the built-in defaults, with its error
    (one line, no file contents) as a note.
    """
    entries = scenario_entries()
    if not isinstance(entry, str) or entry not in entries:
        raise UnlistedScenarioError("not one of the listed scenarios")
    path = entries[entry]
    messages: list[str] = [note for note in [missing_configs_note()] if note]
    try:
        if path is not None:
            checked_file(path, SCENARIO_FILE_LIMIT, path.parent)
        config = load_config(path)
    except ReluctantArmyError as error:
        messages.append(f"{str(error)[:300]}; built-in defaults used instead")
        config = SimulationConfig()
    written = config.population.n_officers
    config, notes = cap_officers(config)
    full = written if config.population.n_officers != written else None
    return Source(entry, config, config.seed, None, tuple(messages + notes), full)


def replay_source(spec: ReplaySpec) -> Source:
    """The run of a recorded run: its config, seed and horizon (its early stop included)."""
    config = spec.config.model_copy(update={"steps": spec.steps})
    notes = []
    if spec.steps < spec.config.steps:
        notes.append(
            f"the recorded run stopped at month {spec.steps} (the experiment's stop rule); "
            "the replay ends there too"
        )
    return Source(f"replay: {spec.label}", config, spec.seed, spec, tuple(notes))


# ---------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Control:
    """A slider: the config key it sets, its range and step."""

    name: str
    key: str
    label: str
    low: float
    high: float
    step: float
    whole: bool = False
    unit: str = ""


CONTROLS: tuple[Control, ...] = (
    Control("war_order_level", "drivers.war_order_level", "War-order level", 0, 3, 1, True),
    Control("detection_capacity", "drivers.detection_capacity", "Detection capacity", 0, 5, 0.1),
    Control("punishment_severity", "drivers.punishment_severity", "Punishment severity", 0, 5, 0.1),
    Control("incentive_level", "drivers.incentive_level", "Incentive level", 0, 3, 0.1),
    Control(
        "russian_propaganda",
        "drivers.russian_propaganda",
        "Russian propaganda",
        0,
        0.05,
        0.001,
        unit=" per month",
    ),
    Control("complicit_share", "population.group_shares.complicit", "Complicit share", 0, 1, 0.01),
    Control(
        "dissenting_share",
        "population.group_shares.dissenting",
        "Dissenting share (passive = the rest)",
        0,
        1,
        0.01,
    ),
    Control(
        "n_officers",
        "population.n_officers",
        "Officers",
        100,
        MAX_VIEW_OFFICERS,
        100,
        True,
    ),
)
"""The sliders, in the sidebar's order."""


@cache
def descriptions() -> dict[str, str]:
    """Config key -> the schema's description (one line each), for the sliders' captions."""
    from simulation.config.docs import schema_rows

    return {row["key"]: " ".join(row["description"].split()) for row in schema_rows()}


def describe_control(control: Control) -> str:
    """A slider's one-line caption from the schema (group shares share one description)."""
    table = descriptions()
    if control.key in table:
        return table[control.key]
    parent = control.key.rsplit(".", 1)[0]
    return table.get(parent, "")


def control_values(config: SimulationConfig) -> dict[str, float]:
    """The sliders' values that reproduce `config` (a schedule shows its value at month 0)."""
    values: dict[str, float] = {}
    drivers = config.drivers
    shares = config.population.group_shares
    for control in CONTROLS:
        if control.key.startswith("drivers."):
            value = schedule_value(getattr(drivers, control.name), 0)
        elif control.name == "complicit_share":
            value = shares["complicit"]
        elif control.name == "dissenting_share":
            value = shares["dissenting"]
        else:
            value = config.population.n_officers
        values[control.name] = int(value) if control.whole else float(value)
    return values


def schedule_note(config: SimulationConfig, control: Control) -> str:
    """'1 until month 12, then 3' for a driver that changes; '' otherwise."""
    if not control.key.startswith("drivers."):
        return ""
    schedule = getattr(config.drivers, control.name)
    if not isinstance(schedule, list) or len(schedule) < 2:
        return ""
    parts = [f"{schedule[0].value:g}"]
    parts += [f"{change.value:g} from month {change.step}" for change in schedule[1:]]
    return "scheduled: " + ", then ".join(parts) + " (moving the slider makes it constant)"


def clip_group_shares(complicit: float, dissenting: float) -> tuple[dict[str, float], str | None]:
    """Group shares from the two sliders, passive the rest; dissenting cut if they exceed 1."""
    complicit = min(max(float(complicit), 0.0), 1.0)
    dissenting = min(max(float(dissenting), 0.0), 1.0)
    message = None
    if complicit + dissenting > 1.0:
        message = (
            f"complicit {complicit:.2f} + dissenting {dissenting:.2f} exceed 1: "
            f"dissenting cut to {1.0 - complicit:.2f}, no passive officers"
        )
        dissenting = 1.0 - complicit
    passive = max(0.0, 1.0 - complicit - dissenting)
    return {
        "complicit": round(complicit, 6),
        "passive": round(passive, 6),
        "dissenting": round(dissenting, 6),
    }, message


def parse_seed(seed: Any) -> int | None:
    """A seed typed into the page as a whole number >= 0; None when it is not one."""
    if isinstance(seed, bool):
        return None
    if isinstance(seed, int):
        return seed if 0 <= seed < 2**63 else None
    text = str(seed).strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


@dataclass
class Built:
    """The config a Reset runs: the source with the moved controls, and what was done."""

    config: SimulationConfig
    seed: int
    applied: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def build_run(source: Source, controls: dict[str, Any], seed: Any) -> Built:
    """The source's config with every control whose value differs from the source's.

    Never raises for a bad combination: it falls back to the source as written and says
    why, since an error inside Reset would leave the page without a model.
    """
    start = control_values(source.config)
    moved = {
        name: value
        for name, value in controls.items()
        if name in start and value is not None and value != start[name]
    }
    overrides: dict[str, Any] = {}
    applied: list[str] = []
    messages: list[str] = []
    for control in CONTROLS:
        if control.name in moved and not control.key.startswith("population.group_shares"):
            value = moved[control.name]
            overrides[control.key] = int(value) if control.whole else float(value)
            applied.append(control.name)
    if "complicit_share" in moved or "dissenting_share" in moved:
        shares, clipped = clip_group_shares(
            moved.get("complicit_share", start["complicit_share"]),
            moved.get("dissenting_share", start["dissenting_share"]),
        )
        overrides["population.group_shares"] = shares
        applied += [n for n in ("complicit_share", "dissenting_share") if n in moved]
        if clipped:
            messages.append(clipped)
    chosen = parse_seed(seed)
    if chosen is None:
        messages.append(f"seed {str(seed)[:40]!r} is not a whole number >= 0: the run's seed used")
        chosen = source.seed
    elif chosen != source.seed:
        applied.append("seed")
    config = source.config
    if overrides:
        try:
            config = load_config(source.config.to_dict(), overrides)
        except ConfigError as error:
            messages.append(f"{error}; the controls were ignored")
            applied = [name for name in applied if name == "seed"]
    config, notes = cap_officers(config)
    return Built(config, chosen, applied, messages + notes)


def driver_changes(config: SimulationConfig) -> list[tuple[int, str]]:
    """(month, label) of every scheduled change of a driver after month 0, in order."""
    from simulation.vocabulary import WAR_ORDER_LEVELS

    changes: dict[int, list[str]] = {}
    for name in DRIVER_NAMES:
        schedule = getattr(config.drivers, name)
        if not isinstance(schedule, list):
            continue
        for change in schedule[1:]:
            if name == "war_order_level":
                words = WAR_ORDER_LEVELS.get(int(change.value), "").split(" (")[0]
                label = f"orders {int(change.value)}: {words.split(' for ')[0]}"
            else:
                label = f"{name.replace('_', ' ')} {change.value:g}"
            changes.setdefault(change.step, []).append(label)
    return [(step, "; ".join(labels)) for step, labels in sorted(changes.items())]


def order_words(level: float) -> str:
    """'level 3 (order to fight in Ukraine)', 'level 1 (support role for Russian forces)'."""
    from simulation.vocabulary import WAR_ORDER_LEVELS

    words = WAR_ORDER_LEVELS.get(int(level), "unknown").split(" (")[0]
    return f"level {int(level)} ({words})"


def schedule_words(schedule: Any) -> str:
    """A war-order schedule in words: 'level 1 (...) from month 0, level 3 (...) from month
    12', or one level for the whole run."""
    if not isinstance(schedule, list):
        return f"{order_words(schedule)} throughout"
    if len(schedule) == 1:
        return f"{order_words(schedule[0].value)} throughout"
    return ", then ".join(
        f"{order_words(change.value)} from month {change.step}" for change in schedule
    )


def war_orders_text(config: SimulationConfig, month: int) -> str:
    """The run's war orders as scheduled, and the level in force at `month` (for a replay
    this, not the description its config inherited, says what the run is)."""
    drivers = config.drivers.war_order_level
    text = (
        f"War orders: {schedule_words(drivers)}; at month {month}: "
        f"{order_words(schedule_value(drivers, month))}"
    )
    for name, unit_type in config.structure.unit_types.items():
        if unit_type.war_order_level is not None:
            level = schedule_value(unit_type.war_order_level, month)
            text += (
                f". {name.replace('_', ' ').capitalize()} units: "
                f"{schedule_words(unit_type.war_order_level)}; at month {month}: "
                f"{order_words(level)}"
            )
    return text + "."
