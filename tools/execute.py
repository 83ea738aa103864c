"""`python -m utils.execute NOTEBOOK...`: run chapters top to bottom in full mode and store the outputs.

This is how the book's stored outputs are made: a fresh kernel per notebook,
quick mode off, executed in place, the .md twin re-synced. Runs take a lock so
that two of them never share (and slow down) the same CPU or GPU.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .results import EXECUTIONS_FILE, record_execution, results_dir
from .runtime import QUICK_ENV_VAR


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


def main(paths: list[str]) -> int:
    os.environ.pop(QUICK_ENV_VAR, None)  # the kernel inherits this environment: full mode
    # Idle OpenMP threads sleep instead of spinning: on a shared CPU, spinning threads of
    # several processes slow each other down several times over.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    lock_path = Path(tempfile.gettempdir()) / "cnn-course-execute.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started_at = time.time()
        rows = []
        for path in map(Path, paths):
            print(f"Executing {path} ...", flush=True)
            rows.append((path.stem, execute(path)))
            record_execution(path.stem, rows[-1][1])
    fresh = [json.loads(p.read_text()) for p in sorted(results_dir().glob("*.json"))
             if p.stat().st_mtime >= started_at and p.name != EXECUTIONS_FILE]
    print(f"\n{'chapter':<16}{'wall time':>10}")
    for name, seconds in rows:
        print(f"{name:<16}{seconds:>9.0f}s")
    if fresh:
        print(f"\n{'run':<24}{'device':<40}{'epochs':>7}{'test acc':>9}")
        for record in fresh:
            history, name = record["history"], record["name"]
            print(f"{name:<24}{history['device']:<40}{len(history['test_acc']):>7}{history['test_acc'][-1]:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
