"""train and evaluate_accuracy: learning, modes, tuple outputs, checkpoints, bad input."""
import pytest
import torch
from torch import nn

import utils.training as train_module
from utils import CheckpointError, History, evaluate_accuracy, set_seed, train
from utils.runtime import try_gpu

from conftest import make_batches


def small_net(dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 4))


class FixedAnswer(nn.Module):
    """Predicts class 0 for every image, whatever it shows."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Linear(1, 1)

    def forward(self, x):
        logits = torch.zeros(len(x), 4)
        logits[:, 0] = 1
        return logits


class WithAuxiliaryHead(nn.Module):
    """Returns (main, auxiliary) in training mode and only the main logits in eval mode."""

    def __init__(self):
        super().__init__()
        self.body, self.aux = small_net(), small_net()

    def forward(self, x):
        return (self.body(x), self.aux(x)) if self.training else self.body(x)


def test_evaluate_accuracy_matches_a_known_answer(toy_data):
    _, test_iter = toy_data
    expected = (test_iter.labels == 0).float().mean().item()
    assert evaluate_accuracy(FixedAnswer(), test_iter) == pytest.approx(expected)


def test_evaluate_accuracy_uses_eval_mode_and_restores_the_mode(toy_data):
    _, test_iter = toy_data
    seen = []
    net = small_net()
    net.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    net.train()
    evaluate_accuracy(net, test_iter)
    assert seen and not any(seen) and net.training
    net.eval()
    evaluate_accuracy(net, test_iter)
    assert not net.training


def test_evaluate_accuracy_takes_the_first_element_of_tuple_outputs(toy_data):
    _, test_iter = toy_data

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = FixedAnswer()

        def forward(self, x):
            return self.inner(x), -self.inner(x)

    assert evaluate_accuracy(Pair(), test_iter) == evaluate_accuracy(FixedAnswer(), test_iter)


def test_train_reduces_loss_and_learns(toy_data, tmp_path):
    train_iter, test_iter = toy_data
    set_seed(0)
    history = train(small_net(), train_iter, test_iter, 5, 0.1, device="cpu", plot_path=tmp_path / "curves.png")
    assert isinstance(history, History) and history.epochs == 5
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.test_acc[-1] > 0.9
    assert all(speed > 0 for speed in history.examples_per_sec)
    assert len(history.seconds) == 5 and history.device.startswith("cpu")
    assert (tmp_path / "curves.png").stat().st_size > 1000  # the headless plot was saved


def test_train_prints_one_closing_line(toy_data, tmp_path, capsys):
    train_iter, test_iter = toy_data
    train(small_net(), train_iter, test_iter, 1, 0.1, device="cpu", plot=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("epochs 1, loss ") and "test acc" in out[-1] and "examples/sec on cpu" in out[-1]


def test_loss_function_receives_the_raw_tuple_output(toy_data):
    train_iter, test_iter = toy_data
    shapes = []

    def weighted(output, labels):
        main, aux = output
        shapes.append(len(output))
        return nn.functional.cross_entropy(main, labels) + 0.3 * nn.functional.cross_entropy(aux, labels)

    history = train(WithAuxiliaryHead(), train_iter, test_iter, 2, 0.1, loss_fn=weighted, device="cpu", plot=False)
    assert shapes and set(shapes) == {2}
    assert history.test_acc[-1] > 0.5


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_named_optimizers_train(toy_data, optimizer):
    train_iter, test_iter = toy_data
    lr = 0.1 if optimizer == "sgd" else 0.01
    history = train(small_net(), train_iter, test_iter, 3, lr, optimizer=optimizer, device="cpu", plot=False)
    assert history.train_loss[-1] < history.train_loss[0]


def test_quick_mode_caps_epochs_and_batches(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    train_iter, test_iter = make_batches(n=640), make_batches(n=64, shuffle=False)  # 20 training batches
    net = small_net()
    training_batches = []
    net.register_forward_pre_hook(lambda module, args: training_batches.append(1) if module.training else None)
    history = train(net, train_iter, test_iter, 10, 0.1, device="cpu", plot=False)
    assert history.epochs == train_module.QUICK_MAX_EPOCHS
    assert len(training_batches) == train_module.QUICK_MAX_EPOCHS * train_module.QUICK_MAX_BATCHES


def run(checkpoint, epochs, train_iter, test_iter):
    set_seed(0)
    net = small_net(dropout=0.3)  # dropout draws random numbers: resuming must restore them too
    history = train(net, train_iter, test_iter, epochs, 0.05, device="cpu", checkpoint=checkpoint, plot=False)
    return net, history


def test_resuming_gives_exactly_the_same_weights(toy_data, tmp_path):
    train_iter, test_iter = toy_data
    straight, straight_history = run(None, 2, train_iter, test_iter)
    path = tmp_path / "run.pt"
    run(path, 1, train_iter, test_iter)
    assert torch.load(path, weights_only=True)["epoch"] == 1
    resumed, resumed_history = run(path, 2, train_iter, test_iter)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed_history.test_acc == straight_history.test_acc
    assert resumed_history.train_loss == straight_history.train_loss


def test_a_finished_run_is_not_trained_again(toy_data, tmp_path, capsys):
    train_iter, test_iter = toy_data
    path = tmp_path / "run.pt"
    first, history = run(path, 2, train_iter, test_iter)
    again, again_history = run(path, 2, train_iter, test_iter)
    assert again_history.test_acc == history.test_acc
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))


def test_a_crash_while_writing_keeps_the_previous_checkpoint(toy_data, tmp_path, monkeypatch):
    train_iter, test_iter = toy_data
    path = tmp_path / "run.pt"
    run(path, 1, train_iter, test_iter)
    before = path.read_bytes()

    def crash_half_way(state, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(train_module.torch, "save", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        run(path, 2, train_iter, test_iter)
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1


def test_a_corrupt_checkpoint_is_reported_and_kept(toy_data, tmp_path):
    train_iter, test_iter = toy_data
    path = tmp_path / "run.pt"
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="cannot be read.*left untouched"):
        run(path, 1, train_iter, test_iter)
    assert path.read_bytes() == b"\x00garbage" * 10


def test_a_checkpoint_of_another_model_is_refused(toy_data, tmp_path):
    train_iter, test_iter = toy_data
    path = tmp_path / "run.pt"
    run(path, 1, train_iter, test_iter)
    before = path.read_bytes()
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 4))
    with pytest.raises(CheckpointError, match="different model.*left untouched"):
        train(other, train_iter, test_iter, 2, 0.1, device="cpu", checkpoint=path, plot=False)
    assert path.read_bytes() == before


def test_an_image_too_small_for_the_network_asks_for_a_larger_resize():
    net = nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(2), nn.Conv2d(4, 4, 5), nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(4))
    tiny = make_batches(n=64)  # 8x8 images: the second 5x5 convolution has nothing left to slide over
    with pytest.raises(ValueError, match="8x8 pixels are too small for this network.*resize"):
        train(net, tiny, tiny, 1, 0.1, device="cpu", plot=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_epochs": 0}, "num_epochs must be a positive int"),
    ({"lr": 0}, "lr must be positive"),
    ({"optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop'. Use one of sgd, adam, adamw"),
    ({"lr_schedule": "step"}, "Unknown lr_schedule"),
])
def test_bad_training_arguments_are_refused(toy_data, kwargs, message):
    train_iter, test_iter = toy_data
    arguments = {"num_epochs": 1, "lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        train(small_net(), train_iter, test_iter, arguments.pop("num_epochs"), arguments.pop("lr"),
              device="cpu", plot=False, **arguments)


def test_no_gpu_falls_back_to_the_cpu_with_a_note(monkeypatch, capsys):
    import utils.runtime as runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_notes_shown", set())
    assert try_gpu() == torch.device("cpu")
    assert "No CUDA GPU found" in capsys.readouterr().out


def test_mixed_precision_on_cpu_trains_in_float32_with_a_note(toy_data, monkeypatch, capsys):
    import utils.runtime as runtime

    monkeypatch.setattr(runtime, "_notes_shown", set())
    train_iter, test_iter = toy_data
    history = train(small_net(), train_iter, test_iter, 1, 0.1, device="cpu", mixed_precision=True, plot=False)
    assert history.epochs == 1 and "CUDA GPUs only" in capsys.readouterr().out


def test_history_records_what_the_model_costs(toy_data):
    train_iter, test_iter = toy_data
    history = train(small_net(), train_iter, test_iter, 1, 0.1, device="cpu", plot=False)
    assert history.image_shape == [1, 8, 8]
    assert history.parameters == 64 * 32 + 32 + 32 * 4 + 4
    assert history.macs_per_example == 64 * 32 + 32 * 4
    assert history.activation_bytes_per_example > 0 and history.peak_memory_bytes is None


def test_channels_last_stores_the_weights_in_that_layout_and_learns_the_same(toy_data):
    train_iter, test_iter = toy_data
    histories, nets = {}, {}
    for channels_last in (False, True):
        set_seed(0)
        nets[channels_last] = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                                            nn.ReLU(), nn.Conv2d(4, 1, 1), small_net())
        histories[channels_last] = train(nets[channels_last], train_iter, test_iter, 2, 0.1, device="cpu",
                                         channels_last=channels_last, plot=False)
    conv_weight = nets[True][2].weight  # 4 in, 4 out: the two layouts differ
    assert conv_weight.is_contiguous(memory_format=torch.channels_last) and not conv_weight.is_contiguous()
    # Same arithmetic, another memory order: only rounding may differ.
    assert histories[True].train_loss == pytest.approx(histories[False].train_loss, rel=1e-4)
    assert histories[True].test_acc == histories[False].test_acc
