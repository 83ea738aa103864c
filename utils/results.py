"""Results files: each chapter saves its runs so that the comparison chapter can read them."""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .runtime import describe_device, is_quick, try_gpu
from .training import History

RESULTS_ENV_VAR = "CNN_COURSE_RESULTS"
EXECUTIONS_FILE = "executions.json"  # wall time of each chapter's full run, per device


def results_dir() -> Path:
    """Where results go: $CNN_COURSE_RESULTS, else a temporary folder in quick mode (so tests
    never overwrite real results), else the repository's results/ (or ./results outside it)."""
    if os.environ.get(RESULTS_ENV_VAR):
        return Path(os.environ[RESULTS_ENV_VAR])
    if is_quick():
        return Path(tempfile.gettempdir()) / "cnn-course-quick-results"
    repo = Path(__file__).resolve().parents[1]
    return repo / "results" if (repo / "_toc.yml").exists() else Path.cwd() / "results"


def save_results(name: str, history: History, **settings: Any) -> Path:
    """Save a run's history and settings (device, resolution, epochs, ...) as results/<name>.json."""
    record = {
        "name": name,
        "quick_mode": is_quick(),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "settings": settings,
        "history": history.to_dict(),
    }
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(partial, path)
    return path


def load_results() -> dict[str, dict[str, Any]]:
    """Every saved run in results_dir(), by name."""
    folder = results_dir()
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))
            if path.name != EXECUTIONS_FILE}


def record_execution(chapter: str, seconds: float) -> None:
    """Keep the latest full-run wall time per chapter and device in results/executions.json."""
    path = results_dir() / EXECUTIONS_FILE
    records = json.loads(path.read_text()) if path.exists() else {}
    device = describe_device(try_gpu())
    kind = "gpu" if device.startswith("cuda") else "cpu"
    records.setdefault(chapter, {})[kind] = {
        "device": device, "seconds": round(seconds), "date": time.strftime("%Y-%m-%d"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")

