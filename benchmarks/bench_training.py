"""What `utils.train` costs on top of the loop the LeNet chapter writes out.

Both train LeNet for one epoch and then measure the validation accuracy, from the same initial
weights, on the same batches in the same order, with the same batch size and Adam:

* written out: `train_one_epoch` and `accuracy`, copied from chapters/01_lenet.md (a test checks
  that the copy still matches the chapter);
* utils.train: `train(net, train_iter, val_iter, 1, lr, optimizer="adam", plot=False)`, all of it:
  argument checks, progress bar, loss checks, history and its closing line.

They take turns, round after round (after one untimed round each), so that a change in the
load of a shared machine hits both alike. Each round is timed twice: by the wall clock, and by
the CPU time of this process, which other programs on a shared machine disturb far less.
Printed: the times of each round; for each clock the ratio utils.train / written out of the
fastest rounds (those least disturbed by other work) and the median of the rounds' ratios; and
the largest difference between the weights the two arrive at (zero on a CPU: they did the
same arithmetic). Absolute times depend on the machine; only a GPU's are worth quoting, with
the device named.

    .venv/bin/python benchmarks/bench_training.py [--rounds N] [--train-size N] [--batch-size N]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn

from utils import describe_device, load_data, set_seed, train, try_gpu


def lenet() -> nn.Sequential:
    """The chapter's modern LeNet-5 for 28x28 inputs: ReLU and max pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


# --- copied from chapters/01_lenet.md, "The training loop, written out" ---------------------------
def train_one_epoch(net, data_iter, loss_fn, optimizer, device):
    """One pass over the data; returns the mean loss and the accuracy."""
    net.train()  # dropout on; batch norm uses each batch's statistics
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in data_iter:
        images, labels = images.to(device), labels.to(device)
        logits = net(images)  # forward pass: one score per class
        loss = loss_fn(logits, labels)  # mean cross-entropy of the batch
        optimizer.zero_grad()  # forget the previous step's gradients
        loss.backward()  # backpropagation: d(loss)/d(w) for each weight w
        optimizer.step()  # move each weight against its gradient
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return total_loss / seen, correct / seen


@torch.no_grad()  # no gradients needed: faster, and far less memory
def accuracy(net, data_iter, device):
    """Fraction of correctly classified images, in evaluation mode."""
    net.eval()  # dropout off, batch norm uses its running statistics
    correct = seen = 0
    for images, labels in data_iter:
        images, labels = images.to(device), labels.to(device)
        correct += (net(images).argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return correct / seen
# --- end of the copy ------------------------------------------------------------------------------


def written_out(net: nn.Module, train_iter: Iterable, val_iter: Iterable, lr: float, device: torch.device) -> None:
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    train_one_epoch(net, train_iter, nn.CrossEntropyLoss(), optimizer, device)
    accuracy(net, val_iter, device)


def with_utils(net: nn.Module, train_iter: Iterable, val_iter: Iterable, lr: float, device: torch.device) -> None:
    # Its closing line and progress bar are written as usual, to a buffer instead of the screen.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        train(net, train_iter, val_iter, 1, lr, optimizer="adam", plot=False, device=device)


Trainer = Callable[[nn.Module, Iterable, Iterable, float, torch.device], None]


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed_epoch(trainer: Trainer, train_iter: Iterable, val_iter: Iterable, lr: float,
                device: torch.device) -> tuple[dict[str, float], nn.Module]:
    """Seconds by each clock for one epoch of `trainer` from LeNet's seed-0 weights and batch order,
    and the trained net."""
    set_seed(0)  # the same initial weights, then the same shuffled order of batches
    net = lenet()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = {name: clock() for name, clock in CLOCKS.items()}
    trainer(net, train_iter, val_iter, lr, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {name: clock() - started[name] for name, clock in CLOCKS.items()}, net


def compare(train_iter: Iterable, val_iter: Iterable, lr: float, device: torch.device, rounds: int,
            report: Callable[[str], None] = print) -> dict[str, float]:
    """Time both trainers `rounds` times, taking turns (who goes first alternates); one untimed round
    first. Returns, for each clock, the ratio utils.train / written out of the fastest rounds and the
    median ratio of the rounds, and the largest difference between the weights they end with."""
    times = {clock: {"written_out": [], "with_utils": []} for clock in CLOCKS}
    nets = {}
    for r in range(rounds + 1):
        for trainer in (written_out, with_utils)[:: 1 if r % 2 else -1]:
            seconds, nets[trainer.__name__] = timed_epoch(trainer, train_iter, val_iter, lr, device)
            if r > 0:  # round 0 warms up: first calls pay for allocations and lazy initialisation
                for clock in CLOCKS:
                    times[clock][trainer.__name__].append(seconds[clock])
        if r > 0:
            report(f"round {r}: " + "; ".join(
                f"{clock} written out {t['written_out'][-1]:.2f} s, utils.train {t['with_utils'][-1]:.2f} s"
                for clock, t in times.items()))
    result = {"weight_difference": max((a - b).abs().max().item() for a, b in zip(
        nets["written_out"].state_dict().values(), nets["with_utils"].state_dict().values()))}
    for clock, t in times.items():
        result[f"{clock}_fastest_ratio"] = min(t["with_utils"]) / min(t["written_out"])
        result[f"{clock}_median_ratio"] = statistics.median(u / w for u, w in zip(t["with_utils"], t["written_out"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed turns of each (one untimed turn first)")
    parser.add_argument("--train-size", type=int, default=5_000, help="training images in the epoch")
    parser.add_argument("--val-size", type=int, default=2_000, help="validation images evaluated after it")
    parser.add_argument("--batch-size", type=int, default=128, help="the LeNet chapter's")
    parser.add_argument("--lr", type=float, default=0.002, help="the LeNet chapter's")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = try_gpu()
    train_iter, val_iter, _ = load_data(args.batch_size, val_size=args.val_size, train_size=args.train_size,
                                        device=device)
    print(f"device: {describe_device(device)}; torch {torch.__version__}; LeNet, {train_iter.num_examples:,} "
          f"training and {val_iter.num_examples:,} validation images, batch {args.batch_size}, Adam")
    result = compare(train_iter, val_iter, args.lr, device, args.rounds)
    for clock in CLOCKS:
        fastest = result[f"{clock}_fastest_ratio"]
        print(f"utils.train / written out, {clock} clock: {fastest:.3f} for the fastest rounds (an overhead of "
              f"{fastest - 1:+.1%}); median of the {args.rounds} rounds' ratios {result[f'{clock}_median_ratio']:.3f}")
    print(f"largest difference between the weights they end with: {result['weight_difference']:.1e}")

if __name__ == "__main__":
    main()
