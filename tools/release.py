"""`python -m tools.release X.Y.Z` (or `make release VERSION=X.Y.Z`): cut a release in one step.

1. refuses a tree with uncommitted changes, and a version that is not newer than the current one;
2. runs the tests (`make test`; `--fast` runs `make test-fast`, `--skip-tests` none, for scratch runs);
3. writes the version into utils/__init__.py, pins every chapter's Colab cell to its tag, re-pairs
   the notebooks and regenerates the student notebooks;
4. turns CHANGELOG.md's "Unreleased" heading into "X.Y.Z (date)" under a new, empty "Unreleased";
5. commits "Release X.Y.Z" and makes the annotated tag vX.Y.Z. Pushing is left to you.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from packaging.version import InvalidVersion, Version

from tools.colab_pin import CHAPTERS, VERSION_LINE, course_version, git_ref, pin_chapters

REPO = Path(__file__).resolve().parents[1]
CHANGELOG = REPO / "CHANGELOG.md"
UNRELEASED = "## Unreleased\n"


class ReleaseError(RuntimeError):
    """Something that stops a release before it changes anything; the message says what to do."""


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def check_version(wanted: str) -> None:
    try:
        new, current = Version(wanted), Version(course_version())
    except InvalidVersion:
        raise ReleaseError(f"{wanted!r} is not a version: give three numbers, e.g. 0.3.0") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+", wanted):
        raise ReleaseError(f"{wanted!r}: a release is three numbers X.Y.Z (no dev or rc suffix)")
    if new <= current:
        raise ReleaseError(f"{wanted} is not newer than the current version {current}")
    if git("tag", "--list", f"v{wanted}"):
        raise ReleaseError(f"the tag v{wanted} exists already")


def check_clean_tree() -> None:
    dirty = git("status", "--porcelain")
    if dirty:
        raise ReleaseError("the tree has uncommitted changes; commit or stash them first:\n" + dirty)


def release_changelog(text: str, version: str, date: str) -> str:
    """CHANGELOG.md with the Unreleased entries under the release's heading, and a new empty Unreleased."""
    if UNRELEASED not in text:
        raise ReleaseError("CHANGELOG.md has no '## Unreleased' heading to release")
    entries = text.split(UNRELEASED, 1)[1].split("\n## ", 1)[0]
    if not entries.strip():
        raise ReleaseError("CHANGELOG.md says nothing under '## Unreleased': write what changed first")
    return text.replace(UNRELEASED, f"{UNRELEASED}\n## {version} ({date})\n", 1)


def set_version(version: str) -> None:
    init = REPO / "utils" / "__init__.py"
    init.write_text(VERSION_LINE.sub(f'__version__ = "{version}"', init.read_text(), count=1))


def release(version: str, tests: str) -> None:
    check_clean_tree()
    check_version(version)
    if tests != "none":
        print(f"== make {tests}", flush=True)
        if subprocess.run(["make", tests], cwd=REPO).returncode:
            raise ReleaseError(f"`make {tests}` failed: nothing was changed")
    set_version(version)
    pin_chapters(CHAPTERS, version)
    notebooks = [str(c.with_suffix(".ipynb")) for c in CHAPTERS]
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--sync", *notebooks], cwd=REPO, check=True)
    subprocess.run([sys.executable, "book/_ext/student_notebooks.py"], cwd=REPO, check=True, capture_output=True)
    CHANGELOG.write_text(release_changelog(CHANGELOG.read_text(), version, time.strftime("%Y-%m-%d")))
    git("add", "-A")
    git("commit", "-q", "-m", f"Release {version}")
    git("tag", "-a", f"v{version}", "-m", f"Release {version}")
    print(f"Released {version}: commit {git('rev-parse', '--short', 'HEAD')}, tag {git_ref(version)}; the "
          f"chapters install {git_ref(version)} on Colab.\nPublish it: git push origin main {git_ref(version)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="the new version, X.Y.Z")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fast", action="store_const", dest="tests", const="test-fast", help="run make test-fast only")
    group.add_argument("--skip-tests", action="store_const", dest="tests", const="none", help="run no tests")
    args = parser.parse_args(argv)
    try:
        release(args.version, args.tests or "test")
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
