"""`python -m tools.colab_pin`: point every chapter's Colab cell at this version of the course.

On Colab the first cell of each chapter installs the `utils` package from the repository named
in _config.yml, at the tag of the course's version (`v0.2.0` for utils.__version__ "0.2.0"), so
that a notebook published in week 1 still installs the same code in week 10. A development
version ("0.3.0.dev0") has no tag yet and installs `main`. Run after changing the repository URL
or the version (`make release` does it); then `make sync`.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.pages_url import repository_url

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9]*.md"))
INSTALL_LINE = re.compile(r'"cnn-course-utils @ git\+[^"]*"')
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"', re.MULTILINE)  # in utils/__init__.py


def course_version() -> str:
    """utils.__version__, read from the source (importing utils would import torch)."""
    text = (REPO / "utils" / "__init__.py").read_text()
    return VERSION_LINE.search(text)[1]


def git_ref(version: str) -> str:
    """The git reference a version's notebooks install from: its tag, or main for a development version."""
    return "main" if ".dev" in version else f"v{version}"


def install_target(version: str | None = None) -> str:
    url = repository_url().rstrip("/")
    return f"cnn-course-utils @ git+{url}@{git_ref(version or course_version())}"


def pin_chapters(chapters: list[Path] = CHAPTERS, version: str | None = None) -> list[Path]:
    """Rewrite the install line of each chapter's Colab cell; return the chapters that changed."""
    changed, target = [], f'"{install_target(version)}"'
    for chapter in chapters:
        text = chapter.read_text()
        if not INSTALL_LINE.search(text):
            raise ValueError(f"{chapter.name}: no Colab install line (\"cnn-course-utils @ git+...\") to pin")
        pinned = INSTALL_LINE.sub(target, text)
        if pinned != text:
            chapter.write_text(pinned)
            changed.append(chapter)
    return changed


if __name__ == "__main__":
    for path in pin_chapters():
        print(f"pinned {path.relative_to(REPO)} to {install_target()}")
    sys.exit(0)
