"""Specification of the month's schedule: one row per ODD submodel, in docs/ODD.md's order."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from simulation.model.model import SCHEDULE, ArmyModel
from tests.conftest import small_config

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def odd_schedule_rows() -> list[tuple[str, str, str]]:
    """(submodel, module file, row) of each step in docs/ODD.md §3's table, in order."""
    section = ODD.read_text(encoding="utf-8").split("## 3. Process overview and scheduling")[1]
    section = section.split("\n## ")[0]
    pattern = r"^\| \d+ \| ([^|]+) \| [^|]+ \| `simulation/model/(\w+)\.py`[^|]* \| `([\w.]+)` \|$"
    return [
        (submodel.strip(), module, row)
        for submodel, module, row in re.findall(pattern, section, flags=re.MULTILINE)
    ]


def test_schedule_follows_the_odd_process_overview_in_order() -> None:
    documented = odd_schedule_rows()
    assert len(documented) == len(SCHEDULE)
    in_code = [
        (row.submodel, row.run.__module__.rsplit(".", 1)[-1], row.function) for row in SCHEDULE
    ]
    assert in_code == documented


def test_schedule_table_lists_every_submodel_in_order() -> None:
    table = ArmyModel(small_config(), seed=1).schedule_table().splitlines()
    rows = table[2:]
    assert len(rows) == len(SCHEDULE)
    for number, (line, row) in enumerate(zip(rows, SCHEDULE, strict=True), start=1):
        assert line.split()[0] == str(number)
        assert row.submodel in line and row.function in line


def test_timing_the_schedule_changes_no_number() -> None:
    config = small_config("drivers.war_order_level=3")
    plain, timed = ArmyModel(config, seed=5), ArmyModel(config, seed=5)
    timed.schedule.timed = True
    for _ in range(4):
        plain.step()
        timed.step()
    pd.testing.assert_frame_equal(
        plain.datacollector.get_model_vars_dataframe(),
        timed.datacollector.get_model_vars_dataframe(),
    )
    assert "ms/month" in timed.schedule_table() and "ms/month" not in plain.schedule_table()
