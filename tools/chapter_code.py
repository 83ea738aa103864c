"""A chapter's own definitions (its models and their helpers), for tests that need them.

    namespace = chapter_definitions("05_resnet")
    net = namespace["resnet"]("resnet18")

Only the top level of the code cells is read, and of it only the imports, function and class
definitions, and assignments to UPPER_CASE names (configuration tables such as `CONFIGS`); nothing
else runs, so no data is loaded and nothing is trained. Cells that belong to the exercises
(tagged solution, check or hidden-check) are left out: tests get the chapter, not an answer.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jupytext

REPO = Path(__file__).resolve().parents[1]
EXERCISE_TAGS = {"solution", "check", "hidden-check"}
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def is_definition(node: ast.stmt) -> bool:
    """Imports, defs, classes, and NAME = ... where every NAME is upper case (a constant)."""
    if isinstance(node, DEFINITIONS):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and t.id.isupper() for t in targets)
    return False


def chapter_cells(chapter: str | Path, skip: set[str] = EXERCISE_TAGS) -> list[str]:
    """The Python source of a chapter's code cells (a name such as "03_vgg" or a path to its .md),
    leaving out cells tagged with any of `skip` (by default the exercises'); IPython magics and shell
    lines are blanked (they are not Python)."""
    path = Path(chapter) if Path(chapter).suffix == ".md" else REPO / "chapters" / f"{chapter}.md"
    if not path.is_file():
        raise FileNotFoundError(f"No chapter {path}: pass a name such as '03_vgg' or the path of a chapter's .md file.")
    return ["\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
            for cell in jupytext.read(path, fmt="md:myst").cells
            if cell.cell_type == "code" and not skip & set(cell.metadata.get("tags", []))]


def definition_source(chapter: str | Path) -> str:
    """The definitions of a chapter, as one module's source."""
    kept = []
    for source in chapter_cells(chapter):
        kept += [ast.get_source_segment(source, node) for node in ast.parse(source).body if is_definition(node)]
    return "\n\n".join(kept)


def chapter_definitions(chapter: str | Path) -> dict[str, Any]:
    """Run a chapter's definitions (see the module docstring) and return the names they define."""
    namespace: dict[str, Any] = {"__name__": f"chapter_{Path(chapter).stem}"}
    exec(compile(definition_source(chapter), f"<definitions of {chapter}>", "exec"), namespace)
    return namespace
