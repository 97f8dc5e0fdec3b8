"""An exclusive lock on a results folder while one process writes it.

Two sweeps into one folder, or a ``resume`` started while the sweep still runs, would
compute runs twice and mix tables; the second writer is refused at once instead. The lock
is the operating system's advisory ``flock`` on the folder itself: it needs no lock file,
and the kernel releases it when the holder exits however it ends (``kill -9`` included),
so a crash never leaves a stale lock behind. Worker processes do not inherit it (they are
started by a fork server or spawned, never forked from the sweep).

Where ``flock`` is unavailable (Windows) or refused by the file system, the folder is
written unlocked, with a warning.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
from types import TracebackType

from simulation.errors import ResultsError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def _holder(folder: Path) -> str:
    """What the manifest says about the folder's writer, for the refusal message."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        writer = manifest.get("writer") or {}
        return (
            f" ({manifest.get('kind', 'results')} started {writer.get('started', '?')} by "
            f"process {writer.get('pid', '?')} on {writer.get('host', '?')})"
        )
    except (OSError, ValueError, AttributeError):
        return ""


class FolderLock:
    """Held while this process writes `folder`; :meth:`acquire` refuses if another holds it."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._handle: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._handle is not None

    def acquire(self) -> FolderLock:
        """Take the lock, or raise ResultsError naming the folder if another process has it."""
        if self._handle is not None:
            return self
        if fcntl is None:  # pragma: no cover - Windows
            log.warning("warning: %s is not locked (no flock on this system)", self.folder)
            return self
        handle = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(handle)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ResultsError(
                    "another process is writing this results folder"
                    f"{_holder(self.folder)}: wait for it to finish, or choose another folder",
                    self.folder,
                    remedies=("out",),
                ) from None
            log.warning("warning: %s is not locked (%s)", self.folder, error.strerror)
            return self
        self._handle = handle
        return self

    def release(self) -> None:
        """Release the lock (closing the folder's handle releases it)."""
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
