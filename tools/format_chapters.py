"""Format the chapters' code cells with ruff, so that code fits the book's page width.

    .venv/bin/python -m tools.format_chapters          # rewrite chapters/*.md (what `make format` runs)
    .venv/bin/python -m tools.format_chapters --check  # list the chapters that need it, exit 1 if any

Jupytext pipes each chapter's code cells through `ruff format`; the MyST `.md` twins are the
sources, so run `make sync` afterwards to carry the change into the notebooks.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9]*.md"))
# The widest code line that shows whole in a code cell of the book at a 1280-pixel window
# (measured in the built page; tests/browser/test_book_in_browser.py checks that nothing is cut off).
LINE_LENGTH = 74
BIN = Path(sys.executable).parent  # the project's environment: jupytext and ruff live next to python


def ruff_command() -> str:
    return f"{BIN / 'ruff'} format --quiet --line-length {LINE_LENGTH} --stdin-filename cell.py -"


def formatted_text(chapter: Path) -> str:
    """The chapter's MyST text after its code went through ruff (one ruff call for the whole chapter).
    In-process rather than the `jupytext --pipe` command line: importing jupytext costs seconds."""
    import jupytext
    from jupytext.cli import pipe_notebook
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(chapter))  # pyproject.toml's [tool.jupytext], as the CLI reads it
    notebook = jupytext.read(chapter, config=config)
    return jupytext.writes(pipe_notebook(notebook, ruff_command(), quiet=True), fmt="md:myst", config=config)


def format_chapters(chapters: list[Path]) -> None:
    for chapter in chapters:
        text = formatted_text(chapter)
        if text != chapter.read_text():
            chapter.write_text(text)


def unformatted(chapters: list[Path]) -> list[Path]:
    """The chapters that `format_chapters` would change (nothing is rewritten)."""
    return [chapter for chapter in chapters if formatted_text(chapter) != chapter.read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; fail if a chapter needs formatting")
    parser.add_argument("chapters", nargs="*", type=Path, default=CHAPTERS)
    args = parser.parse_args(argv)
    if args.check:
        failing = unformatted(args.chapters)
        for chapter in failing:
            print(f"{chapter.relative_to(REPO) if chapter.is_relative_to(REPO) else chapter} is not formatted: "
                  "run `make format`, then `make sync`")
        return 1 if failing else 0
    format_chapters(args.chapters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
