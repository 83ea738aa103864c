"""Transfer learning: a trained network, a new head for new classes, trained alone, then everything.

`fine_tune` runs the usual two phases through `train`: first only a fresh last layer learns while
the rest is frozen, then every layer learns at a smaller rate. Each phase keeps the weights of its
best epoch on the validation data, so choices are made there and the test set stays untouched;
`confusion_matrix` then shows which classes the result mixes up.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
from torch import nn

from .common import eval_mode, main_output, positive_int
from .data import TensorBatches
from .runtime import model_device
from .training import History, evaluate_accuracy, train


@dataclass
class FineTuning:
    """The histories of the two phases (`full` is None when full_epochs was 0) and, when fine_tune
    got a test_iter, the test accuracy at the end of each phase."""

    frozen: History
    full: History | None
    frozen_test_acc: float | None = None
    full_test_acc: float | None = None


def replace_head(net: nn.Module, head: str, num_classes: int) -> nn.Linear:
    """Swap the nn.Linear at `head` (a dotted name: "fc", "classifier.6") for a new, randomly
    initialized one with `num_classes` outputs; return the new layer."""
    try:
        old = net.get_submodule(head)
    except AttributeError:
        linears = [name for name, m in net.named_modules() if isinstance(m, nn.Linear)]
        raise ValueError(f"The network has no layer {head!r}. Its linear layers: {linears}; the last one is "
                         "usually the head.") from None
    if not isinstance(old, nn.Linear):
        raise ValueError(f"{head!r} is a {type(old).__name__}, not an nn.Linear: name the last linear layer.")
    parent_name, _, name = head.rpartition(".")
    new = nn.Linear(old.in_features, num_classes).to(old.weight.device)
    setattr(net.get_submodule(parent_name) if parent_name else net, name, new)
    return new


def fine_tune(net: nn.Module, train_iter: Iterable, val_iter: Iterable, *, head: str, head_epochs: int,
              full_epochs: int, lr: float, full_lr: float | None = None, test_iter: Iterable | None = None,
              **train_args: Any) -> FineTuning:
    """Fine-tune a trained `net` on the classes of `train_iter` (its `classes` attribute).

    Phase 1: the layer at `head` is replaced (see `replace_head`) and trained alone for `head_epochs`
    at `lr`; every other parameter is frozen (batch-norm layers still adapt their running statistics
    to the new images, since `train` puts the network in training mode). Phase 2: all parameters
    for `full_epochs` at `full_lr` (default lr / 10), so that the features change gently. Both
    phases keep their best epoch on `val_iter`; with a `test_iter`, the result is measured on it once
    after each phase. Other keyword arguments go to `utils.train`.
    """
    classes = getattr(train_iter, "classes", None)
    if not classes:
        raise ValueError("train_iter has no `classes`: pass the batches of load_data or load_folder.")
    if "keep_best" in train_args:
        raise ValueError("fine_tune always keeps each phase's best epoch on val_iter: leave keep_best out.")
    new_head = replace_head(net, head, len(classes))
    trainable = {id(p) for p in new_head.parameters()}
    for p in net.parameters():
        p.requires_grad_(id(p) in trainable)
    try:
        frozen = train(net, train_iter, val_iter, head_epochs, lr, keep_best=True, **train_args)
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
    result = FineTuning(frozen, None)
    if test_iter is not None:
        result.frozen_test_acc = evaluate_accuracy(net, test_iter)
    if full_epochs:
        result.full = train(net, train_iter, val_iter, full_epochs, lr / 10 if full_lr is None else full_lr,
                            keep_best=True, **train_args)
        if test_iter is not None:
            result.full_test_acc = evaluate_accuracy(net, test_iter)
    return result


def class_subset(batches: TensorBatches, classes: Iterable[int], per_class: int | None = None, *,
                 batch_size: int | None = None, seed: int = 0) -> TensorBatches:
    """The images of some classes of `batches` (Fashion-MNIST from load_data), relabelled 0, 1, ...
    in the order given: `per_class` of each (a fixed random pick for a seed) or all of them."""
    classes = list(classes)
    if not classes or any(not 0 <= c < len(batches.classes) for c in classes):
        raise ValueError(f"classes must be indices of {batches.classes}, got {classes}.")
    generator, picks = torch.Generator().manual_seed(seed), []
    for c in classes:
        index = (batches.labels == c).nonzero().flatten().cpu()
        index = index[torch.randperm(len(index), generator=generator)]
        if per_class is not None:
            if positive_int(per_class, "per_class") > len(index):
                raise ValueError(f"per_class={per_class} but class {batches.classes[c]!r} has {len(index)} images here.")
            index = index[:per_class]
        picks.append(index)
    pick = torch.cat(picks).to(batches.labels.device)
    relabel = torch.full((len(batches.classes),), -1, dtype=batches.labels.dtype, device=batches.labels.device)
    relabel[classes] = torch.arange(len(classes), dtype=batches.labels.dtype, device=batches.labels.device)
    return TensorBatches(batches.images[pick], relabel[batches.labels[pick]], batch_size or batches.batch_size,
                         shuffle=batches.shuffle, mean=batches.mean, std=batches.std, resize=batches.resize,
                         classes=[batches.classes[c] for c in classes], split=batches.split)


@torch.no_grad()
def confusion_matrix(net: nn.Module, data_iter: Iterable, num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) over `data_iter`: row i, column j counts images of
    class i predicted as j, so the diagonal holds the right answers."""
    num_classes = num_classes or len(getattr(data_iter, "classes", ()))
    if not num_classes:
        raise ValueError("Pass num_classes, or batches that know their `classes` (load_data, load_folder).")
    device, truth, predicted = model_device(net), [], []
    with eval_mode(net):
        for images, labels in data_iter:
            predicted.append(main_output(net(images.to(device))).argmax(dim=1).cpu())
            truth.append(labels.cpu())
    return sklearn_confusion_matrix(torch.cat(truth), torch.cat(predicted), labels=list(range(num_classes)))
