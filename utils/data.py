"""Fashion-MNIST as fast whole-batch tensors.

The dataset is small enough (47 MB of uint8 pixels) to live in one tensor, on the GPU
when there is one. Each batch is then shuffled, converted, normalized and resized in a
handful of tensor operations instead of per-image PIL work. Finding the files on disk
is fashion_mnist.py's job; your own image folders are folders.py's.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from .common import image_size, positive_int
from .fashion_mnist import pixel_statistics, prepare_fashion_mnist, read_split
from .folders import load_folder
from .runtime import is_quick, note_once, pick_device

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DATASETS = ("fashion-mnist",)
QUICK_TRAIN_SIZE, QUICK_TEST_SIZE = 2048, 256  # quick mode is a smoke test: every cell runs, on little data
# What to do instead of the load_data arguments that an image folder cannot honour.
FOLDER_FIXES = {
    "val_size": "put a val/ folder next to train/ and test/ and load it as a dataset of its own",
    "root": "leave root out: the folder's own path (dataset=) says where the images are",
}
SPLIT_SEED = 0  # the held-out validation images and the subsets are the same in every run


def per_channel(value: float | Sequence[float], channels: int) -> tuple[float, ...]:
    """One float for each of `channels` channels: a single value is repeated."""
    values = tuple(float(v) for v in torch.as_tensor(value, dtype=torch.float64).flatten())
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} values {values} for images of {channels} channel(s): "
                         "give one, or one per channel.")
    return values * channels if len(values) == 1 else values


class TensorBatches:
    """An iterable of (images, labels) mini-batches made from uint8 images held in one tensor.

    Each pass draws a new order from torch's global generator (so `set_seed` and checkpoints
    reproduce it), then normalizes and resizes each batch in one go.
    """

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int, *, shuffle: bool,
                 mean: float | Sequence[float], std: float | Sequence[float], resize: tuple[int, int] | None,
                 classes: Sequence[str], split: str = "train") -> None:
        if images.dim() == 3:  # grayscale (N, H, W) -> (N, 1, H, W)
            images = images.unsqueeze(1)
        self.images, self.labels, self.split = images, labels, split
        self.batch_size, self.shuffle, self.resize = positive_int(batch_size, "batch_size"), shuffle, resize
        self.mean, self.std = per_channel(mean, images.shape[1]), per_channel(std, images.shape[1])
        # The same numbers as (C, 1, 1) tensors beside the images: made once, not copied over for every batch.
        self._mean, self._std = (torch.tensor(v, device=images.device).reshape(-1, 1, 1) for v in (self.mean, self.std))
        self.classes = list(classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the images this iterable yields."""
        channels, height, width = self.images.shape[1:]
        return (channels, *self.resize) if self.resize else (channels, height, width)

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        # The order is drawn on the CPU so that CPU and GPU runs with one seed see the same batches.
        order = (torch.randperm(n) if self.shuffle else torch.arange(n)).to(self.images.device)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.transform(self.images[index]), self.labels[index]

    def transform(self, images: Tensor) -> Tensor:
        """uint8 (B, C, H, W) -> normalized float32, resized when the iterable resizes."""
        x = (images.float().div_(255) - self._mean) / self._std
        if self.resize and tuple(x.shape[-2:]) != self.resize:
            x = F.interpolate(x, size=self.resize, mode="bilinear", align_corners=False, antialias=True)
        return x

    def __repr__(self) -> str:
        return (f"TensorBatches({self.split}: {self.num_examples} images of shape {self.image_shape}, "
                f"{len(self)} batches of {self.batch_size}, shuffle={self.shuffle}, device={self.images.device})")


def quick_subsets(train_pick: Tensor, val_pick: Tensor, num_test: int,
                  picker: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Quick mode's (CNN_COURSE_QUICK=1) small fixed subsets of the training, validation and test images."""
    note_once(f"Quick mode (CNN_COURSE_QUICK=1): a fixed subset of {QUICK_TRAIN_SIZE} training "
              f"and {QUICK_TEST_SIZE} test (and validation) images.")
    test_pick = torch.randperm(num_test, generator=picker)[:QUICK_TEST_SIZE]
    return train_pick[:QUICK_TRAIN_SIZE], val_pick[:QUICK_TEST_SIZE], test_pick


def load_data(
    batch_size: int, resize: int | Sequence[int] | None = None, dataset: str | os.PathLike = "fashion-mnist", *,
    val_size: int | None = None, train_size: int | None = None, root: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
) -> tuple[TensorBatches, ...]:
    """Mini-batch iterables of Fashion-MNIST, normalized and optionally resized.

    Returns ``(train_iter, test_iter)``, or with ``val_size=N`` ``(train_iter, val_iter, test_iter)``:
    N training images held out (the same in every run) to choose settings, so that the test set is
    looked at once. `train_size` keeps a fixed subset of the rest (for slow machines); CNN_COURSE_QUICK=1
    uses small fixed subsets. The data sits on `device` (default: the GPU if there is one). `dataset`
    may also be the path of your own image folder: see `utils.folders.load_folder` (its batches move
    to `device` when one is given; val_size and root are Fashion-MNIST's only, and refused).
    """
    batch_size, size = positive_int(batch_size, "batch_size"), image_size(resize)
    val_size = None if val_size is None else positive_int(val_size, "val_size")
    train_size = None if train_size is None else positive_int(train_size, "train_size")
    name = str(dataset).lower().replace("_", "-")
    if name not in DATASETS:
        if not (isinstance(dataset, os.PathLike) or Path(dataset).expanduser().is_dir()):
            raise ValueError(
                f"Unknown dataset {str(dataset)!r}. Valid names: {', '.join(DATASETS)}; or the path of an image "
                f"folder with one sub-folder per class (there is no folder {Path(dataset).expanduser().absolute()}).")
        refused = [name for name, value in (("val_size", val_size), ("root", root)) if value is not None]
        if refused:  # silently ignored, they would leave the data other than asked
            raise ValueError(" ".join(f"{name} applies to Fashion-MNIST; for an image folder, {FOLDER_FIXES[name]}."
                                      for name in refused))
        return load_folder(dataset, batch_size, resize, train_size=train_size,
                           device=None if device is None else pick_device(device))
    device = pick_device(device)
    raw = prepare_fashion_mnist(root)
    (train_x, train_y), (test_x, test_y) = read_split(raw, True), read_split(raw, False)
    mean, std = pixel_statistics(raw)  # of all training images, so that quick mode normalizes like full mode

    picker = torch.Generator().manual_seed(SPLIT_SEED)
    order = torch.randperm(len(train_y), generator=picker)
    held_out = val_size or 0
    if held_out >= len(order):
        raise ValueError(f"val_size={val_size} leaves no training images: use fewer than {len(order)}.")
    val_pick, train_pick = order[:held_out], order[held_out:]
    if val_size is None and train_size is None:
        train_pick = torch.arange(len(train_y))  # all of them, in the files' order
    test_pick = torch.arange(len(test_y))
    if train_size is not None:
        train_pick = train_pick[:train_size]
    if is_quick():
        train_pick, val_pick, test_pick = quick_subsets(train_pick, val_pick, len(test_y), picker)

    def batches(images: Tensor, labels: Tensor, pick: Tensor, split: str) -> TensorBatches:
        return TensorBatches(images[pick].to(device), labels[pick].to(device), batch_size, shuffle=split == "train",
                             mean=mean, std=std, resize=size, classes=FASHION_MNIST_CLASSES, split=split)

    train_iter, test_iter = batches(train_x, train_y, train_pick, "train"), batches(test_x, test_y, test_pick, "test")
    if val_size is None:
        return train_iter, test_iter
    return train_iter, batches(train_x, train_y, val_pick, "validation"), test_iter
