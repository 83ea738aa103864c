"""Checkpoints: save a training run after every epoch and resume it only with the same settings."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .common import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used to resume this training run."""


def check_writable(path: str | os.PathLike) -> None:
    """Fail now, before any training, if a checkpoint can never be written to `path`."""
    probe = Path(path).with_name(Path(path).name + ".partial")
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise CheckpointError(
            f"Cannot write the checkpoint {path} ({type(error).__name__}: {error}). Pass a checkpoint= path "
            "in a folder you can write to; nothing was trained."
        ) from None


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write `state` atomically: a crash mid-write leaves the previous checkpoint intact."""
    atomic_write(path, lambda file: torch.save(state, file))


def load_checkpoint(path: str | os.PathLike, net: nn.Module) -> dict[str, Any]:
    """Read a checkpoint written by `train` and check that it belongs to `net`; the file is never changed."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise CheckpointError(
            f"Checkpoint {path} cannot be read ({type(error).__name__}: {first_line}). It was left untouched. "
            "Delete it (or pass another checkpoint= path) to start training from scratch."
        ) from None
    if not isinstance(state, dict) or not {"model", "optimizer", "epoch", "history"} <= state.keys():
        raise CheckpointError(f"{path} is not a checkpoint written by utils.train. It was left untouched; pass another path.")
    ours = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    theirs = {name: tuple(t.shape) for name, t in state["model"].items()}
    if ours != theirs:
        differing = sorted(set(ours) ^ set(theirs)) or [n for n in ours if ours[n] != theirs[n]]
        raise CheckpointError(
            f"Checkpoint {path} was saved from a different model ({state.get('model_class', 'unknown')}; "
            f"first differences: {', '.join(differing[:3])}). It was left untouched. "
            "Pass a new checkpoint= path for this model, or delete the old file."
        )
    return state


def check_settings(path: str | os.PathLike, saved: dict[str, Any] | None, now: dict[str, Any]) -> None:
    """Refuse to resume when the settings differ from the checkpoint's. More epochs is the one change
    allowed, and only with a constant rate: under a cosine schedule it would change the epochs already trained."""
    fix = f"Pass a new checkpoint= path to start afresh with these settings, or delete {path}."
    if saved is None:
        raise CheckpointError(f"Checkpoint {path} records no training settings (an older version wrote it). {fix}")
    changed = [f"{key}: {saved.get(key)!r} in the checkpoint, {now[key]!r} now"
               for key in now if key != "num_epochs" and saved.get(key) != now[key]]
    if changed:
        raise CheckpointError(f"Checkpoint {path} was trained with other settings ({'; '.join(changed)}). {fix}")
    planned, asked = saved["num_epochs"], now["num_epochs"]
    if asked < planned:
        raise CheckpointError(f"Checkpoint {path} belongs to a run of {planned} epochs, not {asked}. "
                              f"Ask for num_epochs={planned} to resume (or continue) it. {fix}")
    if asked > planned and now["lr_schedule"] is not None:
        raise CheckpointError(f"Checkpoint {path} was planned for {planned} epochs with lr_schedule="
                              f"{now['lr_schedule']!r}; {asked} epochs would change the schedule of the epochs "
                              f"already trained. Only a constant learning rate can be continued. {fix}")
