"""The numba kernels' on-disk cache: whether it is built on this machine, and building it.

Compiling the kernels of :mod:`simulation.model.kernels` takes about 4.5 s the first time
on a machine; numba then caches them on disk (``cache=True``) and a later process loads
them in a fraction of a second. Where: ``NUMBA_CACHE_DIR`` when set, else ``__pycache__``
beside the source when that folder is writable, else the user's cache folder
(``~/.cache/numba`` on Linux): numba's own rule, so a read-only installation still caches.

So that no user waits for that compilation, a run with ``performance.kernel: auto`` takes
the kernels only once their cache is built (:func:`ready`); until then it computes with
numpy (the same numbers, bit for bit: tests/test_kernels.py) and the first such run starts
one detached, low-priority process that builds the cache (:func:`build_in_background`).
``reluctant-army warm-up`` (:func:`build`) builds it in the foreground, e.g. after
installing. ``performance.kernel: numba`` (or ``RELUCTANT_ARMY_KERNEL=numba``) asks for the
kernels themselves and compiles them on first call if needed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RECHECK_SECONDS = 1.0
"""How often a process still waiting for the cache looks at it again (a few file reads)."""

STALE_LOCK_SECONDS = 600.0
"""A build lock older than this is left by a build that died: another build may start."""

LOCK_NAME = "reluctant-army-build.lock"
"""File in the cache folder that marks a build under way (one build at a time)."""

BUILD_RUNS: tuple[tuple[str, ...], ...] = (
    ("drivers.war_order_level=3",),
    ("drivers.war_order_level=3", "structure.cross_unit_ties=0"),
    (
        "personnel.categories.conscript.per_officer=2",
        "personnel.categories.reservist.per_officer=2",
        "drivers.mobilisation=1",
        "drivers.war_order_level=3",
        "exit.stop_loss_from_level=3",
    ),
)
"""Settings (over the built-in defaults) of the short runs that compile every kernel with
the argument types runs pass: officers alone, with and without cross-unit ties (whose
index arrays are 32-bit), and every personnel category called up."""

BUILD_OFFICERS, BUILD_STEPS = 300, 3
"""Size and length of those runs (the types, not the numbers, decide what is compiled)."""

_ready = False
_checked_at = -float("inf")
_builder: subprocess.Popen[bytes] | None = None


def _dispatchers() -> list[Any]:
    """The kernels numba caches on disk (importing numba)."""
    from simulation.model import kernels

    return [
        value
        for value in vars(kernels).values()
        if hasattr(getattr(value, "_cache", None), "_cache_file")  # cache=True
    ]


def cache_folder() -> Path:
    """Where numba keeps this package's compiled kernels on this machine."""
    return Path(_dispatchers()[0]._cache._cache_path)


def is_cached(dispatcher: Any) -> bool:
    """Whether `dispatcher` is compiled in this process or has a current entry on disk
    (an index written by this numba version for this source)."""
    if dispatcher.overloads:
        return True
    return bool(dispatcher._cache._cache_file._load_index())


def ready() -> bool:
    """Whether every kernel is compiled or cached; if not, start building the cache in the
    background (once per process and machine) and say False until it is built."""
    global _ready, _checked_at
    if _ready:
        return True
    now = time.monotonic()
    if now - _checked_at < RECHECK_SECONDS:
        return False
    _checked_at = now
    try:
        cached = all(is_cached(dispatcher) for dispatcher in _dispatchers())
    except AttributeError:  # numba's cache internals changed: compile on first call
        cached = True
    if cached:
        _ready = True
        return True
    build_in_background()
    return False


def build_in_background() -> subprocess.Popen[bytes] | None:
    """The detached process this process started to build the cache (started now unless
    one is already building it; None when another process holds the build lock)."""
    global _builder
    if _builder is not None:
        return _builder
    lock = cache_folder() / LOCK_NAME
    if not _take_lock(lock):
        return None
    environment = {**os.environ, "RELUCTANT_ARMY_KERNEL": "numba"}
    _builder = subprocess.Popen(
        [sys.executable, "-m", "simulation.model.kernel_cache", "--lock", str(lock)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives this process, unaffected by its Ctrl-C
        env=environment,
    )
    return _builder


def _take_lock(lock: Path) -> bool:
    """Create `lock` (False if a live build holds it)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
            lock.unlink()
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    except OSError:  # an unwritable folder: numba would not cache there either
        return False
    return True


def build() -> tuple[Path, float]:
    """Compile every kernel into the cache now: (cache folder, seconds taken). Kernels
    already cached are loaded, not compiled again."""
    from simulation.config.loading import load_config
    from simulation.model.model import ArmyModel

    started = time.perf_counter()
    for settings in BUILD_RUNS:
        config = load_config(
            None,
            [
                *settings,
                f"population.n_officers={BUILD_OFFICERS}",
                f"steps={BUILD_STEPS}",
                "performance.kernel=numba",
            ],
        )
        model = ArmyModel(config, seed=1, record=["comply"], views=False)
        for _ in range(config.steps):
            model.step()
    return cache_folder(), time.perf_counter() - started


def main(argv: list[str]) -> None:
    """The background build: low priority, then the lock released."""
    lock = Path(argv[argv.index("--lock") + 1]) if "--lock" in argv else None
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(10)
    try:
        build()
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:])
