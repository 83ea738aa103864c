"""The grader (tools/grade.py): one real chapter end to end, every other path on small notebooks.

Two real chapters are graded end to end, one submission each: LeNet's instructor notebook
with one typical mistake (full marks everywhere else, points lost on that exercise only)
and AlexNet's untouched student notebook (zero, with feedback on every exercise). The other chapters' checks are
validated without running them (they parse, belong to a code exercise, and land after
that exercise in the student notebook). The grader's other paths (hidden checks, a
failing check, a broken or endless notebook, a chapter without checks, ...) run on a
small synthetic chapter of three exercises, in a few seconds each. Attacks on the
grader are in test_grading_attacks.py.
"""
import ast
import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest

from tools.grade import grade_all, run_submission, write_report
from tools.grade_notebook import HIDDEN_CHECK_TAG, chapter_checks, grading_notebook
from tools.synthetic_submissions import MINI_ANSWERS, MISTAKES, mini_chapter, mini_submission, with_mistake

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import STUDENT_DIR, tags  # noqa: E402

CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
LENET = REPO / "chapters" / "01_lenet.ipynb"
ALEXNET = REPO / "chapters" / "02_alexnet.ipynb"  # the cheapest graded chapter after LeNet in quick mode


def graded_chapters():
    return [c for c in CHAPTERS if chapter_checks(c)[1]]


def exercise_columns(row: dict) -> dict:
    return {k: v for k, v in row.items() if k.startswith("Exercise ")}


def maximum(column: str) -> int:
    return int(column.rsplit("/", 1)[1].rstrip(")"))


def total(row: dict) -> int:
    return int(row[next(k for k in row if k.startswith("total"))])


def report(chapter: Path, outcomes: dict, out: Path) -> tuple[dict, Path]:
    """The grades.csv rows by student, and the feedback folder."""
    with write_report(chapter, outcomes, out).open() as f:
        return {row["student"]: row for row in csv.DictReader(f)}, out / "feedback"


def section(feedback: str, heading_start: str) -> str:
    return feedback.split(f"## {heading_start}", 1)[1].split("\n## ", 1)[0]


# --- real chapters end to end, each executed once (nbval runs it once more) -----------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Two real submissions, graded side by side: LeNet's instructor notebook with one typical mistake
    (every other exercise solved), and AlexNet's untouched student notebook. Two chapters, one run
    each, so that with nbval no chapter runs more than twice in `make test`."""
    folder = tmp_path_factory.mktemp("graded")
    nbformat.write(with_mistake(LENET), folder / "mistake.ipynb")
    jobs = {"mistake": (LENET, folder / "mistake.ipynb"), "untouched": (ALEXNET, STUDENT_DIR / ALEXNET.name)}
    outcomes = dict(zip(jobs, grade_all(list(jobs.values()), 2, time_limit=300)))
    return {student: (*report(chapter, {student: outcomes[student]}, folder / student), outcomes[student])
            for student, (chapter, _) in jobs.items()}


@pytest.mark.slow
def test_the_solutions_get_full_marks_and_a_typical_mistake_loses_points_on_its_exercise_only(graded):
    rows, feedback_dir, outcome = graded["mistake"]
    row, mistaken = rows["mistake"], MISTAKES["01_lenet"][0]
    scores = exercise_columns(row)
    assert [k for k, v in scores.items() if int(v) < maximum(k)] == [
        next(k for k in scores if k.startswith(f"Exercise {mistaken} "))], scores
    failed = {c["exercise"] for c in outcome["checks"] if not c["passed"]}
    exercises, _ = chapter_checks(LENET)
    assert failed == {e.label for e in exercises if e.number == mistaken}, f"checks failing on solutions: {failed}"
    assert row["note"] == "" and row["flags"] == "", row
    assert "FAILED" in section((feedback_dir / "mistake.md").read_text(), f"Exercise {mistaken}")


@pytest.mark.slow
def test_the_untouched_student_notebook_gets_zero_and_feedback_on_every_exercise(graded):
    rows, feedback_dir, outcome = graded["untouched"]
    row = rows["untouched"]
    assert all(int(v) == 0 for v in exercise_columns(row).values()) and total(row) == 0, row
    assert not any(c["passed"] for c in outcome["checks"] if not c["hidden"])
    feedback = (feedback_dir / "untouched.md").read_text()
    exercises, checks = chapter_checks(ALEXNET)
    for exercise in exercises:
        text = section(feedback, f"{exercise.heading}\n")
        if any(c.exercise == exercise.label for c in checks):
            assert "FAILED" in text and "passed:" not in text, text
        else:
            assert "Graded by your instructor." in text


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_check_parses_and_belongs_to_a_code_exercise(chapter):
    exercises, checks = chapter_checks(chapter)
    kinds = {e.label: e.kind for e in exercises}
    for check in checks:
        ast.parse(check.source)  # a SyntaxError here would cost every student the point
        assert kinds[check.exercise] in ("coding", "experiment"), (check.exercise, check.description)
        assert check.source.lstrip().startswith("# Check:"), f"{check.exercise}: name the check in its first line"


@pytest.mark.parametrize("chapter", graded_chapters(), ids=lambda p: p.stem)
def test_checks_land_after_their_exercise_in_the_student_notebook(chapter):
    """In the grading notebook built from the student notebook, each check comes after its
    exercise's heading and before the next exercise's; the student copies of checks are gone."""
    exercises, checks = chapter_checks(chapter)
    student = nbformat.read(STUDENT_DIR / chapter.name, as_version=4)
    assert not any(HIDDEN_CHECK_TAG in tags(c) for c in student.cells), "a hidden check reached students"
    cells = grading_notebook(student, exercises, checks).cells
    inserted = [(i, checks[c.metadata["grading_check"]]) for i, c in enumerate(cells) if "grading_check" in c.metadata]
    assert [c for _, c in inserted] == checks, "every check once, in the chapter's order"
    assert not any("check" in tags(c) for c in cells), "the student's copies of the checks are dropped"
    headings = {e.label: next(i for i, c in enumerate(cells) if c.cell_type == "markdown"
                              and c.get("metadata", {}).get("exercise") == e.label and "answer" not in tags(c))
                for e in exercises}
    order = [e.label for e in exercises]
    for i, check in inserted:
        later = [headings[label] for label in order[order.index(check.exercise) + 1:]]
        assert headings[check.exercise] < i < min(later, default=len(cells)), (check.exercise, check.description)


# --- the other paths, on a small synthetic chapter -------------------------------------------------

@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """The small chapter graded on a set of submissions, two at a time: (rows, outcomes, feedback, chapter)."""
    folder = tmp_path_factory.mktemp("mini")
    chapter = mini_chapter(folder)
    subs = folder / "submissions"
    subs.mkdir()
    wrong_hidden = {**MINI_ANSWERS, "9.1": "def f1(x=1):\n    return 1"}
    submissions = {
        "solved": mini_submission(subs / "solved.ipynb", MINI_ANSWERS),
        "untouched": mini_submission(subs / "untouched.ipynb"),
        "hidden": mini_submission(subs / "hidden.ipynb", wrong_hidden),
        "erroring": mini_submission(subs / "erroring.ipynb", {
            **MINI_ANSWERS, "9.3": "def f2():\n    return [1, 2][5]"}),
        "edited-checks": mini_submission(subs / "edited-checks.ipynb", {"9.3": MINI_ANSWERS["9.3"]},
                                         keep_public_checks="pass  # the student's 'check'"),
        "no-headings": subs / "no-headings.ipynb",
    }
    headless = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(MINI_ANSWERS["9.1"] + "\n\n" + MINI_ANSWERS["9.3"])])
    nbformat.write(headless, submissions["no-headings"])
    forged = nbformat.read(mini_submission(subs / "forged-markers.ipynb"), as_version=4)
    forged.cells += [nbformat.v4.new_code_cell("x = 1", metadata={"grading_check": n}) for n in range(3)]
    nbformat.write(forged, subs / "forged-markers.ipynb")
    submissions["forged-markers"] = subs / "forged-markers.ipynb"
    (subs / "broken.ipynb").write_text("{ this is not a notebook")
    submissions["broken"] = subs / "broken.ipynb"
    outcomes = dict(zip(submissions, grade_all([(chapter, p) for p in submissions.values()], 2, time_limit=60)))
    rows, feedback = report(chapter, outcomes, folder / "out")
    return rows, outcomes, feedback, chapter


@pytest.mark.slow
def test_mini_columns_points_and_full_marks(mini):
    rows, outcomes, feedback, _ = mini
    assert list(rows["solved"]) == ["student", "Exercise 9.1 (/2)", "Exercise 9.3 (/1)", "total (/3)", "flags", "note"]
    assert total(rows["solved"]) == 3 and rows["solved"]["note"] == ""
    text = (feedback / "solved.md").read_text()
    assert "Automatic score: 3 / 3" in text and "Graded by your instructor." in section(text, "Exercise 9.2")


@pytest.mark.slow
def test_mini_untouched_gets_zero_and_a_hint_per_check(mini):
    rows, outcomes, feedback, _ = mini
    assert total(rows["untouched"]) == 0
    text = (feedback / "untouched.md").read_text()
    assert "Define f1() in the answer cell above." in text and "Define f2() in the answer cell above." in text
    assert outcomes["untouched"]["first_error"] is None  # empty answers are no error


@pytest.mark.slow
def test_a_hidden_check_counts_and_is_named_without_its_source(mini):
    rows, outcomes, feedback, chapter = mini
    assert rows["hidden"]["Exercise 9.1 (/2)"] == "1" and total(rows["hidden"]) == 2
    text = (feedback / "hidden.md").read_text()
    assert "FAILED: f1(x) returns x for any x (hidden check)" in text
    assert "f1(x) should return x, not a constant." in text  # the check's own hint
    assert "f1(5) == 5" not in text, "the hidden check's source leaked"


@pytest.mark.slow
def test_an_error_inside_a_check_costs_that_check_with_one_line(mini):
    rows, outcomes, feedback, _ = mini
    assert rows["erroring"]["Exercise 9.3 (/1)"] == "0" and rows["erroring"]["Exercise 9.1 (/2)"] == "2"
    message = next(c["message"] for c in outcomes["erroring"]["checks"] if c["exercise"] == "mini-ex-two")
    assert "IndexError: list index out of range" in message and "\n" not in message


@pytest.mark.slow
def test_the_students_own_check_cells_are_replaced(mini):
    rows, *_ = mini
    assert rows["edited-checks"]["Exercise 9.1 (/2)"] == "0" and rows["edited-checks"]["Exercise 9.3 (/1)"] == "1"


@pytest.mark.slow
def test_checks_of_exercises_without_heading_run_at_the_end(mini):
    rows, outcomes, *_ = mini
    assert total(rows["no-headings"]) == 3, outcomes["no-headings"]


@pytest.mark.slow
def test_cells_marked_as_checks_by_the_student_count_nothing(mini):
    rows, outcomes, *_ = mini
    assert total(rows["forged-markers"]) == 0, outcomes["forged-markers"]


@pytest.mark.slow
def test_a_broken_notebook_scores_zero_with_the_reason(mini):
    rows, *_ = mini
    assert "not a readable notebook" in rows["broken"]["note"] and total(rows["broken"]) == 0


@pytest.mark.slow
def test_an_endless_loop_keeps_earlier_points_and_costs_one_time_limit(tmp_path):
    chapter = mini_chapter(tmp_path)
    endless = mini_submission(tmp_path / "endless.ipynb", {**MINI_ANSWERS, "9.3": "while True:\n    pass"})
    outcome = run_submission(chapter, endless, time_limit=15)
    rows, _ = report(chapter, {"endless": outcome}, tmp_path / "out")
    assert rows["endless"]["Exercise 9.1 (/2)"] == "2" and rows["endless"]["Exercise 9.3 (/1)"] == "0"
    assert "time limit" in rows["endless"]["note"]
    assert outcome["seconds"] < 15 + 20


@pytest.mark.slow
def test_a_chapter_without_checks_leaves_everything_to_the_instructor(tmp_path):
    chapter = mini_chapter(tmp_path, with_checks=False)
    outcome = run_submission(chapter, mini_submission(tmp_path / "ada.ipynb", MINI_ANSWERS), time_limit=60)
    rows, feedback = report(chapter, {"ada": outcome}, tmp_path / "out")
    assert list(rows["ada"]) == ["student", "total (/0)", "flags", "note"]
    assert (feedback / "ada.md").read_text().count("Graded by your instructor.") == 3
    assert json.loads((tmp_path / "out" / "timings.json").read_text())["ada"] < 60
