"""The training loop shared by every chapter, and the small named pieces it calls."""
from __future__ import annotations

import copy
import itertools
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import check_settings, check_writable, load_checkpoint, model_structure, save_checkpoint
from .checks import check_arguments, check_input_size, refuse_one_batch
from .common import eval_mode, main_output
from .live import LivePlot, ProgressBar
from .runtime import describe_device, is_quick, model_device, note_once, pick_device

QUICK_MAX_EPOCHS, QUICK_MAX_BATCHES = 2, 4
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
LossFn = Callable[[Any, Tensor], Tensor]


@dataclass
class History:
    """What happened in each epoch of a training run."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    examples_per_sec: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    device: str = ""
    image_shape: list[int] = field(default_factory=list)
    peak_memory_bytes: int | None = None  # measured on CUDA only

    @property
    def epochs(self) -> int:
        return len(self.val_acc)

    @property
    def best_epoch(self) -> int:
        """The epoch (counting from 1) with the highest validation accuracy; the first one on ties."""
        return max(range(self.epochs), key=self.val_acc.__getitem__) + 1 if self.epochs else 0

    def add_epoch(self, train_loss: float, train_acc: float, val_acc: float, examples_per_sec: float, *,
                  seconds: float) -> None:
        self.train_loss.append(train_loss)
        self.train_acc.append(train_acc)
        self.val_acc.append(val_acc)
        self.examples_per_sec.append(examples_per_sec)
        self.seconds.append(seconds)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> History:
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})

    def summary(self) -> str:
        """The closing line: final loss and accuracies, best epoch, mean speed, device."""
        speed = sum(self.examples_per_sec) / max(len(self.examples_per_sec), 1)
        return (f"epochs {self.epochs}, loss {self.train_loss[-1]:.3f}, train acc {self.train_acc[-1]:.3f}, "
                f"val acc {self.val_acc[-1]:.3f} (best {max(self.val_acc):.3f} at epoch {self.best_epoch}), "
                f"{speed:,.0f} examples/sec on {self.device}")


def cross_entropy(output: Tensor | tuple | list, labels: Tensor) -> Tensor:
    """Default loss: cross-entropy on the main output, averaged over the batch."""
    return F.cross_entropy(main_output(output), labels)


@torch.no_grad()
def evaluate_accuracy(net: nn.Module, data_iter: Iterable, device: torch.device | str | None = None) -> float:
    """Fraction of correctly classified examples, in eval mode; the network's mode is restored after."""
    refuse_one_batch(data_iter, "evaluate_accuracy's data_iter")
    device = pick_device(device) if device is not None else model_device(net)
    correct = total = 0
    with eval_mode(net):
        for images, labels in data_iter:
            correct += (main_output(net(images.to(device))).argmax(dim=1) == labels.to(device)).sum().item()
            total += labels.numel()
    if total == 0:
        raise ValueError("There was nothing to evaluate: the data is empty, or an iterator that was already used up "
                         "(a generator runs once; pass the batches load_data returned, which can be reused).")
    return correct / total


def make_optimizer(optimizer: str | torch.optim.Optimizer, net: nn.Module, lr: float, momentum: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    """A named optimizer for `net`, or the instance given, checked to fit `net` and `lr`: an instance
    keeps its own settings, so a different `lr` is refused rather than silently ignored."""
    if isinstance(optimizer, torch.optim.Optimizer):
        ours = {id(p) for p in net.parameters()}
        theirs = [p for group in optimizer.param_groups for p in group["params"]]
        if not theirs or any(id(p) not in ours for p in theirs):
            raise ValueError("The optimizer was built for another model's parameters, so training would change "
                             "nothing in this one. Build it from this network: torch.optim.SGD(net.parameters(), ...).")
        if optimizer.param_groups[0]["lr"] != lr:
            raise ValueError(f"lr={lr} but the optimizer passed has lr={optimizer.param_groups[0]['lr']}. "
                             "An optimizer instance keeps its own settings: pass the same lr to train.")
        return optimizer
    name = str(optimizer).lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}. Use one of {', '.join(OPTIMIZERS)} or a torch.optim instance.")
    extra = {"momentum": momentum} if name == "sgd" else {}
    return OPTIMIZERS[name](net.parameters(), lr=lr, weight_decay=weight_decay, **extra)


def quick_caps(num_epochs: int, num_batches: int) -> tuple[int, int]:
    """In quick mode (CNN_COURSE_QUICK=1) at most a few epochs of a few batches."""
    if not is_quick():
        return num_epochs, num_batches
    note_once(f"Quick mode (CNN_COURSE_QUICK=1): at most {QUICK_MAX_EPOCHS} epochs of {QUICK_MAX_BATCHES} batches.")
    return min(num_epochs, QUICK_MAX_EPOCHS), min(num_batches, QUICK_MAX_BATCHES)


class FirstNonFiniteLoss:
    """Remembers, on the device, the first step whose loss was inf or nan.

    Testing each loss in Python (`if not torch.isfinite(loss)`) would make the CPU wait for the
    GPU at every step. Here each step only adds to the GPU's queue; `check` reads the answer
    back, so train calls it where it waits for the GPU anyway: at the redraws and the epoch end.
    """

    def __init__(self, device: torch.device) -> None:
        self.step = torch.zeros((), dtype=torch.long, device=device)  # 0 while every loss was finite
        self.loss = torch.zeros((), device=device)

    def record(self, loss: Tensor, step: int) -> None:
        first = (self.step == 0) & ~torch.isfinite(loss)
        self.step = torch.where(first, step, self.step)
        self.loss = torch.where(first, loss.float(), self.loss)

    def check(self, num_batches: int, opt: torch.optim.Optimizer) -> None:
        step = int(self.step)
        if step:
            raise FloatingPointError(
                f"The loss became {self.loss.item()} at step {step} (epoch {(step - 1) // num_batches + 1}) with "
                f"learning rate {opt.param_groups[0]['lr']:g}: training diverged. Lower lr (e.g. by 10x) and train again.")


def autocast_dtype(device: torch.device) -> torch.dtype:
    """The 16-bit type for autocast on a CUDA device: bfloat16 from compute capability 8.0 (Ampere)
    up, float16 below. Older GPUs such as Colab's T4 (7.5) only emulate bfloat16, slowly, although
    torch.cuda.is_bf16_supported() says yes; float16 runs on their tensor cores, with a gradient scaler."""
    return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16


def mixed_precision_setup(wanted: bool, device: torch.device) -> tuple[bool, torch.dtype, torch.amp.GradScaler]:
    """Autocast on CUDA only, in `autocast_dtype`; float16 gets a gradient scaler (its range is small)."""
    use_amp = wanted and device.type == "cuda"
    if wanted and not use_amp:
        note_once("mixed_precision applies to CUDA GPUs only; training in float32 on this device.")
    dtype = autocast_dtype(device) if use_amp else torch.float32
    return use_amp, dtype, torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)


def run_settings(train_iter: Any, opt: torch.optim.Optimizer, num_epochs: int, lr_schedule: str | None,
                 keep_best: bool) -> dict[str, Any]:
    """What a checkpoint must agree on to be resumed."""
    group = opt.param_groups[0]
    return {"num_epochs": num_epochs, "lr": group["lr"], "lr_schedule": lr_schedule, "optimizer": type(opt).__name__,
            "momentum": group.get("momentum"), "weight_decay": group.get("weight_decay"),
            "batch_size": getattr(train_iter, "batch_size", None),
            "train_examples": getattr(train_iter, "num_examples", None), "quick_mode": is_quick(), "keep_best": keep_best}


def resume(path: Path, net: nn.Module, opt: torch.optim.Optimizer, scheduler: Any, settings: dict[str, Any],
           device: torch.device) -> tuple[History, dict | None]:
    """Load the checkpoint at `path` into `net`, `opt`, `scheduler` and the random generators;
    return the history so far and the best weights kept."""
    state = load_checkpoint(path, net)
    check_settings(path, state.get("settings"), settings)
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_cpu"])
    if device.type == "cuda" and state["rng_cuda"]:
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    done, planned = state["epoch"], settings["num_epochs"]
    print(f"{path} holds all {done} epochs: nothing left to train." if done >= planned
          else f"Resuming from {path} after epoch {done} of {planned}.")
    return History.from_dict({**state["history"], "device": describe_device(device)}), state["best_model"]


def run_state(net: nn.Module, opt: torch.optim.Optimizer, scheduler: Any, history: History,
              settings: dict[str, Any], best_weights: dict | None, device: torch.device) -> dict[str, Any]:
    """Everything `resume` needs to continue the run exactly where it stopped."""
    return {"model_class": type(net).__name__, "structure": model_structure(net), "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None, "epoch": history.epochs,
            "history": history.to_dict(), "settings": settings, "best_model": best_weights,
            "rng_cpu": torch.get_rng_state(), "rng_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []}


def train(
    net: nn.Module, train_iter: Iterable, val_iter: Iterable, num_epochs: int, lr: float, *,
    optimizer: str | torch.optim.Optimizer = "sgd", momentum: float = 0.9, weight_decay: float = 0.0,
    lr_schedule: str | None = None, loss_fn: LossFn = cross_entropy, device: torch.device | str | None = None,
    mixed_precision: bool = False, channels_last: bool = False, checkpoint: str | os.PathLike | None = None,
    keep_best: bool = False, plot: bool = True,
) -> History:
    """Train `net` with mini-batch gradient descent; evaluate it on `val_iter` after every epoch.

    `loss_fn(output, labels)` gets the raw model output (a tuple for models with auxiliary heads).
    `optimizer` is "sgd" (with `momentum`), "adam", "adamw", or a torch.optim instance for `net`
    with the same `lr`. `lr_schedule="cosine"` decays the rate to zero. `keep_best=True` leaves the
    weights of the best validation epoch in `net`. `checkpoint=PATH` saves every epoch and resumes a
    run with the same settings (more epochs continue it). CNN_COURSE_QUICK=1 caps the run.
    """
    check_arguments(num_epochs, lr, lr_schedule, loss_fn, train_iter)
    num_epochs, num_batches = quick_caps(num_epochs, len(train_iter))
    if num_batches == 0:
        raise ValueError("train_iter has no batches: the training set is empty. Check the data you loaded.")
    device = pick_device(device)
    image_shape = check_input_size(net, val_iter)  # before the optimizer: lazy layers get their weights here
    memory_format = torch.channels_last if channels_last else torch.preserve_format
    net.to(device, memory_format=memory_format)
    opt = make_optimizer(optimizer, net, lr, momentum, weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs) if lr_schedule else None
    use_amp, amp_dtype, scaler = mixed_precision_setup(mixed_precision, device)
    settings = run_settings(train_iter, opt, num_epochs, lr_schedule, keep_best)
    history, best_weights = History(device=describe_device(device), image_shape=image_shape), None
    if checkpoint is not None:
        check_writable(checkpoint)
        if Path(checkpoint).exists():
            history, best_weights = resume(Path(checkpoint), net, opt, scheduler, settings, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    live, progress = LivePlot(num_epochs, enabled=plot).add_epochs(history), ProgressBar()
    redraw_every = max(num_batches // 4, 1)  # four redraws per epoch

    for epoch in range(history.epochs, num_epochs):
        net.train()
        # Sums kept on the device: reading a tensor in Python (.item(), int(), `if`) makes the CPU
        # wait for the GPU, so the loop reads them only at the redraws and at the end of the epoch.
        started, seen, non_finite = time.perf_counter(), 0, FirstNonFiniteLoss(device)
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), dtype=torch.long, device=device)
        batches = itertools.islice(train_iter, num_batches)  # all of them, except in quick mode
        bar = progress(batches, total=num_batches, desc=f"epoch {epoch + 1}/{num_epochs}")
        for i, (images, labels) in enumerate(bar):
            images, labels = images.to(device, memory_format=memory_format), labels.to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                output = net(images)
                loss = loss_fn(output, labels)
            non_finite.record(loss.detach(), step=epoch * num_batches + i + 1)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            loss_sum += loss.detach().float() * len(labels)  # a mean per example, whatever the batch sizes
            correct += (main_output(output).argmax(dim=1) == labels).sum()
            seen += len(labels)
            if (i + 1) % redraw_every == 0 and i + 1 < num_batches:
                non_finite.check(num_batches, opt)
                live.draw(epoch + (i + 1) / num_batches, train_loss=loss_sum.item() / seen,
                          train_acc=correct.item() / seen)
        non_finite.check(num_batches, opt)  # before the schedule changes the rate the message names
        if scheduler is not None:
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        examples_per_sec = seen / (time.perf_counter() - started)  # training steps only
        history.add_epoch(loss_sum.item() / seen, correct.item() / seen, evaluate_accuracy(net, val_iter, device),
                          examples_per_sec, seconds=time.perf_counter() - started)  # evaluation included
        live.add_epochs(history, start=epoch).draw()
        if keep_best and history.best_epoch == epoch + 1:
            best_weights = copy.deepcopy(net.state_dict())
        if checkpoint is not None:
            save_checkpoint(checkpoint, run_state(net, opt, scheduler, history, settings, best_weights, device))
    if device.type == "cuda":
        history.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
    if keep_best and best_weights is not None:
        net.load_state_dict(best_weights)
    print(history.summary() + (f"; kept the weights of epoch {history.best_epoch}" if keep_best else ""))
    return history
