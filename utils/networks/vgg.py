"""The networks of chapters/03_vgg.md, copied by tools/collect_networks.py: do not edit here,
edit the chapter and run `python -m tools.collect_networks`."""
from collections import OrderedDict
from torch import nn


def vgg_block(
    num_convs: int,
    in_channels: int,
    out_channels: int,
    batch_norm: bool = False,
) -> nn.Sequential:
    """`num_convs` 3x3 convolutions (padding 1) with ReLU, then a 2x2 max-pool with stride 2."""
    layers = []
    for _ in range(num_convs):
        layers.append(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        )
        if (
            batch_norm
        ):  # the *_bn variants: normalize each channel before the ReLU
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        "M",
        512,
        512,
        "M",
        512,
        512,
        "M",
    ],
    "D": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


def blocks_of(config: list) -> list[list[int]]:
    """Split a configuration list at its 'M's: [64, 'M', 128, 128, 'M'] -> [[64], [128, 128]]."""
    blocks, current = [], []
    for item in config:
        if item == "M":
            blocks.append(current)
            current = []
        else:
            current.append(item)
    return blocks


def init_weights(net: nn.Module) -> None:
    """He (Kaiming) normal weights, scaled for the ReLU that follows, and zero biases."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(
                m.weight, mode="fan_out", nonlinearity="relu"
            )  # as torchvision
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(
                m.weight, mode="fan_in", nonlinearity="relu"
            )  # torchvision: N(0, 0.01)
            nn.init.zeros_(m.bias)


def vgg(
    config: list,
    in_channels: int = 3,
    num_classes: int = 1000,
    image_side: int = 224,
    width: float = 1.0,
    hidden: int = 4096,
    dropout: float = 0.5,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A VGG network: one vgg_block per group of the configuration list, then a three-layer classifier.

    `width` scales every channel count (0.25 keeps a quarter), `hidden` is the size of the two
    hidden fully connected layers, and `image_side` sizes the first of them.
    """
    blocks, channels = [], in_channels
    for convs in blocks_of(config):
        out_channels = int(
            convs[0] * width
        )  # within a block all convolutions have the same width
        blocks.append(
            vgg_block(len(convs), channels, out_channels, batch_norm)
        )
        channels = out_channels
    side = image_side // 2 ** len(blocks)  # every block halves the side
    net = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(*blocks),
            flatten=nn.Flatten(),
            classifier=nn.Sequential(
                nn.Linear(channels * side * side, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, num_classes),
            ),
        )
    )
    init_weights(net)
    return net
