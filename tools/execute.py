"""`python -m tools.execute [--jobs N] NOTEBOOK...`: run chapters top to bottom and store their outputs.

This is how the book's stored outputs are made: a fresh kernel per notebook,
quick mode off, executed in place, the .md twin re-synced. On a GPU several
chapters run side by side (each its own kernel process), since one chapter
alone leaves most of a large GPU idle; on CPUs they run one at a time, because
they would only fight over the cores. The comparison chapter and chapter 7 read the
others' results and weights, so they always run last. The wall time of each chapter goes to
utils/book_results/executions.json (per chapter and kind of device), and one
table closes the run: chapter, device, wall time, main-run test accuracy.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from tools.working_tree import with_working_tree

REPO = Path(__file__).resolve().parents[1]
BOOK_RESULTS = REPO / "utils" / "book_results"
EXECUTIONS_PATH = BOOK_RESULTS / "executions.json"
QUICK_ENV_VAR = "CNN_COURSE_QUICK"  # as in utils.runtime; read here without importing torch
RESULTS_ENV_VAR = "CNN_COURSE_RESULTS"  # as in utils.results: the one switch that writes the book's results
GPU_GIB_PER_CHAPTER = 12  # measured: chapters 1-5 side by side on one H100 held at most 11 GB in all


def execute(notebook: Path, timeout: int = 3600) -> float:
    """Execute `notebook` in place in a new kernel; return the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    started = time.perf_counter()
    client.execute()
    nbformat.write(nb, notebook)
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--sync", str(notebook)], check=True)
    return time.perf_counter() - started


def execute_or_report(notebook: Path) -> float | str:
    """Like `execute`, but a failure comes back as a one-line message, so that the other chapters
    of a long run still finish (the failed notebook is left as it was)."""
    try:
        return execute(notebook)
    except Exception as error:  # a cell's error, a dead kernel, a timeout: all reported the same way
        lines = [line for line in str(error).splitlines() if line.strip()]
        return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def device_name() -> str:
    """The device the chapters will pick (they all call utils.try_gpu)."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:0 ({torch.cuda.get_device_name(0)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def default_jobs(num_chapters: int) -> int:
    """Side by side on a GPU, as many as its memory and the CPU cores allow; one at a time on CPUs."""
    import torch

    if not torch.cuda.is_available():
        return 1
    gib = torch.cuda.get_device_properties(0).total_memory / 2**30
    return max(1, min(num_chapters, int(gib // GPU_GIB_PER_CHAPTER), os.cpu_count() or 1))


def record_execution(chapter: str, seconds: float, device: str, commit: str | None,
                     path: Path = EXECUTIONS_PATH) -> None:
    """Keep the latest full-run wall time per chapter and kind of device ("gpu" or "cpu"), with the
    version and the commit (taken before the run changed any file) of the code that produced it."""
    from utils import __version__

    records = json.loads(path.read_text()) if path.exists() else {}
    kind = "gpu" if device.startswith("cuda") else "cpu"
    records.setdefault(chapter, {})[kind] = {"device": device, "seconds": round(seconds),
                                             "date": time.strftime("%Y-%m-%d"), "course_version": __version__,
                                             "commit": commit}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")


def main_run_accuracy(chapter: str, since: float) -> str:
    """Test accuracy of the chapter's main run (results file named after it, e.g. 01_lenet -> lenet),
    if this execution wrote one; else "-". Read where the kernels wrote it: see `set_mode`."""
    from utils import results_dir

    path = results_dir() / f"{chapter.split('_', 1)[-1]}.json"
    if not path.exists() or path.stat().st_mtime < since:
        return "-"
    record = json.loads(path.read_text())
    accuracy = record.get("test_acc")
    if accuracy is None:  # records written before save_results took test_acc
        accuracy = record["history"]["test_acc"][-1]
    return f"{accuracy:.3f}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.execute", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK", help="chapter .ipynb files")
    parser.add_argument("--jobs", type=int, default=None,
                        help="chapters run side by side (default: chosen from the GPU's memory; 1 on CPUs)")
    parser.add_argument("--quick", action="store_true",
                        help="quick mode (CNN_COURSE_QUICK=1): a check that everything runs, on copies outside a "
                             "git checkout (the GPU bundle's); no results or times are recorded")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb":
            parser.error(f"{path} is not a notebook: give the .ipynb twin (e.g. chapters/01_lenet.ipynb)")
        if not path.is_file():
            parser.error(f"{path} does not exist")
        if args.quick and is_tracked(path):
            # Executed in place, a quick run would replace the book's stored full-mode outputs.
            parser.error(f"--quick would overwrite the stored outputs of {path}, which git tracks. For a check "
                         "that runs nothing back into the book, use `make test-notebooks` (nbval never writes).")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def is_tracked(path: Path) -> bool:
    """True if `path` is a file git tracks (False outside a git checkout)."""
    found = subprocess.run(["git", "ls-files", "--error-unmatch", path.name], cwd=path.resolve().parent,
                           capture_output=True)
    return found.returncode == 0


READERS = ("comparison", "what_networks_see")  # chapters that read the others' results or weights


def in_order(notebooks: list[Path]) -> tuple[list[Path], list[Path]]:
    """The chapters that train, then those that read what the others saved (they run after them)."""
    last = [p for p in notebooks if p.stem.endswith(READERS)]
    return [p for p in notebooks if p not in last], last


def run_all(notebooks: list[Path], jobs: int) -> dict[Path, float | str]:
    """Execute the chapters (`jobs` at a time), then the comparison chapter(s) after them.
    Returns the wall time of each, or the error that stopped it."""
    first, last = in_order(notebooks)
    seconds = {}
    if jobs > 1 and len(first) > 1:
        # Each kernel gets its share of the cores instead of all of them.
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            for path, outcome in zip(first, pool.map(execute_or_report, first)):
                seconds[path] = outcome
                print(f"  {path}: " + (f"done in {outcome:.0f} s" if isinstance(outcome, float) else outcome),
                      flush=True)
    else:
        for path in first:
            print(f"Executing {path} ...", flush=True)
            seconds[path] = execute_or_report(path)
    for path in last:
        print(f"Executing {path} (reads the others' results) ...", flush=True)
        seconds[path] = execute_or_report(path)
    for path, outcome in seconds.items():
        if isinstance(outcome, str):
            print(f"FAILED {path}: {outcome}", flush=True)
    return seconds


def set_mode(quick: bool) -> None:
    """Set the environment the kernels inherit. Full mode is the one way to refresh the book's results,
    so it points CNN_COURSE_RESULTS at them; quick mode leaves it to the caller (unset: a temporary
    folder; tools/gpu_bundle_run.sh sets one to collect the run's results)."""
    if quick:
        os.environ[QUICK_ENV_VAR] = "1"
    else:
        os.environ.pop(QUICK_ENV_VAR, None)
        os.environ[RESULTS_ENV_VAR] = str(BOOK_RESULTS)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    set_mode(args.quick)
    # A forced backend (MPLBACKEND=Agg) keeps the kernel's inline backend from loading: no figures stored.
    os.environ.pop("MPLBACKEND", None)
    # Idle OpenMP threads sleep instead of spinning: spinning threads of several processes
    # slow each other down several times over.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.update(with_working_tree(os.environ))  # the kernels import this checkout's utils
    device = device_name()
    jobs = args.jobs or default_jobs(len(args.notebooks))
    print(f"{len(args.notebooks)} notebooks on {device}, {jobs} at a time"
          f"{' (quick mode)' if args.quick else ''}", flush=True)
    lock_path = Path(tempfile.gettempdir()) / "cnn-course-execute.lock"
    with open(lock_path, "w") as lock:  # two executions never share (and slow down) one machine
        fcntl.flock(lock, fcntl.LOCK_EX)
        from utils.results import code_commit

        commit = code_commit()  # before the run rewrites the notebooks and results
        started_at, started = time.time(), time.perf_counter()
        seconds = run_all(args.notebooks, jobs)
        total = time.perf_counter() - started
    failed = [path for path, outcome in seconds.items() if isinstance(outcome, str)]
    if not args.quick:
        for path, wall in seconds.items():
            if path not in failed:
                record_execution(path.stem, wall, device, commit)
    print(f"\n{'chapter':<16}{'device':<36}{'wall time':>10}{'main-run test acc':>19}")
    for path in args.notebooks:
        outcome = seconds[path]
        wall = f"{outcome:>9.0f}s" if path not in failed else f"{'FAILED':>10}"
        print(f"{path.stem:<16}{device:<36}{wall}{main_run_accuracy(path.stem, started_at):>19}")
    print(f"{'all':<16}{'':<36}{total:>9.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
