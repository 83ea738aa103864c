"""count_macs and activation_bytes: answers worked out by hand for small layers."""
import pytest
import torch
from torch import nn

from utils import activation_bytes, conv_map_sizes, count_macs


def test_linear_layer_macs_and_output_bytes():
    layer = nn.Linear(20, 30)
    assert count_macs(layer, (20,)) == 20 * 30  # one MAC per weight; the bias is not counted
    assert activation_bytes(layer, (20,)) == 30 * 4  # 30 float32 outputs


def test_convolution_macs_and_output_bytes():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
    # 8 x 10 x 10 outputs, each a 3 x 3 x 3 dot product.
    assert count_macs(conv, (3, 10, 10)) == 8 * 10 * 10 * 3 * 3 * 3
    assert activation_bytes(conv, (3, 10, 10)) == 8 * 10 * 10 * 4


def test_a_network_adds_up_its_leaves_and_ignores_containers():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4x8x8, 4x8x8, 4x4x4
        nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),             # 64, 10 (the inner Sequential adds nothing)
    )
    assert count_macs(net, (1, 8, 8)) == 4 * 8 * 8 * 9 + 64 * 10
    assert activation_bytes(net, (1, 8, 8)) == (256 + 256 + 64 + 64 + 10) * 4


def test_batch_norm_statistics_and_the_training_mode_are_left_alone():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    net.train()
    before = {name: t.clone() for name, t in net.state_dict().items()}
    count_macs(net, (1, 6, 6))
    activation_bytes(net, (1, 6, 6))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[name], t) for name, t in net.state_dict().items())
    assert not any(m._forward_hooks for m in net.modules())  # the hooks were removed


def test_meta_device_gives_the_same_answers_without_memory():
    with torch.device("meta"):
        net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 30 * 30, 5))
    assert count_macs(net, (3, 32, 32)) == 16 * 30 * 30 * 27 + 16 * 30 * 30 * 5
    assert activation_bytes(net, (3, 32, 32)) == (3 * 16 * 30 * 30 + 5) * 4


def test_half_precision_outputs_take_two_bytes():
    layer = nn.Linear(8, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert activation_bytes(layer, (8,)) == 4 * 2


def test_image_sizes_without_channels_or_with_a_batch_axis_are_named_or_read_right():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 10 * 10, 2))
    expected = count_macs(net, (3, 10, 10))
    assert count_macs(net, (1, 3, 10, 10)) == expected  # a batch of one: unambiguous
    assert activation_bytes(net, [1, 3, 10, 10]) == activation_bytes(net, (3, 10, 10))
    with pytest.raises(ValueError, match=r"pass \(channels, height, width\), e.g. \(3, 10, 10\); got \(10, 10\)"):
        count_macs(net, (10, 10))
    with pytest.raises(ValueError, match=r"without the batch axis.*got \(2, 3, 10, 10\)"):
        count_macs(net, (2, 3, 10, 10))


def test_conv_map_sizes_names_each_spatial_convolution_and_the_map_it_sees():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 1),
                        nn.Conv2d(4, 8, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1))
    sizes = conv_map_sizes(net, (1, 8, 8))
    assert sizes == {"0": (8, 8), "3": (4, 4), "5": (2, 2)}  # the 1x1 convolution is left out
    assert list(sizes) == ["0", "3", "5"]
