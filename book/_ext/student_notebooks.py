"""Student notebooks: the chapters as plain Jupyter notebooks, without solutions, for Colab.

`python book/_ext/student_notebooks.py` (or `make student-notebooks`) writes
`book/colab/NN_name.ipynb` for every `chapters/NN_name.ipynb`. They are committed,
because Colab opens notebooks from the repository; a test checks they are current.

A student notebook is plain Markdown and code: no MyST roles or directives.

* Citations become "(Author, year)", with the cited works listed at the end.
* Cross-references become their text.
* Each `{exercise}` becomes a heading "Exercise 3.2 (coding): title", numbered per
  chapter like the HTML, followed by an empty answer cell (code for coding and
  experiment exercises, Markdown for concept ones) and the exercise's public
  `check` cells. Solutions and `hidden-check` cells are left out: the grader
  (tools/grade.py) reads the hidden checks from the chapter itself.
"""
from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
CHAPTERS_DIR = REPO / "chapters"
STUDENT_DIR = REPO / "book" / "colab"
STUDENT_URL_PATH = STUDENT_DIR.relative_to(REPO).as_posix()  # "book/colab", as in the repository URL
BIBLIOGRAPHY = REPO / "book" / "references.bib"

SOLUTION_TAG, CHECK_TAG, HIDDEN_CHECK_TAG, ANSWER_TAG = "solution", "check", "hidden-check", "answer"
CODE_KINDS = ("coding", "experiment")  # exercises answered with code; "concept" ones in prose

# A directive fence (``` or :::) with its name, argument, `:option:` lines and body.
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>[^\n]*)\n"
    r"(?P<options>(?:[ \t]*:[\w-]+:[^\n]*\n)*)(?P<body>.*?)\n?(?P=fence)[ \t]*$\n?",
    re.DOTALL | re.MULTILINE,
)
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<text>[^`]*)`")
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*\n", re.MULTILINE)
EXPLICIT_TITLE = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error",
               "seealso", "admonition"}


@dataclass(frozen=True)
class Exercise:
    chapter: int
    index: int      # 1-based within the chapter
    label: str
    kind: str       # "concept", "coding" or "experiment"
    title: str
    body: str

    @property
    def number(self) -> str:
        return f"{self.chapter}.{self.index}"

    @property
    def heading(self) -> str:
        return f"Exercise {self.number} ({self.kind}): {self.title}"


def chapter_number(notebook: Path) -> int:
    """Chapters are numbered by their file name: chapters/05_resnet.* is chapter 5."""
    match = re.match(r"(\d+)_", Path(notebook).name)
    if not match:
        raise ValueError(f"{notebook}: a chapter file name starts with its number, e.g. 05_resnet")
    return int(match.group(1))


def _exercise(match: re.Match, chapter: int, index: int) -> Exercise:
    label = re.search(r":label:[ \t]*(\S+)", match["options"])
    if not label:
        raise ValueError(f"exercise {match['arg']!r} of chapter {chapter} has no :label:")
    kind, _, title = match["arg"].partition(":")
    if kind.lower() not in ("concept",) + CODE_KINDS:
        raise ValueError(f"exercise {label.group(1)}: its title must start with Concept:, Coding: or Experiment:")
    return Exercise(chapter, index, label.group(1), kind.lower(), title.strip(), match["body"].strip())


def exercises(notebook: nbformat.NotebookNode, chapter: int) -> list[Exercise]:
    """The exercises of a chapter notebook, in order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for match in DIRECTIVE.finditer(cell.source):
                if match["name"] == "exercise":
                    found.append(_exercise(match, chapter, len(found) + 1))
    return found


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


# --- plain Markdown ------------------------------------------------------------------------


@cache
def bibliography() -> dict:
    from pybtex.database import parse_file  # installed with sphinxcontrib-bibtex

    return parse_file(BIBLIOGRAPHY).entries


@cache
def _text_backend():
    from pybtex.plugin import find_plugin

    return find_plugin("pybtex.backends", "text")()  # render_as() would look it up again on every call (45 ms)


@cache
def _latex_text(text: str) -> str:
    from pybtex.richtext import Text

    return Text.from_latex(text).render(_text_backend())


def _authors(key: str) -> str:
    names = [_latex_text(" ".join(p.last_names)) for p in bibliography()[key].persons.get("author", [])]
    if len(names) > 2:
        return f"{names[0]} et al."
    return " and ".join(names) or "Anonymous"


def _reference_entry(key: str) -> str:
    entry = bibliography()[key]
    people = entry.persons.get("author", [])
    authors = "; ".join(_latex_text(" ".join(p.last_names)) + ", " + " ".join(f"{n[0]}." for n in p.first_names)
                        for p in people)
    venue = entry.fields.get("journal") or entry.fields.get("booktitle") or entry.fields.get("publisher", "")
    title = _latex_text(entry.fields.get("title", key))
    return f"- {authors} ({entry.fields.get('year', 'n.d.')}). {title}." + (f" {_latex_text(venue)}." if venue else "")


@cache
def _repository_files_url() -> str:
    """Where Colab can fetch the repository's files: raw.githubusercontent.com for the configured repository."""
    import yaml

    sys.path.insert(0, str(REPO))  # tools/pages_url.py is the one parser of repository.url
    from tools.pages_url import github_owner_and_repo

    repository = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]
    owner, repo = github_owner_and_repo(repository["url"])
    return f"https://raw.githubusercontent.com/{owner}/{repo}/{repository.get('branch', 'main')}"


def figure_url(path: str) -> str:
    """A figure path of a chapter (relative to chapters/) as an address a standalone notebook can load."""
    if re.match(r"^[a-z]+://", path):
        return path
    relative = (CHAPTERS_DIR / path).resolve().relative_to(REPO).as_posix()
    return f"{_repository_files_url()}/{relative}"


@cache
def _target_titles() -> dict[str, str]:
    """`(label)=` targets of the book's pages and the headings they sit on."""
    titles = {}
    for page in [*REPO.glob("book/*.md"), *CHAPTERS_DIR.glob("*.md")]:
        for match in re.finditer(r"^\(([\w-]+)\)=[ \t]*\n+#+[ \t]+(.+)$", page.read_text(), re.MULTILINE):
            titles[match.group(1)] = match.group(2).strip()
    return titles


class MarkdownConverter:
    """Turns MyST Markdown into plain Markdown, remembering the works it cites."""

    def __init__(self, exercise_names: dict[str, str]):
        self.exercise_names = exercise_names  # exercise label -> "Exercise 3.2"
        self.cited: list[str] = []

    def _cite(self, keys: str, textual: bool) -> str:
        parts = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in bibliography():
                raise KeyError(f"citation {key!r} is not in {BIBLIOGRAPHY.relative_to(REPO)}")
            if key not in self.cited:
                self.cited.append(key)
            year = bibliography()[key].fields.get("year", "n.d.")
            parts.append(f"{_authors(key)} ({year})" if textual else f"{_authors(key)}, {year}")
        return ", ".join(parts) if textual else f"({'; '.join(parts)})"

    def _role(self, match: re.Match) -> str:
        name, text = match["name"], match["text"]
        if name.startswith("cite"):
            return self._cite(text, textual=name in ("cite:t", "cite:author"))
        explicit = EXPLICIT_TITLE.match(text)
        if explicit:
            return explicit["title"]
        if name in ("ref", "numref"):
            return self.exercise_names.get(text) or _target_titles().get(text, text.replace("-", " "))
        if name == "doc":
            return Path(text).stem.split("_", 1)[-1].replace("_", " ").title()
        if name == "eq":
            return f"({text})"
        return text  # {math}, {abbr}, {sub}, ...: their text is what a reader needs

    def _directive(self, match: re.Match) -> str:
        name, arg, body = match["name"], match["arg"].strip(), self.convert(match["body"]).strip()
        if name == "solution":
            return ""
        if name in ("figure", "image"):
            alt = re.search(r":alt:[ \t]*([^\n]*)", match["options"])
            caption = f"\n\n*{body}*" if body else ""
            return f"![{alt.group(1).strip() if alt else body or arg}]({figure_url(arg)}){caption}\n"
        if name == "math":
            return f"$$\n{body}\n$$\n"
        if name in ADMONITIONS:
            title = arg if name == "admonition" else name.capitalize()
            return "\n".join(f"> {line}".rstrip() for line in [f"**{title}.**", "", *body.splitlines()]) + "\n"
        return body + "\n"  # any other directive: its content, without the markup

    def convert(self, text: str) -> str:
        text = TARGET.sub("", text)
        text = DIRECTIVE.sub(self._directive, text)
        return ROLE.sub(self._role, text)


# --- the notebook --------------------------------------------------------------------------


def _answer_cell(exercise: Exercise) -> nbformat.NotebookNode:
    metadata = {"tags": [ANSWER_TAG], "exercise": exercise.label}
    if exercise.kind in CODE_KINDS:
        return nbformat.v4.new_code_cell(f"# Your answer to Exercise {exercise.number}", metadata=metadata)
    return nbformat.v4.new_markdown_cell(f"*Your answer to Exercise {exercise.number}:*", metadata=metadata)


def _split_exercises(cell, chapter_exercises: dict[str, Exercise], converter: MarkdownConverter) -> list:
    """A Markdown cell as student cells: its text, and each exercise as a heading plus an answer cell."""
    out, start = [], 0
    for match in DIRECTIVE.finditer(cell.source):
        if match["name"] != "exercise":
            continue
        before = converter.convert(cell.source[start:match.start()]).strip()
        if before:
            out.append(nbformat.v4.new_markdown_cell(before))
        label = re.search(r":label:[ \t]*(\S+)", match["options"]).group(1)
        exercise = chapter_exercises[label]
        text = f"### {exercise.heading}\n\n{converter.convert(exercise.body).strip()}"
        out.append(nbformat.v4.new_markdown_cell(text, metadata={"exercise": exercise.label}))
        out.append(_answer_cell(exercise))
        start = match.end()
    rest = converter.convert(cell.source[start:]).strip()
    if rest:
        out.append(nbformat.v4.new_markdown_cell(rest))
    return out


def student_notebook(notebook: nbformat.NotebookNode, chapter: int) -> nbformat.NotebookNode:
    """A copy of a chapter notebook for students (see the module docstring)."""
    chapter_exercises = {e.label: e for e in exercises(notebook, chapter)}
    converter = MarkdownConverter({label: f"Exercise {e.number}" for label, e in chapter_exercises.items()})
    student = copy.deepcopy(notebook)
    cells = []
    for cell in student.cells:
        if SOLUTION_TAG in tags(cell) or HIDDEN_CHECK_TAG in tags(cell):
            continue
        if cell.cell_type == "markdown":
            cells.extend(_split_exercises(cell, chapter_exercises, converter))
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # timestamps of our run: noise in a student's copy
        cells.append(cell)
    if converter.cited:
        entries = sorted(converter.cited, key=lambda key: (_authors(key), key))
        cells.append(nbformat.v4.new_markdown_cell("## References\n\n" + "\n".join(map(_reference_entry, entries))))
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"  # split cells must not share an id; stable ids keep diffs small
    student.cells = cells
    student.nbformat_minor = max(student.nbformat_minor, 5)  # the version that has cell ids
    student.metadata.pop("jupytext", None)  # a standalone notebook, not one half of a pair
    student.metadata["colab"] = {"provenance": [], "gpuType": "T4"}  # Colab opens it on a GPU runtime
    student.metadata["accelerator"] = "GPU"
    return student


def student_notebook_for(chapter_path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(chapter_path, as_version=4)
    return student_notebook(notebook, chapter_number(chapter_path))


def write_all() -> list[Path]:
    STUDENT_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in sorted(CHAPTERS_DIR.glob("*.ipynb")):
        target = STUDENT_DIR / chapter.name
        nbformat.write(student_notebook_for(chapter), target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path.relative_to(REPO)}")
    sys.exit(0)
