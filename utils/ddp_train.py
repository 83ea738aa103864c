"""Train LeNet on Fashion-MNIST in several processes with DistributedDataParallel.

    torchrun --standalone --nproc-per-node=2 -m utils.ddp_train --epochs 2 --checkpoint run.pt

torchrun starts the processes; each runs `main`: it joins the process group, trains its own copy
of the network on its own shard of every batch, and DDP averages the gradients across processes
during backward, so that every copy takes the same step. Rank 0 alone prints, writes the
checkpoint and the report; evaluation counts every test image once. The appendix chapter
(chapters/08_ddp) runs this file; `--help` lists the options.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import distributed
from .checkpoint import check_settings, model_structure
from .common import atomic_write_json
from .data import load_data
from .runtime import describe_device, is_quick, set_seed


def lenet(batch_norm: bool = False) -> nn.Sequential:
    """Chapter 1's modern LeNet-5 (ReLU, max pooling), with batch norm after each convolution if asked."""
    def norm(channels: int) -> list[nn.Module]:
        return [nn.BatchNorm2d(channels)] if batch_norm else []

    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), *norm(6), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), *norm(16), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="torchrun --standalone --nproc-per-node=N -m utils.ddp_train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128, help="images per process and step (the step "
                        "sees batch-size x processes images)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and the shuffle of every epoch")
    parser.add_argument("--train-size", type=int, help="train on the first N images only (tests)")
    parser.add_argument("--test-size", type=int, help="evaluate on the first N test images only (tests)")
    parser.add_argument("--device", default="auto", choices=distributed.DEVICES,
                        help="auto: a GPU per process when there are enough, else the CPU")
    parser.add_argument("--checkpoint", type=Path, help="save every epoch here (rank 0) and resume from it")
    parser.add_argument("--report", type=Path, help="rank 0 writes what happened here, as JSON")
    parser.add_argument("--first-step", type=Path, help="rank 0 saves the weights after the first step here")
    parser.add_argument("--batch-norm", action="store_true", help="LeNet with batch norm after each convolution")
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="batch norm statistics over the whole step, all processes (GPUs only)")
    parser.add_argument("--die-after-epoch", type=int, help="the last rank ends abruptly after this epoch is saved, "
                        "as under kill -9 (in the first attempt only, so that torchrun's restart can resume)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "train_size", "test_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive int, got {getattr(args, name)}.")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    process = distributed.start(args.device)
    # Rank 0 alone talks: the others' notes (quick mode, ...) would only repeat its own.
    quiet = contextlib.nullcontext() if process.is_main else contextlib.redirect_stdout(io.StringIO())
    try:
        with quiet:
            run(args, process)
    finally:
        distributed.stop()


def say(process: distributed.Process, message: str) -> None:
    if process.is_main:
        print(message, flush=True)


def run(args: argparse.Namespace, process: distributed.Process) -> dict:
    device = process.device
    set_seed(args.seed)  # the same initial weights everywhere (DDP would copy rank 0's anyway)
    train_source, test_source = load_data(args.batch_size, device=device)
    net = lenet(args.batch_norm).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    settings = {"lr": args.lr, "batch_size": args.batch_size, "world_size": process.world_size, "seed": args.seed,
                "train_size": args.train_size, "batch_norm": args.batch_norm, "sync_batchnorm": args.sync_batchnorm,
                "quick_mode": is_quick(), "num_epochs": args.epochs, "lr_schedule": None}
    history = {"train_loss": [], "test_acc": [], "images_per_sec": [], "seconds": []}
    resumed_from, counted = 0, None
    if args.checkpoint is not None:
        state = distributed.load_everywhere(args.checkpoint, net, process)
        if state is not None:
            check_settings(args.checkpoint, state["settings"], settings)
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, resumed_from = state["history"], state["epoch"]
    in_step = distributed.check_in_step(net, optimizer, resumed_from, process)
    say(process, f"{process.world_size} process(es), backend {process.backend}, {describe_device(device)} each"
        + (f"; resumed from {args.checkpoint.name} after epoch {resumed_from}: all {in_step} ranks in step"
           if resumed_from else ""))

    if args.sync_batchnorm:
        if device.type != "cuda":
            raise ValueError("--sync-batchnorm needs GPUs (SyncBatchNorm refuses CPU tensors). Leave it out on "
                             "CPUs: each process then normalizes with its own shard's statistics.")
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    model = DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)
    shard = distributed.TrainShard(train_source, args.batch_size, process.rank, process.world_size, seed=args.seed,
                                   limit=args.train_size)
    for epoch in range(resumed_from, args.epochs):
        model.train()
        dist.barrier()  # start the clock together
        started, loss_sum, seen = time.perf_counter(), torch.zeros((), device=device), 0
        for images, labels in shard.epoch(epoch):
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces the gradients here, bucket by bucket, while backward goes on
            optimizer.step()
            loss_sum += loss.detach() * len(labels)
            seen += len(labels)
            if args.first_step is not None and epoch == 0 and seen == len(labels) and process.is_main:
                torch.save({k: v.cpu() for k, v in net.state_dict().items()}, args.first_step)
        totals = torch.stack([loss_sum, torch.tensor(float(seen), device=device)])
        dist.all_reduce(totals)  # loss and images of all processes (this also waits for the slowest)
        seconds = time.perf_counter() - started
        accuracy, counted = distributed.evaluate_across(net, test_source, process, limit=args.test_size)
        for key, value in (("train_loss", (totals[0] / totals[1]).item()), ("test_acc", accuracy),
                           ("images_per_sec", totals[1].item() / seconds), ("seconds", seconds)):
            history[key].append(value)
        say(process, f"epoch {epoch + 1}/{args.epochs}: loss {history['train_loss'][-1]:.3f}, test accuracy "
            f"{accuracy:.4f} on {counted:,} test images, {history['images_per_sec'][-1]:,.0f} training images/s")
        if args.checkpoint is not None:
            distributed.save_on_main(args.checkpoint, {
                "model_class": "lenet", "structure": model_structure(net), "model": net.state_dict(),
                "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "history": history, "settings": settings,
            }, process)
        if epoch + 1 == args.die_after_epoch and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0":
            if process.rank == process.world_size - 1:
                print(f"rank {process.rank}: ending abruptly after epoch {epoch + 1}", file=sys.stderr, flush=True)
                os._exit(1)  # no cleanup, no goodbye to the others: as when the process is killed
    in_step = distributed.check_in_step(net, optimizer, args.epochs, process)
    report = {"world_size": process.world_size, "backend": process.backend, "device": describe_device(device),
              "threads_per_process": torch.get_num_threads(), "resumed_from_epoch": resumed_from,
              "ranks_in_step": in_step, "test_images_counted": counted,
              **history}
    if args.report is not None and process.is_main:
        atomic_write_json(args.report, report)
    return report


if __name__ == "__main__":
    main()
