"""`python -m tools.test_gpu [NOTEBOOK...]`: every chapter in quick mode on the GPU, under nbval, side by side.

CI runs on CPUs, where a model and a batch can never be on different devices;
this is the check that catches such bugs, in about a minute and a half on one
H100. Each notebook gets its own pytest process (and so its own kernel), all
at once. Without a CUDA GPU it says so and exits 0 without running anything,
so that `make test-gpu` is safe to call anywhere.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tools.working_tree import with_working_tree

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90  # the budget on one H100 (issue 13)


def main(argv: list[str]) -> int:
    import torch

    if not torch.cuda.is_available():
        print("make test-gpu: no CUDA GPU on this machine, so nothing was run (the notebooks' CPU check is "
              "`make test-notebooks`).")
        return 0
    notebooks = [Path(p) for p in argv] or sorted((REPO / "chapters").glob("*.ipynb"))
    env = {**with_working_tree(os.environ), "CNN_COURSE_QUICK": "1", "OMP_WAIT_POLICY": "PASSIVE",
           "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // len(notebooks)))}
    print(f"Quick mode on {torch.cuda.get_device_name(0)}: {len(notebooks)} notebooks side by side", flush=True)
    started = time.perf_counter()
    runs = {
        path: subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                                "--nbval-current-env", "--nbval-cell-timeout=300", str(path)],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for path in notebooks
    }
    failed = []
    for path, process in runs.items():
        output, _ = process.communicate()
        status = "passed" if process.returncode == 0 else "FAILED"
        print(f"  {path.name:<24}{status} after {time.perf_counter() - started:5.0f} s", flush=True)
        if process.returncode:
            failed.append(path.name)
            print(output[-4000:])
    total = time.perf_counter() - started
    print(f"{len(notebooks) - len(failed)} of {len(notebooks)} notebooks passed in {total:.0f} s wall "
          f"(target on one H100: {TARGET_SECONDS} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
