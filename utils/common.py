"""Small helpers shared by several modules, each written once."""
from __future__ import annotations

import contextlib
import json
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from torch import Tensor, nn


def positive_int(value: object, name: str) -> int:
    """`value` as an int (NumPy integers welcome) if it is one and positive, else a ValueError."""
    try:
        number = operator.index(value)  # accepts int and NumPy integers, refuses 2.5 and "8"
    except TypeError:
        hint = f" Write {name}={int(value)}." if isinstance(value, float) and value.is_integer() else ""
        raise ValueError(f"{name} must be a positive int, got {value!r}.{hint}") from None
    if isinstance(value, bool) or number <= 0:  # True is an int to Python, but never a count meant as 1
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return number


def image_size(resize: int | Sequence[int] | None) -> tuple[int, int] | None:
    """`resize` as (height, width): an int means a square; None means keep the size."""
    if resize is None:
        return None
    pair = (resize, resize) if not isinstance(resize, (tuple, list)) else tuple(resize)
    try:
        size = tuple(positive_int(side, "resize") for side in pair)
    except ValueError:
        size = ()
    if len(size) != 2:
        raise ValueError(f"resize must be a positive int or a (height, width) pair of them, got {resize!r}, "
                         "e.g. resize=224 or resize=(224, 224).")
    return size


def main_output(output: Tensor | tuple | list) -> Tensor:
    """The logits a model predicts with: the first element when it returns a tuple."""
    return output[0] if isinstance(output, (tuple, list)) else output


@contextlib.contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """Put `net` in eval mode (dropout off, batch-norm running statistics) and restore its mode after."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(file)` on a temporary file, then rename it to `path`: a crash mid-write leaves
    the previous file intact, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write `data` as indented JSON through `atomic_write`; return the path."""
    text = json.dumps(data, indent=2) + "\n"
    return atomic_write(path, lambda file: file.write(text.encode()))
