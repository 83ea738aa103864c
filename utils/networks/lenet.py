"""The networks of chapters/01_lenet.md, copied by tools/collect_networks.py: do not edit here,
edit the chapter and run `python -m tools.collect_networks`."""
import math
from torch import nn


def output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    ceil_mode: bool = False,
) -> int:
    """Side of the output of a convolution or pooling layer on an n x n input."""
    rounding = math.ceil if ceil_mode else math.floor
    return rounding((n + 2 * padding - kernel) / stride) + 1


def lenet_sides(n: int, padding: int) -> list[int]:
    """Sides after conv 5x5 (padded), pool 2/2, conv 5x5, pool 2/2."""
    sides = [n]
    for kernel, stride, pad in [
        (5, 1, padding),
        (2, 2, 0),
        (5, 1, 0),
        (2, 2, 0),
    ]:
        sides.append(output_size(sides[-1], kernel, stride, pad))
    return sides


def lenet(
    activation: type[nn.Module] = nn.ReLU,
    pool: type[nn.Module] = nn.MaxPool2d,
    padding: int = 2,
    image_side: int = 28,
    num_classes: int = 10,
) -> nn.Sequential:
    """LeNet-5: two convolution + pooling stages, then three fully connected layers."""
    side = lenet_sides(image_side, padding)[-1]
    return nn.Sequential(
        # Convolutional encoder
        nn.Conv2d(1, 6, kernel_size=5, padding=padding),
        activation(),
        pool(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        activation(),
        pool(kernel_size=2, stride=2),
        # Dense block
        nn.Flatten(),
        nn.Linear(16 * side * side, 120),
        activation(),
        nn.Linear(120, 84),
        activation(),
        nn.Linear(84, num_classes),
    )
