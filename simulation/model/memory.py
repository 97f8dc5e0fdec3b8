"""Keep freed memory for reuse: a step allocates dozens of temporary arrays of n floats.

At 65,000 officers each temporary is about half a megabyte. With glibc's defaults the heap
top is trimmed back to the operating system as soon as such arrays are freed, so the next
step faults the same pages in again and the kernel zeroes them: measured here, that made a
step about 1.5 to 2 times slower than with the memory kept (`benchmarks/bench_model.py`
prints both). :func:`keep_freed_memory` raises glibc's trim threshold and top pad once per
process (M_TRIM_THRESHOLD 256 MB, M_TOP_PAD 64 MB): freed memory stays in the process for
reuse; nothing else changes. It does nothing on other C libraries, and nothing when the
environment sets RELUCTANT_ARMY_KEEP_MEMORY=0 or the user set MALLOC_TRIM_THRESHOLD_.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024
TOP_PAD_BYTES = 64 * 1024 * 1024
ENVIRONMENT_SWITCH = "RELUCTANT_ARMY_KEEP_MEMORY"

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory (once per process); whether the setting is in force."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get(ENVIRONMENT_SWITCH, "1") == "0" or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return _applied
    if not sys.platform.startswith("linux"):
        return _applied
    name = ctypes.util.find_library("c")
    if not name:
        return _applied
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return _applied
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and bool(
        mallopt(M_TOP_PAD, TOP_PAD_BYTES)
    )
    return _applied
