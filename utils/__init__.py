"""Plumbing shared by the chapters: data, training loop, devices and results.

The models themselves live in the chapters, where the learning happens.
"""
from .data import FASHION_MNIST_CLASSES, DataUnavailableError, TensorBatches, load_data, prepare_fashion_mnist
from .folders import FolderBatches, load_class_mapping, load_folder, predict, save_class_mapping
from .profile import activation_bytes, count_macs
from .results import load_results, results_dir, save_results
from .runtime import describe_device, is_quick, set_seed, try_gpu
from .training import CheckpointError, History, evaluate_accuracy, train


__all__ = [
    "FASHION_MNIST_CLASSES", "CheckpointError", "DataUnavailableError", "History", "TensorBatches",
    "activation_bytes", "count_macs", "describe_device", "evaluate_accuracy", "is_quick", "load_data",
    "load_results", "prepare_fashion_mnist", "results_dir", "save_results", "set_seed", "train", "try_gpu",
    "FolderBatches", "load_class_mapping", "load_folder", "predict", "save_class_mapping",
]
