"""The chapters: .md and .ipynb twins hold the same cells, and the notebooks carry real outputs."""
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


def cells(notebook):
    return [(cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))) for cell in notebook.cells]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_twin_has_the_same_cells(path):
    twin = path.with_suffix(".md")
    assert twin.exists(), f"{twin.name} is missing: run `make sync`"
    from_md = jupytext.read(twin)
    from_ipynb = nbformat.read(path, as_version=4)
    assert cells(from_md) == cells(from_ipynb), f"{path.name} and {twin.name} differ: run `make sync`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_was_executed_top_to_bottom(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert all(counts), f"{path.name} has unexecuted code cells: run `make execute`"
    assert counts == sorted(counts), f"{path.name} was not run top to bottom in one kernel"
    assert not any(output.get("output_type") == "error" for cell in code for output in cell.outputs)


def test_colab_cell_installs_from_the_configured_repository():
    url = yaml.safe_load((CHAPTERS.parent / "_config.yml").read_text())["repository"]["url"]
    for path in NOTEBOOKS:
        first_code = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert "google.colab" in first_code.source and f"git+{url}" in first_code.source, (
            f"{path.name}: its first cell must install from {url} (run `make colab-url`)")
