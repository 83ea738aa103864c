"""Acceptance test of the grader (tools/grade.py) on every chapter.

Each chapter is graded on three synthetic submissions: the instructor notebook
(full marks), the untouched student notebook (zero, feedback on every exercise)
and the instructor notebook with one typical mistake (that exercise loses
points, no other does). All gradings run once, two at a time, and are shared by
the assertions. This takes several minutes: each submission runs its whole
chapter in quick mode.
"""
import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest

from tools.grade import grade_all, run_submission, write_report
from tools.grade_notebook import chapter_checks
from tools.synthetic_submissions import MISTAKES, with_mistake

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import STUDENT_DIR  # noqa: E402

CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
def graded_chapters():
    return [c for c in CHAPTERS if chapter_checks(c)[1]]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """{chapter stem: (csv rows as dicts, {student: outcome}, feedback folder)} for every chapter."""
    folder = tmp_path_factory.mktemp("submissions")
    jobs = []
    for chapter in CHAPTERS:
        submissions = {"untouched": STUDENT_DIR / chapter.name}
        if chapter in graded_chapters():  # a chapter without checks has nothing for the other two to show
            nbformat.write(with_mistake(chapter), folder / f"{chapter.stem}-mistake.ipynb")
            submissions.update(instructor=chapter, mistake=folder / f"{chapter.stem}-mistake.ipynb")
        jobs += [(chapter, student, path) for student, path in submissions.items()]
    outcomes = grade_all([(chapter, path) for chapter, _, path in jobs], workers=2, time_limit=600)
    result = {}
    for chapter in CHAPTERS:
        mine = {student: outcome for (c, student, _), outcome in zip(jobs, outcomes) if c == chapter}
        out = tmp_path_factory.mktemp(chapter.stem)
        with write_report(chapter, mine, out).open() as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
        result[chapter.stem] = rows, mine, out / "feedback"
    return result


def exercise_columns(row: dict) -> dict:
    return {k: v for k, v in row.items() if k.startswith("Exercise ")}


def maximum(column: str) -> int:
    return int(column.rsplit("/", 1)[1].rstrip(")"))


@pytest.mark.parametrize("chapter", graded_chapters(), ids=lambda p: p.stem)
def test_the_instructor_notebook_gets_full_marks(reports, chapter):
    rows, outcomes, _ = reports[chapter.stem]
    failed = [c for c in outcomes["instructor"]["checks"] if not c["passed"]]
    assert not failed, f"{chapter.stem}: checks that fail on the solutions: {failed}"
    row = rows["instructor"]
    assert all(int(v) == maximum(k) for k, v in exercise_columns(row).items()), row
    assert row["note"] == ""


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_untouched_student_notebook_gets_zero_and_feedback_on_every_exercise(reports, chapter):
    rows, outcomes, feedback_dir = reports[chapter.stem]
    row = rows["untouched"]
    assert all(int(v) == 0 for v in exercise_columns(row).values()) and int(row[next(k for k in row if k.startswith("total"))]) == 0
    public = [c for c in outcomes["untouched"]["checks"] if not c["hidden"]]
    assert not any(c["passed"] for c in public), "a public check passes without an answer"
    feedback = (feedback_dir / "untouched.md").read_text()
    exercises, checks = chapter_checks(chapter)
    for exercise in exercises:
        section = feedback.split(f"## {exercise.heading}\n", 1)[1].split("\n## ", 1)[0]
        if any(c.exercise == exercise.label for c in checks):
            assert "FAILED" in section and "passed:" not in section, section
        else:
            assert "Graded by your instructor." in section


@pytest.mark.parametrize("chapter", graded_chapters(), ids=lambda p: p.stem)
def test_a_typical_mistake_costs_points_on_its_exercise_only(reports, chapter):
    rows, _, feedback_dir = reports[chapter.stem]
    number = MISTAKES[chapter.stem][0]
    scores = exercise_columns(rows["mistake"])
    wrong = [k for k, v in scores.items() if int(v) < maximum(k)]
    assert wrong == [next(k for k in scores if k.startswith(f"Exercise {number} "))], scores
    assert "FAILED" in (feedback_dir / "mistake.md").read_text()


def test_broken_and_endless_submissions_score_zero_with_the_reason(tmp_path):
    chapter = CHAPTERS[0]
    (tmp_path / "broken.ipynb").write_text("{ this is not a notebook")
    endless = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("while True:\n    pass")])
    nbformat.write(endless, tmp_path / "endless.ipynb")
    outcomes = {p.stem: run_submission(chapter, p, time_limit=5) for p in sorted(tmp_path.glob("*.ipynb"))}
    out = tmp_path / "out"
    with write_report(chapter, outcomes, out).open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert "not a readable notebook" in rows["broken"]["note"]
    assert "Timeout" in rows["endless"]["note"] or "time limit" in rows["endless"]["note"]
    for row in rows.values():
        assert all(int(v) == 0 for v in exercise_columns(row).values())
    assert json.loads((out / "timings.json").read_text())["endless"] < 60
