"""Your own images: a folder with one sub-folder per class, laid out as torchvision's ImageFolder expects.

Two layouts are understood::

    ROOT/train/<class>/*.jpg  and  ROOT/test/<class>/*.jpg  (or ROOT/val/...)
    ROOT/<class>/*.jpg         (a test set is split off here, with a fixed seed)

`load_folder` returns two DataLoaders that also know the class names; predict.py
labels new images with a model trained on them.
"""
from __future__ import annotations

import os
import random
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset

from .common import image_size, positive_int

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DEFAULT_SIZE = 224


def open_image(path: str | os.PathLike | Image.Image, channels: int = 3) -> Image.Image:
    """The image as RGB (or grayscale "L" for `channels=1`), 16-bit files scaled down correctly."""
    if isinstance(path, Image.Image):
        image = path.copy()
    else:
        with Image.open(path) as opened:
            image = opened.copy()  # decoded now, and the file is closed again
    if image.mode.startswith("I"):
        # 16-bit (and 32-bit integer) pixels: PIL's convert would clip them at 255, making them white.
        pixels = np.asarray(image, dtype=np.float64)
        full_scale = 65535 if pixels.max(initial=0) > 255 or "16" in image.mode else 255
        image = Image.fromarray((pixels * (255 / full_scale)).round().clip(0, 255).astype(np.uint8), mode="L")
    return image.convert("L" if channels == 1 else "RGB")


def image_extensions() -> tuple[str, ...]:
    """The file name endings torchvision's ImageFolder takes for images (.jpg, .png, ...)."""
    # Imported here, not at the top: torchvision takes seconds to import (it loads torch's compiler),
    # and every process that imports utils without reading an image folder would pay for it.
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return IMG_EXTENSIONS


def is_readable_image(path: Path) -> bool:
    """True if `path` has an image extension and PIL can decode the whole file."""
    if not path.name.lower().endswith(image_extensions()):
        return False
    try:
        with Image.open(path) as image:
            image.load()  # decodes everything: a truncated file fails here, not mid-training
        return True
    except Exception:  # not an image, damaged, or too large: PIL's errors vary, the answer doesn't
        return False


def find_images(folder: Path) -> dict[str, list[Path]]:
    """The readable images of each class sub-folder of `folder`, by class name. Hidden files and folders
    (.DS_Store, .ipynb_checkpoints) are ignored; other unreadable files are skipped with a warning."""
    if not folder.is_dir():
        raise FileNotFoundError(f"There is no folder {folder}. Check the path (a relative path starts in {Path.cwd()}).")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise ValueError(f"{folder} has no class sub-folders. Put the images of each class in a folder of "
                         f"their own, named after the class: {folder}/<class name>/<image>.jpg")
    images, skipped = {}, []
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(class_dir).parts))
        images[class_dir.name] = [path for path in files if is_readable_image(path)]
        skipped += sorted(set(files) - set(images[class_dir.name]))
        if not images[class_dir.name]:
            raise ValueError(f"The class folder {class_dir} holds no readable images. Add some "
                             f"({', '.join(image_extensions()[:4])}, ...) or delete the folder.")
    if len(images) < 2:
        raise ValueError(f"{folder} has one class folder ({class_dirs[0].name}); a classifier needs at least two. "
                         f"Add a folder of images for each other class: {folder}/<class name>/<image>.jpg")
    if skipped:
        # Paths relative to the folder the reader passed: short, and free of this machine's layout.
        names = ", ".join(str(path.relative_to(folder)) for path in skipped[:10])
        names += f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        warnings.warn(f"Skipped {len(skipped)} file(s) in {folder.name}/ that are not readable images: {names}. "
                      "Delete or replace them to silence this warning.", stacklevel=3)
    return images


class ImageFiles(Dataset):
    """(image, label) pairs of the files `find_images` accepted, read with `open_image` and `transform`.

    Files and labels are listed as torchvision's ImageFolder lists them (class names in sorted order),
    with its attribute names; unlike it, hidden folders (.ipynb_checkpoints) never become classes.
    """

    def __init__(self, images: dict[str, list[Path]], transform: Any) -> None:
        self.classes = sorted(images)
        self.class_to_idx = {name: label for label, name in enumerate(self.classes)}
        # Folder by folder, then by file name, as ImageFolder walks a class folder (`train_size` and the
        # shuffled order of a seed depend on this order).
        self.samples = [(str(path), label) for label, name in enumerate(self.classes)
                        for path in sorted(images[name], key=lambda path: (str(path.parent), path.name))]
        self.targets = [label for _, label in self.samples]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        return self.transform(open_image(path)), label


class FolderBatches(DataLoader):
    """A DataLoader of (images, labels) that also knows its class names and preprocessing."""

    def __init__(self, dataset: Any, classes: Sequence[str], image_size: tuple[int, int],
                 mean: Sequence[float], std: Sequence[float], split: str, **loader_args: Any) -> None:
        self.device = loader_args.pop("device", None)  # where __iter__ moves each batch; None: left on the CPU
        super().__init__(dataset, **loader_args)
        self.split, self.classes = split, list(classes)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        # The names and types of TensorBatches: (channels, height, width), and a float per channel.
        self.image_shape = (3, *image_size)  # images are read as RGB
        self.mean, self.std = tuple(map(float, mean)), tuple(map(float, std))

    @property
    def num_examples(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator:
        batches = super().__iter__()
        if self.device is None:
            return batches
        return ((images.to(self.device), labels.to(self.device)) for images, labels in batches)

    def __repr__(self) -> str:
        return (f"FolderBatches({self.split}: {self.num_examples} images of {len(self.classes)} classes, "
                f"{len(self)} batches of {self.batch_size}, images of shape {self.image_shape})")


def eval_transform(size: tuple[int, int], mean: Sequence[float], std: Sequence[float]) -> Any:
    """What test images (and images to predict) go through: resize, centre crop, normalize."""
    from torchvision import transforms as T  # see image_extensions

    return T.Compose([T.Resize(max(size)), T.CenterCrop(size), T.ToTensor(), T.Normalize(mean, std)])


def split_images(images: dict[str, list[Path]], test_fraction: float, seed: int) -> tuple[dict, dict]:
    """Split every class into train and test files, at random but always the same way for a seed."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    generator, train, test = random.Random(seed), {}, {}
    for name, paths in images.items():
        if len(paths) < 2:
            raise ValueError(f"Class {name!r} has {len(paths)} image; it needs at least 2 to give one to the test set.")
        paths = paths.copy()
        generator.shuffle(paths)
        n_test = min(max(round(len(paths) * test_fraction), 1), len(paths) - 1)
        test[name], train[name] = paths[:n_test], paths[n_test:]
    return train, test


def load_folder(
    root: str | os.PathLike, batch_size: int, resize: int | Sequence[int] | None = None, *,
    test_fraction: float = 0.2, seed: int = 0, train_size: int | None = None, mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD, crop_scale: tuple[float, float] = (0.25, 1.0), num_workers: int | None = None,
    device: torch.device | None = None,
) -> tuple[FolderBatches, FolderBatches]:
    """Train and test mini-batches from an image folder (layouts: see the module docstring).

    Images are read as RGB. Training images get a random resized crop (covering `crop_scale` of the
    image) and a horizontal flip, test images a resize and centre crop; both end `resize` pixels square
    (default 224), normalized with `mean` and `std` (ImageNet's by default). Without train/ and test/
    folders, `test_fraction` of each class goes to the test set. With a `device`, each batch is moved
    there; else batches stay on the CPU and `train` moves them.
    """
    from torchvision import transforms as T  # see image_extensions

    batch_size = positive_int(batch_size, "batch_size")
    root, size = Path(root).expanduser(), image_size(DEFAULT_SIZE if resize is None else resize)
    train_tf = T.Compose([T.RandomResizedCrop(size, scale=crop_scale), T.RandomHorizontalFlip(),
                          T.ToTensor(), T.Normalize(mean, std)])
    test_tf = eval_transform(size, mean, std)
    if (root / "train").is_dir():
        test_dir = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
        if test_dir is None:
            raise ValueError(f"{root} has a train/ folder but no test/ or val/ folder. Add one with the same class "
                             f"sub-folders, or move the class folders up into {root} to have a test set split off.")
        train_images, test_images = find_images(root / "train"), find_images(test_dir)
        if set(train_images) != set(test_images):
            raise ValueError(
                f"train/ and {test_dir.name}/ (in {root.name}/) have different class folders (only in train: "
                f"{sorted(set(train_images) - set(test_images))}, only in {test_dir.name}: "
                f"{sorted(set(test_images) - set(train_images))}). Every class needs images in both.")
        train_set, test_set = ImageFiles(train_images, train_tf), ImageFiles(test_images, test_tf)
    else:
        train_images, test_images = split_images(find_images(root), test_fraction, seed)
        train_set, test_set = ImageFiles(train_images, train_tf), ImageFiles(test_images, test_tf)
    if train_size is not None:
        train_size = positive_int(train_size, "train_size")
        keep = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))[:train_size]
        train_set = Subset(train_set, keep.tolist())
    if num_workers is None:  # decoding images in parallel pays off when a GPU waits for them
        num_workers = min(4, os.cpu_count() or 1) if torch.cuda.is_available() else 0
    loader_args = dict(batch_size=batch_size, num_workers=num_workers, pin_memory=torch.cuda.is_available(),
                       persistent_workers=num_workers > 0, device=device)
    classes = sorted(train_images)
    return (FolderBatches(train_set, classes, size, mean, std, "train", shuffle=True, **loader_args),
            FolderBatches(test_set, classes, size, mean, std, "test", shuffle=False, **loader_args))
