"""Checks made before training starts: arguments, and data that fits the network. Each mistake
they catch ends in an error that names the fix, not in a traceback from deep inside torch."""
from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from .common import eval_mode, main_output, positive_int
from .runtime import model_device


def refuse_one_batch(data_iter: Any, name: str) -> None:
    """A single (images, labels) pair would be iterated as two tensors: say to pass the batches instead."""
    if isinstance(data_iter, (tuple, list)) and len(data_iter) == 2 and all(isinstance(t, Tensor) for t in data_iter):
        raise TypeError(f"{name} is one batch (images, labels); pass an iterable of batches, such as the test_iter "
                        "load_data returned, or [(images, labels)] for this one batch.")


def check_input_size(net: nn.Module, val_iter: Iterable) -> list[int]:
    """Run two images of `val_iter` through `net` (initializing lazy layers) and return their shape;
    an empty iterable, images that do not fit `net` or outputs that do not fit the classes get an
    error that says what to do."""
    refuse_one_batch(val_iter, "val_iter")
    images, _ = next(iter(val_iter), (None, None))
    if images is None:
        raise ValueError("val_iter yields no batches: it is empty, or an iterator already used up. Check the data "
                         "(for an image folder: its images), or pass the batches load_data returned.")
    try:
        with torch.no_grad(), eval_mode(net):
            output = main_output(net(images[:2].to(model_device(net))))
    except RuntimeError as error:
        raise explain_forward_error(net, images[:2], error) from None
    classes = getattr(val_iter, "classes", None)
    if classes is not None and output.dim() == 2 and output.shape[1] != len(classes):
        raise ValueError(f"The network outputs {output.shape[1]} scores per image but the data has {len(classes)} "
                         f"classes: build its last layer with {len(classes)} outputs, e.g. num_classes={len(classes)}.")
    return list(images.shape[1:])


COMMON_SIZES = (28, 32, 64, 96, 112, 128, 224, 227, 256, 299)


def explain_forward_error(net: nn.Module, images: Tensor, error: RuntimeError) -> Exception:
    """The error to raise when `images` do not go through `net`: one that names the fix when the
    cause is known (images too small, wrong channels, a Linear layer built for another size)."""
    message = str(error)
    height, width = images.shape[-2:]
    if "too small" in message or "size can't be greater" in message or "non-positive" in message:
        return ValueError(
            f"Images of {height}x{width} pixels are too small for this network: its convolutions and "
            f"pooling shrink them to nothing ({message.splitlines()[0]}). Load the data with a larger "
            "resize, e.g. load_data(batch_size, resize=224) for networks designed for ImageNet.")
    name, layer, got = last_layer_reached(net, images)
    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and got[1] != layer.in_channels:
        return ValueError(
            f"The network expects {layer.in_channels} channels, the data has {got[1]} (at layer {name}): build "
            f"it with {got[1]} input channel(s), e.g. nn.Conv2d({got[1]}, ...), or load data with "
            f"{layer.in_channels} channels.")
    if isinstance(layer, nn.Linear) and got[-1] != layer.in_features:
        size = size_for_features(net, images.shape[1], name, layer.in_features)
        built_for = f" (it was built for {size}x{size} images)" if size else ""
        fix = f"Load the data with resize={size}, or make it" if size else "Make it"
        return ValueError(
            f"Layer {name} is nn.Linear({layer.in_features}, ...) but gets {got[-1]} features from {height}x{width} "
            f"images{built_for}. {fix} nn.Linear({got[-1]}, ...), or nn.LazyLinear(...), which takes any size.")
    return error


def last_layer_reached(net: nn.Module, images: Tensor) -> tuple[str, nn.Module | None, torch.Size]:
    """The last leaf module that a forward pass of `images` reached (the one that failed), and its input shape."""
    reached: list = [("", None, images.shape)]

    def note(name: str) -> Callable:
        def hook(module: nn.Module, args: tuple) -> None:
            if args and isinstance(args[0], Tensor):
                reached.append((name, module, args[0].shape))
        return hook

    handles = [m.register_forward_pre_hook(note(n)) for n, m in net.named_modules() if next(m.children(), None) is None]
    try:
        with torch.no_grad(), eval_mode(net):
            net(images.to(model_device(net)))
    except Exception:  # expected: this pass only finds where the failing one stopped
        pass
    finally:
        for handle in handles:
            handle.remove()
    return reached[-1]


def size_for_features(net: nn.Module, channels: int, name: str, in_features: int) -> int | None:
    """The common square image size at which layer `name` gets `in_features` inputs, if any; tried
    on a copy on the meta device, which computes shapes only."""
    try:
        meta = copy.deepcopy(net).to("meta")
    except Exception:  # a network that cannot be copied: the error names the other fixes
        return None
    for size in COMMON_SIZES:
        got = last_layer_reached(meta, torch.zeros(1, channels, size, size, device="meta"))
        if got[0] == name and got[2][-1] == in_features:
            return size
    return None


def check_arguments(num_epochs: int, lr: float, lr_schedule: str | None, loss_fn: Any, train_iter: Any) -> None:
    positive_int(num_epochs, "num_epochs")
    if isinstance(lr, (str, bool)) or not isinstance(lr, numbers.Real):
        hint = f" Write lr={float(lr)}, without quotes." if isinstance(lr, str) and is_number(lr) else ""
        raise TypeError(f"lr must be a positive number, got {lr!r}.{hint}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if lr_schedule not in (None, "cosine"):
        raise ValueError(f"Unknown lr_schedule {lr_schedule!r}. Use None or 'cosine'.")
    if isinstance(loss_fn, type):
        raise TypeError(f"loss_fn is the class {loss_fn.__name__}; pass an instance, loss_fn={loss_fn.__name__}(), "
                        "or a function of (output, labels).")
    refuse_one_batch(train_iter, "train_iter")


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
