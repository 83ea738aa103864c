"""Results files: each chapter saves its runs so that the comparison chapter can read them.

The book's own full runs ship with the package in utils/book_results/, so the comparison
chapter works anywhere (Colab included); your runs go to results_dir(), never there.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .common import atomic_write, atomic_write_json
from .profile import activation_bytes, count_macs
from .runtime import is_quick
from .training import History

RESULTS_ENV_VAR = "CNN_COURSE_RESULTS"
BOOK_RESULTS = Path(__file__).resolve().parent / "book_results"
RECORD_KEYS = ("history", "settings", "costs", "test_acc")  # what the comparison chapter reads
EXECUTIONS_FILE = "executions.json"  # tools/execute.py's wall times, not a run record


def results_dir() -> Path:
    """Where save_results writes: $CNN_COURSE_RESULTS; else a temporary folder in quick mode (tests
    never overwrite real results); else ./cnn-course-results. Only the switch writes into the book's
    results (utils/book_results/, which `make execute` sets it to): a student's runs in a clone of
    the course repository never overwrite them."""
    if os.environ.get(RESULTS_ENV_VAR):
        return Path(os.environ[RESULTS_ENV_VAR])
    if is_quick():
        return Path(tempfile.gettempdir()) / "cnn-course-quick-results"
    return Path.cwd() / "cnn-course-results"


def code_commit() -> str | None:
    """The git commit of the course's code that is running, "+changes" when its files differ from it;
    None outside a git checkout (a pip-installed package)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=BOOK_RESULTS.parent, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != BOOK_RESULTS.parents[1]:  # not the course's own checkout
        return None
    commit = git("rev-parse", "--short=12", "HEAD")
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


COMMIT_AT_IMPORT = code_commit()  # the code this process runs, even if the files change before it saves


def save_results(name: str, history: History, net: nn.Module, *, test_acc: float, **settings: Any) -> Path:
    """Save a run (its history, the model's costs, the final test accuracy and your settings)
    as results_dir()/<name>.json, and the network's weights (its state dict) beside it as <name>.pt;
    return the path of the .json."""
    costs = {"parameters": sum(p.numel() for p in net.parameters()),
             "macs_per_example": count_macs(net, history.image_shape),
             "activation_bytes_per_example": activation_bytes(net, history.image_shape)}
    record = {
        "name": name, "quick_mode": is_quick(),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "course_version": __version__, "commit": COMMIT_AT_IMPORT,
        "torch": torch.__version__, "device": history.device, "test_acc": test_acc,
        "costs": costs, "settings": settings, "history": history.to_dict(),
    }
    # Weights first, each file whole or not at all: a JSON must not announce weights that are not there.
    state = {key: value.detach().cpu().contiguous() for key, value in net.state_dict().items()}
    atomic_write(results_dir() / f"{name}.pt", lambda file: torch.save(state, file))
    return atomic_write_json(results_dir() / f"{name}.json", record)


def stored_weights(name: str) -> Path | None:
    """The weights that save_results stored for run `name`: yours (in results_dir()) if you saved
    such a run, else the book's; None when neither exists. The run's record is the .json beside it."""
    for folder in dict.fromkeys((results_dir(), BOOK_RESULTS)):
        if (folder / f"{name}.pt").is_file():
            return folder / f"{name}.pt"
    return None


def load_weights(name: str, net: nn.Module) -> Path:
    """Load the stored weights of run `name` (see stored_weights) into `net`, a network freshly built
    with the settings of that run; every tensor must fit. Returns the file it loaded."""
    path = stored_weights(name)
    if path is None:
        raise FileNotFoundError(
            f"No stored weights for the run {name!r} (looked for {name}.pt in {results_dir()} and in "
            f"{BOOK_RESULTS}). Run the chapter that trains it first (its main run saves them), or "
            "train a quick version of the network where you need it.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"The weights in {path} do not fit this network: {str(error).splitlines()[0]} Build the network "
            f"with the settings stored in {path.with_suffix('.json').name} (record['settings']), or run "
            "its chapter again to save weights for the network as it is now built.") from None
    return path


def _read_runs(folder: Path, source: str) -> dict[str, dict[str, Any]]:
    runs = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name == EXECUTIONS_FILE:
            continue
        try:
            record = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as error:  # cut short or edited by hand: the other runs still count
            warnings.warn(f"Skipped {path}: it is not a valid results file ({error}). Delete it, or run its "
                          "chapter again to write it anew.", stacklevel=3)
            continue
        missing = [key for key in RECORD_KEYS if key not in record] if isinstance(record, dict) else list(RECORD_KEYS)
        if missing:  # an older course version's file: skipped, never read as zeros
            warnings.warn(f"Skipped {path.name} in {folder.name}/: it was saved by an older version of the "
                          f"course (no {', '.join(missing)}). Run its chapter again to replace it.", stacklevel=3)
            continue
        runs[path.stem] = {**record, "source": source}
    return runs


def load_results() -> dict[str, dict[str, Any]]:
    """The book's stored runs (``record["source"] == "book"``) and your own (``"yours"``), by name.

    A run of yours with the same name as one of the book's is listed as "<name> (yours)".
    """
    runs = _read_runs(BOOK_RESULTS, "book")
    if results_dir().resolve() != BOOK_RESULTS:
        for name, record in _read_runs(results_dir(), "yours").items():
            runs[f"{name} (yours)" if name in runs else name] = record
    return runs

