"""Fashion-MNIST, found offline when possible, served as fast whole-batch tensors.

The dataset is small enough (47 MB of uint8 pixels) to live in one tensor, on the
GPU when there is one. Each batch is then shuffled, converted, normalized and
resized in a handful of tensor operations instead of per-image PIL work.

Run ``python -m utils`` to find or fetch the data ahead of time.
"""
from __future__ import annotations

import functools
import gzip
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from .runtime import is_quick, note_once, try_gpu

DATA_ENV_VAR = "CNN_COURSE_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/cnn-course/data")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DATASETS = ("fashion-mnist",)
QUICK_TRAIN_SIZE, QUICK_TEST_SIZE = 2048, 512


class DataUnavailableError(RuntimeError):
    """Fashion-MNIST is neither on disk nor downloadable."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: `root` if given, else $CNN_COURSE_DATA, else ~/.cache/cnn-course/data."""
    return Path(root or os.environ.get(DATA_ENV_VAR) or DEFAULT_DATA_ROOT).expanduser()


def prepare_fashion_mnist(
    root: str | os.PathLike | None = None, *, download: bool = True, apt: bool = False
) -> Path:
    """Make sure the four unpacked Fashion-MNIST files exist; return their folder.

    Looks in this order: the data root; Debian's copy (unpacked into the root,
    because torchvision reads only unpacked files and Debian's .gz checksums
    differ from torchvision's); with ``apt=True`` and root rights on Debian,
    ``apt-get install dataset-fashion-mnist``; with ``download=True``,
    torchvision's download.
    """
    root = data_root(root)
    raw = root / "FashionMNIST" / "raw"
    if _has_raw_files(raw):
        return raw
    if _unpack_debian_copy(raw):
        return raw
    if apt and _apt_install_dataset() and _unpack_debian_copy(raw):
        return raw
    reason = "downloading was not allowed"
    if download:
        from torchvision.datasets import FashionMNIST

        try:
            FashionMNIST(str(root), train=True, download=True)
            FashionMNIST(str(root), train=False, download=True)
        except Exception as error:  # any network or disk failure ends in the same advice
            reason = f"the download failed: {error}"
        if _has_raw_files(raw):
            return raw
    raise DataUnavailableError(
        f"Fashion-MNIST is not in {raw} and could not be fetched ({reason}).\n"
        "Two ways to get it:\n"
        f"  1. On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist  (puts the files in {DEBIAN_DIR},\n"
        "     which this course unpacks automatically), then run again.\n"
        "  2. With internet access: run again and torchvision downloads it, or copy the four\n"
        f"     *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into {raw}.\n"
        f"To use another folder, pass root=... or set {DATA_ENV_VAR}."
    )


def _has_raw_files(raw: Path) -> bool:
    return all((raw / name).is_file() for name in RAW_FILES)


def _unpack_debian_copy(raw: Path) -> bool:
    if not all((DEBIAN_DIR / f"{name}.gz").is_file() for name in RAW_FILES):
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        partial = raw / f"{name}.partial"
        with gzip.open(DEBIAN_DIR / f"{name}.gz") as source, open(partial, "wb") as target:
            shutil.copyfileobj(source, target)
        os.replace(partial, raw / name)  # a crash never leaves a half file under the real name
    return True


def _apt_install_dataset() -> bool:
    if not (shutil.which("apt-get") and Path("/etc/debian_version").exists()):
        return False
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    print("Installing Debian's dataset-fashion-mnist package ...")
    install = ["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"]
    if subprocess.run(install).returncode != 0:  # the package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-q"])
        return subprocess.run(install).returncode == 0
    return True


def read_fashion_mnist(train: bool, root: str | os.PathLike | None = None) -> tuple[Tensor, Tensor]:
    """All images (N, 28, 28) uint8 and labels (N,) int64 of one split, on the CPU."""
    return _read_split(prepare_fashion_mnist(root), train)


@functools.cache
def _read_split(raw: Path, train: bool) -> tuple[Tensor, Tensor]:
    """The files of one split in `raw`, read once per process."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    prefix = "train" if train else "t10k"
    try:
        images = read_image_file(str(raw / f"{prefix}-images-idx3-ubyte"))
        labels = read_label_file(str(raw / f"{prefix}-labels-idx1-ubyte"))
    except Exception as error:
        raise DataUnavailableError(
            f"The Fashion-MNIST files in {raw} are damaged ({error}). "
            "Delete that folder and run again to unpack or download them afresh."
        ) from None
    return images, labels.long()


@functools.cache
def _pixel_statistics(raw: Path) -> tuple[float, float]:
    """Mean and std of the training pixels scaled to [0, 1]: one pass over 47M pixels, once per process."""
    pixels = _read_split(raw, True)[0].float()
    return pixels.mean().item() / 255, pixels.std().item() / 255


class TensorBatches:
    """An iterable of (images, labels) mini-batches made from uint8 images held in one tensor.

    Each pass draws a new order from torch's global random generator (so
    ``set_seed`` and checkpoints reproduce it) and turns a batch of uint8
    pixels into normalized float images, resized if asked, in one go.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        *,
        shuffle: bool,
        mean: float | Sequence[float],
        std: float | Sequence[float],
        resize: tuple[int, int] | None,
        classes: Sequence[str],
    ) -> None:
        if images.dim() == 3:  # grayscale (N, H, W) -> (N, 1, H, W)
            images = images.unsqueeze(1)
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.resize = batch_size, shuffle, resize
        channels = images.shape[1]
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=images.device).reshape(-1, 1, 1).expand(channels, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=images.device).reshape(-1, 1, 1).expand(channels, 1, 1)
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
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        order = order.to(self.images.device)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.transform(self.images[index]), self.labels[index]

    def transform(self, images: Tensor) -> Tensor:
        """uint8 (B, C, H, W) -> normalized float32, resized when the iterable resizes."""
        x = (images.float().div_(255) - self.mean) / self.std
        if self.resize and tuple(x.shape[-2:]) != self.resize:
            x = F.interpolate(x, size=self.resize, mode="bilinear", align_corners=False, antialias=True)
        return x

    def __repr__(self) -> str:
        return (
            f"TensorBatches({self.num_examples} images of shape {self.image_shape}, "
            f"{len(self)} batches of {self.batch_size}, shuffle={self.shuffle}, device={self.images.device})"
        )


def _check_size(resize: int | Sequence[int] | None) -> tuple[int, int] | None:
    if resize is None:
        return None
    size = (resize, resize) if isinstance(resize, int) else tuple(resize)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"resize must be a positive int or a (height, width) pair of them, got {resize!r}")
    return size


def load_data(
    batch_size: int,
    resize: int | Sequence[int] | None = None,
    dataset: str | os.PathLike = "fashion-mnist",
    *,
    train_size: int | None = None,
    root: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
) -> tuple[TensorBatches, TensorBatches]:
    """Train and test mini-batch iterables of Fashion-MNIST, normalized and optionally resized.

    `dataset` may also be the path of your own image folder: see `utils.folders.load_folder`.

    The whole dataset sits on `device` (default: the GPU if there is one). The
    iterables expose ``classes`` and ``len()`` in batches. `train_size` keeps a
    fixed random subset of the training images (for slow machines); with
    CNN_COURSE_QUICK=1 a small fixed subset of both splits is used instead.
    """
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    size = _check_size(resize)
    name = str(dataset).lower().replace("_", "-")
    if name not in DATASETS and (isinstance(dataset, os.PathLike) or Path(dataset).expanduser().is_dir()):
        from .folders import load_folder  # the reader's own image folder

        return load_folder(dataset, batch_size, resize, train_size=train_size)
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {str(dataset)!r}. Valid names: {', '.join(DATASETS)}; or the path of an image "
            f"folder with one sub-folder per class (there is no folder {Path(dataset).expanduser().absolute()})."
        )
    if train_size is not None and (not isinstance(train_size, int) or train_size <= 0):
        raise ValueError(f"train_size must be a positive int or None, got {train_size!r}")
    device = torch.device(device) if device is not None else try_gpu()

    raw = prepare_fashion_mnist(root)
    train_x, train_y = _read_split(raw, True)
    test_x, test_y = _read_split(raw, False)
    # Statistics of the full training set, so that quick mode normalizes exactly like full mode.
    mean, std = _pixel_statistics(raw)
    picker = torch.Generator().manual_seed(0)  # fixed subsets: the same images in every run
    if train_size is not None and train_size < len(train_y):
        keep = torch.randperm(len(train_y), generator=picker)[:train_size]
        train_x, train_y = train_x[keep], train_y[keep]
    if is_quick():
        note_once(
            f"Quick mode (CNN_COURSE_QUICK=1): a fixed subset of {QUICK_TRAIN_SIZE} training "
            f"and {QUICK_TEST_SIZE} test images."
        )
        train_pick = torch.randperm(len(train_y), generator=picker)[:QUICK_TRAIN_SIZE]
        test_pick = torch.randperm(len(test_y), generator=picker)[:QUICK_TEST_SIZE]
        train_x, train_y, test_x, test_y = train_x[train_pick], train_y[train_pick], test_x[test_pick], test_y[test_pick]

    def batches(images: Tensor, labels: Tensor, shuffle: bool) -> TensorBatches:
        return TensorBatches(
            images.to(device), labels.to(device), batch_size, shuffle=shuffle,
            mean=mean, std=std, resize=size, classes=FASHION_MNIST_CLASSES,
        )

    return batches(train_x, train_y, True), batches(test_x, test_y, False)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: find, unpack or fetch Fashion-MNIST ahead of time."""
    try:
        raw = prepare_fashion_mnist(apt=True)
    except DataUnavailableError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Fashion-MNIST ready in {raw}")
    return 0

