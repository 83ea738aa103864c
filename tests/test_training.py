"""train and evaluate_accuracy: learning, modes, tuple outputs, checkpoints, bad input."""
import math

import pytest
import torch
from torch import nn

import utils.training as train_module
from utils import History, evaluate_accuracy, set_seed, train
from utils.common import main_output
from utils.runtime import try_gpu

from conftest import make_batches, readme_quick_numbers


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


def test_train_reduces_loss_and_learns(toy_data, tmp_path, monkeypatch):
    train_iter, test_iter = toy_data
    monkeypatch.chdir(tmp_path)  # outside Jupyter the live plot is saved in the working folder
    set_seed(0)
    history = train(small_net(), train_iter, test_iter, 5, 0.1, device="cpu")
    assert isinstance(history, History) and history.epochs == 5
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] > 0.9
    assert all(speed > 0 for speed in history.examples_per_sec)
    assert len(history.seconds) == 5 and history.device.startswith("cpu")
    assert (tmp_path / "training_curves.png").stat().st_size > 1000  # the headless plot was saved


def test_train_prints_one_closing_line(toy_data, tmp_path, capsys):
    train_iter, test_iter = toy_data
    train(small_net(), train_iter, test_iter, 1, 0.1, device="cpu", plot=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("epochs 1, loss ") and "val acc" in out[-1] and "at epoch 1" in out[-1] and "examples/sec on cpu" in out[-1]


def test_loss_function_receives_the_raw_tuple_output(toy_data):
    train_iter, test_iter = toy_data
    shapes = []

    def weighted(output, labels):
        main, aux = output
        shapes.append(len(output))
        return nn.functional.cross_entropy(main, labels) + 0.3 * nn.functional.cross_entropy(aux, labels)

    history = train(WithAuxiliaryHead(), train_iter, test_iter, 2, 0.1, loss_fn=weighted, device="cpu", plot=False)
    assert shapes and set(shapes) == {2}
    assert history.val_acc[-1] > 0.5


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
    assert histories[True].val_acc == histories[False].val_acc


# --- what the loop must do exactly ---------------------------------------------------------------

def lr_recorder(opt, seen):
    def loss_fn(output, labels):
        seen.append(opt.param_groups[0]["lr"])
        return nn.functional.cross_entropy(output, labels)
    return loss_fn


def test_cosine_schedule_decays_the_rate_each_epoch(toy_data):
    train_iter, test_iter = toy_data  # 8 batches per epoch
    net, seen = small_net(), []
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    train(net, train_iter, test_iter, 4, 0.1, optimizer=opt, lr_schedule="cosine", loss_fn=lr_recorder(opt, seen),
          device="cpu", plot=False)
    per_epoch = seen[::len(train_iter)]
    assert per_epoch == pytest.approx([0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    assert len(set(seen[:len(train_iter)])) == 1  # constant within an epoch


def zero_gradient_loss(output, labels):
    return main_output(output).sum() * 0.0  # gradients of zero: only weight decay moves the weights


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_weight_decay_shrinks_the_weights(toy_data, optimizer):
    train_iter, test_iter = toy_data
    net = small_net()
    before = net[1].weight.detach().clone()
    train(net, train_iter, test_iter, 1, 0.1, optimizer=optimizer, momentum=0.0, weight_decay=0.5,
          loss_fn=zero_gradient_loss, device="cpu", plot=False)
    steps = len(train_iter)
    assert torch.allclose(net[1].weight, before * (1 - 0.1 * 0.5) ** steps, rtol=1e-4)


def test_a_passed_optimizer_instance_is_the_one_used(toy_data):
    train_iter, test_iter = toy_data
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    history = train(net, train_iter, test_iter, 2, 0.1, optimizer=opt, device="cpu", plot=False)
    assert opt.state and all("momentum_buffer" in s for s in opt.state.values())
    assert history.train_loss[-1] < history.train_loss[0]


def test_an_optimizer_of_another_model_or_another_lr_is_refused(toy_data):
    train_iter, test_iter = toy_data
    net = small_net()
    foreign = torch.optim.SGD(small_net().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="built for another model.*net.parameters"):
        train(net, train_iter, test_iter, 1, 0.1, optimizer=foreign, device="cpu", plot=False)
    own = torch.optim.Adam(net.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="lr=0.1 but the optimizer passed has lr=0.01.*same lr"):
        train(net, train_iter, test_iter, 1, 0.1, optimizer=own, device="cpu", plot=False)


def test_the_training_loss_is_a_mean_per_example_not_per_batch():
    train_iter, test_iter = make_batches(n=40, batch_size=32), make_batches(n=32, shuffle=False)  # batches of 32 and 8

    def batch_size_as_loss(output, labels):
        return main_output(output).sum() * 0.0 + len(labels)

    history = train(small_net(), train_iter, test_iter, 1, 0.1, loss_fn=batch_size_as_loss, device="cpu", plot=False)
    assert history.train_loss == [pytest.approx((32 * 32 + 8 * 8) / 40)]


def test_keep_best_leaves_the_weights_of_the_best_epoch(toy_data, monkeypatch):
    scripted, saved = iter([0.5, 0.9, 0.7] * 2), []

    def scripted_accuracy(net, data_iter, device=None):
        saved.append({k: v.clone() for k, v in net.state_dict().items()})
        return next(scripted)

    monkeypatch.setattr(train_module, "evaluate_accuracy", scripted_accuracy)
    for keep_best, expected in ((True, 1), (False, 2)):
        saved.clear()
        net = small_net()
        history = train(net, *toy_data, 3, 0.1, keep_best=keep_best, device="cpu", plot=False)
        assert history.best_epoch == 2 and history.to_dict()["best_epoch"] == 2
        assert all(torch.equal(saved[expected][k], v) for k, v in net.state_dict().items())


def test_a_non_finite_loss_stops_training_with_step_epoch_and_rate(toy_data):
    train_iter, test_iter = toy_data
    calls = []

    def diverging(output, labels):
        calls.append(1)
        loss = nn.functional.cross_entropy(output, labels)
        return loss * float("nan") if len(calls) == 11 else loss

    with pytest.raises(FloatingPointError, match=r"became nan at step 11 \(epoch 2\) with learning rate 0.1.*Lower lr"):
        train(small_net(), train_iter, test_iter, 3, 0.1, loss_fn=diverging, device="cpu", plot=False)
    # Checked where train waits for the device anyway, every quarter epoch (2 of these 8 batches):
    # so it stops at step 12, not at the end of training.
    assert len(calls) == 12


def test_empty_data_gets_an_error_naming_it(toy_data):
    train_iter, test_iter = toy_data
    empty = make_batches(n=0)
    with pytest.raises(ValueError, match="train_iter has no batches"):
        train(small_net(), empty, test_iter, 1, 0.1, device="cpu", plot=False)
    with pytest.raises(ValueError, match="val_iter yields no batches"):
        train(small_net(), train_iter, empty, 1, 0.1, device="cpu", plot=False)
    with pytest.raises(ValueError, match="nothing to evaluate.*used up"):
        evaluate_accuracy(small_net(), empty)
    used_up = iter(test_iter)
    evaluate_accuracy(small_net(), used_up)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate_accuracy(small_net(), used_up)


def test_a_loss_class_instead_of_an_instance_names_the_fix(toy_data):
    with pytest.raises(TypeError, match=r"loss_fn=CrossEntropyLoss\(\)"):
        train(small_net(), *toy_data, 1, 0.1, loss_fn=nn.CrossEntropyLoss, device="cpu", plot=False)
    history = train(small_net(), *toy_data, 1, 0.1, loss_fn=nn.CrossEntropyLoss(), device="cpu", plot=False)
    assert history.epochs == 1


def count_host_reads(monkeypatch) -> list[str]:
    """Record every read of a tensor's value by Python (bool, int, float, item, tolist): on a GPU each one
    makes the CPU wait until the GPU has caught up. Returns the list the names are appended to."""
    reads = []
    for name in ("__bool__", "__int__", "__float__", "__index__", "item", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(tensor, *args, _name=name, _original=original):
            reads.append(_name)
            return _original(tensor, *args)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return reads


def test_training_reads_tensors_a_fixed_number_of_times_per_epoch_not_per_step(monkeypatch):
    """A per-step read (e.g. `if not torch.isfinite(loss)`) would stall a GPU at every step."""
    val_iter, reads_per_epoch = make_batches(n=64, shuffle=False), {}
    for num_batches in (8, 64):
        train_iter = make_batches(n=num_batches * 4, batch_size=4)
        net = small_net()
        reads = count_host_reads(monkeypatch)
        train(net, train_iter, val_iter, 1, 0.1, device="cpu", plot=False)
        monkeypatch.undo()
        reads_per_epoch[num_batches] = len(reads)
    assert reads_per_epoch[64] == reads_per_epoch[8]


@pytest.mark.parametrize("capability, dtype, scaled", [
    ((7, 5), torch.float16, True),    # Colab's T4: bfloat16 only emulated, float16 with a gradient scaler
    ((7, 0), torch.float16, True),    # V100
    ((8, 0), torch.bfloat16, False),  # A100
    ((9, 0), torch.bfloat16, False),  # H100
])
def test_mixed_precision_picks_float16_with_a_scaler_below_capability_8(monkeypatch, capability, dtype, scaled):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 reports, emulation included
    scalers = []
    monkeypatch.setattr(torch.amp, "GradScaler", lambda device, enabled: scalers.append(enabled) or enabled)
    use_amp, chosen, _ = train_module.mixed_precision_setup(True, torch.device("cuda"))
    assert use_amp and chosen == dtype and scalers == [scaled]
    assert train_module.mixed_precision_setup(True, torch.device("cpu"))[:2] == (False, torch.float32)


# --- mistakes that get an error naming the fix ------------------------------------------------------

@pytest.mark.parametrize("net, message", [
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(4)),
     r"expects 3 channels, the data has 1.*nn.Conv2d\(1, \.\.\.\)"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 5)), "outputs 5 scores per image but the data has 4 classes"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 4)),
     r"nn.Linear\(2704, \.\.\.\) but gets 144 features from 8x8 images \(it was built for 28x28 images\)\. "
     r"Load the data with resize=28, or make it nn.Linear\(144, \.\.\.\), or nn.LazyLinear"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(100, 4)), r"gets 144 features.*Make it nn.Linear\(144"),
])
def test_a_network_that_does_not_fit_the_data_names_the_fix(toy_data, net, message):
    with pytest.raises(ValueError, match=message):
        train(net, *toy_data, 1, 0.1, device="cpu", plot=False)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_epochs": True}, ValueError, "num_epochs must be a positive int, got True"),
    ({"lr": "0.1"}, TypeError, r"lr must be a positive number, got '0.1'. Write lr=0.1, without quotes"),
    ({"device": "gpu"}, ValueError, r"device='gpu' is not a device. Use \"cpu\", \"cuda\", \"cuda:0\" or None"),
])
def test_arguments_of_the_wrong_type_name_the_fix(toy_data, kwargs, error, message):
    arguments = {"num_epochs": 1, "lr": 0.1, "device": "cpu", **kwargs}
    with pytest.raises(error, match=message):
        train(small_net(), *toy_data, arguments.pop("num_epochs"), arguments.pop("lr"), plot=False, **arguments)


def test_one_batch_instead_of_the_batches_is_named(toy_data):
    train_iter, test_iter = toy_data
    with pytest.raises(TypeError, match=r"data_iter is one batch \(images, labels\); pass an iterable of batches"):
        evaluate_accuracy(small_net(), next(iter(test_iter)))
    with pytest.raises(TypeError, match="val_iter is one batch"):
        train(small_net(), train_iter, next(iter(test_iter)), 1, 0.1, device="cpu", plot=False)
    with pytest.raises(TypeError, match="train_iter is one batch"):
        train(small_net(), next(iter(train_iter)), test_iter, 1, 0.1, device="cpu", plot=False)
    images, labels = next(iter(test_iter))
    assert evaluate_accuracy(FixedAnswer(), [(images, labels)]) == (labels == 0).float().mean().item()


def test_cuda_without_a_gpu_is_refused_everywhere_a_device_is_taken(toy_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' but this machine has no CUDA GPU. Use device=\"cpu\""):
        train(small_net(), *toy_data, 1, 0.1, device="cuda", plot=False)
    with pytest.raises(ValueError, match="device='cuda:0' but this machine has no CUDA GPU"):
        evaluate_accuracy(small_net(), toy_data[1], device="cuda:0")


def test_the_best_epoch_is_the_first_of_equal_ones_and_quick_caps_are_the_readmes():
    history = History(val_acc=[0.8, 0.9, 0.9, 0.7])
    assert history.best_epoch == 2 and History().best_epoch == 0
    assert History.from_dict(history.to_dict()) == history  # what a checkpoint restores
    caps = readme_quick_numbers(r"stop after (\d+) epochs of (\d+) batches")
    assert [train_module.QUICK_MAX_EPOCHS, train_module.QUICK_MAX_BATCHES] == caps
