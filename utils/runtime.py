"""Where code runs: device choice, reproducibility and the quick (test) mode."""
from __future__ import annotations

import operator
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


DEVICE_FORMS = "\"cpu\", \"cuda\", \"cuda:0\" or None (the GPU if there is one, else the CPU)"


def pick_device(device: torch.device | str | None) -> torch.device:
    """The device a call runs on: `device` if given, else the GPU when there is one. Every function
    that takes a device reads it here, so that "gpu", or "cuda" on a machine without one, gets an
    error that lists the valid forms instead of a failure deep inside torch."""
    if device is None:
        return try_gpu()
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a device. Use {DEVICE_FORMS}.") from None
    if parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r}: the course runs on CPUs and CUDA GPUs. Use {DEVICE_FORMS}.")
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but this machine has no CUDA GPU. Use device=\"cpu\", or "
                         "device=None to take the GPU when there is one (on Colab: Runtime > Change runtime type).")
    if parsed.type == "cuda" and (parsed.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device={device!r} but this machine has {torch.cuda.device_count()} GPU(s), "
                         f"numbered from 0. Use \"cuda:0\" (or \"cuda\") or None.")
    return parsed


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


SEED_LIMIT = 2**32  # NumPy's generator takes seeds below this


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that a run can be repeated; `seed` is an int in 0..2**32-1."""
    try:
        valid = not isinstance(seed, bool) and 0 <= operator.index(seed) < SEED_LIMIT
    except TypeError:  # "0", 0.5, None: seeding with them would hash or fail differently in each library
        valid = False
    if not valid:
        raise ValueError(f"seed must be an int from 0 to 2**32 - 1, e.g. set_seed(0); got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
