"""The run cache: a run already made is not made again, and a stored run is served only if
it proves to be the run asked for.

A run's outcome is a function of the model's code, its resolved config and its seed (and
of what the sweep records: metrics, series thinning, early stop). The cache key hashes all
of them: the whole resolved config except the fields listed in :data:`NEUTRAL_FIELDS`,
each of which is proven not to change a sweep run's numbers (tests/test_run_cache.py
enumerates every schema field, so that a new field is in the key unless it is listed
here, and re-runs a design point with each neutral field changed). A repeated sweep, a
sweep extended with more values or replications (run seeds derive from each design
point's identity, not from its place in the design), or one run again with ``overwrite``
then runs only what is new. Failed runs are never cached.

Every entry carries its key material (the design point's material is stored once, in the
``points`` table, under its own hash) and a checksum of its content. On lookup the
material must equal the request's, the seed the requested seed, the checksum the content,
and the content must have exactly the outcome columns asked for: an entry that fails any
check (edited, truncated, from another setting, or malformed: ``{}``, ``null``, a list)
is a miss, run again and replaced, with one warning line per sweep. Never a served number.

The code version hashes the source of every module that shapes a run's numbers (the model,
the config schema and loading, the runner and the sweep's reduction, the vocabulary) with
the versions of Python, numpy, scipy and Mesa: any change to them is a new version and
misses the cache. A process fixes its version when it loads the sweep's code (see
:mod:`simulation.experiments.sweep`), so a worker that outlives an edit reports the code
it runs, not the files on disk. The cache is one SQLite file (``runs.sqlite``), safe for
concurrent sweeps; by default it lives in the user's cache folder
(``$XDG_CACHE_HOME/reluctant-army`` on Linux; the environment variable
``RELUCTANT_ARMY_CACHE`` names another folder, or "off"). A cache that cannot be used (a
read-only folder, a damaged file) is skipped with a warning: it never fails a sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_FILE = "runs.sqlite"
ENTRY_FORMAT = 2
"""Layout of an entry: 2 = key material by reference, seed, content and its checksum."""
SOURCES: tuple[str, ...] = (
    "model",
    "config/schema.py",
    "config/loading.py",
    "experiments/runner.py",
    "experiments/sweep.py",
    "vocabulary.py",
)
"""Parts of the package (relative to it) whose source makes up the code version."""
NEUTRAL_FIELDS: dict[str, str] = {
    "name": "a label; it names a results folder, never enters a run",
    "description": "free text",
    "seed": "every run of a sweep (or probe of a search) gets its own seed, which replaces "
    "the config's",
    "output.collect_agent_data": "a sweep never collects agent data (it is turned off for "
    "every design point), and collecting it draws no random number",
    "output.figure": "whether `run` draws a PNG; a sweep draws none",
    "performance.kernel": "numba's kernels give the numpy path's numbers bit for bit "
    "(tests/test_kernels.py)",
    "performance.numba_from_officers": "only chooses between the two kernels above",
}
"""Config fields (dotted) left out of the cache key, each with why it cannot change a
sweep run's numbers. Every other field, present or future, is in the key."""


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
    """Hash of the source that shapes a run's numbers and of the numeric libraries (fixed
    at a process's first call: the sweep module calls it when it is loaded)."""
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


def canonical(data: Any) -> str:
    """One text for equal data: sorted keys, no spaces (what hashes and checksums read)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def digest(text: str) -> str:
    """SHA-256 of a text, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def without_neutral(config: dict[str, Any]) -> dict[str, Any]:
    """The resolved config less the fields of :data:`NEUTRAL_FIELDS`."""
    kept = json.loads(canonical(config))
    for dotted in NEUTRAL_FIELDS:
        *parents, leaf = dotted.split(".")
        section = kept
        for name in parents:
            section = section.get(name) if isinstance(section, dict) else None
        if isinstance(section, dict):
            section.pop(leaf, None)
    return kept


@dataclass(frozen=True)
class PointKey:
    """What every run of a design point shares in its key: the material and its hash."""

    material: str
    key: str

    @classmethod
    def of(cls, config: dict[str, Any], settings: dict[str, Any]) -> PointKey:
        """The point's key from its resolved config and the sweep's recording settings."""
        material = canonical(
            {
                "code_version": code_version(),
                "config": without_neutral(config),
                "settings": settings,
            }
        )
        return cls(material, digest(material))

    def run_key(self, seed: int) -> str:
        """A run's cache key: its point's key and its seed."""
        return digest(f"{self.key}:{int(seed)}")


def content_checksum(point: str, seed: int, content: Any) -> str:
    """The checksum an entry carries: of its point's key, its seed and its content."""
    return digest(canonical([point, int(seed), content]))


@dataclass(frozen=True)
class Request:
    """One run asked of the cache."""

    point: PointKey
    seed: int

    @property
    def key(self) -> str:
        """The run's cache key."""
        return self.point.run_key(self.seed)


class RunCache:
    """Outcomes of earlier runs, each under its key and proving itself when read."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self.rejected = 0
        self.first_rejection = ""
        self._connection: sqlite3.Connection | None = None
        self._materials: dict[str, str | None] = {}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.folder / CACHE_FILE, timeout=60.0)
            with connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS points "
                    "(key TEXT PRIMARY KEY, material TEXT NOT NULL)"
                )
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

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        if not self.first_rejection:
            self.first_rejection = reason

    def _material(self, point: str) -> str | None:
        """The stored material of a point's key, if it hashes to that key."""
        if point not in self._materials:
            assert self._connection is not None
            row = self._connection.execute(
                "SELECT material FROM points WHERE key = ?", (point,)
            ).fetchone()
            text = row[0] if row and isinstance(row[0], str) else None
            self._materials[point] = text if text is not None and digest(text) == point else None
        return self._materials[point]

    def _proven(
        self, request: Request, value: Any, check: Callable[[Any], str | None]
    ) -> dict[str, Any] | None:
        """The entry's content if it proves to be the run requested, else None (noted)."""
        try:
            entry = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or set(entry) != {
            "format",
            "point",
            "seed",
            "content",
            "checksum",
        }:
            self._reject("not an entry of this cache's layout")
            return None
        seed = entry["seed"]
        if entry["format"] != ENTRY_FORMAT:
            reason = f"entry layout {entry['format']!r}, expected {ENTRY_FORMAT}"
        elif entry["point"] != request.point.key:
            reason = "its design point is not the one requested"
        elif isinstance(seed, bool) or not isinstance(seed, int) or seed != request.seed:
            reason = f"its seed {seed!r} is not the requested {request.seed}"
        elif entry["checksum"] != content_checksum(entry["point"], seed, entry["content"]):
            reason = "its content does not match its checksum (edited or damaged)"
        elif self._material(request.point.key) != request.point.material:
            reason = "its stored settings are not the requested ones"
        else:
            reason = check(entry["content"])
        if reason is not None:
            self._reject(reason)
            return None
        return entry["content"]

    def lookup(
        self, requests: list[Request], check: Callable[[Any], str | None]
    ) -> dict[str, dict[str, Any]]:
        """Stored contents of those runs the cache holds and that prove themselves (by their
        key); `check` names what is wrong with a content of the wrong shape, or None."""
        if self._connection is None or not requests:
            return {}
        wanted = {request.key: request for request in requests}
        found: dict[str, dict[str, Any]] = {}
        keys = list(wanted)
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._connection.execute(
                    f"SELECT key, value FROM runs WHERE key IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                for key, value in rows:
                    content = self._proven(wanted[key], value, check)
                    if content is not None:
                        found[key] = content
        except sqlite3.Error as error:
            self._give_up(error)
            return {}
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def store(self, entries: list[tuple[Request, dict[str, Any]]]) -> None:
        """Remember successful runs' outcomes (replacing any entry that failed its checks)."""
        if self._connection is None or not entries:
            return
        points = {request.point.key: request.point.material for request, _ in entries}
        rows = [
            (
                request.key,
                canonical(
                    {
                        "format": ENTRY_FORMAT,
                        "point": request.point.key,
                        "seed": int(request.seed),
                        "content": content,
                        "checksum": content_checksum(request.point.key, request.seed, content),
                    }
                ),
            )
            for request, content in entries
        ]
        try:
            with self._connection:
                self._connection.executemany(
                    "INSERT OR REPLACE INTO points (key, material) VALUES (?, ?)",
                    list(points.items()),
                )
                self._connection.executemany(
                    "INSERT OR REPLACE INTO runs (key, value) VALUES (?, ?)", rows
                )
            self._materials.update(points)
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
                self._connection.execute("DELETE FROM points")
            self._connection.execute("VACUUM")
            self._materials.clear()

    def warn_rejections(self) -> None:
        """One warning line for every entry that failed its checks since the last call."""
        if self.rejected:
            log.warning(
                "warning: the run cache in %s held %d entr%s that failed %s checks (first: "
                "%s); %s run again, not taken from the cache",
                self.folder,
                self.rejected,
                "y" if self.rejected == 1 else "ies",
                "its" if self.rejected == 1 else "their",
                self.first_rejection,
                "it was" if self.rejected == 1 else "they were",
            )
        self.rejected = 0
        self.first_rejection = ""

    def close(self) -> None:
        """Close the database."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def plain_number(value: Any) -> bool:
    """Whether a cached value is a number (or missing), as an outcome may be."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


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
