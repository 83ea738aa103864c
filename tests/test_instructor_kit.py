"""The private instructor kit (tools/instructor_kit.py) and grading from it (`tools.grade --kit`).

That a submission cannot read the kit is tested with the other attacks, in test_grading_attacks.py."""
import csv
import json
import stat
from pathlib import Path

import jupytext
import nbformat
import pytest

from tools import sandbox
from tools.grade import main as grade
from tools.grade_notebook import chapter_checks
from tools.instructor_kit import kit_chapters, write_kit
from tools.rubrics import all_rubrics
from tools.synthetic_submissions import MINI_ANSWERS, mini_chapter, mini_submission

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
HIDDEN = 'assert f1(5) == 5, "f1(x) should return x, not a constant."'
NEW_TERM = 'assert f1(-3) == -3, "f1(x) should return x for negative x too."'


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return write_kit(tmp_path_factory.mktemp("private") / "kit")


def test_the_kit_holds_every_chapter_with_the_same_checks_and_the_rubrics(kit):
    assert stat.S_IMODE(kit.stat().st_mode) == 0o700, "other users of the machine could read the solutions"
    for chapter in CHAPTERS:
        assert chapter_checks(kit / "chapters" / f"{chapter.stem}.md") == chapter_checks(chapter), chapter.stem
    with (kit / "rubrics.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(all_rubrics()) > 0
    manifest = json.loads((kit / "kit.json").read_text())
    assert manifest["chapters"] == [c.stem for c in CHAPTERS] and manifest["course_version"]
    assert f"--kit {kit.resolve()}" in (kit / "README.md").read_text()
    assert kit_chapters(kit) == kit / "chapters"


def test_the_kit_is_never_written_where_it_would_not_be_private(tmp_path, monkeypatch, kit):
    with pytest.raises(SystemExit, match="inside the course repository"):
        write_kit(REPO / "kit")
    with pytest.raises(SystemExit, match="not empty"):
        write_kit(kit)
    monkeypatch.setattr(sandbox, "shown_folders", lambda: [tmp_path])  # as if the box showed this folder
    with pytest.raises(SystemExit, match="the grading sandbox shows to every submission"):
        write_kit(tmp_path / "kit")
    with pytest.raises(SystemExit, match="the grading sandbox shows"):
        kit_chapters(kit.rename(tmp_path / "moved-kit"))


def test_the_box_shows_its_own_folders_and_not_a_kit(kit):
    assert sandbox.shown_in_box(REPO / "utils" / "__init__.py") == REPO / "utils"
    assert sandbox.shown_in_box(kit) is None and sandbox.shown_in_box(REPO / "chapters") is None


def test_grading_with_a_folder_that_is_not_a_kit_says_how_to_make_one(tmp_path, kit):
    with pytest.raises(SystemExit, match="python -m tools.instructor_kit"):
        grade(["01_lenet", str(tmp_path), "--kit", str(tmp_path)])
    with pytest.raises(SystemExit, match="name the chapter"):  # a file would be graded without the kit
        grade([str(CHAPTERS[0]), str(tmp_path), "--kit", str(kit)])


@pytest.mark.slow
def test_a_hidden_check_changed_in_the_kit_takes_effect(tmp_path):
    """An instructor changes the hidden check of 9.1 in the kit; a submission that passed the old one
    (f1 = abs) fails the new one, with the new hint, when graded with --kit, and not without it."""
    course = tmp_path / "course"
    course.mkdir()
    chapter = mini_chapter(course)
    jupytext.write(nbformat.read(chapter, as_version=4), course / "09_mini.md", fmt="md:myst")
    kit = write_kit(tmp_path / "kit", chapters=course)
    changed = kit / "chapters" / "09_mini.md"
    assert HIDDEN in changed.read_text()
    changed.write_text(changed.read_text().replace(HIDDEN, NEW_TERM))
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    mini_submission(submissions / "ada.ipynb", {**MINI_ANSWERS, "9.1": "def f1(x=1):\n    return abs(x)"})
    scores = {}
    for name, arguments in {"repository": [str(chapter)], "kit": ["09_mini", "--kit", str(kit)]}.items():
        assert grade([*arguments, str(submissions), "--out", str(tmp_path / name), "--time-limit", "60"]) == 0
        with (tmp_path / name / "grades.csv").open() as f:
            scores[name] = next(csv.DictReader(f))["Exercise 9.1 (/2)"]
    assert scores == {"repository": "2", "kit": "1"}, scores
    assert "should return x for negative x too." in (tmp_path / "kit" / "feedback" / "ada.md").read_text()
    assert "why one is one" in (tmp_path / "kit" / "rubrics.md").read_text()
