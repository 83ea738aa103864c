"""Data parallelism across processes: who each process is, its share of the data, evaluation and
checkpoints that count every image and write every file once. utils/ddp_train.py is the script
that `torchrun` starts once per process; the appendix chapter explains each piece.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DistributedSampler

from .checkpoint import load_checkpoint, save_checkpoint
from .data import TensorBatches
from .training import evaluate_accuracy

# What torchrun tells every process it starts (torch.distributed.run's documentation lists them all).
TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Process:
    """One of the processes torchrun started: its rank among all, its rank on this machine, its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes files and prints, so that each happens once."""
        return self.rank == 0

    @property
    def backend(self) -> str:
        return backend_for(self.device)


def backend_for(device: torch.device | str) -> str:
    """NCCL moves GPU tensors between GPUs directly; gloo is PyTorch's CPU backend."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def process_device(wanted: str, local_rank: int, local_world_size: int) -> torch.device:
    """cuda:LOCAL_RANK when every process on this machine can have a GPU of its own, else the CPU.
    One GPU per process is the layout DDP is built for; with fewer GPUs "auto" trains on the CPU."""
    if wanted not in DEVICES:
        raise ValueError(f"device={wanted!r}: use one of {', '.join(DEVICES)}.")
    gpus = torch.cuda.device_count()
    if wanted == "cuda" and gpus < local_world_size:
        raise ValueError(f"--device cuda with {local_world_size} processes on this machine but {gpus} GPU(s): start "
                         f"at most {gpus} (--nproc-per-node={gpus}), or use --device cpu.")
    if wanted == "cpu" or (wanted == "auto" and gpus < local_world_size):
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def start(wanted_device: str = "auto") -> Process:
    """Join the process group torchrun prepared (its address and size come from the environment)."""
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise RuntimeError(f"This script runs under torchrun, which sets {', '.join(missing)}. Start it with "
                           "`torchrun --standalone --nproc-per-node=2 -m utils.ddp_train` (one process works too: "
                           "--nproc-per-node=1).")
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    world_size, local_world_size = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_WORLD_SIZE"])
    device = process_device(wanted_device, local_rank, local_world_size)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL's buffers and this process's kernels go to its own GPU
    dist.init_process_group(backend_for(device), device_id=device if device.type == "cuda" else None)
    return Process(rank, world_size, local_rank, device)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


# ---------------------------------------------------------------------------------------- shards
class IndexBatches:
    """Mini-batches of the images of a TensorBatches picked by `indices`, in that order; reusable."""

    def __init__(self, source: TensorBatches, indices: Sequence[int] | Tensor, batch_size: int) -> None:
        self.source, self.batch_size = source, batch_size
        self.indices = torch.as_tensor(indices, dtype=torch.long).to(source.images.device)

    def __len__(self) -> int:
        return -(-len(self.indices) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for start in range(0, len(self.indices), self.batch_size):
            index = self.indices[start : start + self.batch_size]
            yield self.source.transform(self.source.images[index]), self.source.labels[index]


class TrainShard:
    """One process's share of the training images, a new share each epoch.

    DistributedSampler shuffles all indices with `seed + epoch` (the same order on every process)
    and hands process r the positions r, r + W, r + 2W, ... (W processes). It pads the order with
    its first indices until W divides it, so that every process takes the same number of steps:
    a process with one step fewer would leave the others waiting in an all-reduce for ever.
    """

    def __init__(self, source: TensorBatches, batch_size: int, rank: int, world_size: int, *, seed: int = 0,
                 limit: int | None = None) -> None:
        self.source, self.batch_size = source, batch_size
        count = source.num_examples if limit is None else min(limit, source.num_examples)
        # The sampler needs only the length of a dataset: the images stay in the TensorBatches.
        self.sampler = DistributedSampler(range(count), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)  # steps per epoch, the same on every process

    def epoch(self, epoch: int) -> IndexBatches:
        """This process's batches of `epoch`. set_epoch changes the shuffle: without it every
        epoch would repeat the first one's order and split."""
        self.sampler.set_epoch(epoch)
        return IndexBatches(self.source, list(self.sampler), self.batch_size)


def eval_indices(count: int, rank: int, world_size: int) -> Tensor:
    """Process `rank`'s test images: rank, rank + W, ... without padding, so that over all processes
    each image is counted exactly once (shards may differ by one image; evaluation needs no lockstep)."""
    return torch.arange(rank, count, world_size)


@torch.no_grad()
def evaluate_across(net: nn.Module, source: TensorBatches, process: Process, batch_size: int = 512,
                    limit: int | None = None) -> tuple[float, int]:
    """Accuracy on all of `source` (its first `limit` images): each process scores its own slice and the
    counts are summed over processes. Returns (accuracy, number of images counted)."""
    count = source.num_examples if limit is None else min(limit, source.num_examples)
    mine = IndexBatches(source, eval_indices(count, process.rank, process.world_size), batch_size)
    seen = len(mine.indices)
    # evaluate_accuracy returns a fraction; times the number of images it is the whole count again.
    correct = round(evaluate_accuracy(net, mine, process.device) * seen) if seen else 0
    totals = torch.tensor([correct, seen], dtype=torch.long, device=process.device)
    dist.all_reduce(totals)  # sum over processes; every process gets the result
    correct, seen = totals.tolist()
    return correct / seen, seen


# ----------------------------------------------------------------------------------- checkpoints
def save_on_main(path: str | os.PathLike, state: dict[str, Any], process: Process) -> None:
    """Rank 0 writes the checkpoint (atomically); the others wait until the file is whole."""
    if process.is_main:
        save_checkpoint(path, state)
    dist.barrier()


def load_everywhere(path: str | os.PathLike, net: nn.Module, process: Process) -> dict[str, Any] | None:
    """Every process reads rank 0's checkpoint (None when there is none yet), so that all resume in step."""
    here = torch.tensor([int(Path(path).exists())], device=process.device)
    seen_by = [torch.zeros_like(here) for _ in range(process.world_size)]
    dist.all_gather(seen_by, here)
    if len({int(t) for t in seen_by}) > 1:
        blind = [rank for rank, t in enumerate(seen_by) if not int(t)]
        raise RuntimeError(f"Rank(s) {blind} cannot see the checkpoint {path} that others see. On several machines, "
                           "put checkpoints on a file system that all of them share.")
    return load_checkpoint(path, net) if int(here) else None


def fingerprint(net: nn.Module, optimizer: torch.optim.Optimizer, epoch: int) -> Tensor:
    """A few numbers that differ when the weights, the optimizer state or the epoch differ."""
    weights = [p.detach().double() for p in net.parameters()]
    moments = [t.double() for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t) and t.dim()]
    numbers = [float(epoch)]
    for group in (weights, moments):
        numbers += [sum(t.sum().item() for t in group), sum(t.square().sum().item() for t in group)]
    return torch.tensor(numbers, dtype=torch.float64)


def check_in_step(net: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, process: Process) -> int:
    """Raise unless every process holds the same weights, optimizer state and epoch; return how many agree."""
    mine = fingerprint(net, optimizer, epoch).to(process.device)
    everyone = [torch.zeros_like(mine) for _ in range(process.world_size)]
    dist.all_gather(everyone, mine)
    odd = [rank for rank, theirs in enumerate(everyone) if not torch.equal(theirs, everyone[0])]
    if odd:
        raise RuntimeError(f"Rank(s) {odd} are out of step with rank 0 (epoch, weights or optimizer state differ): "
                           "every process must load the same checkpoint before training goes on.")
    return len(everyone)


# ------------------------------------------------------------------------------------- launching
def torchrun_command(nproc: int, *args: str) -> list[str]:
    """`torchrun --standalone --nproc-per-node=N -m utils.ddp_train ARGS`, with this Python's torchrun."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "utils.ddp_train", *args]


def run_torchrun(nproc: int, *args: str, threads: int | None = None, timeout: float = 600,
                 extra: Sequence[str] = ()) -> subprocess.CompletedProcess:
    """Run utils.ddp_train in `nproc` processes and wait; `threads` CPU threads each (default: the cores
    shared out). The workers import the same `utils` as this process, wherever it is installed."""
    here = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])),
               OMP_NUM_THREADS=str(threads or max(1, (os.cpu_count() or 1) // nproc)),
               # With the rendezvous store shared (the default), workers restarted by --max-restarts can
               # read the previous attempt's addresses and fail to connect (pytorch/pytorch#135712).
               TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
    command = torchrun_command(nproc, *args)
    command[4:4] = list(extra)  # torchrun's own options go before the module
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
