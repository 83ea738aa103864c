"""Hostile submissions against the grader's sandbox (tools/sandbox.py), on the small synthetic chapter,
graded from a private instructor kit (tools/instructor_kit.py), as a course would grade.

Each attack is the answer to Exercise 9.1 of a small chapter: `f1` is defined to return 1
(and so passes the public check) only if the attack SUCCEEDED, so a point on 9.1 means
the grader was beaten. Every attack must score 0 on 9.1 (or be flagged, where the
sandbox cannot see it). To see that these tests can fail, run them without the box:

    GRADER_TEST_NO_SANDBOX=1 pytest tests/test_grading_attacks.py

and most go red (the notes at each test say which ones cannot).
"""
import csv
import http.server
import os
import threading
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from tools.grade import grade_all, write_report
from tools.instructor_kit import write_kit
from tools.synthetic_submissions import MINI_ANSWERS, mini_chapter, mini_submission

REPO = Path(__file__).resolve().parents[1]
SANDBOXED = os.environ.get("GRADER_TEST_NO_SANDBOX") != "1"

# f1 returns 1 (the point) only when `won` is true.
VERDICT = "\n\ndef f1(x=1):\n    return 1 if won else -1\n"


def attack(code: str) -> dict[str, str]:
    return {"9.1": f"won = False\ntry:\n{_indent(code)}\nexcept Exception:\n    won = False{VERDICT}",
            "9.3": MINI_ANSWERS["9.3"]}


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.strip().splitlines())


def home_entry() -> Path:
    """Something in the grader's home that is not on the way to the Python installation the box shows."""
    from tools.sandbox import python_paths

    home = Path.home()
    shown = {part for path in python_paths() for part in Path(path).parts}
    entries = [p for p in sorted(home.iterdir()) if p.name not in shown]
    if not entries:
        pytest.skip(f"{home} holds nothing but the Python installation")
    return entries[0]


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts (an HTTP server for urllib)."""

    def __init__(self):
        handler = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.accepted = 0
        original = self.server.get_request

        def counted():
            self.accepted += 1
            return original()

        self.server.get_request = counted
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every attack graded in one run, two at a time, as a class would be."""
    folder = tmp_path_factory.mktemp("attacks")
    course = folder / "course"
    course.mkdir()
    jupytext.write(nbformat.read(mini_chapter(course), as_version=4), course / "09_mini.md", fmt="md:myst")
    chapter = write_kit(folder / "kit", chapters=course) / "chapters" / "09_mini.md"  # hidden checks, solutions
    subs, out = folder / "submissions", folder / "out"
    subs.mkdir()
    out.mkdir()
    classmate_file = subs / "zz-classmate.ipynb"
    grades = out / "grades.csv"
    grades.write_text("the instructor's grades\n")
    listener, web = Listener(), Listener()
    token = f"classmate-{folder.name}-{os.getpid()}"  # the kill attack's targets: this test's classmate only
    attacks = {
        "read-chapters": attack(f"won = 'hidden-check' in open({str(REPO / 'chapters' / '01_lenet.md')!r}).read()"),
        "read-tools": attack(f"won = 'def grade' in open({str(REPO / 'tools' / 'grade_notebook.py')!r}).read()"),
        # The kit's path as the grader knows it, any kit.json under /tmp, and any .md on a command line.
        "read-kit": attack(
            f"import glob, os\npaths = [{str(chapter)!r}, *glob.glob('/tmp/**/kit.json', recursive=True)]\n"
            "for pid in filter(str.isdigit, os.listdir('/proc')):\n    try:\n"
            "        paths += [a for a in open(f'/proc/{pid}/cmdline').read().split(chr(0)) if a.endswith('.md')]\n"
            "    except Exception:\n        pass\n"
            "won = any('hidden-check' in open(p).read() or 'chapters' in open(p).read() for p in paths)"),
        "read-home": attack(f"import os\nwon = os.path.exists({str(home_entry())!r})"),
        "write-classmate": attack(f"open({str(classmate_file)!r}, 'a').write(' ')\nwon = True"),
        "write-output": attack(f"open({str(out / 'forged.txt')!r}, 'w').write('x')\nwon = True"),
        "detached": attack(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(4)\n"
            f"    open({str(grades)!r}, 'w').write('student,total\\nmallory,100\\n')\n    os._exit(0)\nwon = False"),
        "tcp": attack(f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=3).close()\n"
                      "won = True"),
        "urllib": attack("import urllib.request\nopener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
                         f"won = opener.open('http://127.0.0.1:{web.port}/', timeout=3).status == 200"),
        "custom-exc": {"9.1": "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
                              "def f1(x=1):\n    return -1", "9.3": MINI_ANSWERS["9.3"]},
        "sneaky-exc": {"9.1": "shell = globals()['get_' + 'ipython']()\n"
                              "setattr(shell, 'custom_' + 'exceptions', (ValueError,))\ndef f1(x=1):\n    return -1",
                       "9.3": MINI_ANSWERS["9.3"]},
        "forged-result": attack(
            "import glob, json, os\nforged = {'checks': [{'exercise': e, 'description': 'x', 'passed': True, "
            "'message': 'passed', 'hidden': False} for e in ('mini-ex-one',) * 2 + ('mini-ex-two',)], 'error': None}\n"
            "for path in ['result.json', *glob.glob('/tmp/grade-*/result.json'), *glob.glob('../result.json')]:\n"
            "    open(path, 'w').write(json.dumps(forged))\nwon = False"),
        # Kills every other kernel it can see, then everything it may (only where it cannot be the
        # grading machine itself: os.kill(-1) with the grader's rights would end this test run).
        "kill": attack(
            "import os, time, signal\ntime.sleep(2)\nfor pid in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try:\n        command = open(f'/proc/{pid}/cmdline').read()\n"
            f"        mine = {token!r} in open(f'/proc/{{pid}}/cwd/submission.ipynb').read()\n"
            "        if 'ipykernel_launcher' in command and int(pid) != os.getpid() and mine:\n"
            "            os.kill(int(pid), signal.SIGKILL)\n    except Exception:\n        pass\n"
            "if os.getpid() < 100 and open('/proc/1/cmdline').read().startswith('bwrap'):\n"
            "    os.kill(-1, signal.SIGKILL)\nwon = False"),
        "planted-assertion": {"9.1": "def f1(x=1):\n    raise AssertionError('wrong\\nPLANTED: Automatic score: 3 / 3 "
                                     + "x" * 200 + "')", "9.3": MINI_ANSWERS["9.3"]},
        "crash-first": {**MINI_ANSWERS},
    }
    paths = {}
    for name, answers in attacks.items():
        setup = "import numpy_that_is_not_installed" if name == "crash-first" else "import math"
        paths[name] = mini_submission(subs / f"{name}.ipynb", answers, setup=setup)
    # The classmate runs beside the "kill" attack (two workers, next in line) and takes a few seconds.
    mini_submission(classmate_file, {"9.1": f"# {token}\nimport time\ntime.sleep(6)\n" + MINI_ANSWERS["9.1"],
                                     "9.3": MINI_ANSWERS["9.3"]})
    order = [n for n in paths if n != "kill"] + ["kill"]
    jobs = [(chapter, paths[n]) for n in order] + [(chapter, classmate_file)]
    before = classmate_file.read_bytes()
    outcomes = dict(zip([*order, "classmate"], grade_all(jobs, 2, time_limit=60, sandboxed=SANDBOXED)))
    time.sleep(6)  # long enough for the detached process to have struck
    grades_after = grades.read_text()
    report_out = folder / "report"
    with write_report(chapter, outcomes, report_out).open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    listener.server.shutdown()
    web.server.shutdown()
    return {"rows": rows, "outcomes": outcomes, "feedback": report_out / "feedback", "grades_after": grades_after,
            "classmate_unchanged": classmate_file.read_bytes() == before, "out": out,
            "accepted": listener.accepted, "web_accepted": web.accepted}


def point(graded, name: str) -> int:
    return int(graded["rows"][name]["Exercise 9.1 (/2)"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["read-chapters", "read-tools", "read-kit", "read-home"])
def test_the_kernel_cannot_read_the_solutions_the_checks_the_kit_or_the_home(graded, name):
    assert point(graded, name) == 0, graded["outcomes"][name]


@pytest.mark.slow
def test_the_kernel_cannot_write_a_classmates_submission_or_the_output(graded):
    assert point(graded, "write-classmate") == 0 and graded["classmate_unchanged"]
    assert point(graded, "write-output") == 0 and not (graded["out"] / "forged.txt").exists()


@pytest.mark.slow
def test_a_detached_process_dies_with_the_submission(graded):
    assert graded["grades_after"] == "the instructor's grades\n"


@pytest.mark.slow
def test_no_tcp_connection_reaches_a_listener_on_the_machine(graded):
    assert point(graded, "tcp") == 0 and graded["accepted"] == 0


@pytest.mark.slow
def test_urllib_without_proxy_reaches_nothing(graded):
    assert point(graded, "urllib") == 0 and graded["web_accepted"] == 0


@pytest.mark.slow
def test_set_custom_exc_is_flagged_and_wins_nothing(graded):
    """Swallowing errors does not pass a check (the kernel still replies 'error'): caught with or without the box."""
    row = graded["rows"]["custom-exc"]
    assert point(graded, "custom-exc") == 0 and "set_custom_exc" in row["flags"].split()
    assert "set_custom_exc" in (graded["feedback"] / "custom-exc.md").read_text()


@pytest.mark.slow
def test_tampering_hidden_from_the_scan_is_flagged_by_the_runtime_probe(graded):
    """The scan misses `globals()['get_' + 'ipython']`; the probe run after the notebook sees the handler.
    (A student's code could fake the probe's answer too: flagged, not prevented.)"""
    assert "set_custom_exc" in graded["rows"]["sneaky-exc"]["flags"].split()
    assert graded["outcomes"]["sneaky-exc"]["runtime_flags"] == ["set_custom_exc"]


@pytest.mark.slow
def test_a_forged_result_file_does_nothing(graded):
    """The runner writes the verdicts outside the box. Without the box the forgery of its own file is
    overwritten by its runner's last write, but it lands in classmates' files still being written
    (/tmp/grade-*/result.json): their wrong answers then score (a race, seen in practice)."""
    assert int(graded["rows"]["forged-result"]["total (/3)"]) == 1  # f2's point only
    for wrong in ("custom-exc", "planted-assertion", "crash-first"):
        expected = 3 if wrong == "crash-first" else 1
        assert int(graded["rows"][wrong]["total (/3)"]) == expected, (wrong, graded["rows"][wrong])


@pytest.mark.slow
def test_killing_other_processes_harms_no_classmate(graded):
    classmate = graded["rows"]["classmate"]
    assert int(classmate["total (/3)"]) == 3, graded["outcomes"]["classmate"]


@pytest.mark.slow
def test_a_planted_assertion_message_does_not_reach_the_feedback(graded):
    text = (graded["feedback"] / "planted-assertion.md").read_text()
    assert "PLANTED" not in text and "x" * 120 not in text
    assert "Automatic score: 1 / 3" in text  # the hidden check on f1 fails too: f2's point only


@pytest.mark.slow
def test_a_crash_in_the_imports_shows_the_real_error_first(graded):
    text = (graded["feedback"] / "crash-first.md").read_text()
    first = text.index("ModuleNotFoundError: No module named 'numpy_that_is_not_installed'")
    assert first < text.index("Automatic score")
    assert graded["outcomes"]["crash-first"]["first_error"].startswith("cell 1: ")


@pytest.mark.slow
def test_every_row_says_whether_it_was_sandboxed(graded):
    for row in graded["rows"].values():
        assert ("no-sandbox" in row["flags"].split()) is not SANDBOXED


def test_without_bwrap_the_grader_refuses_unless_told(monkeypatch, tmp_path):
    from tools import sandbox

    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap (bwrap) is not installed")
    chapter = mini_chapter(tmp_path)
    with pytest.raises(SystemExit, match="--no-sandbox"):
        grade_all([(chapter, mini_submission(tmp_path / "a.ipynb"))])
