"""Write utils/networks/: the five networks exactly as chapters 1-5 define them, for the chapters
that use all five (the comparison, what the networks see) and for Colab, where only `utils` is
installed. The chapters stay the one source: this copies the definitions their models need (and
the imports those use) out of their code cells; tests/test_networks.py fails when a copy is stale.

    python -m tools.collect_networks          # rewrite utils/networks/
    python -m tools.collect_networks --check  # exit 1 if it would change anything
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from tools.chapter_code import chapter_cells

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "utils" / "networks"
# module name: (chapter, the names a caller needs); the definitions these use come along.
NETWORKS = {
    "lenet": ("01_lenet", ["lenet"]),
    "alexnet": ("02_alexnet", ["alexnet", "TORCHVISION_WIDTHS"]),
    "vgg": ("03_vgg", ["vgg", "CONFIGS"]),
    "googlenet": ("04_googlenet", ["GoogLeNet", "INCEPTION_WIDTHS", "googlenet_loss"]),
    "resnet": ("05_resnet", ["resnet", "ResNet", "ARCHITECTURES"]),
}

# The exercises' code is not the chapter's model, nor is a hidden cell (Colab's install cell, say).
SKIPPED_TAGS = {"solution", "hidden-check", "remove-cell"}


def top_level_nodes(chapter: str) -> list[tuple[ast.stmt, str]]:
    """The statements of the chapter's code cells with their cell's source, in order, leaving out
    solutions, hidden checks and hidden cells."""
    return [(node, source) for source in chapter_cells(chapter, SKIPPED_TAGS) for node in ast.parse(source).body]


def defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name) and target.id.isupper()]
    return []


def module_source(chapter: str, wanted: list[str]) -> str:
    """The definitions behind `wanted` (first definition wins: later cells may redefine a name for an
    experiment), in chapter order, with only the imports they use."""
    nodes = top_level_nodes(chapter)
    first: dict[str, ast.stmt] = {}
    for node, _ in nodes:
        for name in defined_names(node):
            first.setdefault(name, node)
    needed, todo = set(), list(wanted)
    while todo:
        name = todo.pop()
        if name in needed or name not in first:
            continue
        needed.add(name)
        node = first[name]
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    missing = [name for name in wanted if name not in first]
    if missing:
        raise SystemExit(f"chapters/{chapter}.md no longer defines {missing}: update NETWORKS in {__file__}.")
    keep = []
    for node, cell_source in nodes:
        if not any(first.get(name) is node and name in needed for name in defined_names(node)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):  # only the names used
            node.names = [a for a in node.names if (a.asname or a.name).split(".")[0] in needed]
            keep.append(ast.unparse(node))
        else:  # as written, comments included
            keep.append(ast.get_source_segment(cell_source, node))
    header = (f'"""The networks of chapters/{chapter}.md, copied by tools/collect_networks.py: do not edit here,\n'
              f'edit the chapter and run `python -m tools.collect_networks`."""\n')
    imports = [line for line in keep if line.startswith(("import ", "from "))]
    return header + "\n".join(imports) + "\n\n\n" + "\n\n\n".join(k for k in keep if k not in imports) + "\n"


def expected_files() -> dict[Path, str]:
    files = {OUT / f"{name}.py": module_source(chapter, wanted) for name, (chapter, wanted) in NETWORKS.items()}
    files[OUT / "__init__.py"] = (
        '"""The five networks as chapters 1-5 build them (copied from the chapters by\n'
        'tools/collect_networks.py), for the chapters that compare or inspect all five."""\n'
        + "".join(f"from . import {name}\n" for name in NETWORKS)
        + f"\n__all__ = {list(NETWORKS)!r}\n")
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if utils/networks/ is not current")
    args = parser.parse_args()
    stale = [path for path, text in expected_files().items()
             if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(REPO)} is not what the chapters define: run python -m tools.collect_networks")
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for path, text in expected_files().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
