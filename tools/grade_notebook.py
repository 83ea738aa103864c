"""Grade one submitted notebook:
`python -m tools.grade_notebook CHAPTER SUBMISSION RESULT.json SECONDS sandbox|no-sandbox`.

The submission's own check cells are dropped (a student may have edited them) and
the chapter's checks, public and hidden, are inserted after each exercise's answer.
The notebook then runs in a fresh kernel, in quick mode, errors allowed, so that one
failing answer does not stop the others from being checked. This process stays
outside the sandbox; only the kernel runs in it (tools/sandbox.py). Each check's
verdict comes from the kernel's reply to that cell and is written to RESULT.json as
soon as the cell finishes, so a later endless loop or crash keeps it. `tools.grade`
runs this in a subprocess per submission, under a time limit.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from student_notebooks import (  # noqa: E402
    CHECK_TAG, HIDDEN_CHECK_TAG, DIRECTIVE, Exercise, chapter_number, exercises, tags,
)

ONE_LINE = 100   # characters of a student-raised message the feedback may show
HINT_LIMIT = 400  # characters of a check's own hint
PROBE_NAMES = {"input_transformers", "set_custom_exc", "run_cell", "builtins", "monkeypatch"}
HEADING = re.compile(r"^#+\s*Exercise\s+(\d+)\.(\d+)\b", re.MULTILINE)


@dataclass
class Check:
    exercise: str     # label of the exercise it belongs to
    description: str  # the check cell's first comment line: what it tests
    source: str
    hidden: bool


def read_chapter(chapter: Path) -> nbformat.NotebookNode:
    """A chapter as a notebook: the .ipynb, or the MyST .md twin (what an instructor kit holds) read by jupytext."""
    if Path(chapter).suffix == ".md":
        import jupytext

        return jupytext.read(chapter, fmt="md:myst")
    return nbformat.read(chapter, as_version=4)


def chapter_checks(chapter: Path) -> tuple[list[Exercise], list[Check]]:
    """The chapter's exercises and check cells; a check belongs to the exercise before it."""
    notebook = read_chapter(chapter)
    found, checks, current = exercises(notebook, chapter_number(chapter)), [], None
    labels = iter(e.label for e in found)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for match in DIRECTIVE.finditer(cell.source):
                if match["name"] == "exercise":
                    current = next(labels)
        elif {CHECK_TAG, HIDDEN_CHECK_TAG} & set(tags(cell)):
            if current is None:
                raise ValueError(f"{chapter.name}: a check cell comes before the first exercise")
            first_line = cell.source.strip().splitlines()[0]
            description = first_line.lstrip("# ").removeprefix("Check:").strip() if first_line.startswith("#") else "check"
            checks.append(Check(current, description, cell.source, HIDDEN_CHECK_TAG in tags(cell)))
    return found, checks


def _exercise_in(cell, by_number: dict[str, str]) -> list[str]:
    """Labels of the exercises whose heading (student notebook) or directive (instructor notebook) is in `cell`."""
    if cell.cell_type != "markdown":
        return []
    if cell.get("metadata", {}).get("exercise"):
        return [cell.metadata["exercise"]] if "answer" not in tags(cell) else []
    labels = [by_number.get(f"{a}.{b}") for a, b in HEADING.findall(cell.source)]
    for match in DIRECTIVE.finditer(cell.source):
        if match["name"] == "exercise":
            label = re.search(r":label:[ \t]*(\S+)", match["options"])
            labels.append(label.group(1) if label else None)
    return [label for label in labels if label]


def grading_notebook(submission: nbformat.NotebookNode, found: list[Exercise],
                     checks: list[Check]) -> nbformat.NotebookNode:
    """The submission with the chapter's checks after each exercise (at the end if its heading is gone)."""
    by_number = {e.number: e.label for e in found}
    cells = [c for c in submission.cells if not {CHECK_TAG, HIDDEN_CHECK_TAG} & set(tags(c))]
    # An exercise's answer runs up to the next cell that opens another exercise.
    anchors = [(i, label) for i, cell in enumerate(cells) for label in _exercise_in(cell, by_number)]
    insert_at = {}
    for n, (i, label) in enumerate(anchors):
        later = [j for j, _ in anchors[n + 1:] if j > i]
        insert_at.setdefault(label, later[0] if later else len(cells))
    out = []
    for i in range(len(cells) + 1):
        for number, check in enumerate(checks):
            if insert_at.get(check.exercise, len(cells)) == i:
                out.append(nbformat.v4.new_code_cell(check.source, metadata={"grading_check": number}))
        if i < len(cells):
            out.append(cells[i])
    submission.cells = out
    return submission


def _templates(source: str) -> list[re.Pattern]:
    """The messages the check's own assertions can raise, as patterns: its literal text, with
    `.*` where an f-string puts a value. Only a message that fits one is shown as the check's hint."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    messages = [node.msg for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.msg is not None]
    messages += [node.exc.args[0] for node in ast.walk(tree)
                 if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
                 and isinstance(node.exc.func, ast.Name) and node.exc.func.id == "AssertionError"]
    patterns = []
    for message in messages:
        parts = message.values if isinstance(message, ast.JoinedStr) else [message]
        if not all(isinstance(p, (ast.Constant, ast.FormattedValue)) for p in parts):
            continue
        pattern = "".join(re.escape(p.value) if isinstance(p, ast.Constant) else ".*" for p in parts)
        patterns.append(re.compile(pattern, re.DOTALL))
    return patterns


def one_line(text: str, limit: int = ONE_LINE) -> str:
    """The first line of a message the student's code produced, shortened, without Markdown backticks."""
    first = (str(text).strip().splitlines() or [""])[0].replace("`", "'")
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _outcome(cell, reply: dict | None, check: Check, earlier_error: str | None) -> tuple[bool, str]:
    """(passed, message) of a check cell, in the grader's words: the check's own hint, or at most
    one line of what the student's code raised."""
    if reply is None:
        return False, "did not run (an earlier cell stopped the notebook)"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if reply.get("status") == "ok" and not errors:
        return True, "passed"
    error = errors[0] if errors else {"ename": reply.get("ename", "error"), "evalue": reply.get("evalue", "")}
    ename, evalue = one_line(error.get("ename", "error"), 60), str(error.get("evalue", ""))
    after = " (an earlier cell of your notebook failed: see the first error above)" if earlier_error else ""
    if ename == "AssertionError" and any(p.fullmatch(evalue) for p in _templates(check.source)):
        hint = " ".join(evalue.split())
        return False, hint if len(hint) <= HINT_LIMIT else hint[: HINT_LIMIT - 3] + "..."
    if ename == "NameError":
        name = re.fullmatch(r"name '(\w{1,60})' is not defined", evalue)
        what = f"`{name.group(1)}` is not defined" if name else "a name is not defined"
        return False, f"{what}: define it in your answer cell, with the name the exercise gives{after}"
    return False, f"the check stopped on an error from your code: `{ename}: {one_line(evalue)}`{after}"


# Run after the submission, in its kernel: does the kernel still look as IPython left it? The
# student's code could fake this answer too; it is a cheap second look beside grade.py's scan.
PROBE = """
def _grading_probe():
    import builtins, json, sys
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell
    ip, found = get_ipython(), []
    if ip.input_transformers_post or ip.ast_transformers or \\
            len(ip.input_transformers_cleanup) != len(TransformerManager().cleanup_transforms):
        found.append("input_transformers")
    if ip.custom_exceptions:
        found.append("set_custom_exc")
    if getattr(type(ip).run_cell, "__qualname__", "").split(".")[0] not in ("InteractiveShell", "ZMQInteractiveShell") \\
            or getattr(ip.run_cell, "__func__", None) is not type(ip).run_cell:
        found.append("run_cell")
    if type(builtins.__import__).__name__ != "builtin_function_or_method":
        found.append("builtins")
    torch = sys.modules.get("torch")
    if torch is not None and any(type(getattr(torch, name, len)).__name__ != "builtin_function_or_method"
                                 for name in ("allclose", "equal", "isclose", "all")):
        found.append("monkeypatch")
    print(json.dumps(found))


_grading_probe()
"""


@dataclass
class Recorder:
    """Writes the verdicts to `result_file` as each cell finishes, so that a kill later keeps them."""
    checks: list[Check]
    result_file: Path | None
    results: list[dict] = field(default_factory=list)
    first_error: str | None = None
    error: str | None = None
    runtime_flags: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.results = [{"exercise": c.exercise, "description": c.description, "passed": False,
                         "message": "did not run (an earlier cell stopped the notebook)", "hidden": c.hidden}
                        for c in self.checks]
        self.save()

    def cell_done(self, cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        if cell.get("metadata", {}).get("grading_probe"):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
            try:
                found = json.loads(text.strip().splitlines()[-1])
                self.runtime_flags = sorted({f for f in found if f in PROBE_NAMES})
            except (ValueError, IndexError, TypeError):
                self.runtime_flags = ["probe-failed"]
            self.save()
            return
        number = cell.get("metadata", {}).get("grading_check")
        if number is None:
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if self.first_error is None and (errors or content.get("status") == "error"):
                error = errors[0] if errors else content
                where = cell.get("metadata", {}).get("grading_cell")
                self.first_error = (f"cell {where}: " if where is not None else "") + \
                    f"`{one_line(error.get('ename', 'error'), 60)}: {one_line(error.get('evalue', ''))}`"
                self.save()
            return
        passed, message = _outcome(cell, content or None, self.checks[number], self.first_error)
        self.results[number].update(passed=passed, message=message)
        self.save()

    def outcome(self) -> dict:
        return {"checks": self.results, "error": self.error, "first_error": self.first_error,
                "runtime_flags": self.runtime_flags}

    def save(self):
        if self.result_file is not None:
            temporary = self.result_file.with_suffix(".part")
            temporary.write_text(json.dumps(self.outcome(), indent=1))
            temporary.replace(self.result_file)


def boxed_kernel_manager(workdir: Path, limits, env: dict[str, str]):
    """A kernel manager class whose kernel starts in the sandbox, over unix sockets in `workdir`."""
    from jupyter_client.manager import AsyncKernelManager

    from tools import sandbox

    home, sockets = sandbox.prepare_folders(workdir)

    class BoxedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", ip=str(sockets / "kernel"),
                             connection_file=str(sockets / "kernel.json"), **kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            if os.geteuid() == 0:  # the kernel, as nobody, reads its connection file
                os.chown(self.connection_file, sandbox.NOBODY, sandbox.NOBODY)
            kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file,
                      *(extra_arguments or [])]
            return sandbox.kernel_command(kernel, home, sockets, limits, env)

    return BoxedKernelManager


def grade(chapter: Path, submission_path: Path, time_limit: float, workdir: Path,
          result_file: Path | None = None, sandboxed: bool = True, env: dict[str, str] | None = None) -> dict:
    """Run one submission and return {"checks": [...], "error": reason or None, "first_error": ...}.

    With `sandboxed`, the kernel runs in tools.sandbox's box and sees none of the grader's files;
    the verdicts are read here, outside, from the kernel's replies to the check cells."""
    found, checks = chapter_checks(chapter)
    recorder = Recorder(checks, result_file)
    try:
        submission = nbformat.read(submission_path, as_version=4)
        for number, cell in enumerate(submission.cells, start=1):
            for key in ("grading_check", "grading_probe"):  # only the grader marks its own cells
                cell.setdefault("metadata", {}).pop(key, None)
            cell.metadata["grading_cell"] = number
    except Exception as error:  # not JSON, not a notebook, ...
        recorder.error = f"not a readable notebook ({type(error).__name__}: {one_line(error, 200)})"
        recorder.save()
        return recorder.outcome()
    notebook = grading_notebook(submission, found, checks)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE, metadata={"grading_probe": True}))
    deadline = time.monotonic() + time_limit
    options = dict(timeout_func=lambda cell: max(1, int(deadline - time.monotonic())), interrupt_on_timeout=False,
                   allow_errors=True, kernel_name="python3", on_cell_executed=recorder.cell_done,
                   startup_timeout=120, resources={"metadata": {"path": str(workdir)}})
    if sandboxed:
        from tools.sandbox import Limits
        options["kernel_manager_class"] = boxed_kernel_manager(workdir, Limits(time=time_limit), env or {})
    client = NotebookClient(notebook, **options)
    try:
        client.execute()
    except Exception as failure:  # a dead kernel, the time limit: keep what did run
        if time.monotonic() >= deadline - 1:
            recorder.error = f"did not finish within the time limit of {time_limit:.0f} s"
        else:
            last = (str(failure).strip().splitlines() or [""])[-1]
            recorder.error = f"the notebook stopped: {type(failure).__name__}: {one_line(last, 200)}"
    recorder.save()
    return recorder.outcome()


if __name__ == "__main__":
    chapter_file, submission_file, result_file, limit, mode = sys.argv[1:6]
    environment = json.loads(os.environ.pop("GRADING_KERNEL_ENV", "{}"))
    grade(Path(chapter_file), Path(submission_file), float(limit), Path(result_file).parent,
          Path(result_file), sandboxed=mode == "sandbox", env=environment)
