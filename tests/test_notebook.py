"""The quick-start notebook runs from top to bottom, so that it cannot rot, and shows its plot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebooks" / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    return notebook


def outputs_of(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return list(cell.get("outputs", []))


def test_quickstart_notebook_runs_without_errors(executed: nbformat.NotebookNode) -> None:
    outputs = [output for cell in executed.cells for output in outputs_of(cell)]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    assert any("punishment_severity" in str(output) for output in outputs)


def test_the_plot_cell_shows_its_figure(executed: nbformat.NotebookNode) -> None:
    plot_cell = next(cell for cell in executed.cells if "plt.subplots" in cell.source)
    images = [output for output in outputs_of(plot_cell) if "image/png" in output.get("data", {})]
    assert len(images) == 1
