"""load_data: real Fashion-MNIST batches, quick mode, and errors that name the fix."""
import gzip
import math

import pytest
import torch

import utils.data as data
import utils.fashion_mnist as fashion_mnist
from conftest import readme_quick_numbers
from utils import FASHION_MNIST_CLASSES, DataUnavailableError, load_data


@pytest.fixture(scope="module")
def full_batches():
    return load_data(256, device="cpu")


def test_batches_have_expected_shapes_dtypes_and_lengths(full_batches):
    train_iter, test_iter = full_batches
    images, labels = next(iter(train_iter))
    assert images.shape == (256, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (256,) and labels.dtype == torch.int64
    assert train_iter.num_examples == 60_000 and test_iter.num_examples == 10_000
    assert len(train_iter) == math.ceil(60_000 / 256) and len(test_iter) == math.ceil(10_000 / 256)
    assert sum(len(y) for _, y in test_iter) == 10_000  # the last, smaller batch is kept


def test_class_names_are_exposed(full_batches):
    train_iter, test_iter = full_batches
    assert train_iter.classes == test_iter.classes == list(FASHION_MNIST_CLASSES)
    assert len(train_iter.classes) == 10


def test_images_are_normalized_to_zero_mean_unit_std(full_batches):
    train_iter, _ = full_batches
    images = torch.cat([x for x, _ in train_iter])
    assert abs(images.mean().item()) < 1e-3
    assert abs(images.std().item() - 1) < 1e-3


def test_training_order_is_shuffled_and_reproducible(full_batches):
    train_iter, test_iter = full_batches
    torch.manual_seed(0)
    first = next(iter(train_iter))[1]
    torch.manual_seed(0)
    assert torch.equal(first, next(iter(train_iter))[1])
    assert not torch.equal(first, next(iter(train_iter))[1])
    assert torch.equal(next(iter(test_iter))[1], next(iter(test_iter))[1])  # test order is fixed


def test_resize_changes_size_and_keeps_content():
    plain, _ = load_data(16, device="cpu")
    resized, _ = load_data(16, resize=56, device="cpu")
    torch.manual_seed(1)
    small, labels = next(iter(plain))
    torch.manual_seed(1)
    big, same_labels = next(iter(resized))
    assert big.shape == (16, 1, 56, 56) and torch.equal(labels, same_labels)
    # Downsampling the upsampled images by 2x2 averaging gives back roughly the originals.
    assert (torch.nn.functional.avg_pool2d(big, 2) - small).abs().mean() < 0.1
    rect, _ = load_data(4, resize=(32, 48), device="cpu")
    assert next(iter(rect))[0].shape == (4, 1, 32, 48)


def test_quick_mode_uses_a_small_fixed_subset(monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    monkeypatch.setattr(data, "note_once", print)
    train_iter, test_iter = load_data(64, device="cpu")
    assert train_iter.num_examples == data.QUICK_TRAIN_SIZE and test_iter.num_examples == data.QUICK_TEST_SIZE
    assert "Quick mode" in capsys.readouterr().out
    again, _ = load_data(64, device="cpu")
    assert torch.equal(train_iter.labels, again.labels)


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, "8", True])
def test_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        load_data(batch_size)


@pytest.mark.parametrize("resize", [0, -1, (28,), (28, 0), "big", 224.5])
def test_bad_resize_is_refused(resize):
    with pytest.raises(ValueError, match="resize must be"):
        load_data(8, resize=resize)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar-10'. Valid names: fashion-mnist"):
        load_data(8, dataset="cifar-10")


def test_missing_data_offline_names_both_ways_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian-copy")

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr("torchvision.datasets.FashionMNIST", offline)
    with pytest.raises(DataUnavailableError) as caught:
        fashion_mnist.prepare_fashion_mnist(tmp_path / "empty")
    message = str(caught.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "torchvision downloads it" in message and "download failed" in message


def test_debian_copy_is_unpacked_into_the_data_root(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    debian.mkdir()
    for name in fashion_mnist.RAW_FILES:
        with gzip.open(debian / f"{name}.gz", "wb") as file:
            file.write(name.encode())
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", debian)
    raw = fashion_mnist.prepare_fashion_mnist(tmp_path / "root", download=False)
    assert raw == tmp_path / "root" / "FashionMNIST" / "raw"
    assert [(raw / name).read_text() for name in fashion_mnist.RAW_FILES] == list(fashion_mnist.RAW_FILES)


def test_data_root_follows_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "env"))
    assert fashion_mnist.data_root() == tmp_path / "env"
    assert fashion_mnist.data_root(tmp_path / "arg") == tmp_path / "arg"


def test_damaged_files_give_a_clear_error(tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in fashion_mnist.RAW_FILES:
        (raw / name).write_bytes(b"not an idx file")
    with pytest.raises(DataUnavailableError, match="damaged.*Delete that folder"):
        fashion_mnist.read_split(fashion_mnist.prepare_fashion_mnist(tmp_path), True)


def test_train_size_keeps_a_fixed_subset_and_leaves_the_test_set_whole():
    train_iter, test_iter = load_data(100, train_size=1000, device="cpu")
    again, _ = load_data(100, train_size=1000, device="cpu")
    assert train_iter.num_examples == 1000 and test_iter.num_examples == 10_000
    assert torch.equal(train_iter.labels, again.labels)
    with pytest.raises(ValueError, match="train_size must be a positive int"):
        load_data(100, train_size=0)


def test_a_validation_set_is_held_out_of_the_training_images():
    train_iter, val_iter, test_iter = load_data(500, val_size=5000, device="cpu")
    assert (train_iter.split, val_iter.split, test_iter.split) == ("train", "validation", "test")
    assert (train_iter.num_examples, val_iter.num_examples, test_iter.num_examples) == (55_000, 5000, 10_000)
    assert train_iter.shuffle and not val_iter.shuffle and val_iter.classes == list(FASHION_MNIST_CLASSES)
    # Together the two are exactly the 60,000 training images: a partition, no image in both.
    fingerprint = torch.randn(28 * 28, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def prints(images):
        return sorted((images.reshape(len(images), -1).double() @ fingerprint).tolist())

    full, full_test = load_data(500, device="cpu")
    assert prints(torch.cat([train_iter.images, val_iter.images])) == prints(full.images)
    # The test set is untouched by val_size: the same images, in the same order.
    assert torch.equal(test_iter.images, full_test.images) and torch.equal(test_iter.labels, full_test.labels)
    again = load_data(500, val_size=5000, train_size=1000, device="cpu")
    assert torch.equal(again[1].images, val_iter.images)  # the same images every time, whatever train_size
    assert again[0].num_examples == 1000
    with pytest.raises(ValueError, match="leaves no training images"):
        load_data(8, val_size=60_000)


def test_numpy_integers_are_accepted_and_floats_get_a_hint():
    numpy = pytest.importorskip("numpy")
    train_iter, _ = load_data(numpy.int64(64), resize=numpy.int32(14), train_size=numpy.int64(128), device="cpu")
    assert train_iter.batch_size == 64 and type(train_iter.batch_size) is int and train_iter.image_shape == (1, 14, 14)
    with pytest.raises(ValueError, match="batch_size=64"):
        load_data(64.0)
    with pytest.raises(ValueError, match="resize=224"):
        load_data(8, resize=224.0)


def fake_debian_copy(folder, truncate=None):
    folder.mkdir()
    for name in fashion_mnist.RAW_FILES:
        with gzip.open(folder / f"{name}.gz", "wb") as file:
            file.write(name.encode() * 1000)
        if name == truncate:
            whole = (folder / f"{name}.gz").read_bytes()
            (folder / f"{name}.gz").write_bytes(whole[: len(whole) // 2])
    return folder


def test_an_unwritable_data_folder_names_root_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", fake_debian_copy(tmp_path / "debian"))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DataUnavailableError, match="Cannot write.*root=.*CNN_COURSE_DATA"):
        fashion_mnist.prepare_fashion_mnist(tmp_path / "a-file")


def test_a_truncated_debian_file_names_the_file_and_leaves_no_half_output(tmp_path, monkeypatch):
    debian = fake_debian_copy(tmp_path / "debian", truncate="t10k-images-idx3-ubyte")
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", debian)
    for attempt in range(2):  # the second try fails the same clear way, not on a half-written file
        with pytest.raises(DataUnavailableError, match="t10k-images-idx3-ubyte.gz is damaged.*--reinstall"):
            fashion_mnist.prepare_fashion_mnist(tmp_path / "root", download=False)
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    assert not (raw / "t10k-images-idx3-ubyte").exists() and not list(raw.glob("*.partial"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", fake_debian_copy(tmp_path / "fixed"))
    assert fashion_mnist.prepare_fashion_mnist(tmp_path / "root", download=False) == raw  # repaired, it works


def test_the_class_names_are_in_the_order_of_the_label_numbers():
    assert FASHION_MNIST_CLASSES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def test_quick_mode_subsets_are_fixed_sized_and_keep_validation_apart(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    first, again = load_data(64, val_size=1000, device="cpu"), load_data(64, val_size=1000, device="cpu")
    train_size, val_size, test_size = readme_quick_numbers(r"\(([\d,]+) training,\s+([\d,]+) validation and ([\d,]+) test images\)")
    assert [batches.num_examples for batches in first] == [train_size, val_size, test_size]  # the README's sizes
    assert all(torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) for a, b in zip(first, again))
    fingerprint = torch.randn(28 * 28, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    train_prints, val_prints = ({round(v, 6) for v in (b.images.reshape(len(b.images), -1).double() @ fingerprint).tolist()}
                                for b in first[:2])
    assert not train_prints & val_prints  # no validation image is trained on
    monkeypatch.delenv("CNN_COURSE_QUICK")
    full, _ = load_data(64, train_size=64, device="cpu")
    # Normalized with the statistics of all training images, as in full mode.
    assert first[0].mean == full.mean and first[0].std == full.std
