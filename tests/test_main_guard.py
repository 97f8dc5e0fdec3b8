"""Worker processes are never started from a script's unguarded top level, and a sweep in
which every run failed is an error, not a result."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from simulation import AllRunsFailedError, Experiment, run_experiment
from simulation.experiments.sweep import FAULT_ENV

SWEEP = """
from simulation import Experiment, run_experiment

experiment = Experiment.from_dict(
    {"base": {"config": {"population": {"n_officers": 100}}}, "replications": 2, "steps": 2}
)
"""


def small_sweep(replications: int) -> Experiment:
    return Experiment.from_dict(
        {
            "base": {"config": {"population": {"n_officers": 100}}},
            "replications": replications,
            "steps": 2,
        }
    )


def run_script(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    script = folder / "script.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=300
    )


def test_an_unguarded_script_is_refused_with_one_line_naming_the_guard(tmp_path: Path) -> None:
    done = run_script(tmp_path, SWEEP + "run_experiment(experiment, workers=2, progress=False)\n")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("simulation.errors.UnguardedScriptError: ")
    assert 'if __name__ == "__main__":' in last
    assert "line 7" in last
    assert "BrokenProcessPool" not in done.stderr
    assert done.stderr.count("simulation.errors.UnguardedScriptError: ") == 1  # no worker ran


def test_a_function_called_from_the_unguarded_top_level_is_refused_too(tmp_path: Path) -> None:
    code = SWEEP + "def main():\n    run_experiment(experiment, workers=2)\n\nmain()\n"
    done = run_script(tmp_path, code)
    assert "UnguardedScriptError" in done.stderr.strip().splitlines()[-1]


def test_a_guarded_script_runs_every_run(tmp_path: Path) -> None:
    code = SWEEP + (
        'if __name__ == "__main__":\n'
        "    sweep = run_experiment(experiment, workers=2, progress=False)\n"
        "    print(sorted(sweep.runs['status']))\n"
    )
    done = run_script(tmp_path, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ok', 'ok']"


def test_one_worker_needs_no_guard(tmp_path: Path) -> None:
    code = SWEEP + "print(len(run_experiment(experiment, workers=1, progress=False).runs))\n"
    done = run_script(tmp_path, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def test_code_without_a_file_like_a_notebook_cell_starts_workers() -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    cell = SWEEP + "sweep = run_experiment(experiment, workers=2, progress=False)\n"
    exec(compile(cell, "<cell>", "exec"), namespace)  # noqa: S102
    assert list(namespace["sweep"].runs["status"]) == ["ok", "ok"]  # type: ignore[attr-defined]


def test_a_sweep_whose_every_run_failed_raises_naming_the_first_error(
    monkeypatch: pytest.MonkeyPatch, no_run_cache: None
) -> None:
    monkeypatch.setenv(FAULT_ENV, "*:raise")
    experiment = small_sweep(3)
    with pytest.raises(AllRunsFailedError, match="every one of the 3 runs failed") as raised:
        run_experiment(experiment, workers=1, progress=False)
    assert "fault injected into run 0" in str(raised.value)
    assert list(raised.value.result.runs["status"]) == ["failed"] * 3


def test_a_sweep_with_one_run_ok_is_returned(
    monkeypatch: pytest.MonkeyPatch, no_run_cache: None
) -> None:
    monkeypatch.setenv(FAULT_ENV, "0:raise")
    experiment = small_sweep(2)
    sweep = run_experiment(experiment, workers=1, progress=False)
    assert sorted(sweep.runs["status"]) == ["failed", "ok"]
