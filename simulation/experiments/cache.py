"""The run cache: a run already made is not made again.

A run's outcome is a function of the model's code, its resolved config and its seed (and
of what the sweep records: metrics, series thinning, early stop). The cache stores each
successful run's outcome row and thinned series under a hash of exactly these, so a
repeated sweep, a sweep extended with more values or replications (run seeds derive from
each design point's identity, not from its place in the design), or one run again with
``overwrite`` runs only what is new. Failed runs are never cached.

The code version hashes the source of every module that shapes a run's numbers (the model,
the config schema and loading, the runner and the sweep's reduction, the vocabulary) with
the versions of Python, numpy, scipy and Mesa: any change to them is a new version and
misses the cache. The cache is one SQLite file (``runs.sqlite``), safe for concurrent
sweeps; by default it lives in the user's cache folder (``$XDG_CACHE_HOME/reluctant-army``
on Linux; the environment variable ``RELUCTANT_ARMY_CACHE`` names another folder, or
"off"). A cache that cannot be used (a read-only folder, a damaged file) is skipped with
a warning: it never fails a sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import sys
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_FILE = "runs.sqlite"
SOURCES: tuple[str, ...] = (
    "model",
    "config/schema.py",
    "config/loading.py",
    "experiments/runner.py",
    "experiments/sweep.py",
    "vocabulary.py",
)
"""Parts of the package (relative to it) whose source makes up the code version."""
IGNORED_CONFIG_KEYS: frozenset[str] = frozenset(
    {"name", "description", "seed", "output", "performance"}
)
"""Config keys that do not change a sweep run's numbers (the run seed replaces `seed`; the
kernels of `performance` give exactly the numpy path's numbers, tests/test_kernels.py)."""


CACHE_ENV = "RELUCTANT_ARMY_CACHE"
"""Environment variable: the default cache folder, or "off" to use no cache by default."""
OFF: frozenset[str] = frozenset({"off", "no", "false", "0", "none"})


def default_cache_dir() -> Path | None:
    """The default cache folder: $RELUCTANT_ARMY_CACHE if set (None if it says "off"),
    else the user's cache folder (which honours XDG_CACHE_HOME on Linux)."""
    import platformdirs

    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() in OFF:
        return None
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("reluctant-army", appauthor=False))


@cache
def code_version() -> str:
    """Hash of the source that shapes a run's numbers and of the numeric libraries."""
    import mesa
    import numpy
    import scipy

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for entry in SOURCES:
        target = package / entry
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in files:
            digest.update(str(path.relative_to(package)).encode("utf-8"))
            digest.update(path.read_bytes())
    versions = (sys.version_info[:2], numpy.__version__, scipy.__version__, mesa.__version__)
    digest.update(repr(versions).encode("utf-8"))
    return digest.hexdigest()[:20]


def point_key_prefix(config: dict[str, Any], settings: dict[str, Any]) -> str:
    """The part of a run's cache key shared by all runs of a design point: code version,
    resolved config (minus what does not change the numbers) and the recording settings."""
    relevant = {key: value for key, value in config.items() if key not in IGNORED_CONFIG_KEYS}
    text = json.dumps([code_version(), relevant, settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_key(prefix: str, seed: int) -> str:
    """A run's cache key: its point's prefix and its seed."""
    return hashlib.sha256(f"{prefix}:{int(seed)}".encode()).hexdigest()


class RunCache:
    """Outcomes of earlier runs, by key (see :func:`run_key`)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self._connection: sqlite3.Connection | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.folder / CACHE_FILE, timeout=60.0)
            connection.execute(
                "CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            connection.commit()
            self._connection = connection
        except (OSError, sqlite3.Error) as error:
            self._give_up(error)

    @property
    def usable(self) -> bool:
        """Whether the cache is open (a failure to open or use it turns it off)."""
        return self._connection is not None

    def _give_up(self, error: Exception) -> None:
        log.warning(
            "warning: the run cache in %s cannot be used (%s); running without it",
            self.folder,
            error,
        )
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Stored outcomes of those keys that are in the cache."""
        if self._connection is None or not keys:
            return {}
        found: dict[str, dict[str, Any]] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._connection.execute(
                    f"SELECT key, value FROM runs WHERE key IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                found.update((key, json.loads(value)) for key, value in rows)
        except (sqlite3.Error, ValueError) as error:
            self._give_up(error)
            return {}
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def store(self, entries: dict[str, dict[str, Any]]) -> None:
        """Remember successful runs' outcomes."""
        if self._connection is None or not entries:
            return
        try:
            with self._connection:
                self._connection.executemany(
                    "INSERT OR REPLACE INTO runs (key, value) VALUES (?, ?)",
                    [(key, json.dumps(value)) for key, value in entries.items()],
                )
        except sqlite3.Error as error:
            self._give_up(error)

    def size(self) -> tuple[int, int]:
        """Entries and bytes on disk."""
        entries = 0
        if self._connection is not None:
            try:
                entries = self._connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.Error:
                entries = 0
        path = self.folder / CACHE_FILE
        return entries, path.stat().st_size if path.exists() else 0

    def clear(self) -> None:
        """Forget every stored run."""
        if self._connection is not None:
            with self._connection:
                self._connection.execute("DELETE FROM runs")
            self._connection.execute("VACUUM")

    def close(self) -> None:
        """Close the database."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def open_cache(cache: bool | str | Path | None) -> RunCache | None:
    """The cache a sweep uses: None or True for the default folder (see
    :func:`default_cache_dir`), a folder, or False for none."""
    if cache is False:
        return None
    folder = default_cache_dir() if cache is None or cache is True else Path(cache)
    if folder is None:
        return None
    store = RunCache(folder)
    return store if store.usable else None
