"""Hostile and careless inputs to every command give one `error:` line, exit code 2, and
leave nothing behind: no traceback, no hang, no partial folder, no changed file.

The cases are in tests/bad_inputs/hostile/cases.yaml, one class of defect after another
(files that are not regular files, oversized or deeply nested or alias-bombed YAML, long
schedules, huge expressions and designs, agent data too large to hold, names that climb
out of results/, numbers that are not numbers, damaged and misused results folders,
clusters that are not there). Each case's setup is built here, in the test's own folder;
the folder is compared before and after the command, file by file.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from simulation.cli import main
from simulation.experiments.lock import FolderLock
from simulation.experiments.sweep import run_experiment

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "configs" / "baseline.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (REPO / "tests" / "bad_inputs" / "hostile" / "cases.yaml").read_text(encoding="utf-8")
)
EXPERIMENT: dict[str, Any] = {
    "base": {"config": str(BASELINE), "overrides": {"population.n_officers": 100}},
    "vary": {"drivers.punishment_severity": [0, 1, 2]},
    "replications": 2,
    "steps": 4,
    "batch_size": 2,
}
TARGETS: dict[str, Any] = {
    "parameters": ["decision.temperature"],
    "overrides": {"population.n_officers": 100, "steps": 6},
    "abc": {"population_size": 10, "generations": 1, "max_simulations": 20},
    "predictive_draws": 2,
    "targets": {
        "t": {
            "source": "a test",
            "figure": "a share",
            "analogy": "none",
            "config": str(BASELINE),
            "overrides": {"drivers.war_order_level": 3},
            "output": "refuse",
            "value": 0.2,
            "tolerance": 0.5,
        }
    },
}
"""A small valid targets file; a case's `target` changes its one target, `targets` the rest."""
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10 if previous else ['1'] * 10)}]\n"
    for previous, name in zip(["", *"abcdef"], "abcdefg", strict=True)
)


@pytest.fixture(scope="session")
def finished_sweeps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small finished sweeps (made once): the one the cases damage, and another
    experiment whose parts are foreign to it."""
    root = tmp_path_factory.mktemp("sweeps")
    made = {}
    for name, changes in (("sweep", {}), ("other", {"vary": {"drivers.amnesty": [0, 0.5]}})):
        path = root / f"{name}_experiment.yaml"
        path.write_text(yaml.safe_dump({**EXPERIMENT, **changes}), encoding="utf-8")
        run_experiment(path, workers=1, out=root / name, progress=False, cache=False)
        made[name] = root / name
        made[f"{name}_experiment"] = path
    return made


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under `folder`: files with their size and modification time, folders
    by name (a temporary file made and removed again changes a folder's time, not what
    it holds)."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        is_folder = path.is_dir() and not path.is_symlink()
        entries[str(path.relative_to(folder))] = (
            (0, 0) if is_folder else (info.st_size, info.st_mtime_ns)
        )
    return entries


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for connection in held:
            connection.close()


def damage(kind: str, sweep: Path, sweeps: dict[str, Path]) -> Any:
    """Damage a copy of the finished sweep as a careless hand (or disk) would."""
    manifest = sweep / "manifest.json"
    first = sorted((sweep / "parts").glob("runs-*.parquet"))[0]
    if kind == "empty_manifest":
        manifest.write_text("")
    elif kind == "list_manifest":
        manifest.write_text("[1, 2]")
    elif kind == "garbage_manifest":
        manifest.write_text("{not json")
    elif kind == "bare_manifest":
        manifest.write_text('{"kind": "sweep"}')
    elif kind == "truncated_part":
        first.write_bytes(first.read_bytes()[:100])
    elif kind == "foreign_part":
        foreign = sorted((sweeps["other"] / "parts").glob("runs-*.parquet"))[0]
        shutil.copy(foreign, sweep / "parts" / "runs-0000000000-ffffffff.parquet")
    elif kind == "unsigned_part":
        table = pq.read_table(first)
        pq.write_table(table.replace_schema_metadata(None), first)
    elif kind == "misplaced_part":
        table = pq.read_table(first)
        moved = table.set_column(0, "run_index", [[index + 4 for index in range(table.num_rows)]])
        pq.write_table(moved, first)
    elif kind == "truncated_runs":
        runs = sweep / "runs.parquet"
        runs.write_bytes(runs.read_bytes()[:100])
    elif kind == "no_runs":
        (sweep / "runs.parquet").unlink()
    elif kind == "foreign_runs":
        shutil.copy(sweeps["other"] / "runs.parquet", sweep / "runs.parquet")
    elif kind == "locked":
        return FolderLock(sweep).acquire()
    return None


@pytest.fixture
def prepared(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    finished_sweeps: dict[str, Path],
) -> Iterator[dict[str, str]]:
    """Build the case's setup in tmp_path; yield the placeholders of its argv."""
    case: dict[str, Any] = request.param
    setup = case.get("setup")
    values = {
        "tmp": str(tmp_path),
        "repo": str(REPO),
        "baseline": str(BASELINE),
        "out": str(tmp_path / "out"),
        "sweep": str(tmp_path / "sweep"),
        "port": "0",
    }
    held: list[Any] = []
    ports: Iterator[int] | None = None
    experiment = {**EXPERIMENT, **case.get("experiment", {})}
    expressions = experiment.get("expressions", {})
    for key, text in expressions.items():
        if text == "long":
            expressions[key] = "+".join(["1"] * 1500)
        elif text == "deep":
            expressions[key] = "-" * 60 + "1"
    if setup in (
        "experiment",
        "other_files",
        "empty_folder",
        "run_folder",
        "garbage_scheduler_file",
        "wrong_scheduler_file",
        "listener",
        "closed_port",
    ):
        write_yaml(tmp_path / "experiment.yaml", experiment)
    if setup == "fifo":
        os.mkfifo(tmp_path / "fifo.yaml")
    elif setup == "folder":
        (tmp_path / "folder.yaml").mkdir()
    elif setup in ("symlink_loop", "extends_loop"):
        (tmp_path / "loop1.yaml").symlink_to(tmp_path / "loop2.yaml")
        (tmp_path / "loop2.yaml").symlink_to(tmp_path / "loop1.yaml")
        if setup == "extends_loop":
            write_yaml(tmp_path / "extends_loop.yaml", {"extends": "loop1.yaml"})
    elif setup == "extends_dev_zero":
        write_yaml(tmp_path / "extends_zero.yaml", {"extends": "/dev/zero"})
    elif setup == "extends_fifo":
        os.mkfifo(tmp_path / "pipe.yaml")
        write_yaml(tmp_path / "extends_fifo.yaml", {"extends": "pipe.yaml"})
    elif setup == "experiment_base_fifo":
        os.mkfifo(tmp_path / "pipe.yaml")
        write_yaml(tmp_path / "base_fifo.yaml", {**EXPERIMENT, "base": {"config": "pipe.yaml"}})
    elif setup == "experiment_scenario_zero":
        scenarios = {"zero": {"config": "/dev/zero"}}
        write_yaml(tmp_path / "scenario_zero.yaml", {**EXPERIMENT, "scenarios": scenarios})
    elif setup == "big_config":
        (tmp_path / "big.yaml").write_text("description: " + "x" * 2_000_000 + "\n")
    elif setup == "deep_yaml":
        (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    elif setup == "alias_bomb":
        (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    elif setup == "alias_bomb_experiment":
        text = yaml.safe_dump(EXPERIMENT, sort_keys=False).replace(
            "overrides:", "overrides:\n    drivers.amnesty: *g\n  unused:", 1
        )
        (tmp_path / "bomb_experiment.yaml").write_text(ALIAS_BOMB + text)
    elif setup == "recursive_alias":
        (tmp_path / "recursive.yaml").write_text("a: &a [1, *a]\n")
    elif setup == "long_schedule":
        schedule = [{"step": step, "value": 1} for step in range(20_000)]
        write_yaml(tmp_path / "schedule.yaml", {"drivers": {"war_order_level": schedule}})
    elif setup == "absolute_name_config":
        write_yaml(tmp_path / "absolute.yaml", {"extends": str(BASELINE), "name": "/tmp/x"})
    elif setup == "sweep":
        shutil.copytree(finished_sweeps["sweep"], tmp_path / "sweep")
        shutil.copy(finished_sweeps["sweep_experiment"], tmp_path / "sweep_experiment.yaml")
        held.append(damage(case.get("damage", ""), tmp_path / "sweep", finished_sweeps))
    elif setup == "run_folder":
        assert main(["run", str(BASELINE), "--steps", "2", "--out", str(tmp_path / "run")]) == 0
    elif setup == "other_files":
        (tmp_path / "mine" / "figures").mkdir(parents=True)
        (tmp_path / "mine" / "notes.txt").write_text("my notes")
        (tmp_path / "mine" / "figures" / "keep.png").write_bytes(b"png")
    elif setup == "empty_folder":
        (tmp_path / "empty").mkdir()
    elif setup == "garbage_scheduler_file":
        (tmp_path / "scheduler.json").write_text("not a scheduler file")
    elif setup == "wrong_scheduler_file":
        (tmp_path / "scheduler.json").write_text('{"address": 5}')
    elif setup == "listener":
        ports = listener()
        values["port"] = str(next(ports))
    elif setup == "closed_port":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            values["port"] = str(probe.getsockname()[1])
    if setup == "targets":
        data = {**TARGETS, **case.get("targets", {})}
        data["targets"] = {"t": {**TARGETS["targets"]["t"], **case.get("target", {})}}
        write_yaml(tmp_path / "targets.yaml", data)
    for name, content in case.get("files", {}).items():
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(fill(text, values), encoding="utf-8")
    try:
        yield values
    finally:
        for lock in held:
            if lock is not None:
                lock.release()
        if ports is not None:
            ports.close()


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def test_every_class_of_defect_has_cases() -> None:
    """The corpus keeps at least a few cases of every class, and ids are unique."""
    classes: dict[str, int] = {}
    for case in CASES:
        classes[case["class"]] = classes.get(case["class"], 0) + 1
    assert len({case["id"] for case in CASES}) == len(CASES)
    assert len(CASES) >= 80
    assert set(classes) >= {
        "file type",
        "file size",
        "yaml depth",
        "yaml aliases",
        "schedule length",
        "expression size",
        "design size",
        "agent data",
        "names",
        "wrong answers",
        "damaged results",
        "folder misuse",
        "dask",
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("case", "prepared"),
    [(case, case) for case in CASES],
    ids=[c["id"] for c in CASES],
    indirect=["prepared"],
)
def test_hostile_input_gives_one_line_exit_2_and_leaves_nothing(
    case: dict[str, Any],
    prepared: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # a default results/<name>/ would land here
    before = snapshot(tmp_path)
    capsys.readouterr()
    try:
        code = main([fill(str(part), prepared) for part in case["argv"]])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2, err or out
    assert "Traceback" not in err + out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert len(lines[0]) < 1200
    missing = [text for text in case["expect"] if fill(str(text), prepared) not in lines[0]]
    assert not missing, f"{lines[0]!r} lacks {missing}"
    assert snapshot(tmp_path) == before, "the command created or changed files"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("damaged", "message"),
    [
        ("foreign", "summary.csv does not belong to this folder's sweep"),
        ("cut", "summary.csv lacks the column(s) measure"),
    ],
)
def test_a_summary_table_that_is_not_the_folders_is_refused(
    damaged: str, message: str, finished_sweeps: dict[str, Path], tmp_path: Path
) -> None:
    """What `table`/`scenario-table` read (the fixture's sweeps lack the metrics the
    scenario table shows, so the reader is called directly)."""
    from simulation.errors import ResultsError
    from simulation.experiments.files import read_manifest
    from simulation.experiments.storage import read_summary_table

    sweep = Path(shutil.copytree(finished_sweeps["sweep"], tmp_path / "sweep"))
    if damaged == "foreign":
        shutil.copy(finished_sweeps["other"] / "summary.csv", sweep / "summary.csv")
    else:
        (sweep / "summary.csv").write_text("point,scenario\n0,baseline\n")
    with pytest.raises(ResultsError, match=re.escape(message)) as caught:
        read_summary_table(sweep, read_manifest(sweep))
    assert "summarize" in str(caught.value) or "lacks" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("punishment_severity", "../../etc/passwd"),
        ("punishment_severity", float("nan")),
        ("punishment_severity", 1e9),
        ("punishment_severity", None),
        ("punishment_severity", [1, 2]),
        ("war_order_level", 1.5),
        ("war_order_level", True),
        ("no_such_slider", 1),
    ],
)
def test_a_forged_slider_value_gets_the_pages_one_line_message(name: str, value: Any) -> None:
    """What a websocket message could put in a slider (the browser's slider never sends
    these): the page's one-line message, no traceback, the value not recorded."""
    from simulation.viz import state

    state.error.value = None
    before = dict(state.controls.value)
    state.set_control(name, value)
    assert state.controls.value == before
    message = state.error.value
    assert message and "\n" not in message and "Traceback" not in message
    assert "expected" in message or "no slider" in message
    assert "/work" not in message and ".py" not in message
    state.error.value = None


def test_a_slider_value_in_range_is_recorded() -> None:
    from simulation.viz import state

    state.error.value = None
    state.set_control("punishment_severity", 2.5)
    assert state.controls.value["punishment_severity"] == 2.5 and state.error.value is None
