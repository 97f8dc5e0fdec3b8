"""How long a sweep waits, by default (a module of constants: the command line's help
reads them without importing anything heavy)."""

DEFAULT_RUN_TIMEOUT = 3600.0
"""Seconds a run may take before it is stopped and recorded as failed."""

DEFAULT_SCHEDULER_TIMEOUT = 30.0
"""Seconds to wait for a Dask scheduler to answer, at connection and after losing it."""

DEFAULT_STALL_TIMEOUT = 60.0
"""Seconds a local worker may go without a heartbeat before it is called stalled (stopped,
or frozen): its batches are taken from it and retried, whatever the run timeout."""

HEARTBEAT_SECONDS = 1.0
"""How often a local worker's heartbeat thread says it is alive."""
