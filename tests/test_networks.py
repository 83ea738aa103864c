"""utils/networks/ holds the chapters' own network definitions, current and working."""
import pytest
import torch

from tools import collect_networks
from utils import networks


def test_utils_networks_is_what_the_chapters_define():
    stale = [path.name for path, text in collect_networks.expected_files().items()
             if not path.is_file() or path.read_text() != text]
    assert not stale, f"run python -m tools.collect_networks: {stale} differ from the chapters"


@pytest.mark.parametrize("build, side", [
    (lambda: networks.lenet.lenet(), 28),
    (lambda: networks.alexnet.alexnet(widths=(32, 96, 192, 128, 128), hidden=1024), 64),
    (lambda: networks.vgg.vgg(networks.vgg.CONFIGS["A"], 1, 10, image_side=32, width=0.25, hidden=512), 32),
    (lambda: networks.googlenet.GoogLeNet(width=0.25), 48),
    (lambda: networks.resnet.resnet("resnet18", width=0.25, in_channels=1, num_classes=10), 48),
])
def test_each_network_classifies_a_fashion_mnist_batch(build, side):
    net = build().eval()
    assert net(torch.zeros(2, 1, side, side)).shape == (2, 10)


@pytest.mark.parametrize("size", [5, 4, 1])
@pytest.mark.parametrize("channels_last", [False, True])
def test_googlenet_lrn_by_slices_computes_what_pytorch_lrn_computes(size, channels_last):
    """GoogLeNet's stem sums the channel window with slices (faster on CPUs): same values and gradients."""
    torch.manual_seed(0)
    x = 3 * torch.randn(4, 7, 5, 6)  # 7 channels: windows run over both edges
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    settings = dict(size=size, alpha=0.01, beta=0.75, k=2.0)  # alpha large enough for the window to matter
    outputs, gradients = [], []
    for layer in (networks.googlenet.LocalResponseNormBySlices(**settings), torch.nn.LocalResponseNorm(**settings)):
        leaf = x.clone().requires_grad_()
        out = layer(leaf)
        (out * torch.arange(out.numel()).reshape(out.shape).sin()).sum().backward()
        outputs.append(out)
        gradients.append(leaf.grad)
    torch.testing.assert_close(outputs[0], outputs[1])
    torch.testing.assert_close(gradients[0], gradients[1])
