"""Where code runs: device choice, reproducibility and the quick (test) mode."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

QUICK_ENV_VAR = "CNN_COURSE_QUICK"

_notes_shown: set[str] = set()


def note_once(message: str) -> None:
    """Print `message` the first time it is seen in this process."""
    if message not in _notes_shown:
        _notes_shown.add(message)
        print(message)


QUICK_ON, QUICK_OFF = ("1", "yes", "on", "true"), ("", "0", "no", "off", "false")


def is_quick() -> bool:
    """True when CNN_COURSE_QUICK is 1, yes, on or true: tests shrink data and epochs. Unset, empty,
    0, no, off and false mean off; anything else is an error, so that a typo never silently picks a mode."""
    value = os.environ.get(QUICK_ENV_VAR, "").strip().lower()
    if value in QUICK_ON or value in QUICK_OFF:
        return value in QUICK_ON
    raise ValueError(f"{QUICK_ENV_VAR}={os.environ[QUICK_ENV_VAR]!r} is not understood. Use one of "
                     f"{', '.join(QUICK_ON)} (quick mode) or {', '.join(QUICK_OFF[1:])} or unset (full mode).")


def try_gpu(index: int = 0) -> torch.device:
    """Return the CUDA device `index` if there is one, else the CPU (with a note saying so)."""
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return torch.device(f"cuda:{index}")
    note_once(
        "No CUDA GPU found: running on the CPU. Chapters pick smaller settings there; "
        "on Colab choose Runtime > Change runtime type > GPU for the full-size runs."
    )
    return torch.device("cpu")


def pick_device(device: torch.device | str | None) -> torch.device:
    """The device a call runs on: `device` if given, else the GPU when there is one."""
    return torch.device(device) if device is not None else try_gpu()


def model_device(net: torch.nn.Module) -> torch.device:
    """Where the parameters of `net` are (the CPU for a model without any)."""
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def describe_device(device: torch.device | str) -> str:
    """A human-readable name, e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu (2 threads)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
