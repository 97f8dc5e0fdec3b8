"""No run waits for the numba kernels to compile (simulation/model/kernel_cache.py).

With an empty kernel cache, a run that `performance.kernel: auto` would give to the kernels
computes with numpy (the same numbers) while a background process builds the cache; the
next run loads the kernels from it. `reluctant-army warm-up` builds it in the foreground.
Each test uses its own cache folder (NUMBA_CACHE_DIR) in fresh processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.model import kernel_cache
from simulation.model.decision import KERNEL_ENVIRONMENT
from simulation.model.model import ArmyModel
from tests.conftest import REPO, small_config
from tests.test_kernels import RUNS

FIRST_RUN = """
import json, sys
from simulation.model import kernel_cache
from simulation.model.model import ArmyModel
from tests.conftest import small_config
config = small_config(*{overrides!r}, "performance.numba_from_officers=0", n_officers=400,
                      steps=12)
model = ArmyModel(config, seed=7)
for _ in range(config.steps):
    model.step()
model.datacollector.get_model_vars_dataframe().to_pickle({series!r})
dispatchers = kernel_cache._dispatchers()
builder = kernel_cache.build_in_background() if {wait} else None
if builder is not None:
    builder.wait(timeout=600)
print(json.dumps({{
    "compiled": sum(len(d.overloads) for d in dispatchers),
    "loaded": sum(sum(d.stats.cache_hits.values()) for d in dispatchers),
    "built": builder is not None and builder.returncode == 0,
}}))
"""


def fresh_process(code: str, cache: Path) -> dict[str, object]:
    """What `code` printed last as JSON, run in a fresh process with `cache` as numba's
    cache folder and the config choosing the kernels."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    environment.pop(KERNEL_ENVIRONMENT, None)
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=environment,
        timeout=900,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def numpy_series(overrides: tuple[str, ...]) -> pd.DataFrame:
    config = small_config(*overrides, "performance.kernel=numpy", n_officers=400, steps=12)
    model = ArmyModel(config, seed=7)
    for _ in range(config.steps):
        model.step()
    return model.datacollector.get_model_vars_dataframe()


def test_first_run_on_an_empty_cache_computes_with_numpy_and_the_next_loads_the_kernels(
    tmp_path: Path,
) -> None:
    overrides = RUNS["order to fight"]
    reference = numpy_series(overrides)
    first = tmp_path / "first.pkl"
    code = FIRST_RUN.format(overrides=overrides, series=str(first), wait=True)
    ran = fresh_process(code, tmp_path / "numba")
    assert ran == {"compiled": 0, "loaded": 0, "built": True}
    pd.testing.assert_frame_equal(pd.read_pickle(first), reference, check_exact=True)

    second = tmp_path / "second.pkl"
    code = FIRST_RUN.format(overrides=overrides, series=str(second), wait=False)
    ran = fresh_process(code, tmp_path / "numba")
    assert ran["loaded"] and ran["compiled"] == ran["loaded"]  # every kernel from the cache
    pd.testing.assert_frame_equal(pd.read_pickle(second), reference, check_exact=True)


LOADS = """
import json
from simulation.model import kernel_cache
from simulation.model.model import ArmyModel
from tests.conftest import small_config
from tests.test_kernels import RUNS
for overrides in RUNS.values():
    model = ArmyModel(small_config(*overrides, "performance.kernel=numba", steps=5), seed=2)
    for _ in range(5):
        model.step()
dispatchers = kernel_cache._dispatchers()
print(json.dumps({
    "misses": sum(sum(d.stats.cache_misses.values()) for d in dispatchers),
    "hits": sum(sum(d.stats.cache_hits.values()) for d in dispatchers),
}))
"""


def test_warm_up_caches_every_kernel_that_the_kernel_tests_runs_call(tmp_path: Path) -> None:
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    warm_up = subprocess.run(
        [sys.executable, "-m", "simulation", "warm-up"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=900,
    )
    assert warm_up.returncode == 0, warm_up.stderr
    assert str(tmp_path) in warm_up.stdout
    loaded = fresh_process(LOADS, tmp_path)
    assert loaded["misses"] == 0
    assert loaded["hits"] > 0


def test_a_second_build_waits_for_a_live_lock_but_not_for_a_stale_one(tmp_path: Path) -> None:
    lock = tmp_path / "cache" / kernel_cache.LOCK_NAME
    assert kernel_cache._take_lock(lock)
    assert not kernel_cache._take_lock(lock)
    stale = time.time() - kernel_cache.STALE_LOCK_SECONDS - 1
    os.utime(lock, (stale, stale))
    assert kernel_cache._take_lock(lock)


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_a_path_named_in_the_environment_never_waits_for_the_cache(
    kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.model.decision import computes_with_numba

    def refuse() -> bool:
        raise AssertionError("a named path must not look at the cache")

    monkeypatch.setattr(kernel_cache, "ready", refuse)
    monkeypatch.setenv(KERNEL_ENVIRONMENT, kernel)
    performance = small_config().performance
    assert computes_with_numba(performance, 10) == (kernel == "numba")


def test_warm_up_without_numba_says_there_is_nothing_to_compile(monkeypatch, capsys) -> None:
    import simulation.config.schema as schema
    from simulation.cli import main

    monkeypatch.setattr(schema, "numba_installed", lambda: False)
    assert main(["warm-up"]) == 0
    assert "numba is not installed" in capsys.readouterr().out
