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
    as results_dir()/<name>.json, the trained weights as <name>.pt beside it (load_weights reads
    them), and return the JSON's path."""
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
    # Weights first: a JSON without its .pt would announce weights that are not there.
    state = {key: value.detach().cpu() for key, value in net.state_dict().items()}
    atomic_write(results_dir() / f"{name}.pt", lambda file: torch.save(state, file))
    return atomic_write_json(results_dir() / f"{name}.json", record)


def load_weights(name: str, net: nn.Module) -> dict[str, Any]:
    """Load the weights of the run `name` into `net` (built with the run's settings) and return the
    run's record. Your own run (results_dir()) is preferred to the book's."""
    for folder in (results_dir(), BOOK_RESULTS):
        weights, record = folder / f"{name}.pt", folder / f"{name}.json"
        if weights.is_file() and record.is_file():
            break
    else:
        raise FileNotFoundError(
            f"No saved weights for the run {name!r} in {results_dir()} or {BOOK_RESULTS}. Run the chapter "
            "that trains it (its main run calls save_results), or train a network here instead.")
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except RuntimeError as error:  # missing or unexpected keys, or other shapes
        raise ValueError(
            f"The weights in {weights} do not fit this network: build it with the settings that run used "
            f"({json.loads(record.read_text()).get('settings')}). PyTorch said: {str(error).splitlines()[0]}"
        ) from None
    return json.loads(record.read_text())


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

