"""tools.execute: arguments, the comparison chapter last, side-by-side runs, the executions record."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import utils
from tools.execute import parse_args, record_execution
from utils.results import code_commit

REPO = Path(__file__).resolve().parents[1]


def tiny_notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nbformat.write(nb, path)
    return path


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.execute", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("argv, message", [
    ([], "required: NOTEBOOK"),
    (["chapters/01_lenet.md"], "is not a notebook"),
    (["no/such.ipynb"], "does not exist"),
    (["--jobs", "0", "chapters/01_lenet.ipynb"], "--jobs must be at least 1"),
])
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_works():
    result = run_tool("--help")
    assert result.returncode == 0 and "--jobs" in result.stdout


@pytest.mark.slow
def test_comparison_runs_after_the_others_side_by_side(tmp_path):
    log = tmp_path / "order.log"
    # "first" waits until "second" has written its line: that can only happen when both run at once
    # (kernel start-up times vary on a busy machine, so a fixed sleep would make this test flaky).
    wait_for_second = (f"import time, pathlib; log = pathlib.Path(r'{log}')\n"
                       "deadline = time.time() + 120\n"
                       "while 'second' not in (log.read_text() if log.exists() else ''):\n"
                       "    assert time.time() < deadline, 'second never ran beside first'\n"
                       "    time.sleep(0.1)\n"
                       "with log.open('a') as f: f.write('first\\n')")
    first = tiny_notebook(tmp_path / "01_first.ipynb", wait_for_second)
    second = tiny_notebook(tmp_path / "02_second.ipynb", f"open(r'{log}', 'a').write('second\\n')")
    # The comparison checks that both others have finished before it starts.
    comparison = tiny_notebook(tmp_path / "06_comparison.ipynb",
                               f"assert sorted(open(r'{log}').read().split()) == ['first', 'second']")
    result = run_tool("--quick", "--jobs", "2", str(comparison), str(first), str(second))
    assert result.returncode == 0, result.stderr[-2000:]
    assert log.read_text().split() == ["second", "first"]
    table = result.stdout[result.stdout.index("\nchapter ") + 1:]
    assert [line.split()[0] for line in table.splitlines()[1:4]] == ["06_comparison", "01_first", "02_second"]
    assert "2 at a time (quick mode)" in result.stdout


def test_record_execution_keeps_one_entry_per_kind_of_device(tmp_path):
    path = tmp_path / "executions.json"
    record_execution("01_lenet", 684.4, "cpu (2 threads)", "abc", path)
    record_execution("01_lenet", 80.2, "cuda:0 (NVIDIA H100 80GB HBM3)", "abc", path)
    record_execution("01_lenet", 600.0, "cpu (2 threads)", code_commit(), path)
    runs = json.loads(path.read_text())["01_lenet"]
    assert runs["cpu"]["seconds"] == 600 and runs["gpu"]["seconds"] == 80
    assert runs["gpu"]["device"].startswith("cuda")
    assert runs["cpu"]["course_version"] == utils.__version__ and runs["cpu"]["commit"] == code_commit()


@pytest.mark.slow
def test_a_failing_chapter_does_not_stop_the_others(tmp_path):
    broken = tiny_notebook(tmp_path / "01_broken.ipynb", "raise RuntimeError('weights on cpu, input on cuda')")
    fine = tiny_notebook(tmp_path / "02_fine.ipynb", "x = 1")
    stored = broken.read_text()
    result = run_tool("--quick", str(broken), str(fine))
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "weights on cpu, input on cuda" in result.stdout
    table = result.stdout[result.stdout.index("\nchapter ") + 1:].splitlines()
    assert "FAILED" in table[1] and table[2].split()[0] == "02_fine" and table[2].split()[-2].endswith("s")
    assert broken.read_text() == stored  # a failed run leaves the stored notebook alone


@pytest.mark.slow
def test_figures_are_stored_even_with_a_forced_backend(tmp_path):
    notebook = tiny_notebook(tmp_path / "01_plot.ipynb", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    result = subprocess.run([sys.executable, "-m", "tools.execute", "--quick", str(notebook)], cwd=REPO,
                            capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr[-2000:]
    outputs = nbformat.read(notebook, as_version=4).cells[0].outputs
    assert any("image/png" in output.get("data", {}) for output in outputs)


@pytest.mark.slow
def test_kernels_import_the_utils_of_the_clone_they_were_started_from(tmp_path):
    # A second clone beside this one: its own utils, while the environment's editable install
    # (if any) points at this checkout. Kernels started from the second clone must use its utils.
    other = tmp_path / "other-clone"
    for folder in ("utils", "tools"):
        shutil.copytree(REPO / folder, other / folder, ignore=shutil.ignore_patterns("__pycache__", "book_results"))
    seen = tmp_path / "seen.txt"
    notebook = tiny_notebook(tmp_path / "01_which.ipynb",
                             f"import utils; open(r'{seen}', 'w').write(utils.__file__)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "tools.execute", "--quick", str(notebook)], cwd=other,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert Path(seen.read_text()).resolve() == (other / "utils" / "__init__.py").resolve()


def test_full_mode_points_the_kernels_at_the_books_results_and_quick_mode_away_from_them(monkeypatch):
    from tools.execute import BOOK_RESULTS, set_mode

    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    monkeypatch.setenv("CNN_COURSE_RESULTS", "/somewhere/else")
    set_mode(quick=False)
    assert "CNN_COURSE_QUICK" not in os.environ and os.environ["CNN_COURSE_RESULTS"] == str(BOOK_RESULTS)
    assert BOOK_RESULTS == REPO / "utils" / "book_results" and (BOOK_RESULTS / "lenet.json").exists()
    monkeypatch.setenv("CNN_COURSE_RESULTS", "/bundle/quick-results")
    set_mode(quick=True)  # the caller's folder, as tools/gpu_bundle_run.sh sets it; never the book's
    assert os.environ["CNN_COURSE_QUICK"] == "1" and os.environ["CNN_COURSE_RESULTS"] == "/bundle/quick-results"
    monkeypatch.delenv("CNN_COURSE_RESULTS")
    set_mode(quick=True)
    assert "CNN_COURSE_RESULTS" not in os.environ


def test_the_chapters_that_read_saved_weights_or_results_run_last():
    from tools.execute import in_order

    chapters = [Path(f"chapters/{n}.ipynb") for n in ("07_what_networks_see", "01_lenet", "06_comparison", "05_resnet")]
    first, last = in_order(chapters)
    assert [p.stem for p in first] == ["01_lenet", "05_resnet"]
    assert [p.stem for p in last] == ["07_what_networks_see", "06_comparison"]


def test_quick_mode_refuses_a_notebook_git_tracks(tmp_path, capsys):
    """A quick run executes in place: on a chapter of the book it would replace the stored outputs."""
    with pytest.raises(SystemExit):
        parse_args(["--quick", str(REPO / "chapters" / "01_lenet.ipynb")])
    assert "make test-notebooks" in capsys.readouterr().err
    outside = tiny_notebook(tmp_path / "01_copy.ipynb", "x = 1")  # a copy outside any checkout is fine
    assert parse_args(["--quick", str(outside)]).quick
    assert not parse_args([str(REPO / "chapters" / "01_lenet.ipynb")]).quick  # full mode refreshes the book
