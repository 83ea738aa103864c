"""Checkpoints: save a training run after every epoch and resume it only with the same settings."""
from __future__ import annotations

import os
from itertools import zip_longest
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .common import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used to resume this training run."""


def refuse_folder(path: str | os.PathLike) -> None:
    if Path(path).is_dir():
        raise CheckpointError(f"checkpoint={str(path)!r} is a folder; a checkpoint is a file in it: pass a file "
                              f"path such as {Path(path) / 'model.pt'}.")


def check_writable(path: str | os.PathLike) -> None:
    """Fail now, before any training, if a checkpoint can never be written to `path`."""
    refuse_folder(path)
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


def model_structure(net: nn.Module) -> list[str]:
    """Each module's name and class, then each weight's name and shape, in order: what a checkpoint
    must match. Shapes alone would let an edit that keeps them (nn.Sigmoid -> nn.ReLU) resume the old run."""
    return ([f"{name or '(model)'}: {type(module).__name__}" for name, module in net.named_modules()]
            + [f"{name}: {tuple(tensor.shape)}" for name, tensor in net.state_dict().items()])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write `state` atomically: a crash mid-write leaves the previous checkpoint intact."""
    atomic_write(path, lambda file: torch.save(state, file))


def load_checkpoint(path: str | os.PathLike, net: nn.Module) -> dict[str, Any]:
    """Read a checkpoint written by `train` and check that it belongs to `net`; the file is never changed."""
    refuse_folder(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise CheckpointError(
            f"Checkpoint {path} cannot be read ({type(error).__name__}: {first_line}). It was left untouched. "
            "Delete it (or pass another checkpoint= path) to start training from scratch."
        ) from None
    if isinstance(state, dict) and state and all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(
            f"{path} holds a state_dict (torch.save(net.state_dict(), ...)), not a checkpoint written by "
            f"utils.train. Load it with net.load_state_dict(torch.load({str(path)!r})) and pass that net instead.")
    if not isinstance(state, dict) or not {"model", "optimizer", "epoch", "history"} <= state.keys():
        raise CheckpointError(f"{path} is not a checkpoint written by utils.train. It was left untouched; pass another path.")
    fix = "It was left untouched. Pass a new checkpoint= path for this model, or delete the old file."
    if "structure" not in state:
        raise CheckpointError(f"Checkpoint {path} records no model structure (an older version wrote it), so it "
                              f"cannot be checked against this network. {fix}")
    ours, theirs = model_structure(net), state["structure"]
    if ours != theirs:
        saved, now = next(pair for pair in zip_longest(theirs, ours, fillvalue="nothing") if pair[0] != pair[1])
        raise CheckpointError(f"Checkpoint {path} was saved from a different model ({state.get('model_class', 'unknown')}; "
                              f"first difference: {saved!r} in the checkpoint, {now!r} now). {fix}")
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
