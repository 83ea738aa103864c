"""The architecture diagrams: committed SVGs are current and well formed, their shapes and tables
match PyTorch and the chapter code, and every chapter shows at least one of them."""
from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from torch import nn

from tools import figures

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))
COMMITTED = sorted(figures.FIGURES.glob("*.svg"))
# ```{figure} PATH, its :option: lines, a blank line, the caption, the closing fence.
FIGURE_BLOCK = re.compile(r"```\{figure\} (?P<path>\S+)\n(?P<options>(?::\w+:[^\n]*\n)*)\n(?P<caption>.+?)\n```",
                          re.DOTALL)


def test_committed_figures_are_current(tmp_path):
    drawn = {path.name: path.read_bytes() for path in figures.render_all(tmp_path)}
    assert sorted(drawn) == [path.name for path in COMMITTED], "book/figures/ is out of date: run `make figures`"
    for path in COMMITTED:
        assert path.read_bytes() == drawn[path.name], f"{path.name} is out of date: run `make figures` and commit"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_svg_is_well_formed_and_fits_the_page(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = (float(root.get(side).removesuffix("pt")) for side in ("width", "height"))
    assert width == figures.WIDTH * figures.SCALE * 72, "every diagram shares one width, so labels share one size"
    assert 100 < height < 1000
    assert "dc:date" not in path.read_text(), "a date in the metadata makes every redraw differ"


def test_a_label_outside_the_card_is_refused(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = figures.canvas(2.0)
    ax.text(figures.WIDTH - 0.1, 1.0, "far too long to fit at the right edge", fontsize=9)
    with pytest.raises(figures.CutOffError, match="reaches past the card"):
        figures.save(fig, tmp_path, "broken")
    plt.close(fig)


def test_a_label_that_spills_out_of_its_box_is_refused(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = figures.canvas(2.0)
    figures.box(ax, 5.0, 1.0, 0.6, 0.3, "a label much wider than its box", "conv")
    with pytest.raises(figures.CutOffError, match="spills out of its box"):
        figures.save(fig, tmp_path, "broken")
    plt.close(fig)


def torch_layer(layer: figures.Layer, channels: int) -> nn.Module:
    """The PyTorch layer a diagram box stands for (the activation does not change the shape)."""
    if layer.to_side is not None:
        return nn.AdaptiveAvgPool2d(layer.to_side)
    if layer.kind == "pool":
        return nn.MaxPool2d(layer.kernel, layer.stride, layer.padding, ceil_mode=layer.ceil_mode)
    return nn.Conv2d(channels, layer.channels, layer.kernel, layer.stride, layer.padding)


@pytest.mark.parametrize("layers, shape", [(figures.LENET_ENCODER, (1, 28)), (figures.ALEXNET[:9], (1, 224)),
                                          (figures.GOOGLENET_STEM, (3, 224))], ids=["lenet", "alexnet", "stem"])
def test_shapes_on_the_arrows_are_what_pytorch_computes(layers, shape):
    x = torch.zeros(1, shape[0], shape[1], shape[1])
    for layer, drawn in zip(layers, figures.trace(layers, shape)):
        x = torch_layer(layer, x.shape[1])(x)
        assert tuple(x.shape[1:3]) == drawn, f"{layer.label!r}: drawn {drawn}, PyTorch gives {tuple(x.shape[1:])}"


def chapter_defaults(chapter: str, name: str) -> dict:
    """The default arguments of the function or class `name` (its __init__) in a chapter's code."""
    source = "\n".join(block for block in
                       re.findall(r"```\{code-cell\} ipython3\n(.*?)```", (REPO / "chapters" / chapter).read_text(),
                                  re.DOTALL))
    source = "\n".join(line for line in source.splitlines() if not line.startswith((":", "%", "!")))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == name:
            node = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        if isinstance(node, ast.FunctionDef) and node.name in (name, "__init__"):
            args = node.args.args[len(node.args.args) - len(node.args.defaults):] + node.args.kwonlyargs
            defaults = node.args.defaults + node.args.kw_defaults
            found = {a.arg: ast.literal_eval(d) for a, d in zip(args, defaults)
                     if d is not None and isinstance(d, ast.Constant)}
            if "num_classes" in found:
                return found
    raise AssertionError(f"{chapter} defines no {name} with a num_classes default")


@pytest.mark.parametrize("key, chapter, model", [("lenet", "01_lenet.md", "lenet"), ("alexnet", "02_alexnet.md", "alexnet"),
                                                 ("googlenet", "04_googlenet.md", "GoogLeNet")])
def test_each_diagram_draws_the_input_and_classes_of_its_chapters_model(key, chapter, model):
    defaults = chapter_defaults(chapter, model)
    channels, side = figures.INPUTS[key]
    assert channels == defaults.get("in_channels", 1) and side == defaults.get("image_side", side)
    assert figures.NUM_CLASSES == defaults["num_classes"]
    drawn = " ".join(path.read_text() for path in COMMITTED)  # matplotlib keeps each label's text in a comment
    labels = set(re.findall(r"\b[13]x(?:28x28|224x224)\b", drawn))  # images: one channel or three (RGB)
    assert f"{channels}x{side}x{side}" in labels, f"no diagram labels the {key} input {channels}x{side}x{side}"
    wrong = {label for label in labels if label.endswith(f"x{side}x{side}") and label != f"{channels}x{side}x{side}"}
    assert not wrong, f"a diagram labels an input {wrong} that no chapter model takes"


def chapter_constant(chapter: str, name: str):
    """The literal a chapter's code assigns to `name` (a dict or tuple written out in a code cell)."""
    lines = (REPO / "chapters" / chapter).read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{name} = ")), None)
    assert start is not None, f"{chapter} no longer defines {name}"
    for end in range(start + 1, len(lines) + 1):  # the shortest run of lines that parses
        try:
            return ast.literal_eval("\n".join(lines[start:end]).removeprefix(f"{name} = "))
        except SyntaxError:
            continue
    raise AssertionError(f"{chapter}: {name} is not a literal")


def test_diagram_tables_are_the_chapters_tables():
    assert figures.INCEPTION_WIDTHS == chapter_constant("04_googlenet.md", "INCEPTION_WIDTHS")
    assert figures.VGG_CONFIGS == chapter_constant("03_vgg.md", "CONFIGS")
    alexnet_convs = tuple(layer.channels for layer in figures.ALEXNET if layer.kind == "conv")
    assert alexnet_convs == chapter_constant("02_alexnet.md", "TORCHVISION_WIDTHS")


def figure_blocks(chapter: Path) -> list[dict]:
    blocks = []
    for match in FIGURE_BLOCK.finditer(chapter.read_text()):
        options = dict(re.findall(r"^:(\w+): (.*)$", match.group("options"), re.MULTILINE))
        blocks.append({"path": (chapter.parent / match.group("path")).resolve(), **options,
                       "caption": match.group("caption")})
    return blocks


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shows_a_described_diagram(chapter):
    diagrams = [b for b in figure_blocks(chapter) if b["path"].parent == figures.FIGURES]
    assert diagrams, f"{chapter.name} shows no diagram from book/figures/"
    for block in diagrams:
        assert block["path"].exists(), f"{chapter.name}: {block['path'].name} does not exist"
        assert len(block.get("alt", "")) > 60, f"{chapter.name}: {block['path'].name} needs :alt: text describing it"
        assert block.get("name", "").startswith("fig-"), f"{chapter.name}: {block['path'].name} needs a :name: label"
        assert block["caption"].strip(), f"{chapter.name}: {block['path'].name} needs a caption"


def test_every_diagram_is_used():
    used = {b["path"].name for chapter in CHAPTERS for b in figure_blocks(chapter)}
    assert {path.name for path in COMMITTED} <= used, "a diagram in book/figures/ is shown by no chapter"
