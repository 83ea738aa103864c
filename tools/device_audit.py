"""`python -m tools.device_audit`: a static check of the chapters' device discipline, for a CPU-only CI.

On a CPU every tensor lives on the same device, so a model left on the CPU and
fed a batch that `load_data` put on the GPU runs fine in CI and crashes on
Colab. Executing the chapters cannot catch that here, so this module reads the
code cells and enforces the habits that make the bug impossible:

* one device decision per chapter: `device = try_gpu()`, exactly once;
* `train`, `evaluate_accuracy` and `load_data` always get `device=` explicitly;
* a batch taken from a loader that `load_data` did not put on the CPU
  (`next(iter(loader))` or `for images, labels in loader`) and then passed to a
  call (`net(images)`, `cross_entropy(out, labels)`) is moved with `.to(...)`
  or `.cpu()` in the cell that takes it;
* `.numpy()` only on an expression that went through `.cpu()`, or in a cell
  that reads a loader made with `device="cpu"`.

It is a lint, not a proof: it knows the chapters' idioms, not all of Python.
"""
from __future__ import annotations

import ast
from pathlib import Path

import jupytext

DEVICE_FUNCTIONS = ("train", "evaluate_accuracy", "load_data")


def code_cells(chapter: Path) -> list[str]:
    """The chapter's code cells, with IPython magics (`%...`, `!...`) blanked out."""
    notebook = jupytext.read(chapter, fmt="md:myst")
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()]
            cells.append("\n".join(lines))
    return cells


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _names_in(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _is_next_iter(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and _name(node.func) == "next" and node.args
            and isinstance(node.args[0], ast.Call) and _name(node.args[0].func) == "iter")


def _fed_names(tree: ast.AST) -> set[str]:
    """Names passed to a call, directly or sliced: `net(images)`, `loss(out, labels[:8])`."""
    fed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                while isinstance(arg, ast.Subscript):
                    arg = arg.value
                if isinstance(arg, ast.Name):
                    fed.add(arg.id)
    return fed


def _moved_names(tree: ast.AST) -> set[str]:
    """Names that appear inside the receiver of a `.to(...)` or `.cpu()` call."""
    moved = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("to", "cpu"):
            moved.update(_names_in(node.func.value))
    return moved


def _loaders(tree: ast.AST) -> dict[str, bool]:
    """Names bound to `load_data(...)` results, each mapped to True when the data sits on the CPU."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _name(node.value.func) == "load_data":
            on_cpu = any(k.arg == "device" and isinstance(k.value, ast.Constant) and k.value.value == "cpu"
                         for k in node.value.keywords)
            found.update({name: on_cpu for target in node.targets for name in _names_in(target)})
    return found


def _batch_names(tree: ast.AST, loaders: dict[str, bool]) -> list[tuple[int, str]]:
    """(line, name) for each name bound to a batch of a loader whose data may be on the GPU."""
    def off_cpu(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and loaders.get(node.id) is False

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_next_iter(node.value) and off_cpu(node.value.args[0].args[0]):
            found += [(node.lineno, name) for target in node.targets for name in _names_in(target)]
        elif isinstance(node, ast.For) and off_cpu(node.iter):
            found += [(node.lineno, name) for name in _names_in(node.target)]
    return found


def audit(chapter: Path) -> list[str]:
    """Every breach of the rules above in `chapter`, as readable messages (empty when clean)."""
    problems, decisions, trains, loaders = [], 0, 0, {}
    for number, source in enumerate(code_cells(chapter), start=1):
        where = f"{chapter.name}, code cell {number}"
        tree = ast.parse(source)
        moved = _moved_names(tree)
        loaders.update(_loaders(tree))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "try_gpu":
                decisions += 1
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DEVICE_FUNCTIONS:
                trains += node.func.id == "train"
                if not any(k.arg == "device" for k in node.keywords):
                    problems.append(f"{where}, line {node.lineno}: {node.func.id}(...) without device=")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "numpy":
                went_through_cpu = any(isinstance(n, ast.Call) and _name(n.func) == "cpu" for n in ast.walk(node.func.value))
                # Pixels read from a loader made with device="cpu" in this cell or an earlier one are fine.
                cpu_loader_used = any(loaders.get(n.id) for n in ast.walk(tree) if isinstance(n, ast.Name))
                if not (went_through_cpu or cpu_loader_used):
                    problems.append(f"{where}, line {node.lineno}: .numpy() without .cpu() first")
        fed = _fed_names(tree)
        for line, name in _batch_names(tree, loaders):
            if name in fed and name not in moved:
                problems.append(f"{where}, line {line}: batch `{name}` is used without .to(device) or .cpu()")
    if trains and decisions != 1:
        problems.append(f"{chapter.name}: {decisions} calls of try_gpu(); want one `device = try_gpu()`")
    return problems


def main(paths: list[str]) -> int:
    """`python -m tools.device_audit [CHAPTER.md ...]`: print every breach; exit 1 if there is one."""
    chapters = [Path(p) for p in paths] or sorted(Path("chapters").glob("*.md"))
    problems = [problem for chapter in chapters for problem in audit(chapter)]
    print("\n".join(problems) or f"{len(chapters)} chapters: every model and batch is moved explicitly.")
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
