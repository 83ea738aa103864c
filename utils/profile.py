"""What one forward pass costs: multiply-accumulates and the memory of the layer outputs."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from .common import eval_mode
from .runtime import model_device


def _one_example(net: nn.Module, input_size: Sequence[int]) -> Tensor:
    """A float32 batch of one, on the device of `net` (the meta device works too: no memory used).
    `input_size` has no batch axis; (1, C, H, W) is taken as (C, H, W). For a network of 2-d
    convolutions anything but (C, H, W) is refused: (H, W) would be read as (C, H) of a wrong image."""
    size = tuple(input_size)
    if len(size) == 4 and size[0] == 1:
        size = size[1:]
    conv = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None and len(size) != 3:
        example = (conv.in_channels or "channels", *size[-2:]) if len(size) >= 2 else "(1, 28, 28)"
        raise ValueError(f"input_size is the shape of one image, without the batch axis: pass (channels, height, "
                         f"width), e.g. {example}; got {tuple(input_size)}.")
    return torch.zeros(1, *size, device=model_device(net))


def _forward_with_hooks(net: nn.Module, input_size: Sequence[int], handles: list) -> None:
    """One forward pass of `_one_example` in eval mode without gradients, then remove the hooks
    `handles` (whatever happens: a hook left behind would fire in every later pass)."""
    try:
        with eval_mode(net), torch.no_grad():
            net(_one_example(net, input_size))
    finally:
        for handle in handles:
            handle.remove()


def count_macs(net: nn.Module, input_size: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass on one example of shape `input_size` (no batch axis,
    e.g. (1, 28, 28); see `_one_example`):
    convolutions and matrix products only, as torch's FlopCounterMode counts them (a MAC is two flops)."""
    # Eval mode: a forward pass in training mode would update batch-norm running statistics.
    with eval_mode(net), torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(_one_example(net, input_size))
    return counter.get_total_flops() // 2


def activation_bytes(net: nn.Module, input_size: Sequence[int]) -> int:
    """Bytes of the outputs of every leaf module in one forward pass of a batch of one, in their dtypes.

    Autograd keeps roughly these tensors for the backward pass: this approximates the activation
    memory per image in training.
    """
    total = 0

    def add_output(module: nn.Module, inputs: tuple, output: Tensor | Sequence[Tensor]) -> None:
        nonlocal total
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, Tensor):
                total += tensor.numel() * tensor.element_size()

    # Only leaves: a container's output is its last child's output and would be counted twice.
    leaves = [m for m in net.modules() if next(m.children(), None) is None]
    _forward_with_hooks(net, input_size, [m.register_forward_hook(add_output) for m in leaves])
    return total


def conv_map_sizes(net: nn.Module, input_size: Sequence[int]) -> dict[str, tuple[int, int]]:
    """The (height, width) of the map that each spatial convolution (kernel larger than 1x1) sees, by
    module name, in the order of the forward pass. On a 1x1 map a padded 3x3 convolution uses only
    its centre weight: the smallest size here says whether the last stage still has a spatial map."""
    sizes = {}
    names = {module: name for name, module in net.named_modules()}

    def record(module: nn.Module, inputs: tuple) -> None:
        sizes[names[module]] = tuple(inputs[0].shape[-2:])

    spatial = [m for m in net.modules() if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1]
    _forward_with_hooks(net, input_size, [m.register_forward_pre_hook(record) for m in spatial])
    return sizes
