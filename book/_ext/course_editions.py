"""The book's two editions: students get no solutions anywhere, instructors get all of them.

The edition comes from the environment variable COURSE_EDITION ("student", the
default, or "instructor"); `make book` and `make book-instructor` set it. In the
student edition this extension

* turns on sphinx-exercise's `hide_solutions`, which drops `{solution}` directives;
* deletes notebook cells tagged `solution` (runnable solutions are code cells,
  which no directive can wrap in a way that survives `hide_solutions`), so the
  solution code is absent from the HTML and the search index, not hidden by CSS,
  and drops the stored outputs of the public checks, which only the solutions
  made pass;
* points the Colab button at the student notebooks in `book/colab/`, and
  replaces the downloadable `.ipynb` sources with those same notebooks.

In both editions it serves MathJax from the book's own static files when
`make setup` has vendored them, so equations render offline.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config

from student_notebooks import CHAPTERS_DIR, CHECK_TAG, HIDDEN_CHECK_TAG, SOLUTION_TAG, STUDENT_DIR, STUDENT_URL_PATH, chapter_number

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.colab_pin import course_version  # noqa: E402
from tools.pages_url import pages_url, repository_url  # noqa: E402

EDITIONS = ("student", "instructor")
HIDDEN_CLASSES = {f"tag_{SOLUTION_TAG}", f"tag_{HIDDEN_CHECK_TAG}"}  # cells students never see
WHERE_SOLUTIONS_ARE = """\
In the repository, the solutions are the code cells tagged `solution` in the chapter notebooks
(`chapters/`), each right after the exercise it answers; this instructor edition is built from them
with `make book-instructor`. The student edition, its search index, its downloadable notebooks and the
notebooks that its Colab buttons open are built without them, and without the rubrics at the end of the
worked answers. For your course's own hidden checks, changed each term without a fork, make a private
instructor kit outside the repository (`make instructor-kit KIT=~/cnn-course-kit`, see {ref}`instructor-kit`).
"""


def edition() -> str:
    value = os.environ.get("COURSE_EDITION", "student")
    if value not in EDITIONS:
        raise ValueError(f"COURSE_EDITION must be one of {EDITIONS}, got {value!r}")
    return value


MATHJAX = Path(__file__).resolve().parents[1] / "static" / "mathjax" / "tex-mml-chtml.js"


def _configure(app: Sphinx, config: Config) -> None:
    config.hide_solutions = edition() == "student"
    if MATHJAX.exists():  # vendored by `make setup`: equations render with no network
        config.mathjax_path = MATHJAX.relative_to(MATHJAX.parents[1]).as_posix()
    if edition() == "instructor":
        config.html_title = f"{config.html_title or config.project} (instructor edition)"
    config.html_theme_options["extra_footer"] = _version_footer()
    if os.environ.get("COURSE_GIT_REF"):  # a release's build (tools/build_site.py): Colab opens that tag
        config.html_theme_options["repository_branch"] = os.environ["COURSE_GIT_REF"]


def _version_footer() -> str:
    """Which version and commit of the course built these pages, and where the other versions are."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    built_from = f" (commit <code>{commit.stdout.strip()}</code>)" if commit.returncode == 0 else ""
    versions = pages_url(repository_url()) + "versions.html"
    return (f'<p class="course-version">Version {course_version()}{built_from}. '
            f'<a href="{versions}">Other versions of the book</a>.</p>')


def _remove_solution_cells(app: Sphinx, doctree: nodes.document) -> None:
    if not app.config.hide_solutions:
        return
    for cell in list(doctree.findall(nodes.container)):
        classes = set(cell.get("classes", []))
        if HIDDEN_CLASSES & classes:
            cell.parent.remove(cell)
        elif f"tag_{CHECK_TAG}" in classes:
            # A public check's stored output ("the checks pass") came from the solution, which this
            # edition leaves out: students see the check's code, and its verdict when they run it.
            for output in [c for c in cell.children if "cell_output" in c.get("classes", [])]:
                cell.remove(output)


def _student_colab_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not app.config.hide_solutions or not pagename.startswith(f"{CHAPTERS_DIR.name}/"):
        return
    name = pagename.split("/", 1)[1]
    chapter, student = f"/{CHAPTERS_DIR.name}/{name}.ipynb", f"/{STUDENT_URL_PATH}/{name}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if button.get("text") == "Colab" and button["url"].endswith(chapter):
                button["url"] = button["url"][: -len(chapter)] + student


def _student_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not app.config.hide_solutions or app.builder.format != "html":
        return
    sources = Path(app.outdir) / "_sources" / CHAPTERS_DIR.name
    for notebook in sources.glob("*.ipynb"):
        student = STUDENT_DIR / notebook.name
        if not student.exists():
            raise FileNotFoundError(f"{student} is missing: run `make student-notebooks`")
        shutil.copyfile(student, notebook)


EXERCISE = re.compile(r"^`{3,}\{exercise\} (\w+): (.*)\n:label: (\S+)", re.MULTILINE)


def _cell_seconds(cell: dict) -> float | None:
    """How long a code cell took in the stored run, from the timestamps Jupyter records."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def _solution_compute(cells: list[dict], after: int) -> str:
    """The measured run time of the solution cells that follow cell `after` ("no code to run" when there is none)."""
    seconds, index = [], after + 1
    while index < len(cells) and "solution" in cells[index].get("metadata", {}).get("tags", []):
        seconds.append(_cell_seconds(cells[index]))
        index += 1
    if not seconds:
        return "no code to run"
    if None in seconds:
        return "not measured"
    total = sum(seconds)
    if total < 1:
        return "under 1 s"
    return f"{total:.0f} s" if total < 90 else f"{total / 60:.1f} min"


def _exercise_rows(notebook: Path) -> list[str]:
    """Table rows for the exercises of one chapter: link, kind, what the solution consists of, and its run time."""
    cells = json.loads(notebook.read_text())["cells"]
    markdown = ["".join(cell["source"]) if cell["cell_type"] == "markdown" else "" for cell in cells]
    rows = []
    for kind, title, label in EXERCISE.findall("\n".join(markdown)):
        # A runnable solution is the cell tagged `solution` right after the cell with its {solution},
        # unless that markdown cell goes on to another exercise (the code then belongs to that one).
        holder, last = None, False
        for i, text in enumerate(markdown):
            if found := re.search(rf"\{{solution\}} {label}\n", text):
                holder, last = i, "{exercise}" not in text[found.end():]
        after = cells[holder + 1] if holder is not None and last and holder + 1 < len(cells) else {}
        has_code = "solution" in after.get("metadata", {}).get("tags", [])
        compute = _solution_compute(cells, holder) if has_code else "no code to run"
        rows.append(f"| {{doc}}`/chapters/{notebook.stem}` | {{ref}}`{title} <{label}>` | {kind} | "
                    f"{'worked answer and code' if has_code else 'worked answer'} | {compute} |")
    return rows


def _run_time_rows(executions: dict) -> list[str]:
    rows = []
    for chapter, runs in sorted(executions.items()):
        cells = []
        for kind in ("gpu", "cpu"):
            run = runs.get(kind)
            cells.append(f"{run['seconds'] / 60:.1f} min on {run['device']} ({run['date']})" if run else "not measured yet")
        rows.append(f"| {{doc}}`/chapters/{chapter}` | " + " | ".join(cells) + " |")
    return rows


def _generated_tables(app: Sphinx, docname: str, source: list[str]) -> None:
    """Fill the instructor page's tables from the chapters and results, so they are never stale."""
    if docname != "book/instructors":
        return
    exercises = [row for nb in sorted(CHAPTERS_DIR.glob("*.ipynb")) for row in _exercise_rows(nb)]
    table = ["| Chapter | Exercise | Kind | Solution | Solution's run time |", "|---|---|---|---|---|", *exercises]
    source[0] = source[0].replace("<!-- exercises-table -->", "\n".join(table))
    executions_file = CHAPTERS_DIR.parent / "utils" / "book_results" / "executions.json"
    executions = json.loads(executions_file.read_text()) if executions_file.exists() else {}
    times = ["| Chapter | GPU | CPU |", "|---|---|---|", *_run_time_rows(executions)]
    source[0] = source[0].replace("<!-- run-times-table -->", "\n".join(times))
    # Where the solution files are is said to instructors only: the student edition never points at them.
    where = WHERE_SOLUTIONS_ARE if edition() == "instructor" else ""
    source[0] = source[0].replace("<!-- where-solutions-are -->", where)


def _number_exercises_per_chapter(app: Sphinx, env) -> list[str]:
    """Number exercises "Exercise 5.1" (chapter 5, first exercise), as the student notebooks do.

    sphinx-exercise numbers exercises with Sphinx's numfig, which counts across the
    whole book when the table of contents is not section-numbered (ResNet's first
    exercise would be Exercise 28). Runs after Sphinx has assigned the numbers.
    """
    for docname, numbers in env.toc_fignumbers.items():
        if not docname.startswith(f"{CHAPTERS_DIR.name}/") or "exercise" not in numbers:
            continue
        in_order = sorted(numbers["exercise"].items(), key=lambda item: item[1])
        chapter = chapter_number(Path(docname))
        numbers["exercise"] = {node_id: (chapter, index) for index, (node_id, _) in enumerate(in_order, 1)}
    return []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure, priority=900)
    app.connect("source-read", _generated_tables)
    app.connect("doctree-read", _remove_solution_cells)
    app.connect("env-get-updated", _number_exercises_per_chapter, priority=900)  # after the toctree collector
    app.connect("html-page-context", _student_colab_links, priority=900)  # after sphinx-book-theme's 501
    app.connect("build-finished", _student_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
