"""Remove notebook cells tagged `solution` when the book hides solutions.

sphinx-exercise drops `{solution}` directives under `hide_solutions`, but a
runnable solution is a notebook code cell, which no directive can wrap in a
way that survives `hide_solutions`. Those cells carry the tag `solution`, and
this extension deletes them from the document tree, so the student edition's
HTML holds no solution code at all (absent, not hidden by CSS).
"""
from docutils import nodes
from sphinx.application import Sphinx

SOLUTION_CLASS = "tag_solution"


def _remove_solution_cells(app: Sphinx, doctree: nodes.document) -> None:
    if not app.config.hide_solutions:
        return
    for cell in list(doctree.findall(nodes.container)):
        if SOLUTION_CLASS in cell.get("classes", []):
            cell.parent.remove(cell)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _remove_solution_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
