"""Grade a folder of submitted student notebooks for one chapter.

    .venv/bin/python -m tools.grade 01_lenet submissions/ --out grades/

Every `*.ipynb` in the folder (one per student; the file name is the student) runs
in a fresh kernel, sandboxed (tools/sandbox.py: no repository, no network, no other
submissions; `--no-sandbox` to opt out), in quick mode, with a time limit, two at a
time. The chapter's check cells, public and hidden, give one point each. Writes
`grades.csv` (a score per exercise per student, tamper flags, a note) and
`feedback/STUDENT.md`, and the rubrics of the exercises left to the instructor
(`rubrics.md`, `rubrics.csv`). A broken, failing or endless submission scores zero
on what did not run, with the reason; it never stops the run. With `--kit DIR` the
chapter, its checks and its rubrics come from a private instructor kit
(tools/instructor_kit.py) instead of the repository.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.grade_notebook import REPO, chapter_checks, read_chapter
from tools.rubrics import chapter_rubrics, write_tables

CHAPTERS = REPO / "chapters"
STUDENT_DIR = REPO / "book" / "colab"
# Settings every submission runs with: small data, one thread, no display, no network.
NO_NETWORK = "http://127.0.0.1:9"  # a closed port: pip, torch.hub and friends fail at once
GRADING_ENV = {
    "CNN_COURSE_QUICK": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
    "http_proxy": NO_NETWORK, "https_proxy": NO_NETWORK, "HTTP_PROXY": NO_NETWORK, "HTTPS_PROXY": NO_NETWORK,
    "no_proxy": "", "NO_PROXY": "", "PIP_NO_INDEX": "1", "HF_HUB_OFFLINE": "1",
}


def find_chapter(name: str, folder: Path = CHAPTERS) -> Path:
    """`01_lenet`, `1` or a path: the chapter it names, a notebook of `folder` (its .md where there are
    no notebooks, as in an instructor kit)."""
    path = Path(name)
    if path.suffix in (".ipynb", ".md") and path.exists():
        return path.with_suffix(".ipynb") if path.with_suffix(".ipynb").exists() else path  # the paired notebook
    files = sorted(folder.glob("*.ipynb")) or sorted(folder.glob("[0-9]*.md"))
    matches = [p for p in files
               if p.stem == name or (name.isdigit() and p.stem.split("_")[0].lstrip("0") == name.lstrip("0"))]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in files)
        raise SystemExit(f"no chapter {name!r} in {folder}; choose one of {known}")
    return matches[0]


# Source that reaches into the kernel or the functions the checks rely on: flagged for the instructor
# to read, since a sandbox cannot see tampering inside the student's own kernel.
TAMPER_PATTERNS = {
    "get_ipython": r"\bget_ipython\b|\bIPython\b|\b_ih\b|\bIn\s*\[",
    "input_transformers": r"input_transformers|ast_transformers|\brun_cell\b|\bevents\.register\b",
    "set_custom_exc": r"set_custom_exc|custom_exceptions|sys\.excepthook|showtraceback",
    "builtins": r"\bbuiltins\b|__builtins__|__import__|\bsys\.modules\b|\bsettrace\b|\bsetprofile\b",
    "monkeypatch": r"^\s*(torch|nn|F|np|math)\.[\w.]+\s*=(?!=)|setattr\(\s*(torch|nn|F|np|math)\b",
    "processes": r"\bos\.(fork|kill|killpg|setsid|system|exec\w*|spawn\w*)\b|\bsubprocess\b|\bctypes\b",
    "network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b",
}


def _code_cells(notebook: Path) -> list[str]:
    if notebook.suffix == ".md":  # a chapter of an instructor kit
        return [c.source for c in read_chapter(notebook).cells if c.cell_type == "code"]
    cells = json.loads(notebook.read_text(errors="replace")).get("cells", [])
    return ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
            for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


def tamper_flags(chapter: Path, submission: Path) -> list[str]:
    """Names of TAMPER_PATTERNS found in the submission's code cells, leaving out cells handed out as they
    are (the chapter's own setup cells). A static scan: the code is read, never run."""
    handed_out = set()
    for given in (chapter, STUDENT_DIR / f"{chapter.stem}.ipynb"):
        try:
            handed_out.update(_code_cells(given))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        code = "\n".join(c for c in _code_cells(submission) if c not in handed_out)
    except (ValueError, AttributeError):
        return []
    return [name for name, pattern in TAMPER_PATTERNS.items() if re.search(pattern, code, re.MULTILINE)]


def run_submission(chapter: Path, submission: Path, time_limit: float, sandboxed: bool = True) -> dict:
    """Grade one submission in its own process and folder, killed (kernel included) at the time limit.

    The runner (tools.grade_notebook) stays outside the sandbox and records each check's verdict in
    result.json as the check finishes; with `sandboxed`, the kernel runs in tools.sandbox's box."""
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir:
        result = Path(workdir) / "result.json"
        copy = Path(workdir) / "submission.ipynb"  # the runner reads a copy; the kernel never sees either
        shutil.copyfile(submission, copy)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if sandboxed:  # the box builds the kernel's environment from scratch
            env["GRADING_KERNEL_ENV"] = json.dumps(GRADING_ENV)
        else:
            env.update(GRADING_ENV, CNN_COURSE_RESULTS=str(Path(workdir) / "results"))
        command = [sys.executable, "-m", "tools.grade_notebook", str(chapter.resolve()), str(copy), str(result),
                   str(time_limit), "sandbox" if sandboxed else "no-sandbox"]
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=workdir, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr, late = "", None
        try:
            _, stderr = process.communicate(timeout=time_limit + 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the runner; the box dies with it
            process.communicate()
            late = f"did not finish within the time limit of {time_limit:.0f} s"
        outcome = json.loads(result.read_text()) if result.exists() else {"checks": None, "error": None}
        if late or not result.exists():
            last = (stderr or "").strip().splitlines()[-1:] or ["no message"]
            outcome["error"] = late or f"the grader could not run it: {last[0][:200]}"
        flags = tamper_flags(chapter, submission)
        flags += [f for f in outcome.get("runtime_flags") or [] if f not in flags]  # seen in the kernel
        outcome.update(seconds=time.monotonic() - start, flags=flags, sandboxed=sandboxed)
        return outcome


def score_rows(chapter: Path, outcomes: dict[str, dict]) -> tuple[list[str], list[list]]:
    found, checks = chapter_checks(chapter)
    graded = [e for e in found if any(c.exercise == e.label for c in checks)]
    points = {e.label: sum(c.exercise == e.label for c in checks) for e in graded}
    header = ["student", *(f"Exercise {e.number} (/{points[e.label]})" for e in graded),
              f"total (/{sum(points.values())})", "flags", "note"]
    rows = []
    for student, outcome in outcomes.items():
        passed = {e.label: 0 for e in graded}
        for check in outcome["checks"] or []:
            passed[check["exercise"]] += check["passed"]
        flags = [*outcome.get("flags", []), *([] if outcome.get("sandboxed", True) else ["no-sandbox"])]
        rows.append([student, *(passed[e.label] for e in graded), sum(passed.values()), " ".join(flags),
                     outcome.get("error") or ""])
    return header, rows


def feedback(chapter: Path, student: str, outcome: dict) -> str:
    found, checks = chapter_checks(chapter)
    results = outcome["checks"] or [{"exercise": c.exercise, "description": c.description, "passed": False,
                                     "message": outcome["error"], "hidden": c.hidden} for c in checks]
    lines = [f"# Feedback on {chapter.stem}: {student}", ""]
    if outcome.get("first_error"):
        lines += [f"**The first error in your notebook**, {outcome['first_error']}. Fix it first: "
                  "the failures below may follow from it.", ""]
    if outcome.get("error"):
        lines += [f"**Note:** {outcome['error']}", ""]
    if outcome.get("flags"):
        lines += [f"**Flagged for your instructor to read:** your code uses {', '.join(outcome['flags'])}.", ""]
    if not outcome.get("sandboxed", True):
        lines += ["**Note:** graded without the sandbox (--no-sandbox).", ""]
    total = sum(r["passed"] for r in results)
    lines += [f"Automatic score: {total} / {len(results)}", ""]
    for exercise in found:
        mine = [r for r in results if r["exercise"] == exercise.label]
        lines.append(f"## {exercise.heading}")
        if not mine:
            lines += ["Graded by your instructor.", ""]
            continue
        for r in mine:
            what = r["description"] + (" (hidden check)" if r["hidden"] else "")
            lines.append(f"- {'passed' if r['passed'] else 'FAILED'}: {what}"
                         + ("" if r["passed"] else f"\n  {r['message']}"))
        lines.append("")
    return "\n".join(lines)


def require_sandbox(sandboxed: bool) -> None:
    """Stop, with the reason, when the sandbox is wanted but cannot run here."""
    from tools.sandbox import unavailable

    reason = sandboxed and unavailable()
    if reason:
        raise SystemExit(f"cannot sandbox the submissions: {reason}.\nInstall bubblewrap, or pass --no-sandbox "
                         "to run them with your rights (only for submissions you trust; every row says so).")


def grade_all(jobs: list[tuple[Path, Path]], workers: int = 2, time_limit: float = 300,
              sandboxed: bool = True) -> list[dict]:
    """Grade (chapter, submission) pairs, `workers` at a time; the outcomes in the same order."""
    require_sandbox(sandboxed)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: run_submission(*job, time_limit, sandboxed), jobs))


def write_report(chapter: Path, outcomes: dict[str, dict], out: Path) -> Path:
    """grades.csv, feedback/STUDENT.md, timings.json and the chapter's rubrics (rubrics.md, rubrics.csv:
    for the instructor, never in the feedback) in `out`; returns the CSV's path."""
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    header, rows = score_rows(chapter, outcomes)
    csv_path = out / "grades.csv"
    with csv_path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    for student, outcome in outcomes.items():
        (out / "feedback" / f"{student}.md").write_text(feedback(chapter, student, outcome))
    (out / "timings.json").write_text(json.dumps({s: round(o["seconds"], 1) for s, o in outcomes.items()}, indent=1))
    write_tables(chapter_rubrics(chapter), out, title=f"Rubrics for {chapter.stem}: the exercises you grade by hand")
    return csv_path


def grade_folder(chapter: Path, submissions: Path, out: Path, workers: int = 2, time_limit: float = 300,
                 sandboxed: bool = True) -> Path:
    notebooks = sorted(p for p in submissions.glob("*.ipynb") if not p.name.startswith("."))
    if not notebooks:
        raise SystemExit(f"no .ipynb files in {submissions}")
    outcomes = grade_all([(chapter, p) for p in notebooks], workers, time_limit, sandboxed)
    return write_report(chapter, dict(zip((p.stem for p in notebooks), outcomes)), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter", help="chapter to grade: 01_lenet, or its number")
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files, one per student")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="where the CSV and feedback go")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per submission")
    parser.add_argument("--kit", type=Path, help="a private instructor kit (tools/instructor_kit.py): grade with "
                        "its chapters, hidden checks and rubrics instead of the repository's")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernels without bubblewrap, with your rights (trusted submissions only)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    chapters = CHAPTERS
    if args.kit is not None:
        from tools.instructor_kit import kit_chapters
        if Path(args.chapter).suffix:  # a path would bypass the kit's copy of the chapter
            raise SystemExit(f"with --kit, name the chapter (01_lenet or 1), not a file: {args.chapter}")
        chapters = kit_chapters(args.kit)
    csv_path = grade_folder(find_chapter(args.chapter, chapters), args.submissions, args.out, args.workers, args.time_limit,
                            not args.no_sandbox)
    print(f"graded {args.submissions} in {time.monotonic() - start:.0f} s: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
