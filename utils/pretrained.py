"""torchvision's ImageNet weights in the chapters' own models, and what those models see in a few photos.

`load_pretrained(net, weights)` downloads (once, into torch's hub cache) and loads a torchvision
`Weights` enum member, such as `torchvision.models.ResNet18_Weights.IMAGENET1K_V1`, with
`strict=True`. Where a chapter names its modules differently but keeps torchvision's order,
`rename_like` gives the tensors the chapter's names. `what_it_sees` prints the top-5 ImageNet
classes for photos that ship inside scikit-image, so that only the weights need a download; without
a connection it says so in one line.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from PIL import Image
from torch import nn

from .common import eval_mode, main_output
from .runtime import model_device

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")  # in scikit-image's wheel: no download


class WeightsUnavailableError(RuntimeError):
    """The weights file is neither in torch's hub cache nor downloadable here."""


def weights_file(weights: Any) -> Path:
    """Where torch.hub keeps (or will keep) the file of `weights`: TORCH_HOME/hub/checkpoints/NAME."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def shown_path(path: Path) -> str:
    """`path` as the reader would type it: under the home folder as ~/..., so no page shows the build machine's."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:  # not under the home folder
        return str(path)


def fetch_state_dict(weights: Any, progress: bool = True) -> dict[str, torch.Tensor]:
    """The state dict of a torchvision `Weights` member, from the hub cache or downloaded into it."""
    if not hasattr(weights, "get_state_dict"):
        raise TypeError(f"{weights!r} is not a torchvision weights object. Pass a member of a Weights enum, "
                        "e.g. torchvision.models.ResNet18_Weights.IMAGENET1K_V1.")
    path, said = weights_file(weights), io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # torch.hub's "Downloading ..." line: shown only if it worked
            state = weights.get_state_dict(progress=progress, map_location="cpu", weights_only=True)
    except OSError as error:  # no connection (URLError), a refused or broken download, an unwritable cache
        reason = getattr(error, "reason", None) or error
        raise WeightsUnavailableError(
            f"No {weights} weights here: downloading {path.name} failed ({reason}). Run this on Colab or a "
            f"machine with internet, or copy the file from {weights.url} to {shown_path(path)}.") from None
    print(said.getvalue(), end="")
    return state


def rename_like(state: Mapping[str, torch.Tensor], net: nn.Module,
                skip: Iterable[str] = ()) -> dict[str, torch.Tensor]:
    """`state`'s tensors under the names of `net`'s state dict, matched by position.

    For a network built like torchvision's but with other module names (nested blocks, say): the
    tensors must come in the same order, with the same shapes and the same kind (weight, bias,
    running_mean, ...), else a ValueError names the first pair that differs. Keys starting with a
    prefix in `skip` are dropped first (torchvision's GoogLeNet drops "aux1." and "aux2." the same
    way when it is built without its auxiliary heads).
    """
    skip = tuple(skip)
    theirs = [(name, tensor) for name, tensor in state.items() if not (skip and name.startswith(skip))]
    ours = net.state_dict()
    if len(theirs) != len(ours):
        raise ValueError(f"The weights hold {len(theirs)} tensors, the network {len(ours)}: they are not the same "
                         "architecture (check its arguments, e.g. num_classes=1000 and in_channels=3).")
    for (our_name, our_tensor), (their_name, tensor) in zip(ours.items(), theirs):
        if our_tensor.shape != tensor.shape or our_name.rsplit(".", 1)[-1] != their_name.rsplit(".", 1)[-1]:
            raise ValueError(f"{their_name} {tuple(tensor.shape)} would become {our_name} {tuple(our_tensor.shape)}: "
                             "the layers are not in the same order, or not built alike (ImageNet weights need "
                             "num_classes=1000 and in_channels=3). Compare print(net) with the torchvision model's.")
    return {our_name: tensor for our_name, (_, tensor) in zip(ours, theirs)}


def load_pretrained(net: nn.Module, weights: Any, *, rename: bool = False, skip: Iterable[str] = ()) -> nn.Module:
    """Load the torchvision `weights` into `net` (strict: every tensor, no extra ones) and return it.

    `rename=True` matches the tensors by position (see `rename_like`). Raises WeightsUnavailableError
    when the weights cannot be downloaded.
    """
    state = fetch_state_dict(weights)
    if rename or skip:
        state = rename_like(state, net, skip)
    net.load_state_dict(state, strict=True)
    return net


def sample_photos(names: Iterable[str] = PHOTOS) -> dict[str, Image.Image]:
    """A few colour photos from scikit-image's data module, by name (they ship inside its wheel)."""
    import skimage.data

    photos = {}
    for name in names:
        if not callable(getattr(skimage.data, name, None)):
            raise ValueError(f"skimage.data has no photo {name!r}; try one of {', '.join(PHOTOS)}.")
        photos[name] = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    return photos


@torch.no_grad()
def top_classes(net: nn.Module, weights: Any, photos: Mapping[str, Image.Image],
                k: int = 5) -> dict[str, list[tuple[str, float]]]:
    """The `k` most probable ImageNet classes (name, probability) of each photo, preprocessed the
    way the weights were trained (`weights.transforms()`)."""
    batch = torch.stack([weights.transforms()(photo) for photo in photos.values()]).to(model_device(net))
    with eval_mode(net):
        probabilities = main_output(net(batch)).softmax(dim=1).cpu()
    categories = weights.meta["categories"]
    if probabilities.shape[1] != len(categories):
        raise ValueError(f"The network outputs {probabilities.shape[1]} scores, the weights know {len(categories)} "
                         "classes: build it with num_classes=1000 before loading ImageNet weights.")
    best = probabilities.topk(k, dim=1)
    return {name: [(categories[i], p) for p, i in zip(values.tolist(), indices.tolist())]
            for name, values, indices in zip(photos, best.values, best.indices)}


def what_it_sees(net: nn.Module, weights: Any, *, rename: bool = False, skip: Iterable[str] = (),
                 photos: Mapping[str, Image.Image] | None = None) -> dict[str, list[tuple[str, float]]] | None:
    """Load `weights` into `net` and print the top-5 ImageNet classes of each photo; return them.

    Without the weights (no internet) print one line that says so and return None.
    """
    try:
        load_pretrained(net, weights, rename=rename, skip=skip)
    except WeightsUnavailableError as error:
        print(error)
        return None
    found = top_classes(net, weights, sample_photos() if photos is None else photos)
    for name, classes in found.items():
        print(f"{name:<10} " + ", ".join(f"{category} {p:.0%}" for category, p in classes))
    return found
