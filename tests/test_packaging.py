"""A plain, non-editable `pip install .` works: every subpackage is installed and the
command line runs from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """A fresh virtual environment with the project installed from its wheel.

    The venv does not include system site-packages (inside a venv that would be the base
    interpreter's, without the dependencies); instead a `.pth` file puts this interpreter's
    package folders after the venv's own, so the dependencies come from whatever runs the
    tests (a venv or the system Python), nothing is downloaded, and `simulation` is the
    wheel's: the venv's site-packages comes first and the outer editable install is not on
    the added paths (their `.pth` files are not processed)."""
    scratch = tmp_path_factory.mktemp("packaging")
    wheels = scratch / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(repo_root),
        ],
        check=True,
        capture_output=True,
    )
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site_packages / "outer_packages.pth").write_text(
        "\n".join(str(folder) for folder in outer_package_folders(repo_root)) + "\n"
    )
    wheel = next(wheels.glob("reluctant_army-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return venv


def outer_package_folders(repo_root: Path) -> list[str]:
    """The folders this interpreter imports installed packages from (site-packages, dist-packages,
    PYTHONPATH), without the checkout's source folders and without the standard library.

    A package folder inside the checkout is kept: CI's venv is `.venv-ci` in the checkout."""
    stdlib = {Path(sysconfig.get_path(name)).resolve() for name in ("stdlib", "platstdlib")}
    folders = []
    for entry in sys.path:
        folder = Path(entry or ".").resolve()
        if not folder.is_dir() or folder in stdlib:
            continue
        if folder.is_relative_to(repo_root) and "-packages" not in folder.name:
            continue  # the checkout itself: `simulation` must come from the wheel
        if any(folder.is_relative_to(lib) for lib in stdlib) and "-packages" not in folder.name:
            continue  # lib-dynload and friends: the venv has them already
        folders.append(str(folder))
    return folders


@pytest.fixture(scope="module")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def run_in(venv: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


def test_the_installed_package_is_the_wheel_with_every_subpackage(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "import simulation, simulation.analysis.report, simulation.viz, simulation.cli.run;"
        "print(simulation.__file__)"
    )
    done = run_in(installed, "python", "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(installed) in done.stdout


def test_the_installed_command_runs_a_config_from_another_folder(
    installed: Path, tmp_path: Path, repo_root: Path
) -> None:
    config = repo_root / "configs" / "baseline.yaml"
    done = run_in(
        installed,
        "reluctant-army",
        "run",
        str(config),
        "--steps",
        "3",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "summary.json").exists()


def test_the_installed_viz_starts_with_the_built_in_defaults_outside_a_checkout(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "import simulation.viz.app; from simulation.viz import scenarios;"
        "print(scenarios.launch_entry())"
    )
    done = run_in(installed, "python", "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("built-in defaults")


def test_the_installed_viz_ships_its_chart_template(installed: Path, tmp_path: Path) -> None:
    code = (
        "import pathlib, simulation.viz.figure as f;"
        "print(pathlib.Path(f.__file__).with_name('echarts.vue').is_file())"
    )
    done = run_in(installed, "python", "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
