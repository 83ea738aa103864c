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
