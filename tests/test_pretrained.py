"""The chapters' own models take torchvision's ImageNet weights: state dict in, same logits out.

Everything here runs offline: torchvision's models are built with random weights (weights=None),
and the one weights file the loading path reads is written by the test itself.
"""
import urllib.error

import pytest
import torch
import torchvision
from torch import nn

from tools.chapter_code import chapter_definitions
from utils.pretrained import (
    WeightsUnavailableError, fetch_state_dict, load_pretrained, rename_like, top_classes, weights_file, what_it_sees,
)


@pytest.fixture(autouse=True)
def no_download(monkeypatch, tmp_path):
    """Any download attempt fails the test; the hub cache is an empty folder of the test's own."""
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"the test tried to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture(scope="module")
def chapters():
    return {name: chapter_definitions(name) for name in ("02_alexnet", "03_vgg", "04_googlenet", "05_resnet")}


def as_if_trained(model: nn.Module) -> nn.Module:
    """Batch-norm statistics other than 0 and 1, so that a misplaced buffer changes the outputs."""
    generator = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
    return model.eval()


def googlenet_pair(ch, transform_input):
    ours = ch["torchvision_variant"](ch["GoogLeNet"](1000, 3, aux_heads=False), transform_input)
    theirs = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                          transform_input=transform_input)
    return ours, theirs


# network: (chapter, build ours from the chapter's names, torchvision's builder, rename by position)
NETWORKS = {
    "alexnet": ("02_alexnet", lambda ch: ch["alexnet"](num_classes=1000, in_channels=3), torchvision.models.alexnet, False),
    "vgg11": ("03_vgg", lambda ch: ch["vgg"](ch["CONFIGS"]["A"]), torchvision.models.vgg11, True),
    "vgg16": ("03_vgg", lambda ch: ch["vgg"](ch["CONFIGS"]["D"]), torchvision.models.vgg16, True),
    "resnet18": ("05_resnet", lambda ch: ch["resnet"]("resnet18"), torchvision.models.resnet18, False),
    "resnet50": ("05_resnet", lambda ch: ch["resnet"]("resnet50"), torchvision.models.resnet50, False),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_chapter_model_takes_torchvision_weights(chapters, name):
    chapter, build, torchvision_model, rename = NETWORKS[name]
    theirs = as_if_trained(torchvision_model(weights=None))
    with torch.device("meta"):  # shapes only: drawing ours' random weights would be thrown away (seconds for VGG)
        ours = build(chapters[chapter])
    state = rename_like(theirs.state_dict(), ours) if rename else theirs.state_dict()
    ours.load_state_dict(state, strict=True, assign=True)  # assign: take the tensors themselves, off the meta device
    image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(image), theirs(image), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transform_input", [False, True])
def test_googlenet_variant_takes_torchvision_weights(chapters, transform_input):
    ours, theirs = googlenet_pair(chapters["04_googlenet"], transform_input)
    as_if_trained(theirs)
    ours.load_state_dict(rename_like(theirs.state_dict(), ours), strict=True)
    image = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(image), theirs(image), rtol=1e-5, atol=1e-5)


def test_googlenet_skips_the_auxiliary_heads_of_the_weights_file(chapters):
    ours, _ = googlenet_pair(chapters["04_googlenet"], True)
    with_aux = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    with pytest.raises(ValueError, match="tensors"):
        rename_like(with_aux.state_dict(), ours)
    ours.load_state_dict(rename_like(with_aux.state_dict(), ours, skip=("aux1.", "aux2.")), strict=True)


def test_rename_like_refuses_layers_in_another_order():
    ours = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1))
    theirs = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match=r"0.weight \(4, 4, 1, 1\) would become 0.weight \(4, 3, 3, 3\)"):
        rename_like(theirs.state_dict(), ours)
    with pytest.raises(ValueError, match="would become"):  # same shapes, but a bias where a weight should be
        rename_like({"a.bias": torch.zeros(4), "a.weight": torch.zeros(4)}, nn.BatchNorm2d(4, track_running_stats=False))


RESNET18 = torchvision.models.ResNet18_Weights.IMAGENET1K_V1


def test_offline_the_cell_says_so_in_one_line(chapters, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))  # the hub cache (TORCH_HOME) lies under the home folder

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    assert what_it_sees(chapters["05_resnet"]["resnet"]("resnet18"), RESNET18) is None
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "Colab" in said, said
    # where to put the file, as the reader would type it: no path of the machine that built the page
    assert f" to ~/torch/hub/checkpoints/{weights_file(RESNET18).name}." in said and str(tmp_path) not in said, said
    with pytest.raises(WeightsUnavailableError, match="name resolution"):
        fetch_state_dict(RESNET18)


def test_loading_path_reads_a_weights_file_in_the_hub_cache(chapters, capsys):
    reference = as_if_trained(torchvision.models.resnet18(weights=None))
    path = weights_file(RESNET18)  # under the test's TORCH_HOME
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)  # the format torchvision's files have: a plain state dict
    ours = chapters["05_resnet"]["resnet"]("resnet18")
    seen = what_it_sees(ours, RESNET18)
    assert set(seen) == {"chelsea", "coffee", "astronaut", "rocket"}
    assert all(len(classes) == 5 for classes in seen.values())
    assert seen == top_classes(reference, RESNET18, pytest.importorskip("utils.pretrained").sample_photos())
    assert capsys.readouterr().out.count("\n") == 4  # one line per photo
    for ours_tensor, reference_tensor in zip(ours.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(ours_tensor, reference_tensor)


def test_wrong_weights_and_wrong_networks_get_clear_errors(chapters):
    with pytest.raises(TypeError, match="Weights enum"):
        fetch_state_dict("resnet18")
    path = weights_file(RESNET18)
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match="num_classes=1000"):
        load_pretrained(chapters["05_resnet"]["resnet"]("resnet18", num_classes=10), RESNET18, rename=True)


def test_chapter_code_takes_definitions_only(tmp_path):
    from tools.chapter_code import chapter_definitions, definition_source

    chapter = tmp_path / "99_toy.md"
    chapter.write_text(
        "# Toy\n\n```{code-cell} ipython3\nimport math\nWIDTHS = (1, 2)\nnet = train_for_hours()\nfit_for_days()\n\n"
        "def area(r):\n    return math.pi * r * r\n```\n\n"
        "```{code-cell} ipython3\n:tags: [solution]\n\ndef answer():\n    return 42\n```\n"
    )
    source = definition_source(chapter)
    assert "train_for_hours" not in source and "fit_for_days" not in source and "answer" not in source
    namespace = chapter_definitions(chapter)
    assert namespace["WIDTHS"] == (1, 2) and namespace["area"](1) == pytest.approx(3.14159, rel=1e-5)
    with pytest.raises(FileNotFoundError, match="03_vgg"):
        definition_source("99_nothing")
