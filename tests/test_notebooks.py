"""The chapters: .md and .ipynb twins hold the same cells, and the notebooks carry real outputs."""
import sys
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


def run_colab_cell(path, monkeypatch, capsys, install_returncode: int) -> str:
    """Run a chapter's first cell as if on Colab, with pip answering `install_returncode` and no GPU."""
    import subprocess
    import types

    import torch

    first_code = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, install_returncode))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    exec(compile(first_code.source, path.name, "exec"), {})
    return capsys.readouterr().out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_is_hidden_in_the_book_and_stops_when_the_install_fails(path, monkeypatch, capsys):
    first_code = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "remove-cell" in first_code.metadata.get("tags", []), f"{path.name}: the Colab cell must be hidden in the HTML"
    with pytest.raises(RuntimeError, match="failed"):
        run_colab_cell(path, monkeypatch, capsys, install_returncode=1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_announces_reduced_settings_only_where_the_chapter_has_them(path, monkeypatch, capsys):
    message = run_colab_cell(path, monkeypatch, capsys, install_returncode=0)
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    trains = "train(" in code
    picks_cpu_settings = 'device.type == "cuda"' in code
    assert ("reduced settings" in message) == picks_cpu_settings, f"{path.name}: {message!r}"
    assert ("no GPU" in message) == trains, f"{path.name} {'trains' if trains else 'trains nothing'}: {message!r}"


@pytest.mark.parametrize("path", NOTEBOOKS + sorted((CHAPTERS.parent / "book" / "colab").glob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_colab_opens_every_notebook_on_a_gpu_runtime(path):
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.get("accelerator") == "GPU" and metadata.get("colab", {}).get("gpuType") == "T4", (
        f"{path.name}: Colab would open it without a GPU (its metadata needs accelerator: GPU, colab.gpuType)")
