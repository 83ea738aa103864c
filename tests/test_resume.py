"""Checkpoints: exact resumption after a crash, and refusals that name the changed setting."""

import pytest
import torch
from torch import nn

import utils.checkpoint as checkpoint_module
from utils import CheckpointError, set_seed, train

from conftest import make_batches


def small_net(dropout: float = 0.3) -> nn.Module:
    # Dropout draws random numbers: resuming must restore the random generators too.
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 4))


class Crash(Exception):
    """Stands in for a power cut or a closed notebook."""


def counting_loss(counter, crash_at=None):
    """Cross-entropy that counts its training steps and crashes at step `crash_at`."""
    def loss_fn(output, labels):
        counter.append(1)
        if len(counter) == crash_at:
            raise Crash
        return nn.functional.cross_entropy(output, labels)
    return loss_fn


@pytest.fixture
def data():
    return make_batches(n=96, seed=0), make_batches(n=64, shuffle=False, seed=1)  # 3 training batches


def run(data, epochs, checkpoint=None, seed=0, crash_at=None, steps=None, **settings):
    set_seed(seed)
    net = small_net()
    history = train(net, *data, epochs, settings.pop("lr", 0.05), device="cpu", checkpoint=checkpoint, plot=False,
                    loss_fn=counting_loss([] if steps is None else steps, crash_at), **settings)
    return net, history


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("lr_schedule", [None, "cosine"])
def test_a_crashed_run_resumes_to_exactly_the_weights_of_an_uninterrupted_one(data, tmp_path, lr_schedule):
    straight, straight_history = run(data, 3, lr_schedule=lr_schedule)
    path = tmp_path / "run.pt"
    with pytest.raises(Crash):
        run(data, 3, path, crash_at=5, lr_schedule=lr_schedule)  # in epoch 2, after epoch 1 was saved
    assert torch.load(path, weights_only=True)["epoch"] == 1
    steps = []
    # Another seed: only the checkpoint can bring back the weights, the optimizer, the schedule and the order.
    resumed, resumed_history = run(data, 3, path, seed=123, steps=steps, lr_schedule=lr_schedule)
    assert len(steps) == 2 * 3  # only the two remaining epochs were trained
    assert same_weights(straight, resumed)
    assert resumed_history.val_acc == straight_history.val_acc
    assert resumed_history.train_loss == straight_history.train_loss


def test_a_finished_run_is_not_trained_again(data, tmp_path, capsys):
    path = tmp_path / "run.pt"
    first, history = run(data, 2, path)
    steps = []
    again, again_history = run(data, 2, path, seed=7, steps=steps)
    assert "holds all 2 epochs: nothing left to train" in capsys.readouterr().out
    assert steps == [] and again_history.val_acc == history.val_acc and same_weights(first, again)


def test_more_epochs_continue_a_constant_rate_run(data, tmp_path):
    straight, _ = run(data, 3)
    path = tmp_path / "run.pt"
    run(data, 2, path)
    steps = []
    continued, history = run(data, 3, path, seed=9, steps=steps)
    assert len(steps) == 3 and history.epochs == 3 and same_weights(straight, continued)


@pytest.mark.parametrize("change, message", [
    ({"lr": 0.01}, "lr: 0.05 in the checkpoint, 0.01 now"),
    ({"optimizer": "adam"}, "optimizer: 'SGD' in the checkpoint, 'Adam' now"),
    ({"lr_schedule": "cosine"}, "lr_schedule: None in the checkpoint, 'cosine' now"),
    ({"momentum": 0.5}, "momentum: 0.9 in the checkpoint, 0.5 now"),
    ({"weight_decay": 1e-3}, "weight_decay: 0.0 in the checkpoint, 0.001 now"),
    ({"keep_best": True}, "keep_best: False in the checkpoint, True now"),
    ({"epochs": 1}, "belongs to a run of 2 epochs, not 1"),
])
def test_resuming_with_other_settings_is_refused_and_names_the_fix(data, tmp_path, change, message):
    path = tmp_path / "run.pt"
    with pytest.raises(Crash):
        run(data, 2, path, crash_at=4)
    before = path.read_bytes()
    epochs = change.pop("epochs", 2)
    with pytest.raises(CheckpointError, match=message) as caught:
        run(data, epochs, path, **change)
    assert "new checkpoint= path" in str(caught.value) and "delete" in str(caught.value)
    assert path.read_bytes() == before


def test_other_data_or_quick_mode_is_refused(data, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    run(data, 1, path)
    bigger = (make_batches(n=128, seed=0), data[1])
    with pytest.raises(CheckpointError, match="train_examples: 96 in the checkpoint, 128 now"):
        run(bigger, 1, path)
    other_batches = (make_batches(n=96, batch_size=16, seed=0), data[1])
    with pytest.raises(CheckpointError, match="batch_size: 32 in the checkpoint, 16 now"):
        run(other_batches, 1, path)
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    with pytest.raises(CheckpointError, match="quick_mode: False in the checkpoint, True now"):
        run(data, 1, path)


def test_more_epochs_with_a_cosine_schedule_are_refused(data, tmp_path):
    path = tmp_path / "run.pt"
    run(data, 2, path, lr_schedule="cosine")
    with pytest.raises(CheckpointError, match="planned for 2 epochs.*would change the schedule"):
        run(data, 3, path, lr_schedule="cosine")


def test_an_unwritable_checkpoint_path_fails_before_any_training(data, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    steps = []
    with pytest.raises(CheckpointError, match="Cannot write the checkpoint.*nothing was trained"):
        run(data, 1, tmp_path / "a-file" / "run.pt", steps=steps)
    assert steps == []

    def read_only(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(checkpoint_module.Path, "write_bytes", read_only)  # root ignores chmod, so pretend
    with pytest.raises(CheckpointError, match="PermissionError.*folder you can write to"):
        run(data, 1, tmp_path / "locked" / "run.pt", steps=steps)
    assert steps == []


def test_a_crash_while_writing_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    with pytest.raises(Crash):
        run(data, 2, path, crash_at=4)
    before = path.read_bytes()

    def crash_half_way(state, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(checkpoint_module.torch, "save", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        run(data, 2, path)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.partial"))
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1


def test_a_corrupt_checkpoint_is_reported_and_kept(data, tmp_path):
    path = tmp_path / "run.pt"
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="cannot be read.*left untouched"):
        run(data, 1, path)
    assert path.read_bytes() == b"\x00garbage" * 10


def test_a_checkpoint_of_another_model_is_refused(data, tmp_path):
    path = tmp_path / "run.pt"
    run(data, 1, path)
    before = path.read_bytes()
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 4))
    with pytest.raises(CheckpointError, match="different model.*left untouched"):
        train(other, *data, 1, 0.05, device="cpu", checkpoint=path, plot=False)
    assert path.read_bytes() == before


def test_keep_best_survives_a_resume(data, tmp_path, monkeypatch):
    import utils.training as training

    scripted, saved = iter([0.5, 0.9, 0.7]), []

    def scripted_accuracy(net, data_iter, device=None):
        saved.append({k: v.clone() for k, v in net.state_dict().items()})
        return next(scripted)

    monkeypatch.setattr(training, "evaluate_accuracy", scripted_accuracy)
    path = tmp_path / "run.pt"
    with pytest.raises(Crash):
        run(data, 3, path, crash_at=7, keep_best=True)  # crashes in epoch 3
    net, history = run(data, 3, path, keep_best=True)
    assert history.val_acc == [0.5, 0.9, 0.7] and history.best_epoch == 2
    assert all(torch.equal(saved[1][k], v) for k, v in net.state_dict().items())


def test_an_edit_that_keeps_every_shape_is_a_different_model(data, tmp_path):
    path = tmp_path / "run.pt"
    run(data, 1, path)
    before = path.read_bytes()
    edited = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Sigmoid(), nn.Dropout(0.3), nn.Linear(32, 4))
    with pytest.raises(CheckpointError, match=r"first difference: '2: ReLU' in the checkpoint, '2: Sigmoid' now\)"
                                              r".*new checkpoint= path for this model, or delete the old file"):
        train(edited, *data, 1, 0.05, device="cpu", checkpoint=path, plot=False)
    assert path.read_bytes() == before


def test_a_checkpoint_without_a_structure_record_is_refused(data, tmp_path):
    path = tmp_path / "run.pt"
    run(data, 1, path)
    state = torch.load(path, weights_only=True)
    del state["structure"]  # as an older version wrote it
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="records no model structure.*new checkpoint= path"):
        run(data, 2, path)


def test_a_folder_as_checkpoint_asks_for_a_file_path(data, tmp_path):
    with pytest.raises(CheckpointError, match=r"is a folder; a checkpoint is a file in it.*model.pt"):
        run(data, 1, tmp_path)
