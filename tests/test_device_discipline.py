"""The chapters move every model and batch to the one device they chose (see tools/device_audit.py).

CI has no GPU, where a forgotten `.to(device)` crashes; so the rules are checked
on the source, and each rule is shown to fire on the bug it exists for.
"""
from pathlib import Path

import pytest

from tools.device_audit import audit

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))

# The gradient-norm cell of 05_resnet as it was when it crashed on a GPU: a CPU
# network fed a batch that load_data had put on the GPU.
RESNET_BUG = '''
```{code-cell} ipython3
device = try_gpu()
small_train, small_test = load_data(32, device=device)
```

```{code-cell} ipython3
images, labels = next(iter(small_train))
net = cifar_style_net(56, True)
nn.functional.cross_entropy(net(images), labels).backward()
```
'''


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_moves_every_model_and_batch(chapter):
    assert audit(chapter) == []


def write_chapter(tmp_path, body: str) -> Path:
    path = tmp_path / "chapter.md"
    path.write_text(body)
    return path


def test_audit_catches_the_resnet_bug(tmp_path):
    problems = audit(write_chapter(tmp_path, RESNET_BUG))
    assert any("batch `images`" in p for p in problems) and any("batch `labels`" in p for p in problems)


def test_audit_accepts_the_fixed_cell(tmp_path):
    fixed = RESNET_BUG.replace("next(iter(small_train))", "next(iter(small_train))\nimages, labels = images.to(device), labels.to(device)")
    assert audit(write_chapter(tmp_path, fixed)) == []


@pytest.mark.parametrize("cell, message", [
    ("device = try_gpu()\ntrain(net, a, b, 1, 0.1)", "train(...) without device="),
    ("device = try_gpu()\na, b = load_data(8)", "load_data(...) without device="),
    ("device = try_gpu()\nevaluate_accuracy(net, b)", "evaluate_accuracy(...) without device="),
    ("device = try_gpu()\na, b = load_data(8, device=device)\nx = next(iter(a))[0][0].numpy()", ".numpy() without .cpu()"),
    ("device = try_gpu()\ntrain(net, a, b, 1, 0.1, device=device)\ntry_gpu()", "2 calls of try_gpu()"),
])
def test_audit_rules(tmp_path, cell, message):
    problems = audit(write_chapter(tmp_path, f"```{{code-cell}} ipython3\n{cell}\n```\n"))
    assert any(message in p for p in problems), problems


def test_cpu_loaders_need_no_move(tmp_path):
    cell = "a, b = load_data(8, device='cpu')\nimages, labels = next(iter(a))\nnet(images)\nimages[0].numpy()"
    assert audit(write_chapter(tmp_path, f"```{{code-cell}} ipython3\n{cell}\n```\n")) == []
