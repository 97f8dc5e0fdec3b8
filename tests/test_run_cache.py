"""Specification of the run cache: a run already made (same model code, resolved config and
seed, same outputs asked for) is taken from the cache; anything else is run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import simulation.experiments.cache as cache_module
from simulation.errors import ResultsError
from simulation.experiments.cache import (
    CACHE_FILE,
    NEUTRAL_FIELDS,
    PointKey,
    canonical,
    content_checksum,
)
from simulation.experiments.sweep import FAULT_ENV, run_experiment

REPO = Path(__file__).resolve().parent.parent
BASELINE = str(REPO / "configs" / "baseline.yaml")


def experiment(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "base": {"config": BASELINE, "overrides": {"population.n_officers": 100}},
        "vary": {"drivers.punishment_severity": [0, 1]},
        "replications": 3,
        "steps": 5,
        "seed": 4,
    }
    data.update(changes)
    return data


def run(data: dict[str, Any], **options: Any) -> Any:
    return run_experiment(data, workers=1, progress=False, **options)


def outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """Identity and outcome columns, keyed by point values and replication."""
    return table.drop(columns=["run_index", "point"]).sort_values(
        ["drivers.punishment_severity", "replication"], ignore_index=True
    )


def test_a_repeated_sweep_takes_every_run_from_the_cache(tmp_path: Path) -> None:
    first = run(experiment(), cache=tmp_path / "cache")
    again = run(experiment(), cache=tmp_path / "cache")
    assert (first.report.cached, again.report.cached) == (0, 6)
    pd.testing.assert_frame_equal(first.runs, again.runs)


def test_an_extended_sweep_runs_only_what_is_new(tmp_path: Path) -> None:
    """One more value and one more replication: the six runs made before come from the
    cache (their seeds follow their design point and replication), the six new ones run."""
    small = run(experiment(), cache=tmp_path / "cache")
    large = run(
        experiment(vary={"drivers.punishment_severity": [0, 1, 2]}, replications=4),
        cache=tmp_path / "cache",
    )
    assert (large.report.cached, large.report.ran) == (6, 12)
    old = outcomes(small.runs)
    new = outcomes(large.runs)
    kept = new.merge(old[["drivers.punishment_severity", "replication"]])
    pd.testing.assert_frame_equal(kept, old)


def test_another_config_misses_the_cache(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    changed = experiment()
    changed["base"]["overrides"]["drivers.war_order_level"] = 3
    assert run(changed, cache=tmp_path / "cache").report.cached == 0


def test_the_choice_of_kernel_shares_the_cache(tmp_path: Path) -> None:
    """numba's kernels give the numpy path's numbers exactly: one cache serves both."""
    run(experiment(), cache=tmp_path / "cache")
    other = experiment()
    other["base"]["overrides"]["performance.kernel"] = "numpy"
    assert run(other, cache=tmp_path / "cache").report.cached == 6


def test_other_outputs_miss_the_cache(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    assert run(experiment(record_every=2), cache=tmp_path / "cache").report.cached == 0


def test_another_code_version_misses_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(experiment(), cache=tmp_path / "cache")
    monkeypatch.setattr(cache_module, "code_version", lambda: "a-changed-model")
    assert run(experiment(), cache=tmp_path / "cache").report.cached == 0


def test_failed_runs_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "2:raise")
    run(experiment(), cache=tmp_path / "cache")
    monkeypatch.delenv(FAULT_ENV)
    again = run(experiment(), cache=tmp_path / "cache")
    assert again.report.cached == 5
    assert (again.runs["status"] == "ok").all()


def test_the_default_cache_lives_in_the_users_cache_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run(experiment())
    assert (tmp_path / "xdg" / "reluctant-army" / CACHE_FILE).exists()
    assert run(experiment()).report.cached == 6


def test_no_cache_neither_reads_nor_fills_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run(experiment(), cache=False)
    assert not (tmp_path / "xdg").exists()
    run(experiment())
    assert run(experiment(), cache=False).report.cached == 0


def test_the_cache_can_be_turned_off_for_a_whole_session(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RELUCTANT_ARMY_CACHE", "off")
    run(experiment())
    assert not (tmp_path / "xdg").exists()


def test_a_damaged_cache_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    result = run(experiment(), cache=tmp_path / "cache")
    assert (result.runs["status"] == "ok").all() and result.report.cached == 0
    assert "run cache" in caplog.text and "cannot be used" in caplog.text


def test_cached_runs_are_marked_in_the_timings(tmp_path: Path) -> None:
    run(experiment(), cache=tmp_path / "cache")
    out = tmp_path / "out"
    run(experiment(), cache=tmp_path / "cache", out=out)
    assert set(pd.read_parquet(out / "timings.parquet")["worker"]) == {"cache"}


def test_the_cache_command_shows_and_clears_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulation.cli import main

    run(experiment(), cache=tmp_path / "cache")
    assert main(["cache", "--cache", str(tmp_path / "cache")]) == 0
    assert ": 6 run(s)" in capsys.readouterr().out
    assert main(["cache", "--cache", str(tmp_path / "cache"), "--clear"]) == 0
    assert ": 0 run(s)" in capsys.readouterr().out


def test_experiment_file_cache_option_through_the_command_line(tmp_path: Path) -> None:
    from simulation.cli import main

    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(experiment()), encoding="utf-8")
    common = ["--workers", "1", "--no-progress", "--cache", str(tmp_path / "c")]
    assert main(["sweep", str(path), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["sweep", str(path), "--out", str(tmp_path / "b"), *common]) == 0
    assert set(pd.read_parquet(tmp_path / "b" / "timings.parquet")["worker"]) == {"cache"}


# ------------------------------------------------------------------ what the key holds


def _paths(data: Any, prefix: str = "") -> set[str]:
    """Every dotted path of a nested mapping (sections and leaves)."""
    found = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            found.add(path)
            found |= _paths(value, path + ".")
    return found


def test_every_schema_field_is_in_the_key_or_proven_neutral() -> None:
    """Each config field (schema_rows) is either in the key material or listed neutral; a
    new field lands in the key unless someone lists it (and proves it) below."""
    from simulation.config.docs import schema_rows
    from simulation.config.schema import DEFAULT_DATA

    material = json.loads(PointKey.of(DEFAULT_DATA, {}).material)
    keyed = _paths(material["config"])
    fields = [row["key"] for row in schema_rows()]
    assert len(fields) > 100
    for name in fields:
        assert (name in keyed) != (name in NEUTRAL_FIELDS), name
    assert set(NEUTRAL_FIELDS) <= set(fields), "a neutral field that the schema lacks"


def test_lag_reference_is_in_the_key(tmp_path: Path) -> None:
    """Two sweeps differing only in output.lag_reference share no run (it moves every
    at_order_plus_<lag> outcome)."""
    changing = {
        "drivers.war_order_level": [
            {"step": 0, "value": 1},
            {"step": 2, "value": 3},
            {"step": 3, "value": 2},
        ]
    }
    first = experiment()
    first["base"]["overrides"].update(changing)
    second = experiment()
    second["base"]["overrides"].update({**changing, "output.lag_reference": "last_change"})
    made = run(first, cache=tmp_path / "cache")
    served = run(second, cache=tmp_path / "cache")
    fresh = run(second, cache=False)
    assert served.report.cached == 0
    pd.testing.assert_frame_equal(served.runs, fresh.runs)
    lagged = [column for column in made.runs if column.startswith("at_order_plus_")]
    assert not made.runs[lagged].equals(fresh.runs[lagged]), "the setting should matter here"


NEUTRAL_CHANGES: dict[str, Any] = {
    "name": "another_name",
    "description": "another description",
    "seed": 987654,
    "output.collect_agent_data": True,
    "output.figure": False,
    "performance.kernel": "numpy",
    "performance.numba_from_officers": 0,
}


def test_every_neutral_field_has_a_proof() -> None:
    assert set(NEUTRAL_CHANGES) == set(NEUTRAL_FIELDS)


@pytest.mark.parametrize("name", sorted(NEUTRAL_CHANGES))
def test_a_neutral_field_leaves_a_sweep_runs_numbers_unchanged(name: str) -> None:
    """A design point run as a sweep runs it, with and without the field changed (the config
    given to the run as is: collect_agent_data is not turned off here), gives the same row."""
    from simulation.config.loading import apply_overrides, validate_config
    from simulation.config.schema import DEFAULT_DATA
    from simulation.experiments.design import DEFAULT_METRICS
    from simulation.experiments.runner import outcome_measures
    from simulation.experiments.sweep import run_one

    base = apply_overrides(
        DEFAULT_DATA,
        {
            "population.n_officers": 120,
            "steps": 8,
            "drivers.war_order_level": [{"step": 0, "value": 1}, {"step": 3, "value": 3}],
        },
    )
    spec = {
        "run_index": 0,
        "point": 0,
        "scenario": "s",
        "replication": 0,
        "seed": 31,
        "parameters": {},
    }
    rows = []
    for data in (base, apply_overrides(base, {name: NEUTRAL_CHANGES[name]})):
        config = validate_config(data, "test")
        metrics = list(DEFAULT_METRICS)
        task = {
            "metrics": metrics,
            "measures": outcome_measures(config),
            "stop": None,
            "record_every": 1,
        }
        row, series = run_one(spec, config, task)
        rows.append(({k: v for k, v in row.items() if k not in ("seconds", "worker")}, series))
    assert canonical(rows[0]) == canonical(rows[1])  # NaN (a lag not reached) equals NaN


# ------------------------------------------------------------------ entries prove themselves


def _entries(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / CACHE_FILE) as connection:
        return connection.execute("SELECT key, value FROM runs ORDER BY key").fetchall()


def _set_entry(folder: Path, key: str, value: str) -> None:
    with sqlite3.connect(folder / CACHE_FILE) as connection:
        connection.execute("UPDATE runs SET value = ? WHERE key = ?", (value, key))


def _poison(value: str) -> str:
    """An entry whose numbers and identity were edited by hand (the checksum left as is)."""
    entry = json.loads(value)
    entry["content"]["outcomes"] = {k: 0.5 for k in entry["content"]["outcomes"]}
    entry["content"]["outcomes"]["seed"] = 12345
    entry["content"]["outcomes"]["scenario"] = "EVIL"
    return json.dumps(entry)


def _resealed(value: str) -> str:
    """An entry moved to another seed with its checksum recomputed: the seed it names is
    not the one requested."""
    entry = json.loads(value)
    entry["seed"] += 1
    entry["checksum"] = content_checksum(entry["point"], entry["seed"], entry["content"])
    return json.dumps(entry)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_poison, id="edited_numbers_and_identity"),
        pytest.param(_resealed, id="another_seed_resealed"),
        pytest.param(lambda value: "{}", id="empty_mapping"),
        pytest.param(lambda value: "null", id="null"),
        pytest.param(lambda value: "[1, 2]", id="list"),
        pytest.param(lambda value: value[: len(value) // 2], id="truncated_json"),
        pytest.param(lambda value: value.replace('"format":2', '"format":"2"'), id="wrong_format"),
    ],
)
def test_a_damaged_entry_is_a_miss_with_one_warning(
    damage: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = run(experiment(), cache=tmp_path / "cache")
    key, value = _entries(tmp_path / "cache")[0]
    _set_entry(tmp_path / "cache", key, damage(value))
    caplog.clear()
    again = run(experiment(), cache=tmp_path / "cache")
    assert (again.report.cached, again.report.ran) == (5, 6)
    pd.testing.assert_frame_equal(again.runs, first.runs)
    warnings = [r.getMessage() for r in caplog.records if "failed its checks" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    assert "\n" not in warnings[0]
    assert run(experiment(), cache=tmp_path / "cache").report.cached == 6, "not replaced"


def test_a_point_whose_stored_settings_were_edited_is_a_miss(tmp_path: Path) -> None:
    """(One batch: the runs made again store the point's settings anew.)"""
    run(experiment(batch_size=6), cache=tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / CACHE_FILE) as connection:
        connection.execute("UPDATE points SET material = material || ' '")
    assert run(experiment(batch_size=6), cache=tmp_path / "cache").report.cached == 0


# ------------------------------------------------------------------ stale workers


def test_a_result_from_other_code_is_neither_recorded_nor_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: the worker reports another code version than the sweep's."""
    import simulation.experiments.sweep as sweep_module

    monkeypatch.setattr(sweep_module.SweepDriver, "version", "the-sweeps-version", raising=False)
    original = sweep_module.SweepDriver.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.version = "the-sweeps-version"

    monkeypatch.setattr(sweep_module.SweepDriver, "__init__", init)
    with pytest.raises(ResultsError, match="other code than this sweep's") as caught:
        run(experiment(), cache=tmp_path / "cache", out=tmp_path / "out")
    assert "neither recorded nor cached" in str(caught.value)
    assert not list((tmp_path / "out" / "parts").glob("runs-*.parquet"))
    monkeypatch.undo()
    assert run(experiment(), cache=tmp_path / "cache").report.cached == 0


@pytest.mark.timeout(300)
def test_a_dask_worker_on_older_code_has_its_results_refused(tmp_path: Path) -> None:
    """A LocalCluster worker whose code version is an older one (as after an edit the worker
    did not see): the sweep names the worker, records nothing, and the cache stays empty."""
    from distributed import Client, LocalCluster

    def older_code() -> None:
        import simulation.experiments.cache as on_worker

        on_worker.code_version = lambda: "an-older-version"

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(older_code)
        with pytest.raises(ResultsError, match="other code than this sweep's"):
            run_experiment(
                experiment(),
                scheduler=cluster.scheduler_address,
                out=tmp_path / "out",
                cache=tmp_path / "cache",
                progress=False,
            )
    assert not list((tmp_path / "out" / "parts").glob("runs-*.parquet"))
    assert _entries(tmp_path / "cache") == []
