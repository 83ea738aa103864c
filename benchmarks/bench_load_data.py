"""Time a LeNet training epoch fed by our `load_data` against torchvision's per-image DataLoader.

Both pipelines run side by side in one process on the same machine, so their
ratio is meaningful; absolute times depend on the machine. Two cases:
28x28 images (a full epoch) and images resized to 224x224 (a subset, because
LeNet at 224 on a CPU is slow). For each, the data alone (iterate, no model)
and data plus a training step are timed.

    .venv/bin/python benchmarks/bench_load_data.py [--workers 2] [--subset-224 10000]
"""
from __future__ import annotations

import argparse
import time

import torch
import torchvision.transforms as T
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision.datasets import FashionMNIST

from utils import describe_device, load_data, set_seed, try_gpu
from utils.fashion_mnist import prepare_fashion_mnist


def lenet(side: int) -> nn.Sequential:
    flat = (side // 2 - 4) // 2  # padded 5x5 conv keeps the side, pool halves, 5x5 conv -4, pool halves
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * flat * flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def run_epoch(batches, device: torch.device, side: int | None) -> tuple[float, int]:
    """Seconds for one pass over `batches`, with a LeNet training step per batch if `side` is given."""
    net = lenet(side).to(device) if side else None
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if net else None
    seen, started = 0, time.perf_counter()
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        if net is not None:
            loss = nn.functional.cross_entropy(net(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seen += len(labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, seen


def torchvision_loader(resize: int | None, batch_size: int, workers: int, subset: int | None, mean: float, std: float):
    steps = [T.Resize(resize)] if resize else []
    transform = T.Compose([*steps, T.ToTensor(), T.Normalize((mean,), (std,))])
    raw = prepare_fashion_mnist()
    dataset = FashionMNIST(str(raw.parents[1]), train=True, transform=transform, download=False)
    if subset:
        dataset = Subset(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:subset].tolist())
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                      pin_memory=torch.cuda.is_available(), persistent_workers=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes for torchvision")
    parser.add_argument("--subset-224", type=int, default=10_000, help="training images used in the 224x224 case")
    args = parser.parse_args()
    device = try_gpu()
    set_seed(0)
    print(f"device: {describe_device(device)}; batch size {args.batch_size}; torchvision DataLoader with "
          f"{args.workers} workers; torch {torch.__version__}")
    print(f"{'case':<32}{'ours (s)':>10}{'torchvision (s)':>17}{'speed-up':>10}")
    for resize, subset in ((None, None), (224, args.subset_224)):
        ours, _ = load_data(args.batch_size, resize=resize, train_size=subset, device=device)
        mean, std = ours.mean[0], ours.std[0]
        theirs = torchvision_loader(resize, args.batch_size, args.workers, subset, mean, std)
        side = resize or 28
        for label, model_side in (("data only", None), ("LeNet epoch", side)):
            ours_s, n = run_epoch(ours, device, model_side)
            theirs_s, m = run_epoch(theirs, device, model_side)
            assert n == m, "both pipelines must see the same number of images"
            case = f"{label}, {side}x{side}, {n} images"
            print(f"{case:<32}{ours_s:>10.2f}{theirs_s:>17.2f}{theirs_s / ours_s:>9.1f}x", flush=True)


if __name__ == "__main__":
    main()
