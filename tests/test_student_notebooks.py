"""Student notebooks (book/colab/): current, plain Markdown, per-chapter exercise numbers, answer cells."""
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import (  # noqa: E402
    ANSWER_TAG, CHECK_TAG, CODE_KINDS, HIDDEN_CHECK_TAG, SOLUTION_TAG, STUDENT_DIR, chapter_number, exercises,
    student_notebook, student_notebook_for,
)

CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
MYST_SYNTAX = {
    "role": re.compile(r"\{[\w:-]+\}`"),
    "directive": re.compile(r"^\s*(`{3,}|:{3,})\{", re.MULTILINE),
    "directive option": re.compile(r"^:[\w-]+:", re.MULTILINE),
    "target": re.compile(r"^\([\w-]+\)=", re.MULTILINE),
}
HEADING = re.compile(r"^### Exercise (\d+)\.(\d+) \((concept|coding|experiment)\): \S", re.MULTILINE)


def cells(notebook):
    return [(cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))) for cell in notebook.cells]


def tags(cell):
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_current(chapter):
    committed = STUDENT_DIR / chapter.name
    assert committed.exists(), f"{committed} is missing: run `make student-notebooks`"
    assert cells(nbformat.read(committed, as_version=4)) == cells(student_notebook_for(chapter)), \
        f"{committed.name} is stale: run `make student-notebooks`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_plain_markdown_without_solutions(chapter):
    student = nbformat.read(STUDENT_DIR / chapter.name, as_version=4)
    nbformat.validate(student)
    for cell in student.cells:
        assert not {SOLUTION_TAG, HIDDEN_CHECK_TAG} & set(tags(cell)), f"{chapter.stem}: a solution or hidden check is left"
        if cell.cell_type == "markdown":
            for what, pattern in MYST_SYNTAX.items():
                assert not pattern.search(cell.source), f"{chapter.stem}: MyST {what} left in:\n{cell.source[:300]}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_is_numbered_per_chapter_and_followed_by_an_answer_cell(chapter):
    student = nbformat.read(STUDENT_DIR / chapter.name, as_version=4)
    expected = exercises(nbformat.read(chapter, as_version=4), chapter_number(chapter))
    found = []
    for i, cell in enumerate(student.cells):
        if cell.cell_type != "markdown":
            continue
        for number, index, kind in HEADING.findall(cell.source):
            found.append((int(number), int(index)))
            answer = student.cells[i + 1] if i + 1 < len(student.cells) else None
            assert answer is not None and ANSWER_TAG in tags(answer), f"Exercise {number}.{index} has no answer cell"
            assert answer.cell_type == ("code" if kind in CODE_KINDS else "markdown"), \
                f"Exercise {number}.{index} ({kind}) has a {answer.cell_type} answer cell"
    assert found == [(chapter_number(chapter), i) for i in range(1, len(expected) + 1)], \
        f"{chapter.stem}: exercises should be numbered {chapter_number(chapter)}.1, {chapter_number(chapter)}.2, ..."


def test_citations_references_and_exercises_become_plain_markdown():
    markdown = ("As {cite}`lecun1998gradient` showed (see {ref}`the exercise <my-ex>`, {ref}`my-ex`).\n\n"
                "```{exercise} Coding: build it\n:label: my-ex\n\nWrite `thing()`.\n```\n\n"
                "````{solution} my-ex\n:label: my-sol\n\nSecret, with a fence:\n```python\nsecret()\n```\n````\n\n"
                "```{note}\nMind the gap.\n```\nAfter.")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(markdown),
        nbformat.v4.new_code_cell("secret_code()", metadata={"tags": [SOLUTION_TAG]}),
        nbformat.v4.new_code_cell("# Check: thing\nassert thing()", metadata={"tags": [CHECK_TAG]}),
        nbformat.v4.new_code_cell("hidden_test()", metadata={"tags": [HIDDEN_CHECK_TAG]}),
    ])
    student = student_notebook(notebook, chapter=7)
    text = "\n".join(cell.source for cell in student.cells)
    assert "(LeCun et al., 1998)" in text and "see the exercise, Exercise 7.1)" in text
    assert "### Exercise 7.1 (coding): build it" in text and "> **Note.**" in text and "After." in text
    assert "secret" not in text.lower() and "hidden_test" not in text
    assert student.cells[-1].source.startswith("## References") and "Gradient-Based Learning" in student.cells[-1].source
    kinds = [(c.cell_type, tags(c)) for c in student.cells]
    assert kinds == [("markdown", []), ("markdown", []), ("code", [ANSWER_TAG]), ("markdown", []),
                     ("code", [CHECK_TAG]), ("markdown", [])], kinds


def test_the_html_numbers_exercises_per_chapter():
    from types import SimpleNamespace

    from course_editions import _number_exercises_per_chapter

    # As Sphinx numbers them without a numbered table of contents: across the whole book.
    env = SimpleNamespace(toc_fignumbers={
        "chapters/05_resnet": {"exercise": {"second": (29,), "first": (28,)}, "figure": {"plot": (3,)}},
        "book/intro": {"exercise": {"other": (1,)}},
    })
    _number_exercises_per_chapter(None, env)
    assert env.toc_fignumbers["chapters/05_resnet"] == {"exercise": {"first": (5, 1), "second": (5, 2)},
                                                       "figure": {"plot": (3,)}}
    assert env.toc_fignumbers["book/intro"] == {"exercise": {"other": (1,)}}


def test_a_figure_becomes_an_image_colab_can_load_with_its_alt_text_and_caption():
    markdown = "```{figure} ../book/figures/lenet.svg\n:alt: Boxes and arrows\n:name: fig-x\n\nThe caption.\n```"
    student = student_notebook(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]), chapter=1)
    text = student.cells[0].source
    assert text.startswith("![Boxes and arrows](https://raw.githubusercontent.com/"), text
    assert "/main/book/figures/lenet.svg)" in text and "*The caption.*" in text and ":name:" not in text


def test_the_exercise_table_gives_solution_code_to_its_own_exercise_only(tmp_path):
    from course_editions import _exercise_rows

    fence = "```{{{kind}}} {text}\n:label: {label}\n\nWords.\n```\n"
    two = (fence.format(kind="exercise", text="Concept: think", label="ex-think")
           + fence.format(kind="solution", text="ex-think", label="sol-think")
           + fence.format(kind="exercise", text="Coding: build", label="ex-build")
           + fence.format(kind="solution", text="ex-build", label="sol-build"))
    code = nbformat.v4.new_code_cell("pass", metadata={"tags": ["solution"], "execution": {
        "iopub.execute_input": "2026-11-28T10:00:00Z", "shell.execute_reply": "2026-11-28T10:00:27Z"}})
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(two), code]), path)
    think, build = _exercise_rows(path)
    assert "Concept | worked answer | no code to run |" in think, think
    assert "Coding | worked answer and code | 27 s |" in build, build
