"""Specification of the tipping-point search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulation.analysis.tipping import find_tipping_point
from simulation.cli import main
from simulation.errors import ArgumentError, ConfigError, ResultsError

FIGHT = "configs/scenarios/fight_order.yaml"
SMALL = ["population.n_officers=300", "steps=20"]


@pytest.fixture(autouse=True)
def at_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)


REFUSAL_LEVEL = 0.3
"""Peak refusal on the small force is about 0.36 at punishment 0 and 0.23 at 12 (3 seeds;
about 0.41 at 2 on the way, then falling as case capacity grows with severity): a crossing
inside the bracket that tests the search, not a fact about the model."""


def punishment_search(**changes: object):
    """Search punishment severity in [0, 12] for peak refusal crossing REFUSAL_LEVEL on a small
    force (the peak: the response to the order, before the ladder thins the refusers)."""
    arguments: dict = dict(replications=3, iterations=5, seed=1, overrides=SMALL, statistic="peak")
    arguments.update(changes)
    return find_tipping_point(
        FIGHT, "drivers.punishment_severity", 0.0, 12.0, "refuse", REFUSAL_LEVEL, **arguments
    )


def test_finds_a_crossing_inside_its_bracket() -> None:
    result = punishment_search()
    assert result.crossed
    low, high = result.bracket
    assert low <= result.estimate <= high
    assert high - low == pytest.approx(12.0 / 2**5)
    assert result.uncertain_range[0] <= result.estimate <= result.uncertain_range[1]


def test_rate_at_bracket_ends_lies_on_either_side_of_the_level() -> None:
    result = punishment_search(iterations=4)
    by_value = {probe.value: probe.mean for probe in result.probes}
    low, high = result.bracket
    assert (by_value[low] - REFUSAL_LEVEL) * (by_value[high] - REFUSAL_LEVEL) <= 0


def test_reports_no_crossing_when_the_level_is_out_of_reach() -> None:
    result = find_tipping_point(
        FIGHT,
        "drivers.punishment_severity",
        0.0,
        1.0,
        "refuse",
        0.9,
        replications=2,
        iterations=4,
        overrides=SMALL,
    )
    assert not result.crossed
    assert result.estimate is None
    assert len(result.probes) == 2


def test_same_seed_gives_the_same_tipping_point() -> None:
    def estimate() -> float | None:
        return punishment_search(replications=2, iterations=3, seed=4).estimate

    assert estimate() == estimate()


def test_unknown_metric_is_an_argument_error() -> None:
    with pytest.raises(ArgumentError, match="unknown metric 'refusal'"):
        find_tipping_point(
            FIGHT, "drivers.punishment_severity", 0, 1, "refusal", 0.5, overrides=SMALL
        )


def test_unknown_lever_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="did you mean 'punishment_severity'"):
        find_tipping_point(
            FIGHT, "drivers.punishment_severty", 0, 1, "refuse", 0.5, overrides=SMALL
        )


def test_cli_writes_json_probes_and_figure_with_two_workers(tmp_path: Path) -> None:
    out = tmp_path / "tip"
    code = main(
        [
            "tipping",
            FIGHT,
            "--lever",
            "drivers.punishment_severity",
            "--low",
            "0",
            "--high",
            "12",
            "--metric",
            "refuse",
            "--level",
            str(REFUSAL_LEVEL),
            "--statistic",
            "peak",
            "--replications",
            "2",
            "--iterations",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
            *[a for s in SMALL for a in ("--set", s)],
        ]
    )
    assert code == 0
    data = json.loads((out / "tipping.json").read_text())
    assert data["crossed"] and len(data["probes"]) == 4
    assert (out / "tipping.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "probes.csv").exists()


def test_cli_bad_range_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "tipping",
            FIGHT,
            "--lever",
            "drivers.punishment_severity",
            "--low",
            "3",
            "--high",
            "1",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    assert "--low: must be below high (1.0), got 3.0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_whole_number_lever_is_searched_over_whole_numbers() -> None:
    """War-order levels are 0-3: every probe is a whole level, the bracket ends are
    neighbours, and the tipping point is the first level past the crossing (evasion
    passes one half between the support role and border deployment)."""
    result = find_tipping_point(
        FIGHT,
        "drivers.war_order_level",
        0,
        3,
        "evade",
        0.5,
        replications=2,
        iterations=8,
        overrides=SMALL,
    )
    assert result.whole_numbers and result.crossed
    assert all(probe.value == int(probe.value) for probe in result.probes)
    low, high = result.bracket
    assert high - low == 1 and result.estimate == high


def test_nothing_is_written_when_the_search_fails_midway(tmp_path: Path) -> None:
    def broken(tasks: list) -> list:
        raise RuntimeError("a probe failed")

    with pytest.raises(RuntimeError):
        find_tipping_point(
            FIGHT,
            "drivers.punishment_severity",
            0,
            1,
            "refuse",
            0.1,
            overrides=SMALL,
            out=tmp_path / "tip",
            evaluate_many=broken,
        )
    assert not (tmp_path / "tip").exists()


def test_a_folder_of_other_results_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    calls: list = []
    with pytest.raises(ResultsError, match="holds no results"):
        find_tipping_point(
            FIGHT,
            "drivers.punishment_severity",
            0,
            1,
            "refuse",
            0.1,
            overrides=SMALL,
            out=out,
            evaluate_many=lambda tasks: calls.append(tasks) or [],
        )
    assert calls == [] and (out / "notes.txt").read_text() == "keep"


def test_the_same_search_again_replaces_its_folder_and_its_stale_report(tmp_path: Path) -> None:
    out = tmp_path / "tip"
    search = dict(replications=2, iterations=1, overrides=SMALL, out=out)
    find_tipping_point(FIGHT, "drivers.punishment_severity", 0, 12, "refuse", 0.1, **search)
    (out / "report.html").write_text("<p>old</p>")
    find_tipping_point(FIGHT, "drivers.punishment_severity", 0, 12, "refuse", 0.2, **search)
    assert not (out / "report.html").exists()
    assert json.loads((out / "tipping.json").read_text())["level"] == 0.2


def hysteresis_arguments(out: Path, *extra: str) -> list[str]:
    """A small tipping search of regime stability with its up and down sweeps."""
    return [
        "tipping",
        FIGHT,
        "--lever",
        "drivers.regime_stability",
        "--low",
        "0.2",
        "--high",
        "0.8",
        "--level",
        "0.05",
        "--replications",
        "2",
        "--iterations",
        "1",
        "--workers",
        "1",
        "--hysteresis",
        "--points",
        "3",
        "--hold",
        "2",
        "--out",
        str(out),
        *[a for s in SMALL for a in ("--set", s)],
        *extra,
    ]


def test_cli_hysteresis_reports_both_sweeps_and_writes_them_with_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tip"
    assert main(hysteresis_arguments(out, "--reverse")) == 0
    printed = capsys.readouterr().out
    assert "largest gap (down - up)" in printed and "steepness on the way" in printed
    data = json.loads((out / "hysteresis.json").read_text())
    assert data["lever"] == "drivers.regime_stability" and len(data["seeds"]) == 2
    assert (out / "hysteresis.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "hysteresis.csv").exists() and (out / "tipping.json").exists()


def test_the_same_search_without_hysteresis_removes_the_old_sweeps(tmp_path: Path) -> None:
    out = tmp_path / "tip"
    assert main(hysteresis_arguments(out)) == 0
    plain = [a for a in hysteresis_arguments(out) if a not in ("--hysteresis",)]
    plain = plain[: plain.index("--points")] + plain[plain.index("--out") :]
    assert main(plain) == 0
    assert not (out / "hysteresis.json").exists() and (out / "tipping.json").exists()


def test_cli_hysteresis_of_a_lever_that_is_not_a_driver_exits_2_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = hysteresis_arguments(tmp_path / "tip")
    arguments[arguments.index("drivers.regime_stability")] = "decision.social_weight"
    assert main(arguments) == 2
    assert "drivers." in capsys.readouterr().err
    assert not (tmp_path / "tip").exists()
