"""benchmarks/bench_training.py: its comparison runs, compares like with like, and its loop is the chapter's."""
import importlib.util
import inspect
from pathlib import Path

import torch

from utils.data import TensorBatches

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_training", REPO / "benchmarks" / "bench_training.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def tiny_fashion(n: int, shuffle: bool) -> TensorBatches:
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(n))
    labels = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(n + 1))
    return TensorBatches(images, labels, 32, shuffle=shuffle, mean=0.3, std=0.35, resize=None,
                         classes=[str(c) for c in range(10)])


def test_the_training_benchmark_runs_and_both_sides_arrive_at_the_same_weights():
    lines = []
    result = bench.compare(tiny_fashion(96, True), tiny_fashion(64, False), 0.002, torch.device("cpu"), rounds=1,
                           report=lines.append)
    assert len(lines) == 1 and "utils.train" in lines[0]
    assert all(result[f"{clock}_{kind}_ratio"] > 0 for clock in ("wall", "cpu") for kind in ("fastest", "median"))
    # Same initial weights, same batches, same arithmetic: any difference means it times different work.
    assert result["weight_difference"] == 0


def test_the_benchmark_times_the_loop_the_lenet_chapter_writes_out():
    chapter = (REPO / "chapters" / "01_lenet.md").read_text()
    for function in (bench.train_one_epoch, bench.accuracy):
        assert inspect.getsource(function) in chapter, f"{function.__name__} differs from the chapter's: copy it again"
