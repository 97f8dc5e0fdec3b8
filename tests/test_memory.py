"""Freed memory is kept for reuse (simulation/model/memory.py): a step's temporaries are not
faulted in afresh every time, at any force size the schema allows."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

REPEATED_ALLOCATION = """
import resource
import numpy as np
from simulation.model.memory import keep_freed_memory
applied = keep_freed_memory()
for _ in range(3):
    np.ones({size})
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones({size})
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _environment_without_malloc_settings() -> dict[str, str]:
    """The test's environment minus glibc's own settings (Dask's nannies put
    MALLOC_TRIM_THRESHOLD_ into the environment of the process that starts them), which
    rightly make keep_freed_memory stand aside."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MALLOC_") and name != "RELUCTANT_ARMY_KEEP_MEMORY"
    }


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
@pytest.mark.parametrize("size", [500_000, 4_000_000])  # 4 and 32 MB: 475,000 x 1 and x 8
def test_a_freed_array_is_reused_without_faulting_its_pages_in_again(size: int) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", REPEATED_ALLOCATION.format(size=size)],
        capture_output=True,
        text=True,
        check=True,
        env=_environment_without_malloc_settings(),
    )
    applied, faults = completed.stdout.split()
    assert applied == "True"
    pages = size * 8 / 4096
    assert float(faults) < 0.05 * pages
