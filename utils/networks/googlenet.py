"""The networks of chapters/04_googlenet.md, copied by tools/collect_networks.py: do not edit here,
edit the chapter and run `python -m tools.collect_networks`."""
from collections import OrderedDict
import torch
import torch.nn.functional as F
from torch import nn


def conv_relu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1
) -> nn.Sequential:
    """A convolution padded to keep the size (at stride 1), then ReLU: GoogLeNet's basic unit."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=kernel_size // 2,
        ),
        nn.ReLU(inplace=True),
    )


class Inception(nn.Module):
    """Four parallel branches whose outputs are stacked along the channel axis."""

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
    ):
        super().__init__()
        self.branch1 = conv_relu(in_channels, c1, 1)
        self.branch3 = nn.Sequential(
            conv_relu(in_channels, c3_reduce, 1),
            conv_relu(c3_reduce, c3, 3),
        )
        self.branch5 = nn.Sequential(
            conv_relu(in_channels, c5_reduce, 1),
            conv_relu(c5_reduce, c5, 5),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            conv_relu(in_channels, pool_proj, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (
            self.branch1,
            self.branch3,
            self.branch5,
            self.branch_pool,
        )
        return torch.cat([branch(x) for branch in branches], dim=1)


INCEPTION_WIDTHS = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class LocalResponseNormBySlices(nn.LocalResponseNorm):
    """nn.LocalResponseNorm, with the sum over the channel window taken as `size` shifted slices."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, channels = self.size, x.shape[1]
        # pad the channel axis so that every channel has a full window
        squares = F.pad(x.square(), (0, 0, 0, 0, n // 2, (n - 1) // 2))
        window = sum(squares[:, i : i + channels] for i in range(n))
        return x / (self.k + self.alpha / n * window) ** self.beta


def stem(in_channels: int, c1: int = 64, c2: int = 192) -> nn.Sequential:
    """From the image to c2 (192) maps at 1/8 of its side: 7x7/2 conv, pool, 1x1 conv, 3x3 conv, pool."""
    return nn.Sequential(
        conv_relu(in_channels, c1, 7, stride=2),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        LocalResponseNormBySlices(5),
        conv_relu(c1, c1, 1),
        conv_relu(c1, c2, 3),
        LocalResponseNormBySlices(5),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
    )


class AuxHead(nn.Sequential):
    """Auxiliary classifier: pool to 4x4, 1x1 conv to 128 channels, FC 1024 + dropout 0.7, FC to classes."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int = 128,
        hidden: int = 1024,
    ):
        super().__init__(
            nn.AdaptiveAvgPool2d(4),
            conv_relu(in_channels, channels, 1),
            nn.Flatten(),
            nn.Linear(channels * 4 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.7),
            nn.Linear(hidden, num_classes),
        )


def init_weights(net: nn.Module) -> None:
    """He (Kaiming) normal initialization for convolutions, Glorot for linear layers, zero biases."""
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) as in the paper: stem, nine Inception blocks, global average pooling.

    With `aux_heads=True`, training mode returns (main, aux_4a, aux_4d) logits; eval mode
    returns only the main logits. `width` scales every channel count (the paper's widths are all
    multiples of 8, so 1/2, 1/4 and 1/8 keep the blocks' outputs adding up).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        aux_heads: bool = True,
        width: float = 1.0,
    ):
        super().__init__()

        def w(channels: int) -> int:
            return max(1, round(channels * width))

        layers = OrderedDict(stem=stem(in_channels, w(64), w(192)))
        for name, widths in INCEPTION_WIDTHS.items():
            layers[name] = Inception(*map(w, widths))
            if name in (
                "3b",
                "4e",
            ):  # halve the side between stages 3, 4 and 5
                layers[f"pool{name[0]}"] = nn.MaxPool2d(
                    3, stride=2, ceil_mode=True
                )
        layers["head"] = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(0.4),
            nn.Linear(w(1024), num_classes),
        )
        self.body = nn.Sequential(layers)
        self.aux = (
            nn.ModuleDict(
                {
                    "4a": AuxHead(w(512), num_classes, w(128), w(1024)),
                    "4d": AuxHead(w(528), num_classes, w(128), w(1024)),
                }
            )
            if aux_heads
            else None
        )
        init_weights(self)

    def forward(
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        aux_logits = []
        for name, layer in self.body.named_children():
            x = layer(x)
            if (
                self.aux is not None
                and self.training
                and name in self.aux
            ):
                aux_logits.append(self.aux[name](x))
        return (x, *aux_logits) if aux_logits else x


def googlenet_loss(
    output: torch.Tensor | tuple,
    labels: torch.Tensor,
    aux_weight: float = 0.3,
) -> torch.Tensor:
    """Cross-entropy of the main logits plus `aux_weight` times that of each auxiliary head."""
    if not isinstance(output, tuple):
        return F.cross_entropy(output, labels)
    main, *aux = output
    return F.cross_entropy(main, labels) + aux_weight * sum(
        F.cross_entropy(a, labels) for a in aux
    )
