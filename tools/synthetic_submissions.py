"""Synthetic submissions of a chapter, to test the grader and to time it.

    .venv/bin/python -m tools.synthetic_submissions 01_lenet DIR [--copies 10]

writes, `copies` times each: the instructor notebook (all answers right), the
untouched student notebook (no answers) and the instructor notebook with one
typical mistake (see MISTAKES), named `solved-01.ipynb`, `untouched-01.ipynb`,
`mistake-01.ipynb`, ...
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import nbformat

from tools.grade import find_chapter
from tools.grade_notebook import REPO

STUDENT_DIR = REPO / "book" / "colab"
# One typical mistake per chapter: (exercise number, text in its solution cell, the mistaken text).
MISTAKES = {
    "01_lenet": ("1.2", "nn.Conv2d(1, 6, 3, padding=1)", "nn.Conv2d(1, 6, 3)"),  # the first pair shrinks the map
    "02_alexnet": ("2.2", "alpha * window_sums", "alpha / n * window_sums"),      # PyTorch's convention, not the paper's
    "03_vgg": ("3.4", "padding=(kernel - 1) // 2", "padding=1"),                  # 1x1 convolutions grow the map
    "04_googlenet": ("4.3", "bias=False,", ""),                                   # biases kept before batch norm
    "05_resnet": ("5.4", "return out + (\n            x if self.downsample is None else self.downsample(activated)\n        )",
                  "return self.relu(\n            out + (x if self.downsample is None else self.downsample(activated))\n        )"),  # the old ReLU
}


def with_mistake(chapter: Path) -> nbformat.NotebookNode:
    """The instructor notebook with the chapter's typical mistake in one solution."""
    _, right, wrong = MISTAKES[chapter.stem]
    notebook = nbformat.read(chapter, as_version=4)
    solutions = [c for c in notebook.cells if "solution" in c.metadata.get("tags", []) and right in c.source]
    if len(solutions) != 1:
        raise ValueError(f"{chapter.stem}: {right!r} should be in exactly one solution cell; update MISTAKES")
    solutions[0].source = solutions[0].source.replace(right, wrong)
    return notebook


def write_submissions(chapter: Path, folder: Path, copies: int = 1) -> dict[str, Path]:
    """{name: path} of the submissions written to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i in range(1, copies + 1):
        for kind in ("solved", "untouched", "mistake"):
            if kind == "mistake" and chapter.stem not in MISTAKES:
                continue
            path = folder / f"{kind}-{i:02d}.ipynb"
            if kind == "solved":
                shutil.copyfile(chapter, path)
            elif kind == "untouched":
                shutil.copyfile(STUDENT_DIR / chapter.name, path)
            else:
                nbformat.write(with_mistake(chapter), path)
            written[path.stem] = path
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    paths = write_submissions(find_chapter(args.chapter), args.folder, args.copies)
    print(f"wrote {len(paths)} submissions to {args.folder}")


# --- a small synthetic chapter, to test the grader in seconds instead of minutes ---------------

MINI_ANSWERS = {"9.1": "def f1(x=1):\n    return x", "9.3": "def f2():\n    return 2"}
# The worked answer to the concept exercise 9.2, with its rubric (see tools/rubrics.py).
MINI_SOLUTION_92 = ("```{solution} mini-ex-why\n:label: mini-sol-why\n\nBecause.\n\n**Rubric.**\n\n"
                    "- **Full credit:** says why, with a reason.\n- **Partial credit:** a reason without the why.\n"
                    "- **No credit:** neither.\n```")


def mini_chapter(folder: Path, with_checks: bool = True) -> Path:
    """`folder/09_mini.ipynb`: a chapter of three exercises (coding, concept, coding) with a public
    and a hidden check on 9.1, a public one on 9.3, solutions that pass them all, and a rubric for 9.2."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell

    def exercise(kind: str, title: str, label: str) -> nbformat.NotebookNode:
        return md(f"```{{exercise}} {kind}: {title}\n:label: {label}\n{title}.\n```")

    def check(source: str, hidden: bool = False) -> nbformat.NotebookNode:
        return code(source, metadata={"tags": ["hidden-check" if hidden else "check"]})

    cells = [md("# 9. A small chapter"), code("import math"),
             exercise("Coding", "f1(x=1) returns x", "mini-ex-one"),
             code(MINI_ANSWERS["9.1"], metadata={"tags": ["solution"]})]
    if with_checks:
        cells += [check('# Check: f1() returns 1\nassert "f1" in globals(), "Define f1() in the answer cell above."\n'
                        'assert f1() == 1, f"f1() should return 1, got {f1()!r}."'),
                  check("# Check: f1(x) returns x for any x\nassert f1(5) == 5, "
                        '"f1(x) should return x, not a constant."', hidden=True)]
    cells += [exercise("Concept", "why one is one", "mini-ex-why"), md(MINI_SOLUTION_92),
              exercise("Coding", "f2() returns 2", "mini-ex-two"),
              code(MINI_ANSWERS["9.3"], metadata={"tags": ["solution"]})]
    if with_checks:
        cells.append(check('# Check: f2() returns 2\nassert "f2" in globals(), "Define f2() in the answer cell above."\n'
                           'assert f2() == 2, "f2() should return 2."'))
    path = folder / "09_mini.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def mini_submission(path: Path, answers: dict[str, str] | None = None, setup: str = "import math",
                    keep_public_checks: str | None = None) -> Path:
    """A student notebook of the small chapter with `answers` ({"9.1": code, ...}; missing ones empty)
    and `setup` as its first code cell; `keep_public_checks` replaces the public checks' code."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    answers = answers or {}
    cells = [code(setup), md("## Exercise 9.1 (coding): f1(x=1) returns x"), code(answers.get("9.1", ""))]
    if keep_public_checks is not None:
        cells.append(code(keep_public_checks, metadata={"tags": ["check"]}))
    cells += [md("## Exercise 9.2 (concept): why one is one"), md("*Your answer here.*"),
              md("## Exercise 9.3 (coding): f2() returns 2"), code(answers.get("9.3", ""))]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path
