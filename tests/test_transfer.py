"""Fine-tuning (utils.transfer) and the photo folders that feed it (utils.photos), offline."""
import copy
import sys
import types
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import make_batches
from tools.chapter_code import chapter_definitions
from utils.photos import photo_folder, splits, unzip
from utils.transfer import class_subset, confusion_matrix, fine_tune, replace_head


def small_net(num_classes=4):
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                         nn.Flatten(), nn.Linear(32, num_classes))


def test_fine_tune_trains_only_the_new_head_first_then_everything(toy_data, monkeypatch):
    import utils.transfer as transfer

    train_iter, val_iter = toy_data
    torch.manual_seed(0)
    net = small_net(num_classes=7)  # "pretrained" on 7 classes; the toy data has 4
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    seen = []
    real_train = transfer.train

    def spy(net, *args, **kwargs):  # which parameters can learn in each phase
        seen.append({name for name, p in net.named_parameters() if p.requires_grad})
        return real_train(net, *args, **kwargs)

    monkeypatch.setattr(transfer, "train", spy)
    phases = fine_tune(net, train_iter, val_iter, head="5", head_epochs=2, full_epochs=2, lr=0.1,
                       test_iter=val_iter, plot=False, device="cpu")
    assert seen == [{"5.weight", "5.bias"}, {name for name, _ in net.named_parameters()}]
    assert net[5].out_features == 4
    assert torch.equal(net[0].weight, before["0.weight"]) is False  # phase 2 moved the backbone
    assert all(p.requires_grad for p in net.parameters())
    assert phases.frozen.epochs == 2 and phases.full.epochs == 2
    assert phases.full_test_acc == max(phases.full.val_acc)  # kept the best epoch, measured on the same data here


def test_the_frozen_phase_leaves_the_backbone_weights_alone(toy_data):
    train_iter, val_iter = toy_data
    net = small_net()
    before = net[0].weight.detach().clone()
    phases = fine_tune(net, train_iter, val_iter, head="5", head_epochs=2, full_epochs=0, lr=0.1, plot=False,
                       device="cpu")
    assert torch.equal(net[0].weight, before) and phases.full is None and phases.frozen_test_acc is None


def test_replace_head_names_the_fix():
    with pytest.raises(ValueError, match=r"no layer 'fc'.*\['5'\]"):
        replace_head(small_net(), "fc", 3)
    with pytest.raises(ValueError, match="not an nn.Linear"):
        replace_head(small_net(), "0", 3)
    with pytest.raises(ValueError, match="keep_best"):
        fine_tune(small_net(), make_batches(), make_batches(), head="5", head_epochs=1, full_epochs=1, lr=0.1,
                  keep_best=False)


def test_class_subset_picks_and_relabels():
    batches = make_batches(n=256)
    subset = class_subset(batches, [3, 1], per_class=5)
    assert subset.classes == ["bottom-right", "top-right"] and subset.num_examples == 10
    assert sorted(subset.labels.tolist()) == [0] * 5 + [1] * 5
    originals = {3: 0, 1: 1}
    for original, new in originals.items():  # the images of new label k are those of the k-th class given
        images = subset.images[subset.labels == new]
        assert all((batches.images[batches.labels == original] == image).all(dim=(1, 2, 3)).any() for image in images)
    with pytest.raises(ValueError, match="has"):
        class_subset(batches, [0], per_class=10_000)
    with pytest.raises(ValueError, match="indices"):
        class_subset(batches, [4])


def test_confusion_matrix_counts_true_by_predicted():
    class Constant(nn.Module):  # always predicts class 2
        def forward(self, x):
            return torch.tensor([0.0, 0.0, 1.0, 0.0]).expand(len(x), 4)

    batches = make_batches(n=64, shuffle=False)
    matrix = confusion_matrix(Constant(), batches)
    counts = np.bincount(batches.labels.numpy(), minlength=4)
    assert (matrix[:, 2] == counts).all() and matrix.sum() == 64


def write_photos(root, classes=("cat", "dog"), n=5):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (12, 12), (40 * i, 0, 0)).save(root / name / f"{i}.png")


def test_photo_folder_unzips_a_zipped_folder_and_checks_it(tmp_path, capsys):
    write_photos(tmp_path / "src" / "pets")
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (tmp_path / "src").rglob("*.png"):
            z.write(path, path.relative_to(tmp_path / "src"))
    root = photo_folder(archive, into=tmp_path / "out")
    assert root == tmp_path / "out" / "pets"  # the zip's one folder is entered
    assert "cat (5), dog (5)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not a zip"):
        unzip(b"no zip", tmp_path / "bad")
    with pytest.raises(ValueError, match="Uploading is for Colab"):
        photo_folder()
    with pytest.raises(ValueError, match="at least two|one class folder"):
        (tmp_path / "one" / "cat").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "one" / "cat" / "a.png")
        photo_folder(tmp_path / "one")


def test_photo_folder_takes_a_colab_upload(tmp_path, monkeypatch):
    write_photos(tmp_path / "src")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (tmp_path / "src").rglob("*.png"):
            z.write(path, path.relative_to(tmp_path / "src"))
    files = types.SimpleNamespace(upload=lambda: {"upload.zip": archive.read_bytes()})
    colab = types.ModuleType("google.colab")
    colab.files = files
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    root = photo_folder(into=tmp_path / "uploaded")
    assert sorted(p.name for p in root.iterdir()) == ["cat", "dog"]


def test_splits_hold_out_validation_images_and_keep_the_test_folder(tmp_path):
    write_photos(tmp_path / "flat", n=10)
    train_iter, val_iter, test_iter = splits(tmp_path / "flat", batch_size=4, resize=8)
    assert (train_iter.num_examples, val_iter.num_examples, test_iter) == (16, 4, None)
    write_photos(tmp_path / "both" / "train", n=10)
    write_photos(tmp_path / "both" / "test", n=3)
    train_iter, val_iter, test_iter = splits(tmp_path / "both", batch_size=4, resize=8)
    assert (train_iter.num_examples, val_iter.num_examples, test_iter.num_examples) == (16, 4, 6)
    assert val_iter.split == "validation"


def test_googlenet_chapter_reads_grey_images_on_three_channels_as_on_one():
    """The GoogLeNet chapter fine-tunes a network pretrained on 1-channel images on a folder read as RGB:
    its read_three_channels must make the network compute on (grey) RGB what it computed on grey."""
    ch = chapter_definitions("04_googlenet")
    torch.manual_seed(0)
    grey_net = ch["GoogLeNet"](num_classes=6, aux_heads=False, width=0.25).eval()
    rgb_net = ch["read_three_channels"](copy.deepcopy(grey_net)).eval()
    x = torch.randn(2, 1, 64, 64)
    assert rgb_net.body.stem[0][0].in_channels == 3 and grey_net.body.stem[0][0].in_channels == 1
    with torch.no_grad():
        torch.testing.assert_close(rgb_net(x.expand(-1, 3, -1, -1)), grey_net(x), rtol=1e-4, atol=1e-5)
