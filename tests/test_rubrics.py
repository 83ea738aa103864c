"""Rubrics (tools/rubrics.py): every exercise graded by hand has a complete one, kept inside its
solution block, so that no student file carries it; the exported table and the grader's copy."""
import csv
import re
import sys
from pathlib import Path

import nbformat
import pytest

from tools.grade import write_report
from tools.rubrics import LEVELS, MARKER, all_rubrics, chapter_rubrics, main, parse
from tools.synthetic_submissions import mini_chapter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import DIRECTIVE, STUDENT_DIR  # noqa: E402

CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_graded_by_hand_has_a_complete_rubric(chapter):
    for rubric in chapter_rubrics(chapter):
        assert not rubric.missing(), f"Exercise {rubric.number} ({rubric.label}): no {rubric.missing()} in its rubric"
        assert set(rubric.levels) == set(LEVELS), f"Exercise {rubric.number}: levels {list(rubric.levels)}"
        assert all(len(text) >= 20 for text in rubric.levels.values()), f"Exercise {rubric.number}: a level is empty"


def test_the_hand_graded_exercises_are_the_concept_questions_and_the_unchecked_experiments():
    rubrics = all_rubrics()
    kinds = [r.kind for r in rubrics]
    concept_questions = sum(c.with_suffix(".md").read_text().count("{exercise} Concept:") for c in CHAPTERS)
    assert kinds.count("concept") == concept_questions and set(kinds) == {"concept", "experiment"}, \
        [(r.number, r.kind) for r in rubrics]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_a_rubric_is_only_ever_inside_a_solution_block(chapter):
    """The student edition and notebooks drop `{solution}` blocks: a rubric anywhere else would reach students."""
    text = chapter.with_suffix(".md").read_text()
    inside = [m.span("body") for m in DIRECTIVE.finditer(text) if m["name"] == "solution"]
    for marker in re.finditer(re.escape(MARKER), text):
        assert any(start <= marker.start() < end for start, end in inside), \
            f"{chapter.with_suffix('.md').name}: a rubric outside a solution block, near {text[marker.start() - 200:marker.start()]!r}"


def test_no_student_notebook_contains_a_rubric():
    rubrics = all_rubrics()
    for notebook in sorted(STUDENT_DIR.glob("*.ipynb")):
        text = notebook.read_text()
        assert MARKER not in text and "**Full credit:**" not in text, notebook.name
        for rubric in rubrics:
            for level in rubric.levels.values():
                assert level[:60] not in text, f"{notebook.name} holds the rubric of Exercise {rubric.number}"


def test_parse_reads_the_three_levels_and_notices_a_missing_one():
    body = f"Worked answer.\n\n{MARKER}\n\n- **Full credit:** all of it,\n  on two lines.\n- **Partial credit:** half.\n"
    assert parse(body) == {"Full credit": "all of it, on two lines.", "Partial credit": "half."}
    assert parse("Worked answer without a rubric.") == {}


def test_the_export_writes_every_rubric_and_fails_on_an_incomplete_one(tmp_path, capsys):
    assert main([str(tmp_path / "all")]) == 0
    with (tmp_path / "all" / "rubrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["chapter"], r["exercise"]) for r in rows] == [(r.chapter, r.number) for r in all_rubrics()]
    assert all(r[level] for r in rows for level in LEVELS)
    assert "| 1.1 | concept | shapes by hand |" in (tmp_path / "all" / "rubrics.md").read_text()
    # A chapter whose concept exercise lost a level of its rubric.
    chapter = mini_chapter(tmp_path)
    notebook = nbformat.read(chapter, as_version=4)
    for cell in notebook.cells:
        cell.source = cell.source.replace("- **No credit:** neither.\n", "")
    nbformat.write(notebook, chapter)
    assert main([str(tmp_path / "mini"), "--chapters", str(tmp_path)]) == 1
    assert "9.2 (No credit)" in capsys.readouterr().err


def test_the_grader_puts_the_rubrics_beside_the_grades_not_in_the_feedback(tmp_path):
    chapter = mini_chapter(tmp_path)
    outcome = {"checks": None, "error": "did not run", "seconds": 1.0, "flags": [], "sandboxed": True}
    write_report(chapter, {"ada": outcome}, tmp_path / "out")
    assert "says why, with a reason." in (tmp_path / "out" / "rubrics.md").read_text()
    with (tmp_path / "out" / "rubrics.csv").open() as f:
        assert [r["exercise"] for r in csv.DictReader(f)] == ["9.2"]
    feedback = (tmp_path / "out" / "feedback" / "ada.md").read_text()
    assert "Graded by your instructor." in feedback and "says why" not in feedback and "Rubric" not in feedback
