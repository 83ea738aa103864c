"""Plumbing shared by the chapters: data, training loop, devices and results.

The models themselves live in the chapters, where the learning happens. To read this package,
start with training.py (`train`: the LeNet chapter's loop plus named extras), data.py
(`load_data`) and runtime.py (devices, seeds, quick mode). The rest are the extras they call:
checks.py (arguments and data checked before training, errors that name the fix),
fashion_mnist.py (finding or downloading the files), checkpoint.py (resuming), live.py (plot and
progress bar), results.py and profile.py (what the comparison chapter reads), folders.py and
predict.py (your own images), inspect_cnn.py (saliency, occlusion, CAM and Grad-CAM for chapter 7).
Imported by name where needed, not here: networks/ (the five networks, copied from chapters 1-5),
pretrained.py (torchvision's ImageNet weights in the chapters' models), transfer.py (fine-tuning),
photos.py (photo folders to fine-tune on: uploads, Google Drive, Flowers-102), distributed.py and
ddp_train.py (data-parallel training under torchrun).
"""
# The course's one version number (semantic versioning; see CHANGELOG.md). The package metadata reads
# it from here, the Colab cells pin the matching tag, and results files record it.
__version__ = "0.2.0.dev0"

from .checkpoint import CheckpointError
from .data import FASHION_MNIST_CLASSES, TensorBatches, load_data
from .fashion_mnist import DataUnavailableError, prepare_fashion_mnist
from .folders import FolderBatches, load_folder
from .predict import load_class_mapping, predict, save_class_mapping
from .profile import activation_bytes, conv_map_sizes, count_macs
from .results import load_results, load_weights, results_dir, save_results, stored_weights
from .runtime import describe_device, is_quick, set_seed, try_gpu
from .torchinfo_units import fix_torchinfo_units
from .training import History, evaluate_accuracy, train

fix_torchinfo_units()  # every chapter imports utils before it prints a torchinfo summary

__all__ = [
    "__version__", "FASHION_MNIST_CLASSES", "CheckpointError", "DataUnavailableError", "FolderBatches", "History", "TensorBatches",
    "activation_bytes", "conv_map_sizes", "count_macs", "describe_device", "evaluate_accuracy", "is_quick", "load_class_mapping",
    "load_data", "load_folder", "load_results", "load_weights", "predict", "prepare_fashion_mnist", "results_dir", "save_results",
    "save_class_mapping", "set_seed", "stored_weights", "train", "try_gpu",
]
