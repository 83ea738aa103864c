"""Training throughput, three ways, for the same model, batch size and optimizer, side by side.

* ours: batches from `utils.load_data` (uint8 images on the device, converted
  and resized a whole batch at a time) and the per-step work of `utils.train`'s
  inner loop (bf16 autocast and channels_last on CUDA, loss and accuracy summed
  on the device, no host synchronisation per step);
* d2l: a Dive-into-Deep-Learning style pipeline: torchvision's FashionMNIST
  with per-image Resize + ToTensor in a DataLoader with worker processes,
  float32, and the loss read back to the host after every batch;
* step alone: the model step on one batch already on the device (on CUDA with
  bf16 autocast, channels_last and fused Adam; plain float32 Adam on the CPU),
  the ceiling that the data pipeline can at best approach.

Printed: images per second of each, ours / d2l, and ours / step alone. LeNet
at 28x28 and AlexNet at 224x224. Runs on whatever device is present.

    .venv/bin/python benchmarks/bench_training.py [--steps N] [--warmup N] [--workers N] ...
"""
from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator

import torch
import torchvision.transforms as T
from torch import nn
from torch.utils.data import DataLoader
from torchvision.datasets import FashionMNIST

from utils import describe_device, load_data, set_seed, try_gpu
from utils.data import prepare_fashion_mnist


def lenet() -> nn.Sequential:
    """LeNet-5 for 28x28 inputs, with ReLU and max pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def alexnet() -> nn.Sequential:
    """AlexNet for 1x224x224 inputs and 10 classes (one tower, as in d2l)."""
    return nn.Sequential(
        nn.Conv2d(1, 96, 11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 10),
    )


def endless(make: Callable[[], Iterable]) -> Iterator:
    """Batches from fresh passes over `make()`, one after another (steps may exceed an epoch)."""
    return itertools.chain.from_iterable(make() for _ in itertools.count())


def timed(step: Callable[[], int], steps: int, device: torch.device) -> tuple[int, float]:
    """(images, seconds) for `steps` calls of `step`, which returns its batch size."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seen, started = 0, time.perf_counter()
    for _ in range(steps):
        seen += step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return seen, time.perf_counter() - started


def compare(steppers: list[Callable[[], int]], steps: int, warmup: int, rounds: int,
            device: torch.device) -> list[float]:
    """Images per second of each stepper. The timed steps are split into rounds that take turns, so
    that a change in the machine's load (a shared machine) affects all of them alike."""
    for step in steppers:
        timed(step, warmup, device)
    totals = [[0, 0.0] for _ in steppers]
    for _ in range(rounds):
        for total, step in zip(totals, steppers):
            seen, seconds = timed(step, max(1, steps // rounds), device)
            total[0] += seen
            total[1] += seconds
    return [seen / seconds for seen, seconds in totals]


def ours(build: Callable[[], nn.Module], side: int, batch_size: int, device: torch.device) -> Callable[[], int]:
    """The per-step work of utils.train, fed by utils.load_data."""
    train_iter, _ = load_data(batch_size, resize=None if side == 28 else side, device=device)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.preserve_format
    net = build().to(device, memory_format=memory_format)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batches = endless(lambda: train_iter)
    loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)

    def step() -> int:
        nonlocal loss_sum, correct
        images, labels = next(batches)
        images, labels = images.to(device, memory_format=memory_format), labels.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            output = net(images)
            loss = nn.functional.cross_entropy(output, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach().float() * labels.numel()  # summed on the device: no sync
        correct += (output.argmax(dim=1) == labels).sum()
        return labels.numel()

    return step


def d2l(build: Callable[[], nn.Module], side: int, batch_size: int, device: torch.device,
        workers: int) -> Callable[[], int]:
    """A Dive-into-Deep-Learning style loop: per-image transforms in a DataLoader, float32, a sync per batch."""
    transform = T.Compose([T.Resize(side), T.ToTensor()])
    dataset = FashionMNIST(str(prepare_fashion_mnist().parents[1]), train=True, transform=transform, download=False)
    loader = DataLoader(dataset, batch_size, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    net = build().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batches = endless(lambda: loader)
    totals = [0.0, 0.0]

    def step() -> int:
        images, labels = next(batches)
        images, labels = images.to(device), labels.to(device)
        output = net(images)
        loss = nn.functional.cross_entropy(output, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # d2l's Accumulator: float() waits for the GPU every batch
            totals[0] += float(loss) * labels.numel()
            totals[1] += float((output.argmax(dim=1) == labels).sum())
        return labels.numel()

    return step


def step_alone(build: Callable[[], nn.Module], side: int, batch_size: int, device: torch.device) -> Callable[[], int]:
    """The model step on one device-resident batch: the ceiling for any data pipeline."""
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.preserve_format
    net = build().to(device, memory_format=memory_format)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=cuda or None)
    images = torch.randn(batch_size, 1, side, side, device=device).to(memory_format=memory_format)
    labels = torch.randint(0, 10, (batch_size,), device=device)

    def step() -> int:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = nn.functional.cross_entropy(net(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return batch_size

    return step


def main() -> None:
    device = try_gpu()
    cuda = device.type == "cuda"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100 if cuda else 30, help="timed steps for LeNet")
    parser.add_argument("--alexnet-steps", type=int, default=100 if cuda else 3, help="timed steps for AlexNet")
    parser.add_argument("--warmup", type=int, default=10 if cuda else 2, help="untimed steps first")
    parser.add_argument("--lenet-batch", type=int, default=256)
    parser.add_argument("--alexnet-batch", type=int, default=128 if cuda else 32)
    parser.add_argument("--rounds", type=int, default=5 if cuda else 3, help="turns the three pipelines take")
    parser.add_argument("--workers", type=int, default=4 if cuda else min(4, os.cpu_count() or 1),
                        help="DataLoader workers of the d2l pipeline")
    args = parser.parse_args()
    print(f"device: {describe_device(device)}; torch {torch.__version__}; d2l DataLoader with {args.workers} workers")
    print(f"{'case':<22}{'ours':>12}{'d2l':>12}{'step alone':>12}{'ours/d2l':>10}{'ours/alone':>12}   (images/s)")
    cases = (("LeNet 28x28", lenet, 28, args.lenet_batch, args.steps),
             ("AlexNet 224x224", alexnet, 224, args.alexnet_batch, args.alexnet_steps))
    for name, build, side, batch_size, steps in cases:
        set_seed(0)
        steppers = [ours(build, side, batch_size, device), d2l(build, side, batch_size, device, args.workers),
                    step_alone(build, side, batch_size, device)]
        mine, theirs, alone = compare(steppers, steps, args.warmup, min(args.rounds, steps), device)
        print(f"{f'{name}, batch {batch_size}':<22}{mine:>12,.0f}{theirs:>12,.0f}{alone:>12,.0f}"
              f"{mine / theirs:>9.2f}x{mine / alone:>11.2f}x", flush=True)


if __name__ == "__main__":
    main()
