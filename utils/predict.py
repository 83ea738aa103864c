"""Using a trained classifier: save its class names and preprocessing, then label new images."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Union

import torch
from PIL import Image
from torch import Tensor, nn
from torch.nn.parameter import is_lazy

from .checkpoint import load_checkpoint
from .common import atomic_write_json, eval_mode, main_output
from .folders import eval_transform, image_extensions, is_readable_image, open_image
from .runtime import model_device

ImageLike = Union[str, os.PathLike, Image.Image]


def save_class_mapping(batches: Any, checkpoint: str | os.PathLike) -> Path:
    """Save the class names and preprocessing of `batches` (from `load_data` or `load_folder`) as JSON
    next to `checkpoint`: ``model.pt`` gets ``model.classes.json``, whose path is returned."""
    channels, *size = batches.image_shape
    mapping = {"classes": list(batches.classes), "class_to_idx": {name: i for i, name in enumerate(batches.classes)},
               "channels": channels, "image_size": size, "mean": list(batches.mean), "std": list(batches.std)}
    return atomic_write_json(Path(checkpoint).with_suffix(".classes.json"), mapping)


def load_class_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """Read a class mapping written by `save_class_mapping`."""
    mapping = json.loads(Path(path).read_text())
    missing = {"classes", "image_size", "mean", "std"} - set(mapping)
    if missing:
        raise ValueError(f"{path} is not a class mapping written by save_class_mapping (missing {sorted(missing)}).")
    return mapping


class Prediction(NamedTuple):
    path: Path | None  # None for an image given as a PIL image or a tensor
    label: str
    probability: float


def _as_inputs(images: ImageLike | Tensor | Sequence[ImageLike], mapping: dict[str, Any]) -> tuple[list, Tensor]:
    """The file paths (None where there is no file) and the preprocessed batch of `images`."""
    if isinstance(images, Tensor):  # already preprocessed, as load_data's batches are
        if not images.is_floating_point():
            raise TypeError(f"images is a {images.dtype} tensor of raw pixels; pass a preprocessed float batch (like "
                            "load_data's batches), or PIL images or image files, which predict preprocesses.")
        batch = images if images.dim() == 4 else images.unsqueeze(0)
        return [None] * len(batch), batch
    items = [images] if isinstance(images, (str, os.PathLike, Image.Image)) else list(images)
    for item in items:
        if isinstance(item, Image.Image):
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"predict labels image files, PIL images or a preprocessed tensor; got {type(item).__name__}.")
        if Path(item).is_dir():
            raise ValueError(f"{item} is a folder; pass its image files, e.g. sorted(Path({str(item)!r}).glob('*.jpg')).")
        if not Path(item).is_file():
            raise FileNotFoundError(f"There is no image file {item}.")
        if not is_readable_image(Path(item)):
            raise ValueError(f"{item} is not an image PIL can read (extensions: {', '.join(image_extensions())}).")
    transform = eval_transform(tuple(mapping["image_size"]), mapping["mean"], mapping["std"])
    channels = mapping.get("channels", 3)
    batch = torch.stack([transform(open_image(item, channels)) for item in items])
    return [None if isinstance(item, Image.Image) else Path(item) for item in items], batch


def load_weights(checkpoint: str | os.PathLike, net: nn.Module, mapping: dict[str, Any]) -> None:
    """Load into `net` the weights train left in the network: the best epoch's if the run kept them
    (then a line says so, since the file also holds the last epoch's), else the last epoch's."""
    if any(is_lazy(p) for p in net.parameters()):  # sized by a first forward pass, as train's check does
        with torch.no_grad(), eval_mode(net):
            net(torch.zeros(1, mapping.get("channels", 3), *mapping["image_size"], device=model_device(net)))
    state = load_checkpoint(checkpoint, net)
    if state.get("best_model") is not None:
        net.load_state_dict(state["best_model"])
        # The file's name only: the folder is the caller's, and a stored page must not show the build machine's.
        print(f"Using the weights of epoch {state['history']['best_epoch']} (the best validation epoch) "
              f"from {Path(checkpoint).name}")
    else:
        net.load_state_dict(state["model"])


@torch.no_grad()
def predict(
    net_or_checkpoint: nn.Module | str | os.PathLike, class_mapping: dict[str, Any] | str | os.PathLike,
    images: ImageLike | Tensor | Sequence[ImageLike], *, net: nn.Module | None = None, batch_size: int = 64,
) -> list[Prediction]:
    """Label images: the most likely class of each, with its probability.

    `images` are image files or PIL images (preprocessed as `class_mapping` says), or a tensor
    preprocessed like a batch of `load_data`. `net_or_checkpoint` is a trained network or the path of
    a checkpoint written by ``train(..., checkpoint=PATH)``, which holds weights only: then pass their
    network as `net`; the best epoch's weights are used when the run kept them (``keep_best=True``,
    and a line says so), else the last epoch's. A file of ``torch.save(net.state_dict())`` is
    refused: load it into the network yourself and pass that. `class_mapping` is the file
    `save_class_mapping` wrote (or its contents); the network must output one score per class in it.
    """
    if isinstance(net_or_checkpoint, nn.Module):
        net = net_or_checkpoint
    elif net is None:
        raise TypeError("A checkpoint holds weights only: pass the network they belong to as well, "
                        "e.g. predict(checkpoint, mapping, files, net=MyNet(num_classes=...)).")
    mapping = class_mapping if isinstance(class_mapping, dict) else load_class_mapping(class_mapping)
    if net is not net_or_checkpoint:
        load_weights(net_or_checkpoint, net, mapping)
    paths, batch = _as_inputs(images, mapping)
    device, predictions = model_device(net), []
    with eval_mode(net):
        for start in range(0, len(batch), batch_size):
            probabilities = main_output(net(batch[start:start + batch_size].to(device))).softmax(dim=1).cpu()
            if probabilities.shape[1] != len(mapping["classes"]):
                raise ValueError(f"The network outputs {probabilities.shape[1]} scores per image but the class mapping "
                                 f"has {len(mapping['classes'])} classes: pass the network trained on these classes, "
                                 "or the class mapping saved with it.")
            best, index = probabilities.max(dim=1)
            predictions += [Prediction(path, mapping["classes"][i], p)
                            for path, i, p in zip(paths[start:], index.tolist(), best.tolist())]
    return predictions
