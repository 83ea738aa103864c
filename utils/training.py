"""The training loop shared by every chapter, with evaluation and checkpoints."""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .live import LivePlot, ProgressBar
from .profile import activation_bytes, count_macs
from .runtime import describe_device, is_quick, note_once, try_gpu

QUICK_MAX_EPOCHS, QUICK_MAX_BATCHES = 2, 8
OPTIMIZERS = ("sgd", "adam", "adamw")
LossFn = Callable[[Any, Tensor], Tensor]


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used to resume this training run."""


@dataclass
class History:
    """What happened in each epoch of a training run."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    examples_per_sec: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    device: str = ""
    # What the model costs, measured at the start of the run (for the comparison chapter).
    image_shape: list[int] = field(default_factory=list)
    parameters: int = 0
    macs_per_example: int = 0
    activation_bytes_per_example: int = 0
    peak_memory_bytes: int | None = None  # measured on CUDA only

    @property
    def epochs(self) -> int:
        return len(self.test_acc)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """The closing line: final loss and accuracies, mean speed, device."""
        speed = sum(self.examples_per_sec) / max(len(self.examples_per_sec), 1)
        return (
            f"epochs {self.epochs}, loss {self.train_loss[-1]:.3f}, train acc {self.train_acc[-1]:.3f}, "
            f"test acc {self.test_acc[-1]:.3f}, {speed:,.0f} examples/sec on {self.device}"
        )


def main_output(output: Tensor | tuple | list) -> Tensor:
    """The logits a model predicts with: the first element when it returns a tuple."""
    return output[0] if isinstance(output, (tuple, list)) else output


def cross_entropy(output: Tensor | tuple | list, labels: Tensor) -> Tensor:
    """Default loss: cross-entropy on the main output."""
    return F.cross_entropy(main_output(output), labels)


def _model_device(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def evaluate_accuracy(net: nn.Module, data_iter: Iterable, device: torch.device | str | None = None) -> float:
    """Fraction of correctly classified examples, in eval mode (dropout off, batch-norm running stats).

    The network's previous mode is restored afterwards.
    """
    device = torch.device(device) if device is not None else _model_device(net)
    was_training = net.training
    net.eval()
    correct = total = 0
    try:
        for images, labels in data_iter:
            images, labels = images.to(device), labels.to(device)
            correct += (main_output(net(images)).argmax(dim=1) == labels).sum().item()
            total += labels.numel()
    finally:
        net.train(was_training)
    return correct / max(total, 1)


def check_input_size(net: nn.Module, images: Tensor) -> None:
    """Run one small batch through `net` and turn a shape failure into advice on `resize`."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(images[:2])
    except RuntimeError as error:
        message = str(error)
        if "too small" in message or "size can't be greater" in message or "non-positive" in message:
            height, width = images.shape[-2:]
            raise ValueError(
                f"Images of {height}x{width} pixels are too small for this network: its convolutions and "
                f"pooling shrink them to nothing ({message.splitlines()[0]}). Load the data with a larger "
                "resize, e.g. load_data(batch_size, resize=224) for networks designed for ImageNet."
            ) from None
        raise
    finally:
        net.train(was_training)


def _make_optimizer(
    optimizer: str | torch.optim.Optimizer, net: nn.Module, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    name = str(optimizer).lower()
    if name == "sgd":
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"Unknown optimizer {optimizer!r}. Use one of {', '.join(OPTIMIZERS)} or a torch.optim instance.")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write `state` atomically: a crash mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        torch.save(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def load_checkpoint(path: str | os.PathLike, net: nn.Module) -> dict[str, Any]:
    """Read a checkpoint written by `train` and check that it belongs to `net`; the file is never changed."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"Checkpoint {path} cannot be read ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
            "It was left untouched. Delete it (or pass another checkpoint= path) to start training from scratch."
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


def train(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    num_epochs: int,
    lr: float,
    *,
    optimizer: str | torch.optim.Optimizer = "sgd",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    lr_schedule: str | None = None,
    loss_fn: LossFn = cross_entropy,
    device: torch.device | str | None = None,
    mixed_precision: bool = False,
    channels_last: bool = False,
    checkpoint: str | os.PathLike | None = None,
    plot: bool = True,
    plot_path: str | os.PathLike | None = None,
) -> History:
    """Train `net` with mini-batch gradient descent and evaluate it after every epoch.

    `loss_fn(output, labels)` receives the raw model output (a tuple for models with
    auxiliary heads). `lr_schedule="cosine"` decays the rate to zero over the run.
    With `checkpoint=PATH` the state is saved atomically after every epoch and a
    later call resumes from it exactly. With CNN_COURSE_QUICK=1 the run is capped at
    a few epochs and batches.
    """
    if not isinstance(num_epochs, int) or num_epochs <= 0:
        raise ValueError(f"num_epochs must be a positive int, got {num_epochs!r}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if lr_schedule not in (None, "cosine"):
        raise ValueError(f"Unknown lr_schedule {lr_schedule!r}. Use None or 'cosine'.")
    max_batches = None
    if is_quick():
        num_epochs, max_batches = min(num_epochs, QUICK_MAX_EPOCHS), QUICK_MAX_BATCHES
        note_once(f"Quick mode (CNN_COURSE_QUICK=1): at most {QUICK_MAX_EPOCHS} epochs of {QUICK_MAX_BATCHES} batches.")
    device = torch.device(device) if device is not None else try_gpu()
    first_images, _ = next(iter(test_iter))
    check_input_size(net, first_images.to(_model_device(net)))  # also initializes lazy layers
    memory_format = torch.channels_last if channels_last else torch.preserve_format
    net.to(device, memory_format=memory_format)

    opt = _make_optimizer(optimizer, net, lr, momentum, weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs) if lr_schedule else None
    use_amp = mixed_precision and device.type == "cuda"
    if mixed_precision and not use_amp:
        note_once("mixed_precision applies to CUDA GPUs only; training in float32 on this device.")
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    image_shape = list(first_images.shape[1:])
    history, start_epoch = History(
        device=describe_device(device), image_shape=image_shape,
        parameters=sum(p.numel() for p in net.parameters()),
        macs_per_example=count_macs(net, image_shape),
        activation_bytes_per_example=activation_bytes(net, image_shape),
    ), 0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, net)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state.get("rng_cuda"):
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        start_epoch = state["epoch"]
        history = History(**{**asdict(history), **state["history"], "device": history.device})
        print(f"Resuming from {checkpoint} after epoch {start_epoch}.")

    live = LivePlot(num_epochs, plot_path) if plot else None
    progress = ProgressBar()
    points: dict[str, tuple[list[float], list[float]]] = {
        "train loss": ([], []), "train acc": ([], []), "test acc": ([], []),
    }
    for epoch, (loss, train_acc, test_acc) in enumerate(zip(history.train_loss, history.train_acc, history.test_acc), 1):
        for name, value in (("train loss", loss), ("train acc", train_acc), ("test acc", test_acc)):
            points[name][0].append(epoch)
            points[name][1].append(value)

    if live is not None and start_epoch:
        live.update(points)

    num_batches = len(train_iter) if max_batches is None else min(len(train_iter), max_batches)
    redraw_every = max(num_batches // 4, 1)  # four updates of the plot per epoch
    for epoch in range(start_epoch, num_epochs):
        net.train()
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        seen = 0
        bar = progress(train_iter, total=num_batches, desc=f"epoch {epoch + 1}/{num_epochs}")
        for i, (images, labels) in enumerate(bar):
            if i == num_batches:
                break
            images = images.to(device, memory_format=memory_format)
            labels = labels.to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                output = net(images)
                loss = loss_fn(output, labels)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            loss_sum += loss.detach().float() * labels.numel()
            correct += (main_output(output).argmax(dim=1) == labels).sum()
            seen += labels.numel()
            if (i + 1) % redraw_every == 0 or i + 1 == num_batches:
                mean_loss, acc = loss_sum.item() / seen, correct.item() / seen
                bar.set_postfix_str(f"loss {mean_loss:.3f}, train acc {acc:.3f}", refresh=False)
                if live is not None and i + 1 < num_batches:
                    x = epoch + (i + 1) / num_batches
                    for name, value in (("train loss", mean_loss), ("train acc", acc)):
                        points[name][0].append(x)
                        points[name][1].append(value)
                    live.update(points)
        bar.close()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - started
        if scheduler is not None:
            scheduler.step()

        test_acc = evaluate_accuracy(net, test_iter, device)
        history.train_loss.append(loss_sum.item() / seen)
        history.train_acc.append(correct.item() / seen)
        history.test_acc.append(test_acc)
        history.examples_per_sec.append(seen / train_seconds)
        history.seconds.append(time.perf_counter() - started)
        for name, value in (("train loss", history.train_loss[-1]), ("train acc", history.train_acc[-1]), ("test acc", test_acc)):
            points[name][0].append(epoch + 1)
            points[name][1].append(value)
        if live is not None:
            live.update(points)
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "model_class": type(net).__name__,
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch + 1,
                "history": history.to_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
            })
    if device.type == "cuda":
        history.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
    if history.epochs:
        print(history.summary())
    return history
