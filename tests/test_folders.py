"""Image folders: both layouts, the transforms, errors that name the fix, class mappings and predict."""
import json
import math
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T
from torchvision.datasets import ImageFolder

from utils import FASHION_MNIST_CLASSES, FolderBatches, load_class_mapping, load_data, load_folder, predict, save_class_mapping, train
from utils.folders import IMAGENET_MEAN, IMAGENET_STD

COLOURS = {"blue": (20, 30, 220), "green": (30, 200, 40), "red": (220, 30, 20)}


def write_images(folder, counts, size=(12, 10), suffix=".png"):
    """`counts[name]` small solid-colour images (plus a little noise) in folder/<name>/."""
    generator = torch.Generator().manual_seed(0)
    for name, count in counts.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            noise = torch.randint(-15, 16, (size[1], size[0], 3), generator=generator)
            pixels = (torch.tensor(COLOURS.get(name, (128, 128, 128))) + noise).clamp(0, 255).to(torch.uint8)
            Image.fromarray(pixels.numpy()).save(folder / name / f"{name}_{i}{suffix}")
    return folder


@pytest.fixture
def split_root(tmp_path):
    write_images(tmp_path / "train", {"red": 7, "blue": 5})
    write_images(tmp_path / "test", {"red": 3, "blue": 2})
    return tmp_path


@pytest.fixture
def single_root(tmp_path):
    return write_images(tmp_path / "photos", {"red": 10, "blue": 10, "green": 10})


def files_of(batches):
    """The image files behind a FolderBatches (a Subset of them when train_size kept some)."""
    dataset = batches.dataset
    if hasattr(dataset, "indices"):  # a Subset kept by train_size
        return {dataset.dataset.samples[i][0] for i in dataset.indices}
    return {path for path, _ in dataset.samples}


# --- layouts -------------------------------------------------------------------------------------

def test_files_are_listed_in_imagefolders_order_in_both_layouts(single_root, split_root):
    """Same files in the same order as ImageFolder (folder by folder, then by name): `train_size`
    and the shuffled order of a seed depend on it, and so do a chapter's stored numbers."""
    for root in (single_root, split_root / "train"):
        write_images(root / "red" / "a", {"more": 2})  # a sub-folder that sorts before the files beside it
        write_images(root / "red", {"b": 1})  # red/b/b_0.png
    layouts = {single_root: (single_root, single_root), split_root: (split_root / "train", split_root / "test")}
    for root, folders in layouts.items():
        for batches, folder in zip(load_folder(root, 4, resize=8), folders):
            reference = ImageFolder(str(folder), is_valid_file=files_of(batches).__contains__)
            assert batches.dataset.samples == reference.samples and batches.dataset.targets == reference.targets
    assert any("/red/a/" in path for path, _ in load_folder(split_root, 4, resize=8)[0].dataset.samples)


def test_train_test_layout_exposes_classes_mapping_and_lengths(split_root):
    train_iter, test_iter = load_folder(split_root, batch_size=3, resize=16)
    assert isinstance(train_iter, DataLoader) and isinstance(train_iter, FolderBatches)
    # The dataset lists and numbers the files as torchvision's ImageFolder would (its attributes too).
    reference, ours = ImageFolder(str(split_root / "train")), train_iter.dataset
    assert (ours.classes, ours.class_to_idx, ours.samples, ours.targets) == (
        reference.classes, reference.class_to_idx, reference.samples, reference.targets)
    assert train_iter.classes == test_iter.classes == ["blue", "red"]
    assert train_iter.class_to_idx == test_iter.class_to_idx == {"blue": 0, "red": 1}
    assert train_iter.num_examples == 12 and test_iter.num_examples == 5
    assert len(train_iter) == math.ceil(12 / 3) and len(test_iter) == math.ceil(5 / 3)
    images, labels = next(iter(train_iter))
    assert images.shape == (3, 3, 16, 16) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert sorted(label for _, y in test_iter for label in y.tolist()) == [0, 0, 1, 1, 1]
    assert "12 images of 2 classes" in repr(train_iter)


def test_val_folder_is_accepted_as_the_test_split(tmp_path):
    write_images(tmp_path / "train", {"red": 3, "blue": 3})
    write_images(tmp_path / "val", {"red": 2, "blue": 1})
    _, test_iter = load_folder(tmp_path, 4, resize=8)
    assert test_iter.num_examples == 3 and all("/val/" in path for path in files_of(test_iter))


def test_single_folder_is_split_per_class_with_a_fixed_seed(single_root):
    train_iter, test_iter = load_folder(single_root, 8, resize=8, test_fraction=0.2, seed=0)
    train_files, test_files = files_of(train_iter), files_of(test_iter)
    assert len(train_files) == 24 and len(test_files) == 6 and not train_files & test_files
    assert len(train_files | test_files) == 30
    labels = sorted(y for _, y in test_iter.dataset.samples)
    assert labels == [0, 0, 1, 1, 2, 2]  # two test images of each class
    again, same_test = load_folder(single_root, 8, resize=8, test_fraction=0.2, seed=0)
    assert files_of(same_test) == test_files and files_of(again) == train_files
    _, other = load_folder(single_root, 8, resize=8, test_fraction=0.2, seed=1)
    assert files_of(other) != test_files


def test_train_size_keeps_a_fixed_subset(single_root):
    train_iter, test_iter = load_folder(single_root, 4, resize=8, train_size=10)
    again, _ = load_folder(single_root, 4, resize=8, train_size=10)
    assert train_iter.num_examples == 10 and test_iter.num_examples == 6
    assert files_of(train_iter) == files_of(again)
    with pytest.raises(ValueError, match="train_size must be a positive int"):
        load_folder(single_root, 4, train_size=0)


def test_load_data_takes_a_folder_path_as_str_or_pathlike(split_root):
    for dataset in (split_root, str(split_root)):
        train_iter, test_iter = load_data(4, resize=16, dataset=dataset)
        assert isinstance(train_iter, FolderBatches) and train_iter.classes == ["blue", "red"]
        assert next(iter(test_iter))[0].shape == (4, 3, 16, 16)


def test_load_data_names_folders_in_the_unknown_dataset_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset 'cifar-10'. Valid names: fashion-mnist; or the path of an image folder"):
        load_data(8, dataset="cifar-10")
    with pytest.raises(ValueError, match="there is no folder .*missing"):
        load_data(8, dataset=str(tmp_path / "missing"))


def test_default_size_is_224_and_a_height_width_pair_works(split_root):
    train_iter, test_iter = load_folder(split_root, 2)
    assert next(iter(train_iter))[0].shape[-2:] == (224, 224) and test_iter.image_shape == (3, 224, 224)
    train_iter, test_iter = load_folder(split_root, 2, resize=(8, 12))
    assert next(iter(train_iter))[0].shape[-2:] == next(iter(test_iter))[0].shape[-2:] == (8, 12)


# --- transforms ----------------------------------------------------------------------------------

def test_training_images_are_augmented_and_both_splits_share_size_and_normalization(split_root):
    train_iter, test_iter = load_folder(split_root, 4, resize=16)
    train_steps = train_iter.dataset.transform.transforms
    test_steps = test_iter.dataset.transform.transforms
    kinds = [type(step) for step in train_steps]
    assert T.RandomResizedCrop in kinds and T.RandomHorizontalFlip in kinds
    crop = next(step for step in train_steps if isinstance(step, T.RandomResizedCrop))
    centre = next(step for step in test_steps if isinstance(step, T.CenterCrop))
    assert tuple(crop.size) == tuple(centre.size) == (16, 16)
    train_norm, test_norm = (next(s for s in steps if isinstance(s, T.Normalize)) for steps in (train_steps, test_steps))
    assert tuple(train_norm.mean) == tuple(test_norm.mean) == IMAGENET_MEAN
    assert tuple(train_norm.std) == tuple(test_norm.std) == IMAGENET_STD


def test_an_image_of_the_mean_colour_normalizes_to_zero(tmp_path):
    mean_colour = tuple(round(255 * m) for m in IMAGENET_MEAN)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (20, 14), mean_colour).save(tmp_path / name / f"{i}.png")
    _, test_iter = load_folder(tmp_path, 2, resize=8, test_fraction=0.5)
    images, _ = next(iter(test_iter))
    assert images.abs().max() < 0.02


def test_grayscale_and_rgba_images_become_three_channels(tmp_path):
    for name, mode in (("gray", "L"), ("rgba", "RGBA")):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new(mode, (9, 9)).save(tmp_path / name / f"{i}.png")
    train_iter, _ = load_folder(tmp_path, 6, resize=8)
    assert next(iter(train_iter))[0].shape == (4, 3, 8, 8)


# --- errors that name the fix --------------------------------------------------------------------

def test_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="There is no folder .*nowhere"):
        load_folder(tmp_path / "nowhere", 4)
    with pytest.raises(FileNotFoundError, match="There is no folder"):
        load_data(4, dataset=tmp_path / "nowhere")  # a PathLike is always taken as a folder


def test_images_without_class_folders_are_refused(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "loose.png")
    with pytest.raises(ValueError, match="no class sub-folders.*<class name>/<image>"):
        load_folder(tmp_path, 4)


def test_a_class_folder_without_images_is_named(tmp_path):
    write_images(tmp_path, {"red": 3})
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="class folder .*empty holds no readable images.*delete the folder"):
        load_folder(tmp_path, 4)


def test_unreadable_and_non_image_files_are_skipped_with_a_warning_naming_them(single_root):
    (single_root / "red" / "notes.txt").write_text("not an image")
    (single_root / "blue" / "fake.png").write_bytes(b"this is no PNG")
    truncated = single_root / "green" / "truncated.png"
    noise = torch.randint(0, 256, (64, 64, 3), dtype=torch.uint8).numpy()
    Image.fromarray(noise).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])  # the header survives, the pixels do not
    with pytest.warns(UserWarning, match="Skipped 3 file") as caught:
        train_iter, test_iter = load_folder(single_root, 4, resize=8)
    message = str(caught[0].message)
    assert "notes.txt" in message and "fake.png" in message and "truncated.png" in message
    assert train_iter.num_examples + test_iter.num_examples == 30
    assert sum(len(y) for _, y in train_iter) == 24  # a whole epoch: no crash inside PIL


def test_hidden_files_and_folders_are_ignored_silently(single_root):
    (single_root / ".ipynb_checkpoints").mkdir()
    (single_root / "red" / ".DS_Store").write_bytes(b"\0\1")
    (single_root / "red" / ".cache").mkdir()
    (single_root / "red" / ".cache" / "x.txt").write_text("junk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_iter, _ = load_folder(single_root, 4, resize=8)
    assert train_iter.classes == ["blue", "green", "red"]


def test_train_and_test_with_different_classes_are_refused(tmp_path):
    write_images(tmp_path / "train", {"red": 2, "blue": 2})
    write_images(tmp_path / "test", {"red": 2, "green": 2})
    with pytest.raises(ValueError, match=r"different class folders \(only in train: \['blue'\], only in test: \['green'\]\)"):
        load_folder(tmp_path, 4)


def test_train_without_test_folder_is_refused(tmp_path):
    write_images(tmp_path / "train", {"red": 2, "blue": 2})
    with pytest.raises(ValueError, match="no test/ or val/ folder"):
        load_folder(tmp_path, 4)


def test_split_needs_two_images_per_class_and_a_sensible_fraction(tmp_path):
    write_images(tmp_path, {"red": 5, "blue": 1})
    with pytest.raises(ValueError, match="'blue' has 1 image; it needs at least 2"):
        load_folder(tmp_path, 4)
    write_images(tmp_path, {"blue": 4})
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        load_folder(tmp_path, 4, test_fraction=1.0)


# --- class mapping and predict -------------------------------------------------------------------

def colour_net():
    """A hand-set classifier for classes ['blue', 'red']: the mean blue or red channel wins."""
    net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad():
        net[2].weight.copy_(torch.tensor([[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]))
        net[2].bias.zero_()
    return net


def test_class_mapping_is_saved_next_to_the_checkpoint(split_root, tmp_path):
    train_iter, _ = load_folder(split_root, 4, resize=16)
    path = save_class_mapping(train_iter, tmp_path / "runs" / "model.pt")
    assert path == tmp_path / "runs" / "model.classes.json"
    saved = json.loads(path.read_text())
    assert saved["classes"] == ["blue", "red"] and saved["class_to_idx"] == {"blue": 0, "red": 1}
    assert saved["image_size"] == [16, 16] and saved["mean"] == list(IMAGENET_MEAN)
    assert load_class_mapping(path) == saved
    (tmp_path / "other.json").write_text('{"classes": ["a"]}')
    with pytest.raises(ValueError, match="not a class mapping written by save_class_mapping"):
        load_class_mapping(tmp_path / "other.json")


def test_predict_labels_image_files(split_root, tmp_path):
    train_iter, _ = load_folder(split_root, 4, resize=16)
    mapping = save_class_mapping(train_iter, tmp_path / "model.pt")
    new = write_images(tmp_path / "new", {"red": 2, "blue": 2})
    files = sorted((new / "red").iterdir()) + sorted((new / "blue").iterdir())
    net = colour_net().train()
    predictions = predict(net, mapping, files)
    assert [p.label for p in predictions] == ["red", "red", "blue", "blue"]
    assert [p.path for p in predictions] == files and all(0.5 < p.probability <= 1 for p in predictions)
    assert net.training  # the mode is restored
    assert predict(net, json.loads(mapping.read_text()), files[0], batch_size=1)[0].label == "red"


def test_predict_from_a_checkpoint_written_by_train(split_root, tmp_path):
    torch.manual_seed(0)
    train_iter, test_iter = load_folder(split_root, 4, resize=8)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    train(net, train_iter, test_iter, 2, 0.05, checkpoint=tmp_path / "model.pt", plot=False, device="cpu")
    mapping = save_class_mapping(train_iter, tmp_path / "model.pt")
    files = sorted((split_root / "test" / "red").iterdir())
    fresh = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    from_checkpoint = predict(tmp_path / "model.pt", mapping, files, net=fresh)
    assert from_checkpoint == predict(net, mapping, files)
    with pytest.raises(TypeError, match="checkpoint holds weights only.*net=MyNet"):
        predict(tmp_path / "model.pt", mapping, files)


def test_predict_names_missing_and_unreadable_files(split_root, tmp_path):
    train_iter, _ = load_folder(split_root, 4, resize=8)
    mapping = save_class_mapping(train_iter, tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError, match="no image file .*gone.png"):
        predict(colour_net(), mapping, [tmp_path / "gone.png"])
    (tmp_path / "fake.jpg").write_bytes(b"no jpeg")
    with pytest.raises(ValueError, match="fake.jpg is not an image PIL can read"):
        predict(colour_net(), mapping, [tmp_path / "fake.jpg"])


# --- cases that used to fail silently or cryptically ----------------------------------------------

def test_a_one_class_folder_is_refused(tmp_path):
    write_images(tmp_path, {"red": 6})
    with pytest.raises(ValueError, match="one class folder \\(red\\); a classifier needs at least two"):
        load_folder(tmp_path, 4)


def test_sixteen_bit_png_images_keep_their_brightness(tmp_path):
    import numpy as np

    for name, level in (("dark", 0.25), ("light", 0.75)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), int(level * 65535), dtype=np.uint16)).save(tmp_path / name / f"{i}.png")
    assert Image.open(tmp_path / "dark" / "0.png").mode.startswith("I")  # really 16-bit on disk
    train_iter, _ = load_folder(tmp_path, 8, resize=8, mean=(0, 0, 0), std=(1, 1, 1))
    images, labels = next(iter(train_iter))
    for image, label in zip(images, labels):
        expected = 0.25 if train_iter.classes[label] == "dark" else 0.75
        assert image.mean().item() == pytest.approx(expected, abs=0.01)


def test_both_kinds_of_batches_describe_their_images_with_the_same_names_and_types(split_root):
    folder_iter, _ = load_folder(split_root, 4, resize=16)
    fashion_iter, _ = load_data(16, device="cpu", train_size=64)
    for batches, channels in ((folder_iter, 3), (fashion_iter, 1)):
        assert batches.image_shape == (channels, *next(iter(batches))[0].shape[-2:])
        assert type(batches.image_shape) is tuple and all(type(n) is int for n in batches.image_shape)
        for values in (batches.mean, batches.std):
            assert type(values) is tuple and len(values) == channels and all(type(v) is float for v in values)


def test_a_class_mapping_written_before_the_names_were_unified_still_serves(tmp_path):
    old = {"classes": list(FASHION_MNIST_CLASSES), "class_to_idx": {c: i for i, c in enumerate(FASHION_MNIST_CLASSES)},
           "channels": 1, "image_size": [28, 28], "mean": [0.28604060411453247], "std": [0.35302427411079407]}
    (tmp_path / "old.classes.json").write_text(json.dumps(old))
    train_iter, _ = load_data(16, device="cpu", train_size=64)
    new = json.loads(save_class_mapping(train_iter, tmp_path / "new.pt").read_text())
    assert new.keys() == old.keys()
    assert new["mean"] == pytest.approx(old["mean"]) and new["std"] == pytest.approx(old["std"])
    net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    image = Image.fromarray(train_iter.images[0, 0].numpy())
    assert predict(net, tmp_path / "old.classes.json", image) == predict(net, tmp_path / "new.classes.json", image)


def test_predict_serves_a_grayscale_fashion_mnist_model_and_pil_images_and_tensors(tmp_path):
    train_iter, test_iter = load_data(16, device="cpu", train_size=64)
    path = save_class_mapping(train_iter, tmp_path / "lenet.pt")
    mapping = load_class_mapping(path)
    assert mapping["channels"] == 1 and mapping["image_size"] == [28, 28] and len(mapping["classes"]) == 10
    net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))  # takes one channel only
    images, _ = next(iter(test_iter))
    from_tensor = predict(net, path, images)
    assert len(from_tensor) == 16 and from_tensor[0].path is None
    # The same image as a PIL image and as a file: preprocessed back into the same input.
    raw = test_iter.images[0, 0].numpy()
    pil = Image.fromarray(raw)
    pil.save(tmp_path / "item.png")
    by_pil, by_file = predict(net, path, pil)[0], predict(net, path, [tmp_path / "item.png"])[0]
    assert by_pil.label == by_file.label == from_tensor[0].label
    assert by_pil.probability == pytest.approx(from_tensor[0].probability, abs=1e-5)
    assert by_file.path == tmp_path / "item.png"
    with pytest.raises(TypeError, match="image files, PIL images or a preprocessed tensor"):
        predict(net, path, [42])


def toy_checkpoint(tmp_path, monkeypatch, keep_best, make_net=lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 4))):
    """A 3-epoch run on the toy data whose validation accuracy peaks in epoch 2; its net, mapping and images."""
    import utils.training as training
    from conftest import make_batches

    scripted = iter([0.5, 0.9, 0.7])
    monkeypatch.setattr(training, "evaluate_accuracy", lambda net, data_iter, device=None: next(scripted))
    train_iter, test_iter = make_batches(n=64), make_batches(n=32, shuffle=False)
    net = make_net()
    train(net, train_iter, test_iter, 3, 0.5, keep_best=keep_best, checkpoint=tmp_path / "toy.pt", device="cpu",
          plot=False)
    return net, save_class_mapping(train_iter, tmp_path / "toy.pt"), next(iter(test_iter))[0]


@pytest.mark.parametrize("keep_best, message", [(True, "epoch 2 (the best validation epoch)"), (False, None)])
def test_predict_from_a_checkpoint_uses_the_weights_train_left_in_the_network(tmp_path, monkeypatch, capsys,
                                                                             keep_best, message):
    net, mapping, images = toy_checkpoint(tmp_path, monkeypatch, keep_best)
    capsys.readouterr()
    fresh = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    assert predict(tmp_path / "toy.pt", mapping, images, net=fresh) == predict(net, mapping, images)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), net.state_dict().values()))
    # The last epoch's weights, as without a checkpoint, need no line. The line names the file, not its folder:
    # chapter 4 prints it, and its stored page must not show the build machine's temporary folder.
    assert capsys.readouterr().out == (f"Using the weights of {message} from toy.pt\n" if message else "")


def test_predict_refuses_a_network_with_another_number_of_classes(tmp_path):
    from conftest import make_batches

    mapping = save_class_mapping(make_batches(n=8), tmp_path / "toy.pt")  # 4 classes
    with pytest.raises(ValueError, match="outputs 6 scores per image but the class mapping has 4 classes"):
        predict(nn.Sequential(nn.Flatten(), nn.Linear(64, 6)), mapping, torch.zeros(2, 1, 8, 8))


def test_predict_names_the_fix_for_a_folder_a_state_dict_and_raw_pixels(tmp_path):
    from conftest import make_batches

    from utils import CheckpointError

    batches = make_batches(n=8)
    mapping = save_class_mapping(batches, tmp_path / "toy.pt")
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    with pytest.raises(ValueError, match=r"is a folder; pass its image files, e.g. sorted\(Path\(.*\).glob\('\*.jpg'\)\)"):
        predict(net, mapping, tmp_path)
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match=r"holds a state_dict.*net.load_state_dict\(torch.load\(.*and pass that net"):
        predict(tmp_path / "weights.pt", mapping, torch.zeros(1, 1, 8, 8), net=net)
    with pytest.raises(TypeError, match="torch.uint8 tensor of raw pixels; pass a preprocessed float batch"):
        predict(net, mapping, batches.images[:2])
    with pytest.raises(CheckpointError, match="is a folder; a checkpoint is a file in it"):
        predict(tmp_path, mapping, torch.zeros(1, 1, 8, 8), net=net)


def test_load_data_moves_a_folders_batches_to_device_and_refuses_root(split_root, tmp_path, monkeypatch):
    train_iter, _ = load_data(4, resize=8, dataset=split_root, device="cpu")
    assert train_iter.device == torch.device("cpu") and next(iter(train_iter))[0].device.type == "cpu"
    assert load_data(4, resize=8, dataset=split_root)[0].device is None  # default: train moves them
    on_meta, _ = load_folder(split_root, 4, resize=8, device=torch.device("meta"))  # a device that is not the CPU
    images, labels = next(iter(on_meta))
    assert images.device.type == labels.device.type == "meta" and images.shape == (4, 3, 8, 8)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' but this machine has no CUDA GPU"):
        load_data(4, dataset=split_root, device="cuda")
    with pytest.raises(ValueError, match="root applies to Fashion-MNIST; for an image folder, leave root out"):
        load_data(4, dataset=split_root, root=tmp_path)
    with pytest.raises(ValueError, match="val_size applies to Fashion-MNIST; for an image folder, put a val/ folder"):
        load_data(4, dataset=split_root, val_size=2)


def test_every_label_is_the_index_of_its_class_folder_in_classes(split_root, single_root):
    for root in (split_root, single_root):
        for batches in load_folder(root, 4, resize=8):
            dataset = batches.dataset
            assert batches.classes == sorted(batches.classes)  # alphabetical, as ImageFolder numbers them
            assert dataset.samples and all(Path(path).parent.name == batches.classes[label]
                                           for path, label in dataset.samples)


def test_predict_from_a_checkpoint_sizes_the_lazy_layers_of_a_fresh_network(tmp_path, monkeypatch):
    net, mapping, images = toy_checkpoint(tmp_path, monkeypatch, keep_best=False, make_net=lambda: nn.Sequential(
        nn.Flatten(), nn.LazyLinear(4)))
    fresh = nn.Sequential(nn.Flatten(), nn.LazyLinear(4))
    assert predict(tmp_path / "toy.pt", mapping, images, net=fresh) == predict(net, mapping, images)
