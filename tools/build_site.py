"""`python -m tools.build_site [FOLDER]` (`make site`): the published site, one book per release.

The student edition of the working tree goes to FOLDER (default _build/site), the latest pages;
each release tag vX.Y.Z is checked out into a temporary worktree and its own student edition is
built into FOLDER/vX.Y.Z/, so that a term's link keeps showing the pages of that term's version
(their Colab buttons open that tag's notebooks, which install that tag's `utils`). FOLDER/versions.html
lists them all. Needs the tags: in CI, check out with the full history.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.version import Version

from tools.colab_pin import course_version

REPO = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def release_tags(repo: Path = REPO) -> list[str]:
    """The release tags vX.Y.Z, newest first."""
    tags = subprocess.run(["git", "tag", "--list", "v*"], cwd=repo, capture_output=True, text=True, check=True).stdout
    releases = [t for t in tags.split() if re.fullmatch(r"v\d+\.\d+\.\d+", t)]
    return sorted(releases, key=lambda t: Version(t[1:]), reverse=True)


def build_student_edition(source: Path, out: Path, git_ref: str | None = None) -> None:
    """jupyter-book's student edition of the checkout `source`, its HTML copied to `out`."""
    env = {**os.environ, "COURSE_EDITION": "student", "PYTHONPATH": str(source)}
    if git_ref:
        env["COURSE_GIT_REF"] = git_ref
    subprocess.run([sys.executable, "book/_ext/student_notebooks.py"], cwd=source, env=env, check=True,
                   capture_output=True)
    with tempfile.TemporaryDirectory() as build:
        subprocess.run([str(JUPYTER_BOOK), "build", str(source), "--path-output", build, "--all", "--quiet"],
                       cwd=source, env=env, check=True)
        shutil.copytree(Path(build) / "_build" / "html", out, dirs_exist_ok=True)


def versions_page(latest: str, releases: list[str]) -> str:
    """versions.html: the latest pages and each release's, newest first."""
    rows = [f'<li><a href="./">Latest (version {html.escape(latest)}, the main branch)</a></li>']
    rows += [f'<li><a href="{tag}/">{tag[1:]}</a></li>' for tag in releases]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Classic CNNs in PyTorch: versions</title></head>\n<body>\n<h1>Versions of the book</h1>\n"
            "<p>Each release keeps its pages: teach a term from one of them, and its Colab buttons install "
            "the same version of the course's code.</p>\n<ul>\n" + "\n".join(rows) + "\n</ul>\n</body></html>\n")


def build_site(out: Path) -> list[str]:
    """Build the latest pages and every release's into `out`; return the releases built."""
    if out.exists():
        shutil.rmtree(out)
    build_student_edition(REPO, out)
    releases = release_tags()
    for tag in releases:
        with tempfile.TemporaryDirectory() as tmp:
            worktree = Path(tmp) / tag
            subprocess.run(["git", "worktree", "add", "-q", "--detach", str(worktree), tag], cwd=REPO, check=True)
            try:
                build_student_edition(worktree, out / tag, git_ref=tag)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=True)
    (out / "versions.html").write_text(versions_page(course_version(), releases))
    return releases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_site", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "_build" / "site")
    args = parser.parse_args(argv)
    releases = build_site(args.out)
    print(f"The site is in {args.out}: the latest pages and {len(releases)} release(s): {', '.join(releases) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
