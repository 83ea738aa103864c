"""The code of a chapter, read from its MyST markdown twin: `code_cells`, and `definitions`, which
runs the cells that define given names and returns them, so that tests can compare chapters' models."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import torch

CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def code_cells(chapter: Path) -> list[str]:
    """The source of every code cell of a chapter's .md file, options (`:tags:` lines) removed."""
    cells = []
    for match in CELL.finditer(Path(chapter).read_text()):
        lines = match.group(1).splitlines()
        while lines and (lines[0].startswith(":") or not lines[0].strip()):  # options, then blank lines
            lines.pop(0)
        cells.append("\n".join(lines))
    return cells


def defined_names(source: str) -> set[str]:
    """The functions, classes and constants that a cell defines at its top level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper())
    return names


def definitions(chapter: Path, wanted: set[str]) -> dict:
    """Run, in a fresh namespace, the imports of the chapter and only the top-level definitions
    (functions, classes, UPPER_CASE constants) of its cells, in order; return the namespace.
    Raises KeyError naming what the chapter does not define."""
    namespace: dict = {"torch": torch}
    for source in code_cells(chapter):
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: no definitions there
            continue
        keep = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
                or (isinstance(node, (ast.Assign, ast.AnnAssign)) and defined_names(ast.unparse(node)))]
        exec(compile(ast.Module(keep, type_ignores=[]), str(chapter), "exec"), namespace)
    missing = wanted - set(namespace)
    if missing:
        raise KeyError(f"{Path(chapter).name} defines no {', '.join(sorted(missing))}")
    return namespace
