"""Getting Fashion-MNIST's four files onto disk (data root, Debian's copy, or torchvision's download)
and reading them; batching is data.py's job."""
from __future__ import annotations

import functools
import gzip
import os
import shutil
import zlib
from pathlib import Path

from torch import Tensor

from .common import atomic_write

DATA_ENV_VAR = "CNN_COURSE_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/cnn-course/data")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DataUnavailableError(RuntimeError):
    """Fashion-MNIST is neither on disk nor downloadable."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: `root` if given, else $CNN_COURSE_DATA, else ~/.cache/cnn-course/data."""
    return Path(root or os.environ.get(DATA_ENV_VAR) or DEFAULT_DATA_ROOT).expanduser()


def prepare_fashion_mnist(root: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Make sure the four unpacked Fashion-MNIST files exist; return their folder.

    Looks in the data root, then unpacks Debian's dataset-fashion-mnist there (torchvision reads
    unpacked files only), then, with ``download=True``, lets torchvision download them. It never
    installs packages: ``make data`` does that.
    """
    raw = data_root(root) / "FashionMNIST" / "raw"
    if all((raw / name).is_file() for name in RAW_FILES):
        return raw
    reason = "downloading was not allowed"
    try:
        if _unpack_debian_copy(raw):
            return raw
        if download:
            reason = _download(raw.parents[1])
            if all((raw / name).is_file() for name in RAW_FILES):
                return raw
    except OSError as error:  # a read-only folder, a full disk, or a file where a folder should be
        raise DataUnavailableError(
            f"Cannot write the Fashion-MNIST files into {raw} ({type(error).__name__}: {error}). "
            f"Pass a folder you can write to as root=..., or set {DATA_ENV_VAR} to one.") from None
    raise DataUnavailableError(
        f"Fashion-MNIST is not in {raw} and could not be fetched ({reason}).\n"
        "Two ways to get it:\n"
        f"  1. On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist  (puts the files in {DEBIAN_DIR},\n"
        "     which this course unpacks automatically), or run `make data`, then run again.\n"
        "  2. With internet access: run again and torchvision downloads it, or copy the four\n"
        f"     *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into {raw}.\n"
        f"To use another folder, pass root=... or set {DATA_ENV_VAR}."
    )


def _unpack_debian_copy(raw: Path) -> bool:
    """Unpack Debian's .gz files into `raw`; False when Debian's copy is not installed."""
    if not all((DEBIAN_DIR / f"{name}.gz").is_file() for name in RAW_FILES):
        return False
    for name in RAW_FILES:
        source = DEBIAN_DIR / f"{name}.gz"
        try:
            # Written under a temporary name: a damaged source never leaves a half file behind.
            atomic_write(raw / name, functools.partial(_gunzip, source))
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise DataUnavailableError(
                f"{source} is damaged ({type(error).__name__}: {error}), so it cannot be unpacked. Reinstall it with "
                "sudo apt-get install --reinstall dataset-fashion-mnist, then run again."
            ) from None
    return True


def _gunzip(source: Path, target) -> None:
    with gzip.open(source) as unpacked:
        shutil.copyfileobj(unpacked, target)


def _download(root: Path) -> str:
    """Let torchvision download and unpack the files into root/FashionMNIST/raw; say why if it failed."""
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
    except (PermissionError, NotADirectoryError, FileExistsError):
        raise  # disk trouble: the caller names the folder
    except Exception as error:  # any network failure ends in the same advice
        return f"the download failed: {error}"
    return "the download did not produce the files"


@functools.cache
def read_split(raw: Path, train: bool) -> tuple[Tensor, Tensor]:
    """All images (N, 28, 28) uint8 and labels (N,) int64 of one split, read once per process."""
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
def pixel_statistics(raw: Path) -> tuple[float, float]:
    """Mean and std of the training pixels scaled to [0, 1]: one pass over 47M pixels, once per process."""
    pixels = read_split(raw, True)[0].float()
    return pixels.mean().item() / 255, pixels.std().item() / 255
