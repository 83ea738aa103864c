"""Where code runs: device choice, reproducibility and the quick (test) mode."""
from __future__ import annotations

import os
import random

import torch

QUICK_ENV_VAR = "CNN_COURSE_QUICK"

_notes_shown: set[str] = set()


def note_once(message: str) -> None:
    """Print `message` the first time it is seen in this process."""
    if message not in _notes_shown:
        _notes_shown.add(message)
        print(message)


def is_quick() -> bool:
    """True when CNN_COURSE_QUICK=1: tests shrink data and epochs, notebooks stay the same."""
    return os.environ.get(QUICK_ENV_VAR, "") not in ("", "0", "false", "False")


def try_gpu(index: int = 0) -> torch.device:
    """Return the CUDA device `index` if there is one, else the CPU (with a note saying so)."""
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return torch.device(f"cuda:{index}")
    note_once(
        "No CUDA GPU found: running on the CPU. Chapters pick smaller settings there; "
        "on Colab choose Runtime > Change runtime type > GPU for the full-size runs."
    )
    return torch.device("cpu")


def describe_device(device: torch.device | str) -> str:
    """A human-readable name, e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu (2 threads)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy (if present) and torch so that a run can be repeated."""
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
