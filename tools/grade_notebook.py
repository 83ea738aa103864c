"""Grade one submitted notebook: `python -m tools.grade_notebook CHAPTER SUBMISSION RESULT.json`.

The submission's own check cells are dropped (a student may have edited them) and
the chapter's checks, public and hidden, are inserted after each exercise's answer.
The notebook then runs in a fresh kernel, in quick mode, errors allowed, so that one
failing answer does not stop the others from being checked. `tools.grade` runs this
in a subprocess per submission, under a time limit.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import (  # noqa: E402
    CHECK_TAG, HIDDEN_CHECK_TAG, DIRECTIVE, Exercise, chapter_number, exercises, tags,
)

HEADING = re.compile(r"^#+\s*Exercise\s+(\d+)\.(\d+)\b", re.MULTILINE)


@dataclass
class Check:
    exercise: str     # label of the exercise it belongs to
    description: str  # the check cell's first comment line: what it tests
    source: str
    hidden: bool


def chapter_checks(chapter: Path) -> tuple[list[Exercise], list[Check]]:
    """The chapter's exercises and check cells; a check belongs to the exercise before it."""
    notebook = nbformat.read(chapter, as_version=4)
    found, checks, current = exercises(notebook, chapter_number(chapter)), [], None
    labels = iter(e.label for e in found)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for match in DIRECTIVE.finditer(cell.source):
                if match["name"] == "exercise":
                    current = next(labels)
        elif {CHECK_TAG, HIDDEN_CHECK_TAG} & set(tags(cell)):
            if current is None:
                raise ValueError(f"{chapter.name}: a check cell comes before the first exercise")
            first_line = cell.source.strip().splitlines()[0]
            description = first_line.lstrip("# ").removeprefix("Check:").strip() if first_line.startswith("#") else "check"
            checks.append(Check(current, description, cell.source, HIDDEN_CHECK_TAG in tags(cell)))
    return found, checks


def _exercise_in(cell, by_number: dict[str, str]) -> list[str]:
    """Labels of the exercises whose heading (student notebook) or directive (instructor notebook) is in `cell`."""
    if cell.cell_type != "markdown":
        return []
    if cell.get("metadata", {}).get("exercise"):
        return [cell.metadata["exercise"]] if "answer" not in tags(cell) else []
    labels = [by_number.get(f"{a}.{b}") for a, b in HEADING.findall(cell.source)]
    for match in DIRECTIVE.finditer(cell.source):
        if match["name"] == "exercise":
            label = re.search(r":label:[ \t]*(\S+)", match["options"])
            labels.append(label.group(1) if label else None)
    return [label for label in labels if label]


def grading_notebook(submission: nbformat.NotebookNode, found: list[Exercise],
                     checks: list[Check]) -> nbformat.NotebookNode:
    """The submission with the chapter's checks after each exercise (at the end if its heading is gone)."""
    by_number = {e.number: e.label for e in found}
    cells = [c for c in submission.cells if not {CHECK_TAG, HIDDEN_CHECK_TAG} & set(tags(c))]
    # An exercise's answer runs up to the next cell that opens another exercise.
    anchors = [(i, label) for i, cell in enumerate(cells) for label in _exercise_in(cell, by_number)]
    insert_at = {}
    for n, (i, label) in enumerate(anchors):
        later = [j for j, _ in anchors[n + 1:] if j > i]
        insert_at.setdefault(label, later[0] if later else len(cells))
    out = []
    for i in range(len(cells) + 1):
        for number, check in enumerate(checks):
            if insert_at.get(check.exercise, len(cells)) == i:
                out.append(nbformat.v4.new_code_cell(check.source, metadata={"grading_check": number}))
        if i < len(cells):
            out.append(cells[i])
    submission.cells = out
    return submission


def _outcome(cell) -> tuple[bool, str]:
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return False, "did not run (an earlier cell stopped the notebook)"
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = output.get("evalue") or output.get("ename", "error")
            if output.get("ename") == "AssertionError":
                return False, message  # the check's own hint
            if output.get("ename") == "NameError":
                return False, f"{message}: define it in your answer cell, with the name the exercise gives"
            return False, f"{output['ename']}: {message}"
    return True, "passed"


def grade(chapter: Path, submission_path: Path, time_limit: float, workdir: Path) -> dict:
    """Run one submission and return {"checks": [...], "error": reason or None}."""
    found, checks = chapter_checks(chapter)
    results = [{"exercise": c.exercise, "description": c.description, "passed": False,
                "message": "not run", "hidden": c.hidden} for c in checks]
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except Exception as error:  # not JSON, not a notebook, ...
        return {"checks": results, "error": f"not a readable notebook ({type(error).__name__}: {error})"}
    notebook = grading_notebook(submission, found, checks)
    client = NotebookClient(notebook, timeout=time_limit, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    error = None
    try:
        client.execute()
    except Exception as failure:  # a dead kernel, a cell past the time limit: keep what did run
        error = f"the notebook stopped: {type(failure).__name__}: {str(failure).strip().splitlines()[-1][:200]}"
    for cell in notebook.cells:
        number = cell.get("metadata", {}).get("grading_check")
        if number is not None:
            passed, message = _outcome(cell)
            results[number].update(passed=passed, message=message)
    return {"checks": results, "error": error}


if __name__ == "__main__":
    chapter_file, submission_file, result_file, limit = sys.argv[1:5]
    outcome = grade(Path(chapter_file), Path(submission_file), float(limit), Path(result_file).parent)
    Path(result_file).write_text(json.dumps(outcome, indent=1))
