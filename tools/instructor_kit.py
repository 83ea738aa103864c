"""A private instructor kit: the chapters with their solutions, hidden checks and rubrics, outside the repository.

    .venv/bin/python -m tools.instructor_kit ~/cnn-course-kit        # or: make instructor-kit KIT=~/cnn-course-kit
    .venv/bin/python -m tools.grade 01_lenet submissions/ --kit ~/cnn-course-kit --out grades/

The kit is a folder that only its owner can read (mode 0700):

* `chapters/NN_name.md`: every chapter as MyST Markdown, with its solutions, its
  public and hidden checks and its rubrics. This is what `tools.grade --kit` reads
  the checks from: change a hidden check there (or add one) for a new term, and the
  public repository stays as it is.
* `rubrics.csv` and `rubrics.md`: the rubric of every exercise graded by hand.
* `README.md`: how to use and change the kit; `kit.json`: the course version and
  commit it was made from.

The command refuses a folder inside the repository (a kit there could be committed
and published) or one the grading sandbox shows its kernels (tools/sandbox.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from tools.grade_notebook import REPO
from tools.rubrics import LEVELS, all_rubrics, write_tables

MANIFEST = "kit.json"
README = """\
# Instructor kit: Classic CNNs in PyTorch

Made from version {version} of the course (commit {commit}) on {date}. Keep this folder
private: it holds the solutions and the hidden checks.

- `chapters/NN_name.md`: the chapters with their solutions, public and hidden checks and
  rubrics, as MyST Markdown (Jupyter opens them as notebooks through jupytext).
- `rubrics.csv`, `rubrics.md`: the rubrics of the {count} exercises graded by hand.

Grade a folder of submissions with the checks of this kit:

    python -m tools.grade 01_lenet submissions/ --kit {kit} --out grades/

(run from the course repository, with its environment). To change a hidden check for
a new term, edit the code cell tagged `hidden-check` after the exercise's solution in
`chapters/NN_name.md`, or add one: a `{{code-cell}}` with `:tags: [hidden-check]` whose
first line is `# Check: what it tests` and whose assertions carry the hint students see.
The next grading with `--kit` uses it. Public checks are in the students' notebooks as
well; the grader always runs the kit's version of them. A rubric is the list after
`**Rubric.**` at the end of a `{{solution}}` block ({levels});
after editing one, refresh the tables:

    python -m tools.rubrics {kit} --chapters {kit}/chapters
"""


def refuse_location(out: Path) -> None:
    """Stop, naming the fix, when `out` would not be private."""
    from tools.sandbox import shown_in_box

    resolved = out.expanduser().resolve()
    if resolved == REPO or REPO in resolved.parents:
        raise SystemExit(f"{out} is inside the course repository ({REPO}), where it could be committed and "
                         "published: choose a folder outside it, e.g. ~/cnn-course-kit")
    shown = shown_in_box(resolved)
    if shown is not None:
        raise SystemExit(f"{out} is inside {shown}, which the grading sandbox shows to every submission: "
                         "choose a folder outside it, e.g. ~/cnn-course-kit")


def write_kit(out: Path, chapters: Path = REPO / "chapters") -> Path:
    """Write the kit to `out` (a new or empty folder) from the chapters' .md files in `chapters`."""
    from tools.colab_pin import course_version
    from utils.results import code_commit

    out = out.expanduser()
    refuse_location(out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty (it may hold checks you changed): "
                         "choose a new folder, or move this one away first")
    sources = sorted(chapters.glob("[0-9]*.md"))
    if not sources:
        raise SystemExit(f"no chapter .md files in {chapters}")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # other users of the machine cannot read the solutions
    (out / "chapters").mkdir()
    for source in sources:
        shutil.copyfile(source, out / "chapters" / source.name)
    rubrics = all_rubrics(out / "chapters")
    write_tables(rubrics, out)
    commit = code_commit() if chapters.resolve() == (REPO / "chapters") else None
    manifest = {"course_version": course_version(), "commit": commit,
                "made": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "chapters": [s.stem for s in sources]}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    (out / "README.md").write_text(README.format(
        version=manifest["course_version"], commit=commit or "unknown", date=manifest["made"][:10],
        count=len(rubrics), kit=out.resolve(), levels=", ".join(LEVELS)))
    return out


def kit_chapters(kit: Path) -> Path:
    """The chapters folder of the kit at `kit`, once it is known to be a kit the sandbox cannot show."""
    kit = kit.expanduser()
    if not (kit / MANIFEST).is_file() or not (kit / "chapters").is_dir():
        raise SystemExit(f"{kit} is not an instructor kit (no {MANIFEST} or chapters/): "
                         "make one with `python -m tools.instructor_kit FOLDER`")
    refuse_location(kit)
    return kit / "chapters"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new folder outside the repository, e.g. ~/cnn-course-kit")
    args = parser.parse_args(argv)
    out = write_kit(args.out)
    print(f"wrote the instructor kit to {out}: {len(list((out / 'chapters').iterdir()))} chapters, "
          f"rubrics.csv, rubrics.md, README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
