"""The networks of chapters/05_resnet.md, copied by tools/collect_networks.py: do not edit here,
edit the chapter and run `python -m tools.collect_networks`."""
import torch
from torch import nn


def projection(
    in_channels: int, out_channels: int, stride: int
) -> nn.Module | None:
    """The shortcut's 1x1 convolution and batch norm, or None when the identity already fits."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=1,
            stride=stride,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
    )


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; the input is added before the last ReLU (unless shortcut=False)."""

    expansion = 1  # the block outputs expansion * channels channels

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: bool = True,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels,
            channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False,
        )
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            channels, channels, kernel_size=3, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = shortcut
        self.downsample = (
            projection(in_channels, channels, stride)
            if shortcut
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut:
            out = out + (
                x if self.downsample is None else self.downsample(x)
            )
        return self.relu(out)


def make_stage(
    block: type[nn.Module],
    in_channels: int,
    channels: int,
    num_blocks: int,
    stride: int,
    shortcut: bool = True,
) -> nn.Sequential:
    """`num_blocks` blocks; the first one applies the stride and changes the number of channels."""
    blocks = [block(in_channels, channels, stride, shortcut)]
    for _ in range(num_blocks - 1):
        blocks.append(
            block(channels * block.expansion, channels, 1, shortcut)
        )
    return nn.Sequential(*blocks)


def init_like_torchvision(net: nn.Module) -> nn.Module:
    """He (Kaiming) normal convolution weights; batch norm starts as the identity (weight 1, bias 0)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(
                m.weight, mode="fan_out", nonlinearity="relu"
            )
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (with the stride), 1x1 expand to 4 * channels, each with batch norm; plus the shortcut."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: bool = True,
    ):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(
            in_channels, channels, kernel_size=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(
            channels,
            channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False,
        )
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(
            channels, out_channels, kernel_size=1, bias=False
        )
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut
        self.downsample = (
            projection(in_channels, out_channels, stride)
            if shortcut
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.shortcut:
            out = out + (
                x if self.downsample is None else self.downsample(x)
            )
        return self.relu(out)


class ResNet(nn.Module):
    """An ImageNet ResNet: 7x7 stem, four stages of `depths` blocks (64, 128, 256, 512 channels), pooling, linear.

    `width` scales every channel count (0.25: 16, 32, 64, 128 channels).
    """

    def __init__(
        self,
        block: type[nn.Module],
        depths: list[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        shortcut: bool = True,
        width: float = 1.0,
    ):
        super().__init__()
        stage_widths = [round(c * width) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(
            in_channels,
            stage_widths[0],
            kernel_size=7,
            stride=2,
            padding=3,
            bias=False,
        )
        self.bn1 = nn.BatchNorm2d(stage_widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = stage_widths[0]
        for i, (num_blocks, stage_width) in enumerate(
            zip(depths, stage_widths)
        ):
            stage = make_stage(
                block,
                channels,
                stage_width,
                num_blocks,
                stride=1 if i == 0 else 2,
                shortcut=shortcut,
            )
            self.add_module(
                f"layer{i + 1}", stage
            )  # torchvision's names: layer1 ... layer4
            channels = stage_width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        init_like_torchvision(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


ARCHITECTURES = {  # name: (block, blocks per stage), from Table 1 of the paper
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
    "resnet152": (Bottleneck, [3, 8, 36, 3]),
}


def resnet(name: str, **kwargs) -> ResNet:
    block, depths = ARCHITECTURES[name]
    return ResNet(block, depths, **kwargs)
