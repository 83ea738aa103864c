"""Unit tests run in full mode unless a test turns quick mode on itself."""
import re
from pathlib import Path

import pytest
import torch

from utils.data import TensorBatches


@pytest.fixture(autouse=True, scope="module")
def full_mode():
    """Module-wide, so that module fixtures see full mode too; restored after the module, because
    `make test` runs the notebooks in quick mode in the same pytest session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CNN_COURSE_QUICK", raising=False)
        patch.delenv("CNN_COURSE_RESULTS", raising=False)
        yield


def make_batches(n: int = 256, batch_size: int = 32, shuffle: bool = True, seed: int = 0) -> TensorBatches:
    """A learnable toy problem: the class is the brightest of four image quadrants."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 100, (n, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 4, (n,), generator=generator)
    for i, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        images[i, row * 4 : row * 4 + 4, col * 4 : col * 4 + 4] += 150
    return TensorBatches(
        images, labels, batch_size, shuffle=shuffle, mean=0.5, std=0.25, resize=None,
        classes=["top-left", "top-right", "bottom-left", "bottom-right"],
    )


@pytest.fixture
def toy_data():
    return make_batches(seed=0), make_batches(n=128, shuffle=False, seed=1)


def readme_quick_numbers(pattern: str) -> list[int]:
    """The numbers the README's section on quick mode gives (1,000 -> 1000)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    found = re.search(pattern, readme)
    assert found, f"the README no longer says {pattern!r}"
    return [int(n.replace(",", "")) for n in found.groups()]
