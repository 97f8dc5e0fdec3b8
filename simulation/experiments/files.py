"""Writing results to disk: atomic files, so that a result is there whole or not at all,
and claims on results folders, so that no writer replaces results it does not own.

Shared plumbing of every module that owns a results file; it owns no file itself.
Files are created with the permissions the user's umask gives (readable by others where
the umask allows), not the 0600 of a bare temporary file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulation.errors import ResultsError, one_line
from simulation.experiments.lock import FolderLock
from simulation.vocabulary import package_versions

MANIFEST = "manifest.json"
"""Every results folder has one; its `kind` says what wrote the folder."""

KINDS: tuple[str, ...] = (
    "run",
    "sweep",
    "sensitivity",
    "tipping",
    "discovery",
    "ensemble",
    "calibration",
)

DERIVED_FILES: tuple[str, ...] = ("report.html",)
"""Files derived from a folder's results by other commands (a report): stale once the
results are replaced, so every writer removes them when it rewrites a folder."""


def _umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of every results file: what `open()` would give under the user's umask now."""
    return 0o666 & ~_umask()


def prepare_folder(path: str | Path) -> Path:
    """Create the output folder, or fail with a readable ResultsError."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ResultsError(f"cannot create the results folder ({reason})", folder) from None
    if not os.access(folder, os.W_OK):
        raise ResultsError("the results folder is not writable", folder)
    return folder


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write via a temporary file in the same folder, then rename over `path`."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:  # a folder that is not there, not writable, or /proc
        raise ResultsError(f"cannot write {path.name} ({error.strerror})", path.parent) from None
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ResultsError(f"cannot write {path.name} ({error.strerror})", path.parent) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a text file."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    """Atomically write JSON (indented, keys in insertion order)."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def new_manifest(kind: str, **fields: Any) -> dict[str, Any]:
    """The common head of every manifest: kind, time of creation, package versions."""
    if kind not in KINDS:
        raise ValueError(f"unknown results kind {kind!r}")
    return {
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "writer": writer(),
        **fields,
    }


def writer() -> dict[str, Any]:
    """Who writes a folder now (named when another process finds the folder locked)."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A results folder's manifest, or a ResultsError saying why it cannot be read."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ResultsError("results folder not found", folder)
    if not path.is_file():
        raise ResultsError(f"not a results folder (no {MANIFEST})", folder)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"cannot read {MANIFEST} ({error})", folder) from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in KINDS:
        raise ResultsError(
            f"{MANIFEST} names no known kind of results ({', '.join(KINDS)})", folder
        )
    return manifest


def read_table(
    folder: str | Path, name: str, *, columns: Iterable[str] = (), hint: str = ""
) -> Any:
    """A results table (Parquet or CSV) as a DataFrame, or a ResultsError naming the file
    when it is missing, damaged or lacks a column it must have (a folder edited by hand, a
    truncated copy)."""
    import pandas as pd

    path = Path(folder) / name
    if not path.is_file():
        raise ResultsError(f"no {name}{': ' + hint if hint else ''}", folder)
    try:
        table = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
    except Exception as error:  # noqa: BLE001 - pyarrow and pandas raise many kinds
        reason = one_line(f"{type(error).__name__}: {error}")[:200]
        raise ResultsError(
            f"{name} is damaged ({reason}){': ' + hint if hint else ''}", folder
        ) from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ResultsError(f"{name} lacks the column(s) {', '.join(missing)}", folder)
    return table


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise ResultsError(f"cannot read the results folder ({error.strerror})", folder) from None


def _held_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a folder's results, or None when it holds none that can be read."""
    try:
        return read_manifest(folder)
    except ResultsError:
        return None


def _check_writable(folder: Path) -> None:
    """Fail before any work if `folder` could not be created or written."""
    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_folder = existing.is_dir()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ResultsError(f"cannot create the results folder ({reason})", folder) from None
    if not is_folder:
        raise ResultsError(f"cannot create the results folder ({existing} is a file)", folder)
    if not os.access(existing, os.W_OK | os.X_OK):
        what = (
            "the results folder is not writable"
            if existing == folder
            else (f"cannot create the results folder ({existing} is not writable)")
        )
        raise ResultsError(what, folder)


def check_folder(
    path: str | Path, kind: str, same: Callable[[dict[str, Any]], bool], *, overwrite: bool
) -> bool:
    """Whether `path` may receive results of `kind` (raise ResultsError if not): it is
    missing or empty, or holds results of the same kind that are the same (`same(manifest)`,
    e.g. the same config: they are replaced), or, with `overwrite`, any results of that
    kind. A folder of other files or of another kind of results is never written into.

    Returns whether the folder already holds results (that a writer will replace).
    """
    folder = Path(path)
    _check_writable(folder)
    if not _entries(folder):
        return False
    manifest = _held_manifest(folder)
    if manifest is None:
        raise ResultsError(
            f"the results folder is not empty and holds no results (no readable {MANIFEST}): "
            "choose another folder",
            folder,
            remedies=("out",),
        )
    if manifest["kind"] != kind:
        raise ResultsError(
            f"the results folder holds a {manifest['kind']}, not a {kind}: choose another folder",
            folder,
            remedies=("out",),
        )
    if not overwrite and not same(manifest):
        raise ResultsError(
            f"the results folder holds another {kind} ({describe_manifest(manifest)}): choose "
            "another folder, or replace it",
            folder,
            remedies=("out", "overwrite"),
        )
    return True


def describe_manifest(manifest: dict[str, Any]) -> str:
    """A short name of what a manifest's folder holds, for messages."""
    for key in ("experiment_name", "name", "config", "case"):
        if manifest.get(key):
            return f"'{manifest[key]}'"
    return f"written {manifest.get('created', 'earlier')}"


class FolderClaim:
    """A results folder claimed for writing: checked (:func:`check_folder`), created if
    needed and locked; on failure a folder it created is removed again, so nothing partial
    is left. Use as a context manager around the writing."""

    def __init__(
        self,
        path: str | Path,
        kind: str,
        same: Callable[[dict[str, Any]], bool],
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.same = same
        self.overwrite = overwrite
        self.created = False
        self.replacing = False
        self.lock = FolderLock(self.path)

    def __enter__(self) -> FolderClaim:
        check_folder(self.path, self.kind, self.same, overwrite=self.overwrite)
        self.created = not self.path.exists()
        prepare_folder(self.path)
        try:
            self.lock.acquire()
            self.replacing = check_folder(self.path, self.kind, self.same, overwrite=self.overwrite)
        except BaseException:
            self._undo()
            raise
        return self

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if error is not None:
            self._undo()
        self.lock.release()

    def _undo(self) -> None:
        self.lock.release()
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)

    def remove_stale(self, owned: Iterable[str], written: Iterable[str]) -> None:
        """After a successful rewrite: remove files this kind of writer owns that this write
        did not produce (say agents.csv of an earlier run), and derived files (report.html)."""
        if not self.replacing:
            return
        for name in (set(owned) - set(written)) | set(DERIVED_FILES):
            target = self.path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
