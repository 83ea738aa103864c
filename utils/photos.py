"""Photo folders to fine-tune on: your own (a zip upload or Google Drive on Colab, a path elsewhere),
or a public set that torchvision downloads (Flowers-102), and their train/validation/test splits.

Every folder goes through folders.py's checks (class sub-folders, readable images, two classes or
more) before any training starts.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

from .folders import FolderBatches, find_images, load_folder

DRIVE = Path("/content/drive")


def on_colab() -> bool:
    return "google.colab" in sys.modules


def unzip(data: bytes | os.PathLike | str, into: Path) -> Path:
    """Extract a zip (its bytes or its path) into `into` and return the folder that holds the class
    folders: a zip of one folder (what zipping a folder gives) is entered."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with zipfile.ZipFile(source) as archive:
            archive.extractall(into)
    except zipfile.BadZipFile:
        raise ValueError("That is not a zip file. Zip the folder that holds one sub-folder per class "
                         "(on most systems: right-click > Compress) and upload the .zip.") from None
    entries = [p for p in into.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def photo_folder(source: str | os.PathLike | None = None, into: str | os.PathLike = "my-photos") -> Path:
    """The folder of your photos, one sub-folder per class, checked and summarized.

    `source` is a local folder or .zip; on Colab, None asks for a zip upload and "drive:PATH" reads
    PATH in your Google Drive (which gets mounted: Colab asks for permission). Zips are extracted
    into `into`.
    """
    if source is None:
        if not on_colab():
            raise ValueError("Give the path of your photo folder (one sub-folder per class) or of a .zip of it, "
                             "e.g. photo_folder('~/Pictures/flowers'). Uploading is for Colab.")
        from google.colab import files  # a Colab-only module

        uploaded = files.upload()  # a file chooser under the cell
        if len(uploaded) != 1:
            raise ValueError(f"Upload one .zip file ({len(uploaded)} were uploaded); run the cell again.")
        into = Path(into)
        shutil.rmtree(into, ignore_errors=True)  # a second upload replaces the first
        root = unzip(next(iter(uploaded.values())), into)
    elif str(source).startswith("drive:"):
        if not on_colab():
            raise ValueError("'drive:' paths are for Colab. Elsewhere, give the local path of the folder.")
        from google.colab import drive

        drive.mount(str(DRIVE))
        root = DRIVE / "MyDrive" / str(source)[len("drive:"):].lstrip("/")
    else:
        root = Path(source).expanduser()
        if root.suffix.lower() == ".zip" and root.is_file():
            into = Path(into)
            shutil.rmtree(into, ignore_errors=True)
            root = unzip(root, into)
    images = find_images(root / "train" if (root / "train").is_dir() else root)  # the checks, with clear errors
    print(f"{root}: " + ", ".join(f"{name} ({len(paths)})" for name, paths in images.items()))
    return root


def splits(root: str | os.PathLike, batch_size: int, resize: int = 224, val_fraction: float = 0.2,
           **loader_args) -> tuple[FolderBatches, FolderBatches, FolderBatches | None]:
    """(train, validation, test) batches of a photo folder, through `load_folder`.

    ROOT/<class>/ : a fixed `val_fraction` of each class is held out to choose by; no test set (None).
    ROOT/train/<class>/ and ROOT/test/<class>/ : the validation images come out of train/, and
    test/ is kept for the final measurement.
    """
    root = Path(root).expanduser()
    has_test = (root / "train").is_dir()
    train_iter, val_iter = load_folder(root / "train" if has_test else root, batch_size, resize,
                                       test_fraction=val_fraction, **loader_args)
    val_iter.split = "validation"
    test_iter = load_folder(root, batch_size, resize, **loader_args)[1] if has_test else None
    return train_iter, val_iter, test_iter


def flowers_folder(root: str | os.PathLike, num_classes: int = 10) -> Path:
    """Flowers-102 (Oxford's 102 flower species), downloaded by torchvision into `root` (about 330 MB),
    written as ROOT/flowers/train/<species>/ (its train and val images, 20 per species) and
    ROOT/flowers/test/<species>/ (its test images), for the first `num_classes` species."""
    from torchvision.datasets import Flowers102

    root, folder = Path(root).expanduser(), Path(root).expanduser() / "flowers"
    for split, target in (("train", "train"), ("val", "train"), ("test", "test")):
        try:
            data = Flowers102(str(root), split=split, download=True)
        except OSError as error:  # no connection
            raise RuntimeError(f"Downloading Flowers-102 failed ({error}). It needs internet: run this on "
                               "Colab, or use photo_folder() with photos of your own.") from None
        for path, label in zip(data._image_files, data._labels):
            if label < num_classes:
                species = folder / target / data.classes[label].replace("/", "-")
                species.mkdir(parents=True, exist_ok=True)
                if not (species / path.name).exists():
                    os.link(path, species / path.name)  # a second name for the file, not a copy
    return folder
