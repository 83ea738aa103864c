"""The networks of chapters/02_alexnet.md, copied by tools/collect_networks.py: do not edit here,
edit the chapter and run `python -m tools.collect_networks`."""
from collections import OrderedDict
from torch import nn


TORCHVISION_WIDTHS = (64, 192, 384, 256, 256)


def alexnet(
    num_classes: int = 10,
    in_channels: int = 1,
    widths: tuple = TORCHVISION_WIDTHS,
    *,
    two_groups: bool = False,
    lrn: bool = False,
    activation: type[nn.Module] = nn.ReLU,
    dropout: float = 0.5,
    pool: tuple[int, int] = (3, 2),
    hidden: int = 4096,
) -> nn.Sequential:
    """AlexNet: five convolutions with three max-pools, then three fully connected layers.

    The defaults give torchvision's single-GPU variant for grayscale images. `two_groups=True`
    wires conv2, conv4 and conv5 as on the paper's two GPUs; `lrn=True` adds the paper's local
    response normalization; `pool` is the (window, stride) of the max-pooling layers; `hidden` is
    the size of the two hidden fully connected layers.
    """
    c1, c2, c3, c4, c5 = widths
    groups = 2 if two_groups else 1

    def act_norm_pool(with_norm: bool) -> list[nn.Module]:
        layers = [activation()]
        if with_norm:  # PyTorch divides alpha by the window size n; the paper does not, hence 5 * 1e-4
            layers.append(
                nn.LocalResponseNorm(
                    size=5, alpha=5 * 1e-4, beta=0.75, k=2.0
                )
            )
        return layers + [
            nn.MaxPool2d(kernel_size=pool[0], stride=pool[1])
        ]

    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=2),
        *act_norm_pool(lrn),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=groups),
        *act_norm_pool(lrn),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        activation(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=groups),
        activation(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=groups),
        *act_norm_pool(False),
    )
    classifier = nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(c5 * 6 * 6, hidden),
        activation(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        activation(),
        nn.Linear(hidden, num_classes),
    )
    return nn.Sequential(
        OrderedDict(
            features=features,  # the convolutional encoder
            avgpool=nn.AdaptiveAvgPool2d(
                (6, 6)
            ),  # any input of at least 63x63 -> 6x6 maps
            flatten=nn.Flatten(),
            classifier=classifier,  # the dense block
        )
    )
