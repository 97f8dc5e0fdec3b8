"""Every command and snippet in README.md and docs/*.md runs as written.

The examples are taken from the Markdown itself: each ```bash block is split into commands
(lines joined at a trailing backslash) and each ```python block is saved as a script, and
they run in document order, each block in its own copy of the repository's configs,
experiments and docs (a block is what a reader runs in sequence from a fresh checkout), with
RELUCTANT_ARMY_EXAMPLE_SCALE=small (simulation/config/example_scale.py) so that sweeps,
ensembles and calibrations finish in seconds. A block that shows output, or that cannot run
here (a web server, an installation, a benchmark), says so in a marker on the line before
it, ``<!-- example: output ... -->`` or ``<!-- example: not run: <reason> -->``; every other
fenced block is data (```yaml, ```text) and says so by its language. An unlabelled block
fails the first test, so new documentation cannot slip past.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = {"bash", "python"}
DATA = {"yaml", "text", "json"}
MARKER = re.compile(r"<!--\s*example:\s*(output|not run:\s*\S.*?)\s*-->")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
COMMAND_TIMEOUT = 540
"""Seconds one documented command may take at the example size, under pytest's 600 s per
test (the SBC example runs 20 calibrations: about 5 minutes on a busy 2-core machine)."""
KNOWN_FAILURES: dict[str, str] = {}
"""Documented commands that fail today, by a part of the command, with why (strict: the test
fails once they work, so that the entry is removed)."""


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    text: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def fenced_blocks(document: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker on the line before it."""
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, language = opening.group(1), opening.group(2)
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
        body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.search(before)
        blocks.append(
            Block(document, index + 1, language, body, marker.group(1) if marker else None)
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for document in DOCUMENTS for block in fenced_blocks(document)]
EXAMPLES = [block for block in ALL_BLOCKS if block.language in RUN and block.marker is None]


def shell_commands(block: Block) -> list[tuple[int, str]]:
    """(line, command) for each command of a bash block; comments and blank lines dropped."""
    commands, pending, start = [], "", 0
    for offset, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append((start, pending + line))
        pending = ""
    return commands


STEPS = [
    (f"{block.document.relative_to(REPO)}:{line}", block, command)
    for block in EXAMPLES
    for line, command in (
        shell_commands(block) if block.language == "bash" else [(block.line, block.text)]
    )
]


def known_failure(command: str) -> list[pytest.MarkDecorator]:
    return [
        pytest.mark.xfail(strict=True, reason=reason)
        for part, reason in KNOWN_FAILURES.items()
        if part in command
    ]


WORKSPACES: dict[str, Path] = {}


def workspace_of(block: Block, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy of what a block's commands read and write (one per block, shared by its
    commands in order: a block is a sequence a reader runs from a fresh checkout), so that
    README.md and docs/ are untouched."""
    if block.where not in WORKSPACES:
        WORKSPACES[block.where] = fresh_workspace(tmp_path_factory)
    return WORKSPACES[block.where]


def fresh_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    for name in ("configs", "experiments", "docs", "benchmarks", "scripts"):
        shutil.copytree(REPO / name, folder / name)
    shutil.copy(REPO / "README.md", folder / "README.md")
    return folder


def example_environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["RELUCTANT_ARMY_EXAMPLE_SCALE"] = "small"
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    return environment


def test_every_fenced_block_is_run_marked_or_data() -> None:
    unaccounted = [
        block.where
        for block in ALL_BLOCKS
        if block.marker is None and block.language not in RUN | DATA
    ]
    assert unaccounted == [], (
        "give these blocks a language (bash/python: run by this test; yaml/text: data) "
        "or a marker <!-- example: output --> / <!-- example: not run: <reason> -->"
    )


def test_a_marked_block_says_why_it_is_not_run() -> None:
    for block in ALL_BLOCKS:
        if block.marker and block.marker.startswith("not run"):
            assert len(block.marker.removeprefix("not run:").strip()) > 10, block.where


def test_the_readme_and_every_guide_have_examples_that_run() -> None:
    documents = {block.document.name for block in EXAMPLES}
    assert {"README.md", "calibration.md", "experiments.md", "ODD.md"} <= documents


@pytest.mark.parametrize(
    ("block", "command"),
    [
        pytest.param(block, command, id=where, marks=known_failure(command))
        for where, block, command in STEPS
    ],
)
def test_the_documented_example_runs(
    block: Block, command: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workspace = workspace_of(block, tmp_path_factory)
    if block.language == "python":
        script = workspace / f"example_{block.document.stem}_{block.line}.py"
        script.write_text(block.text + "\n", encoding="utf-8")
        argv = [sys.executable, script.name]
    else:
        argv = ["bash", "-c", "set -o pipefail; " + command]
    done = subprocess.run(
        argv,
        cwd=workspace,
        env=example_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert done.returncode == 0, f"{block.where}: {command}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_the_readme_python_snippet_saved_as_a_script_runs_every_run_ok(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workspace = fresh_workspace(tmp_path_factory)
    snippet = next(
        block
        for block in EXAMPLES
        if block.document.name == "README.md" and block.language == "python"
    )
    script = workspace / "readme_snippet.py"
    script.write_text(snippet.text + "\n", encoding="utf-8")
    environment = example_environment()
    environment.pop("RELUCTANT_ARMY_EXAMPLE_SCALE")  # as written, at its own size
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "12/12" in done.stderr and "failed=0" in done.stderr.splitlines()[-1]


def test_no_document_cites_a_file_outside_the_repository() -> None:
    texts = [document.read_text(encoding="utf-8") for document in DOCUMENTS]
    texts += [path.read_text(encoding="utf-8") for path in (REPO / "configs").rglob("*.yaml")]
    texts += [path.read_text(encoding="utf-8") for path in (REPO / "simulation").rglob("*.py")]
    assert not [text for text in texts if "shared/seed" in text or "shared/notes" in text]


def test_every_relative_link_in_the_docs_opens_a_file_of_the_repository() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text("utf-8")):
            if "://" not in target and not (document.parent / target).exists():
                broken.append(f"{document.name}: {target}")
    assert broken == []
