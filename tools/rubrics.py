"""Rubrics for the exercises graded by hand, read from the chapters' solutions.

    .venv/bin/python -m tools.rubrics OUT_DIR     # writes OUT_DIR/rubrics.csv and rubrics.md

Every concept question, and every experiment without an automatic check, ends
its `{solution}` block in the chapter with a rubric in this fixed form:

    **Rubric.**

    - **Full credit:** what a complete answer has.
    - **Partial credit:** what earns part of the points.
    - **No credit:** what earns nothing.

The solution block is the one place a rubric is kept. The student edition and the
student notebooks leave solutions out, so they leave the rubric out too; the
instructor edition shows it under the worked answer. The grader copies the graded
chapter's rubrics next to grades.csv, and the instructor kit holds the table for
every chapter (tools/instructor_kit.py).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.grade_notebook import DIRECTIVE, REPO, chapter_checks, read_chapter

LEVELS = ("Full credit", "Partial credit", "No credit")
MARKER = "**Rubric.**"
LEVEL = re.compile(r"^- \*\*(?P<level>[^*:]+):\*\*[ \t]*(?P<text>.*?)(?=^- \*\*|\Z)", re.MULTILINE | re.DOTALL)


@dataclass
class Rubric:
    chapter: str    # the chapter's file stem, e.g. 01_lenet
    number: str     # "1.3"
    kind: str       # "concept" or "experiment"
    title: str
    label: str
    levels: dict[str, str]  # level name -> what an answer at that level looks like; empty when missing

    def missing(self) -> list[str]:
        return [level for level in LEVELS if not self.levels.get(level)]


def solution_bodies(chapter: Path) -> dict[str, str]:
    """{exercise label: the text of its `{solution}` block}."""
    bodies = {}
    for cell in read_chapter(chapter).cells:
        if cell.cell_type == "markdown":
            for match in DIRECTIVE.finditer(cell.source):
                if match["name"] == "solution":
                    bodies[match["arg"].strip()] = match["body"]
    return bodies


def parse(solution: str) -> dict[str, str]:
    """The levels of the rubric at the end of a solution block ({} when it has none)."""
    if MARKER not in solution:
        return {}
    text = solution.split(MARKER, 1)[1]
    return {m["level"].strip(): " ".join(m["text"].split()) for m in LEVEL.finditer(text)}


def chapter_rubrics(chapter: Path) -> list[Rubric]:
    """A rubric for every exercise of the chapter that no check grades, in the chapter's order."""
    exercises, checks = chapter_checks(chapter)
    checked = {check.exercise for check in checks}
    bodies = solution_bodies(chapter)
    return [Rubric(Path(chapter).stem, e.number, e.kind, e.title, e.label, parse(bodies.get(e.label, "")))
            for e in exercises if e.label not in checked]


def all_rubrics(chapters: Path = REPO / "chapters") -> list[Rubric]:
    """The rubrics of every chapter in `chapters` (the notebooks, or the .md files where there are none)."""
    files = sorted(chapters.glob("*.ipynb")) or sorted(chapters.glob("*.md"))
    return [rubric for chapter in files for rubric in chapter_rubrics(chapter)]


def markdown_table(rubrics: list[Rubric]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|") or "(missing)"

    rows = [f"| {r.number} | {r.kind} | {cell(r.title)} | "
            + " | ".join(cell(r.levels.get(level, "")) for level in LEVELS) + " |" for r in rubrics]
    return "\n".join(["| Exercise | Kind | Title | " + " | ".join(LEVELS) + " |",
                      "|---|---|---|" + "---|" * len(LEVELS), *rows])


def write_tables(rubrics: list[Rubric], folder: Path, title: str = "Rubrics") -> tuple[Path, Path]:
    """`folder/rubrics.csv` and `folder/rubrics.md`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / "rubrics.csv", folder / "rubrics.md"
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["chapter", "exercise", "kind", "title", "label", *LEVELS])
        writer.writerows([r.chapter, r.number, r.kind, r.title, r.label, *(r.levels.get(level, "") for level in LEVELS)]
                         for r in rubrics)
    intro = ("The exercises graded by hand (concept questions, and experiments without an automatic check), "
             "with what a full, a partial and no-credit answer look like. Instructor material: "
             "do not hand it to students.")
    md_path.write_text(f"# {title}\n\n{intro}\n\n{markdown_table(rubrics)}\n")
    return csv_path, md_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for rubrics.csv and rubrics.md")
    parser.add_argument("--chapters", type=Path, default=REPO / "chapters", help="the chapters to read")
    args = parser.parse_args(argv)
    rubrics = all_rubrics(args.chapters)
    incomplete = [f"{r.number} ({', '.join(r.missing())})" for r in rubrics if r.missing()]
    csv_path, md_path = write_tables(rubrics, args.out)
    print(f"wrote {len(rubrics)} rubrics to {csv_path} and {md_path}")
    if incomplete:
        print(f"incomplete rubrics: {'; '.join(incomplete)}: add the missing levels to the solution blocks",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
