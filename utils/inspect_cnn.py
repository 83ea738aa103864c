"""Looking inside a trained network: activations, saliency, occlusion, CAM and Grad-CAM.

Everything here is a forward hook (to read a layer's output) plus `torch.autograd.grad` (to
differentiate a class score by the input or by that output); no backward hooks. The chapter
"What the networks see" uses these functions; tests/test_inspect_cnn.py checks them against
captum's Saliency, LayerGradCam and Occlusion. Call them with the network in eval mode: in
training mode dropout and batch norm would change the maps from one call to the next.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def recording(layers: dict[str, nn.Module]) -> Iterator[dict[str, torch.Tensor]]:
    """While inside, each forward pass stores the output of every layer in the yielded dict, by name,
    in the order the layers ran (the tensors stay in the autograd graph)."""
    outputs: dict[str, torch.Tensor] = {}
    handles = [layer.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
               for name, layer in layers.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def activations(net: nn.Module, images: torch.Tensor, layers: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    """The outputs of `layers` for `images`, detached, in the order the layers ran."""
    with torch.no_grad(), recording(layers) as outputs:
        net(images)
    return {name: out.detach() for name, out in outputs.items()}


def last_spatial(net: nn.Module, images: torch.Tensor, layers: dict[str, nn.Module]) -> str:
    """The name of the last of `layers` (in the order they run) whose output is still a map larger
    than 1x1: the deepest place where a class activation map can say *where*."""
    spatial = [name for name, out in activations(net, images[:1], layers).items()
               if out.dim() == 4 and out.shape[-1] * out.shape[-2] > 1]
    if not spatial:
        raise ValueError("None of the given layers outputs a map larger than 1x1 for these images: "
                         "pass earlier layers, or larger images.")
    return spatial[-1]


def _scores(net: nn.Module, images: torch.Tensor, classes: torch.Tensor | int) -> torch.Tensor:
    """The logit of class `classes[i]` for image i (one class for all when an int)."""
    logits = net(images)
    classes = torch.as_tensor(classes, device=logits.device).expand(len(images))
    return logits.gather(1, classes[:, None]).squeeze(1)


def saliency(net: nn.Module, images: torch.Tensor, classes: torch.Tensor | int) -> torch.Tensor:
    """|d score / d pixel|: how much a small change of each pixel moves the class score."""
    images = images.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(_scores(net, images, classes).sum(), images)
    return grad.abs()


def grad_cam(net: nn.Module, images: torch.Tensor, layer: nn.Module, classes: torch.Tensor | int) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al.) at the output of `layer`: each channel of the map weighted by the
    mean gradient of the class score over its positions, summed, then ReLU; shape (N, h, w)."""
    with recording({"layer": layer}) as outputs:
        scores = _scores(net, images, classes)
    maps = outputs["layer"]
    (grads,) = torch.autograd.grad(scores.sum(), maps)  # images do not interact: the sum splits per image
    weights = grads.mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * maps).sum(dim=1)).detach()


def class_activation_map(maps: torch.Tensor, fc: nn.Linear, classes: torch.Tensor | int) -> torch.Tensor:
    """CAM (Zhou et al.) for a network that ends in global average pooling and one linear layer:
    the last maps (N, C, h, w) weighted by the linear layer's weights of the class; shape (N, h, w).
    Averaged over the positions, plus the bias, it is the class score itself."""
    classes = torch.as_tensor(classes, device=maps.device).expand(len(maps))
    return torch.einsum("nc,nchw->nhw", fc.weight[classes], maps).detach()


@torch.no_grad()
def occlusion(net: nn.Module, images: torch.Tensor, classes: torch.Tensor | int, window: int, stride: int,
              fill: float = 0.0) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler and Fergus): slide a `window` x `window` square of value `fill`
    over each image and record how much the class score drops; each pixel gets the mean drop over
    the windows that covered it. Shape (N, H, W)."""
    n, _, height, width = images.shape
    base = _scores(net, images, classes)
    drop = torch.zeros(n, height, width, device=images.device)
    covered = torch.zeros(height, width, device=images.device)
    for top in range(0, height - window + 1, stride):
        for left in range(0, width - window + 1, stride):
            hidden = images.clone()
            hidden[:, :, top:top + window, left:left + window] = fill
            drop[:, top:top + window, left:left + window] += (base - _scores(net, hidden, classes))[:, None, None]
            covered[top:top + window, left:left + window] += 1
    return drop / covered.clamp(min=1)
