"""Writing results to disk: atomic files, so that a result is there whole or not at all.

Shared plumbing of every module that owns a results file; it owns no file itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulation.errors import ResultsError
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
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
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
        **fields,
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
