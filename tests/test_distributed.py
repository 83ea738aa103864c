"""Data-parallel training (utils/distributed.py, utils/ddp_train.py): shards, backends, and, in real
torchrun runs of 1 and 2 CPU processes (gloo), the three proofs of the appendix chapter: the step
of two processes is the step of one with twice the batch, evaluation counts each test image once,
and a run whose process died resumes from rank 0's checkpoint with every rank in step."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DistributedSampler

from utils import distributed, load_data
from utils.ddp_train import lenet
from utils.training import evaluate_accuracy

from conftest import make_batches


def orders(shard: distributed.TrainShard, epoch: int) -> list[int]:
    return shard.epoch(epoch).indices.tolist()


@pytest.mark.parametrize("count", [301, 64])
def test_train_shards_cover_the_data_each_epoch_and_reshuffle(count):
    source = make_batches(n=count)
    shards = [distributed.TrainShard(source, 8, rank, 2, seed=0) for rank in range(2)]
    for epoch in (0, 1):
        picked = [orders(shard, epoch) for shard in shards]
        assert len(picked[0]) == len(picked[1]) == -(-count // 2)  # padded to equal length: equal step counts
        assert sorted(set(picked[0]) | set(picked[1])) == list(range(count))
        assert len(picked[0]) + len(picked[1]) - count == count % 2  # only the padding repeats an image
    assert orders(shards[0], 0) != orders(shards[0], 1), "set_epoch: every epoch must draw a new order"
    again = distributed.TrainShard(source, 8, 0, 2, seed=0)
    assert orders(again, 1) == orders(shards[0], 1), "the order of an epoch depends on the seed and epoch only"


@pytest.mark.parametrize("count", [10_000, 301, 3])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_evaluation_slices_count_each_image_exactly_once(count, world_size):
    slices = [distributed.eval_indices(count, rank, world_size) for rank in range(world_size)]
    assert sorted(torch.cat(slices).tolist()) == list(range(count))


def test_the_training_sampler_would_count_padding_twice():
    """Why evaluation does not use DistributedSampler: with 3 processes it hands out 10,002 of 10,000."""
    handed_out = sum(len(DistributedSampler(range(10_000), num_replicas=3, rank=r, shuffle=False)) for r in range(3))
    assert handed_out == 10_002


def test_index_batches_pick_transform_and_can_be_reused():
    source = make_batches(n=20, shuffle=False)
    batches = distributed.IndexBatches(source, [3, 1, 4, 1, 5], batch_size=2)
    assert len(batches) == 3 and [len(y) for _, y in batches] == [2, 2, 1]
    images, labels = next(iter(batches))
    assert torch.equal(labels, source.labels[[3, 1]])
    assert torch.equal(images, source.transform(source.images[[3, 1]]))
    assert sum(len(y) for _, y in batches) == 5  # a second pass yields them all again


def test_backend_follows_the_device():
    assert distributed.backend_for("cuda:1") == "nccl" and distributed.backend_for("cpu") == "gloo"


def test_devices_one_gpu_per_process_or_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert distributed.process_device("auto", 0, 1) == torch.device("cuda", 0)
    assert distributed.process_device("auto", 1, 2) == torch.device("cpu")  # two processes, one GPU
    with pytest.raises(ValueError, match="--nproc-per-node=1"):
        distributed.process_device("cuda", 1, 2)
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        distributed.process_device("gpu", 0, 1)


def test_started_without_torchrun_says_how_to_start(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --standalone --nproc-per-node=2 -m utils.ddp_train"):
        distributed.start()


def test_bad_options_are_refused_with_the_option_named(capsys):
    from utils.ddp_train import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--batch-size", "0"])
    assert "--batch-size must be a positive int" in capsys.readouterr().err


# --------------------------------------------------------------------- real runs under torchrun
def launch(nproc: int, *args) -> None:
    result = distributed.run_torchrun(nproc, *map(str, args), threads=1, timeout=300,
                                      extra=["--max-restarts=1"] if "--die-after-epoch" in args else [])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three short runs on a few hundred images, shared by the tests below."""
    folder = tmp_path_factory.mktemp("ddp")
    small = ["--train-size", 128, "--test-size", 301, "--lr", 0.1]
    launch(1, "--epochs", 1, "--batch-size", 32, "--first-step", folder / "one.pt", *small)
    launch(2, "--epochs", 2, "--batch-size", 16, "--first-step", folder / "two.pt", "--checkpoint",
           folder / "straight.pt", "--report", folder / "straight.json", *small)
    launch(2, "--epochs", 2, "--batch-size", 16, "--checkpoint", folder / "restarted.pt",
           "--report", folder / "restarted.json", "--die-after-epoch", 1, *small)
    return folder


def weights(path):
    state = torch.load(path, weights_only=True)
    return state.get("model", state)


@pytest.mark.slow
def test_two_processes_take_the_step_of_one_process_with_twice_the_batch(runs):
    one, two = weights(runs / "one.pt"), weights(runs / "two.pt")
    torch.manual_seed(0)
    start = lenet().state_dict()
    assert max((one[k] - start[k]).abs().max().item() for k in one) > 1e-3, "the step changed nothing"
    assert max((one[k] - two[k]).abs().max().item() for k in one) < 1e-6


@pytest.mark.slow
def test_evaluation_across_processes_counts_each_test_image_once(runs):
    report = json.loads((runs / "straight.json").read_text())
    assert report["world_size"] == 2 and report["test_images_counted"] == 301
    net = lenet()
    net.load_state_dict(weights(runs / "straight.pt"))
    _, test = load_data(301, device="cpu")
    first = [next(iter(test))]  # one batch: the first 301 test images, in order
    assert report["test_acc"][-1] == evaluate_accuracy(net, first, device="cpu")


@pytest.mark.slow
def test_a_run_whose_process_died_resumes_in_step_to_the_same_weights(runs):
    report = json.loads((runs / "restarted.json").read_text())
    assert report["resumed_from_epoch"] == 1 and report["ranks_in_step"] == 2
    straight, restarted = weights(runs / "straight.pt"), weights(runs / "restarted.pt")
    assert max((straight[k] - restarted[k]).abs().max().item() for k in straight) < 1e-6
    assert report["train_loss"] == pytest.approx(json.loads((runs / "straight.json").read_text())["train_loss"])
