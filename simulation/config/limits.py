"""Bounds on every resource an input controls, so that no file or experiment can hang the
program or exhaust memory before it is refused.

Each limit has a default and an environment variable that raises (or lowers) it, read when
the limit is checked, so it applies to the command line and the Python API alike::

    RELUCTANT_ARMY_MAX_DESIGN_POINTS=500000 reluctant-army sweep big.yaml

Messages name the limit, the value found and the variable to set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from simulation.errors import ConfigError

ENV_PREFIX = "RELUCTANT_ARMY_MAX_"


@dataclass(frozen=True)
class Limit:
    """One bound: its name in messages, default, unit and the variable that changes it."""

    name: str
    default: int
    unit: str
    description: str

    @property
    def variable(self) -> str:
        """The environment variable that sets this limit."""
        return ENV_PREFIX + self.name.upper()

    @property
    def value(self) -> int:
        """The limit in force: the environment variable if set to a positive whole number,
        else the default."""
        raw = os.environ.get(self.variable, "").strip().replace("_", "")
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        return self.default

    def exceeded(self, found: str) -> str:
        """The sentence for an input beyond this limit."""
        return (
            f"{found}: the limit is {self.value:,} {self.unit} "
            f"(set the environment variable {self.variable} to raise it)"
        )


FILE_BYTES = Limit("file_bytes", 1_000_000, "bytes", "size of a config or experiment file")
YAML_DEPTH = Limit("yaml_depth", 50, "levels", "nesting depth of YAML data")
YAML_NODES = Limit(
    "yaml_nodes", 1_000_000, "values", "values in YAML data once its aliases are expanded"
)
SCHEDULE_ENTRIES = Limit("schedule_entries", 10_000, "entries", "entries of one driver schedule")
DESIGN_POINTS = Limit("design_points", 100_000, "design points", "design points of an experiment")
RUNS = Limit("runs", 10_000_000, "runs", "runs of an experiment (points x replications)")
EXPRESSION_LENGTH = Limit("expression_length", 1_000, "characters", "length of an expression")
AGENT_RECORDS = Limit(
    "agent_records",
    10_000_000,
    "agent-steps",
    "officers x recorded steps of agent-level data in one run",
)

ALL: tuple[Limit, ...] = (
    FILE_BYTES,
    YAML_DEPTH,
    YAML_NODES,
    SCHEDULE_ENTRIES,
    DESIGN_POINTS,
    RUNS,
    EXPRESSION_LENGTH,
    AGENT_RECORDS,
)

AGENT_RECORD_BYTES = 450
"""Approximate memory of one officer's record at one step while Mesa's DataCollector holds
it and pandas turns it into a table (measured: peak memory grew by about 450 bytes per
record at 20,000 officers x 51 steps)."""


def check_agent_data(n_officers: int, steps: int, collect: bool, source: str | None) -> None:
    """Refuse, before the run, agent-level data too large to hold in memory."""
    if not collect:
        return
    records = n_officers * (steps + 1)
    if records > AGENT_RECORDS.value:
        memory = records * AGENT_RECORD_BYTES / 1e9
        raise ConfigError(
            AGENT_RECORDS.exceeded(
                f"agent-level data of {n_officers:,} agents x {steps + 1:,} steps is "
                f"{records:,} records (about {memory:,.1f} GB in memory)"
            )
            + "; turn it off, or record fewer officers or steps",
            source,
            "output.collect_agent_data",
        )
