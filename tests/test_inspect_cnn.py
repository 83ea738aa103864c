"""utils.inspect_cnn against captum, the reference implementation, on a small random network."""
import pytest
import torch
from torch import nn

from utils import inspect_cnn

captum_attr = pytest.importorskip("captum.attr")


def small_net() -> nn.Sequential:
    """Two convolution stages, global average pooling, one linear layer: CAM applies to it."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3),
    )
    return net.eval()


def images(n: int = 4) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(n, 1, 12, 12)


CLASSES = torch.tensor([0, 2, 1, 2])


def test_saliency_equals_captums():
    net, x = small_net(), images()
    ours = inspect_cnn.saliency(net, x, CLASSES)
    theirs = captum_attr.Saliency(net).attribute(x, target=CLASSES)
    assert ours.shape == x.shape and ours.abs().sum() > 0
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("layer", [3, 4])  # the second convolution and its ReLU: two different maps
def test_grad_cam_equals_captums_at_the_same_layer(layer):
    net, x = small_net(), images()
    ours = inspect_cnn.grad_cam(net, x, net[layer], CLASSES)
    theirs = captum_attr.LayerGradCam(net, net[layer]).attribute(x, target=CLASSES, relu_attributions=True)
    assert ours.shape == (4, 6, 6) and ours.sum() > 0
    torch.testing.assert_close(ours, theirs.squeeze(1))


def test_grad_cam_at_another_layer_is_not_captums():
    """The comparison above can tell layers apart: a map of the first stage differs from the second's."""
    net, x = small_net(), images()
    theirs = captum_attr.LayerGradCam(net, net[4]).attribute(x, target=CLASSES, relu_attributions=True)
    assert not torch.allclose(inspect_cnn.grad_cam(net, x, net[3], CLASSES), theirs.squeeze(1))


def test_cam_is_grad_cam_at_the_last_maps_of_a_global_average_pooling_network():
    """With GAP and one linear layer, the gradient of a score by the maps is the class's weights / (h w)."""
    net, x = small_net(), images()
    maps = inspect_cnn.activations(net, x, {"last": net[4]})["last"]
    cam = inspect_cnn.class_activation_map(maps, net[7], CLASSES)
    torch.testing.assert_close(torch.relu(cam) / 36, inspect_cnn.grad_cam(net, x, net[4], CLASSES))
    logits = net(x).detach()
    torch.testing.assert_close(cam.mean(dim=(1, 2)) + net[7].bias[CLASSES].detach(), logits[range(4), CLASSES])


@pytest.mark.parametrize("window,stride", [(4, 2), (3, 3)])
def test_occlusion_equals_captums(window, stride):
    net, x = small_net(), images()
    ours = inspect_cnn.occlusion(net, x, CLASSES, window, stride)
    theirs = captum_attr.Occlusion(net).attribute(x, sliding_window_shapes=(1, window, window),
                                                  strides=(1, stride, stride), baselines=0.0, target=CLASSES)
    assert ours.abs().sum() > 0
    torch.testing.assert_close(ours, theirs.squeeze(1))


def test_last_spatial_skips_the_maps_that_are_1x1():
    net, x = small_net(), images()
    layers = {"conv1": net[0], "pool": net[2], "relu2": net[4], "gap": net[5]}
    assert inspect_cnn.last_spatial(net, x, layers) == "relu2"
    with pytest.raises(ValueError, match="larger than 1x1.*larger images"):
        inspect_cnn.last_spatial(net, x, {"gap": net[5]})


def test_recording_leaves_no_hooks_behind():
    net, x = small_net(), images()
    out = inspect_cnn.activations(net, x, {"conv1": net[0], "relu2": net[4]})
    assert list(out) == ["conv1", "relu2"] and out["relu2"].shape == (4, 6, 6, 6)
    assert not net[0]._forward_hooks and not net[4]._forward_hooks
