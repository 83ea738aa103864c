"""Student notebooks: the chapters without solutions and without outputs, for Colab.

`python book/_ext/student_notebooks.py` (or `make student-notebooks`) writes
`book/colab/NN_name.ipynb` for every `chapters/NN_name.ipynb`. They are committed,
because Colab opens notebooks from the repository; a test checks they are current.
"""
from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
CHAPTERS_DIR = REPO / "chapters"
STUDENT_DIR = REPO / "book" / "colab"
STUDENT_URL_PATH = STUDENT_DIR.relative_to(REPO).as_posix()  # "book/colab", as in the repository URL


# A `{solution}` directive, from its opening fence to the closing fence of the same length.
SOLUTION_DIRECTIVE = re.compile(r"^(`{3,})\{solution\}.*?\n\1[ \t]*$\n?", re.DOTALL | re.MULTILINE)


def is_solution_code(cell: nbformat.NotebookNode) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` without solution directives and cells, and with the outputs cleared."""
    student = copy.deepcopy(notebook)
    cells = []
    for cell in student.cells:
        if is_solution_code(cell):
            continue
        if cell.cell_type == "markdown":
            cell.source = SOLUTION_DIRECTIVE.sub("", cell.source).strip()
            if not cell.source:
                continue
        else:
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # timestamps of our run: noise in a student's copy
        cells.append(cell)
    student.cells = cells
    student.metadata.pop("jupytext", None)  # a standalone notebook, not one half of a pair
    student.metadata["colab"] = {"provenance": []}
    return student


def write_all() -> list[Path]:
    STUDENT_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in sorted(CHAPTERS_DIR.glob("*.ipynb")):
        target = STUDENT_DIR / chapter.name
        nbformat.write(student_notebook(nbformat.read(chapter, as_version=4)), target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path.relative_to(REPO)}")
    sys.exit(0)
