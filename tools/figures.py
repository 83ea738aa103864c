"""Architecture diagrams of the book, drawn from the layer specifications below: `make figures`.

Run as `python -m tools.figures [--out DIR]` from the repository root; it writes one SVG per
diagram into book/figures/ (committed; tests/test_figures.py checks they are current).

Why matplotlib patches and not graphviz: matplotlib is already a dependency of the course, so
nothing new has to be installed (graphviz would need apt in CI and the Makefile); it places
every box exactly where the layout says, which block diagrams with parallel branches and side
heads need (graphviz's automatic layout fights them); and with `svg.hashsalt` set and no date
in the metadata its SVG output is byte-for-byte reproducible, so a test can compare.

Why an opaque white card: an <img> SVG cannot see the theme the reader picked in
sphinx-book-theme (its `prefers-color-scheme` follows the operating system, not the theme's
toggle), so one drawing has to work on both backgrounds. A white card with a grey border reads
as a printed figure on the dark theme (which dims images a little) and as a framed figure on the
light one. Labels are drawn as paths (`svg.fonttype: path`), so they look the same in every browser
whatever fonts it has; the alt text in the chapters carries the words for screen readers. The
bytes depend on the matplotlib version: after an upgrade, run `make figures` and commit.

Shapes are not typed in by hand: each diagram lists its layers (kernel, stride, padding,
channels) and the feature-map sizes on the arrows come from the output-size formula of
chapter 1. The Inception widths and VGG configurations are the chapters' own tables (a test
compares them with the chapter code).
"""
from __future__ import annotations

import argparse
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIGURES = REPO / "book" / "figures"
# The input (channels, side) and classes of the chapters' own models, as the diagrams draw them;
# tests/test_figures.py checks them against the chapters' code.
INPUTS = {"lenet": (1, 28), "alexnet": (1, 224), "googlenet": (1, 224)}
NUM_CLASSES = 10
WIDTH = 10.0  # layout units across every diagram
# Inches per layout unit. The SVG is 8 x 72 = 576 pt wide (768 CSS px); the book scales it to its
# content width (about 670 px at a 1280 px window), where 8 pt labels come out at about 9.3 px.
SCALE = 0.8
INK = "#1f2937"
MUTED = "#4b5563"

# One colour per kind of layer, the same in every diagram (face, edge).
KINDS = {
    "data": ("#f3f4f6", "#6b7280"),
    "conv": ("#bfdbfe", "#1d4ed8"),
    "reduce": ("#dbeafe", "#60a5fa"),
    "pool": ("#fed7aa", "#c2410c"),
    "dense": ("#bbf7d0", "#15803d"),
    "norm": ("#e9d5ff", "#7e22ce"),
    "merge": ("#fde68a", "#a16207"),
}
LEGEND_NAMES = {
    "data": "data (image, feature maps, scores)",
    "conv": "convolution",
    "reduce": "1x1 convolution (reduction / projection)",
    "pool": "pooling",
    "dense": "fully connected",
    "norm": "normalization, activation",
    "merge": "concatenation / addition",
}

# The chapters' tables (tests/test_figures.py checks they match the chapter code).
INCEPTION_WIDTHS = {  # in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}
VGG_CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, ceil_mode: bool = False) -> int:
    """Side of a convolution or pooling output: floor((n + 2p - k) / s) + 1 (ceil with ceil_mode)."""
    rounding = math.ceil if ceil_mode else math.floor
    return rounding((n + 2 * padding - kernel) / stride) + 1


@dataclass
class Layer:
    """One box of a pipeline: its label, its kind, and what it does to a (channels, side) shape."""

    label: str
    kind: str
    channels: int | None = None  # None: unchanged
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    ceil_mode: bool = False
    to_side: int | None = None  # adaptive pooling: a fixed output side
    flatten: bool = False

    def apply(self, shape: tuple) -> tuple:
        if self.flatten:  # a fully connected layer may follow at once: "flatten, FC 120"
            return (self.channels or shape[0] * shape[1] * shape[1],)
        if len(shape) == 1:  # a vector: fully connected layers change its length
            return (self.channels or shape[0],)
        channels, side = shape
        if self.to_side is not None:
            side = self.to_side
        else:
            side = output_size(side, self.kernel, self.stride, self.padding, self.ceil_mode)
        return (self.channels or channels, side)


def shape_text(shape: tuple) -> str:
    return f"{shape[0]}x{shape[1]}x{shape[1]}" if len(shape) == 2 else f"{shape[0]}"


def image_text(image: tuple) -> str:
    """(channels, side) -> "CxSxS", as the diagrams label an input image."""
    channels, side = image
    return f"{channels}x{side}x{side}"


def trace(layers: list[Layer], shape: tuple) -> list[tuple]:
    """The shape after each layer."""
    shapes = []
    for layer in layers:
        shape = layer.apply(shape)
        shapes.append(shape)
    return shapes


# ---------------------------------------------------------------------------- drawing primitives
def canvas(height: float):
    """A figure WIDTH x height layout units (SCALE inches each) on a white card; data units are layout units."""
    fig = plt.figure(figsize=(WIDTH * SCALE, height * SCALE))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.axis("off")
    fig.patch.set_alpha(0)  # the card below is the background; outside its rounded corners: nothing
    ax.add_patch(FancyBboxPatch((0.04, 0.04), WIDTH - 0.08, height - 0.08, boxstyle="round,pad=0,rounding_size=0.12",
                                fc="white", ec="#9ca3af", lw=1.2, zorder=0))
    return fig, ax


BOXED_LABELS: dict = {}  # figure -> [(label, its box)], checked before saving


def box(ax, x: float, y: float, w: float, h: float, text: str, kind: str, size: float = 9, weight: str = "normal",
        dashed: bool = False) -> tuple:
    """A rounded box centred at (x, y); returns its (left, right, bottom, top)."""
    face, edge = KINDS[kind]
    patch = ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                        fc=face, ec=edge, lw=1.2, ls="--" if dashed else "-", zorder=2))
    label = ax.text(x, y, text, ha="center", va="center", fontsize=size, color=INK, weight=weight, zorder=3,
                    linespacing=1.15)
    BOXED_LABELS.setdefault(ax.figure, []).append((label, patch))
    return (x - w / 2, x + w / 2, y - h / 2, y + h / 2)


def arrow(ax, start: tuple, end: tuple, label: str | None = None, side: str = "above", size: float = 8,
          color: str = INK) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.1, color=color,
                                 shrinkA=0, shrinkB=0, zorder=1))
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        offsets = {"above": (0, 0.05, "center", "bottom"), "below": (0, -0.05, "center", "top"),
                   "right": (0.06, 0, "left", "center"), "left": (-0.06, 0, "right", "center")}
        dx, dy, ha, va = offsets[side]
        ax.text(mx + dx, my + dy, label, ha=ha, va=va, fontsize=size, color=MUTED, zorder=3)


def polyline_arrow(ax, points: list[tuple], color: str = INK) -> None:
    """Straight segments through `points`, with an arrow head on the last one."""
    xs, ys = zip(*points[:-1])
    ax.plot(xs, ys, color=color, lw=1.1, solid_capstyle="butt", zorder=1)
    arrow(ax, points[-2], points[-1], color=color)


def legend(ax, kinds: list[str], x: float, y: float, columns: int | None = None) -> None:
    handles = [Patch(facecolor=KINDS[k][0], edgecolor=KINDS[k][1], label=LEGEND_NAMES[k]) for k in kinds]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(x / WIDTH, y / ax.get_ylim()[1]),
              ncols=columns or len(kinds), fontsize=8, frameon=False, handlelength=1.4, columnspacing=1.2,
              labelcolor=INK)


def title(ax, x: float, y: float, text: str, size: float = 10, ha: str = "center") -> None:
    ax.text(x, y, text, ha=ha, va="center", fontsize=size, color=INK, weight="bold")


class CutOffError(ValueError):
    """A label reaches past the card: the layout of that diagram needs more room."""


def check_inside_card(fig, name: str) -> None:
    """Every text must lie inside the card, and every box label inside its box: nothing cut off or spilled."""
    fig.draw_without_rendering()
    card = fig.bbox.padded(-0.04 * SCALE * fig.dpi)
    texts = [t for ax in fig.axes for t in ax.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    for text in texts:
        extent = text.get_window_extent()
        if not (card.x0 <= extent.x0 and extent.x1 <= card.x1 and card.y0 <= extent.y0 and extent.y1 <= card.y1):
            raise CutOffError(f"{name}: the label {text.get_text()!r} reaches past the card; move it or enlarge "
                              f"the canvas in tools/figures.py")
    for text, patch in BOXED_LABELS.pop(fig, []):
        inner = patch.get_window_extent().padded(-1.5)  # keep clear of the border line
        extent = text.get_window_extent()
        if not (inner.x0 <= extent.x0 and extent.x1 <= inner.x1 and inner.y0 <= extent.y0 and extent.y1 <= inner.y1):
            raise CutOffError(f"{name}: the label {text.get_text()!r} spills out of its box; widen the box")


def save(fig, out: Path, name: str) -> Path:
    check_inside_card(fig, name)
    path = out / f"{name}.svg"
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "tools/figures.py"})
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------- the diagrams
LENET_ENCODER = [
    Layer("5x5 conv, 6\npadding 2\n+ activation", "conv", 6, 5, padding=2),
    Layer("2x2 pooling\nstride 2", "pool", kernel=2, stride=2),
    Layer("5x5 conv, 16\n+ activation", "conv", 16, 5),
    Layer("2x2 pooling\nstride 2", "pool", kernel=2, stride=2),
]
LENET_DENSE = [
    Layer("flatten", "data", flatten=True),
    Layer("FC 120\n+ activation", "dense", 120),
    Layer("FC 84\n+ activation", "dense", 84),
    Layer(f"FC {NUM_CLASSES}", "dense", NUM_CLASSES),
]


def lenet(out: Path) -> Path:
    """The LeNet-5 pipeline of chapter 1 on a 28x28 image, two rows: encoder, then dense block."""
    fig, ax = canvas(3.75)
    shapes = trace(LENET_ENCODER + LENET_DENSE, INPUTS["lenet"])
    w, h, step = 1.15, 0.72, 2.0
    top, bottom = 2.7, 1.25
    # Row 1: the image and the convolutional encoder.
    image = image_text(INPUTS["lenet"])
    left = box(ax, 0.75, top, 0.95, h, f"image\n{image}", "data")
    ax.add_patch(FancyBboxPatch((1.75, top - 0.62), 8.0, 1.24, boxstyle="round,pad=0,rounding_size=0.08",
                                fc="none", ec="#9ca3af", ls="--", lw=1, zorder=1))
    ax.text(1.85, top + 0.52, "convolutional encoder", fontsize=8.5, color=MUTED, style="italic", va="center")
    previous = left
    for i, layer in enumerate(LENET_ENCODER):
        x = 2.6 + i * step
        this = box(ax, x, top, w, h, layer.label, layer.kind, size=8.5)
        label = image if i == 0 else shape_text(shapes[i - 1])
        arrow(ax, (previous[1], top), (this[0], top), None if i == 0 else label)
        previous = this
    # Down to row 2, carrying the last encoder shape.
    xs = [1.6 + i * step for i in range(len(LENET_DENSE))]
    mid = (top - h / 2 + bottom + h / 2) / 2
    polyline_arrow(ax, [(previous[0] + w / 2, previous[2]), (previous[0] + w / 2, mid), (xs[0], mid),
                        (xs[0], bottom + h / 2)])
    ax.text(previous[0] + w / 2 + 0.06, mid + 0.12, shape_text(shapes[len(LENET_ENCODER) - 1]), fontsize=8,
            color=MUTED, ha="left", va="center")
    ax.add_patch(FancyBboxPatch((xs[1] - 0.8, bottom - 0.62), 3 * step + 0.05, 1.24,
                                boxstyle="round,pad=0,rounding_size=0.08", fc="none", ec="#9ca3af", ls="--", lw=1,
                                zorder=1))
    ax.text(xs[1] - 0.7, bottom + 0.52, "dense block", fontsize=8.5, color=MUTED, style="italic", va="center")
    previous = None
    for i, layer in enumerate(LENET_DENSE):
        this = box(ax, xs[i], bottom, w if i else 0.95, h * (0.75 if i == 0 else 1), layer.label, layer.kind,
                   size=8.5)
        if previous:
            arrow(ax, (previous[1], bottom), (this[0], bottom), shape_text(shapes[len(LENET_ENCODER) + i - 1]))
        previous = this
    scores = box(ax, xs[-1] + 1.7, bottom, 1.05, h, "10 class\nscores", "data")
    arrow(ax, (previous[1], bottom), (scores[0], bottom), "10")
    legend(ax, ["data", "conv", "pool", "dense"], 0.3, 0.08)
    return save(fig, out, "lenet")


ALEXNET = [
    Layer("11x11 conv, 64, stride 4, padding 2", "conv", 64, 11, 4, 2),
    Layer("3x3 max-pool, stride 2", "pool", kernel=3, stride=2),
    Layer("5x5 conv, 192, padding 2", "conv", 192, 5, padding=2),
    Layer("3x3 max-pool, stride 2", "pool", kernel=3, stride=2),
    Layer("3x3 conv, 384, padding 1", "conv", 384, 3, padding=1),
    Layer("3x3 conv, 256, padding 1", "conv", 256, 3, padding=1),
    Layer("3x3 conv, 256, padding 1", "conv", 256, 3, padding=1),
    Layer("3x3 max-pool, stride 2", "pool", kernel=3, stride=2),
    Layer("adaptive average pool to 6x6", "pool", to_side=6),
    Layer("flatten, dropout 0.5, FC 4096", "dense", 4096, flatten=True),
    Layer("dropout 0.5, FC 4096", "dense", 4096),
    Layer(f"FC {NUM_CLASSES}", "dense", NUM_CLASSES),
]
LENET_COLUMN = [
    Layer("5x5 conv, 6, padding 2", "conv", 6, 5, padding=2),
    Layer("2x2 pooling, stride 2", "pool", kernel=2, stride=2),
    Layer("5x5 conv, 16", "conv", 16, 5),
    Layer("2x2 pooling, stride 2", "pool", kernel=2, stride=2),
    Layer("flatten, FC 120", "dense", 120, flatten=True),
    Layer("FC 84", "dense", 84),
    Layer(f"FC {NUM_CLASSES}", "dense", NUM_CLASSES),
]


def column(ax, x: float, top: float, w: float, layers: list[Layer], shape: tuple, image: str, pitch: float,
           h: float = 0.3) -> None:
    """A top-down stack of layer boxes with the shape after each one written beside its arrow."""
    shapes = trace(layers, shape)
    previous = box(ax, x, top, w * 0.6, h, image, "data", size=8.5)
    for i, layer in enumerate(layers):
        y = top - (i + 1) * pitch
        this = box(ax, x, y, w, h, layer.label, layer.kind, size=8.5)
        label = shape_text(shape if i == 0 else shapes[i - 1])
        arrow(ax, (x, previous[2]), (x, this[3]), label, side="right", size=8)
        previous = this
    out = shapes[-1]
    scores = box(ax, x, top - (len(layers) + 1) * pitch, w * 0.6, h, "10 class scores", "data", size=8.5)
    arrow(ax, (x, previous[2]), (x, scores[3]), shape_text(out), side="right", size=8)


def alexnet_vs_lenet(out: Path) -> Path:
    """LeNet-5 (chapter 1) and torchvision's single-GPU AlexNet (chapter 2) side by side, top-down."""
    pitch = 0.5
    height = 0.95 + (len(ALEXNET) + 1) * pitch + 1.0
    fig, ax = canvas(height)
    top = height - 0.85
    title(ax, 2.5, height - 0.35, "LeNet-5 (1998), chapter 1")
    title(ax, 7.0, height - 0.35, "AlexNet (2012), torchvision's variant, chapter 2")
    column(ax, 2.5, top, 2.2, LENET_COLUMN, INPUTS["lenet"], f"image {image_text(INPUTS['lenet'])}", pitch)
    column(ax, 7.0, top, 3.0, ALEXNET, INPUTS["alexnet"], f"image {image_text(INPUTS['alexnet'])}", pitch)
    ax.text(0.3, 0.62, "Every convolution and hidden FC layer is followed by an activation "
            "(LeNet: sigmoid or ReLU; AlexNet: ReLU).", fontsize=8, color=MUTED, va="center")
    legend(ax, ["data", "conv", "pool", "dense"], 0.3, 0.1)
    return save(fig, out, "alexnet_vs_lenet")


def vgg_block(out: Path) -> Path:
    """One VGG block: n 3x3 convolutions that keep the side, then a 2x2 max-pool that halves it."""
    fig, ax = canvas(2.4)
    y, h = 1.35, 0.75
    first = box(ax, 0.85, y, 1.15, h, "input\nC_in x n x n", "data", size=8.5)
    convs = [box(ax, 2.85 + i * 2.2, y, 1.4, h, "3x3 conv, C\npadding 1\n+ ReLU", "conv", size=8.5)
             for i in range(2)]
    dots = 6.55
    ax.text(dots, y, "...", ha="center", va="center", fontsize=14, color=INK)
    pool = box(ax, 7.8, y, 1.3, h, "2x2 max-pool\nstride 2", "pool", size=8.5)
    last = box(ax, 9.25, y, 1.05, h, "output\nC x n/2 x n/2", "data", size=8.5)
    arrow(ax, (first[1], y), (convs[0][0], y))
    arrow(ax, (convs[0][1], y), (convs[1][0], y), "C x n x n")
    arrow(ax, (convs[1][1], y), (dots - 0.25, y))
    arrow(ax, (dots + 0.25, y), (pool[0], y))
    arrow(ax, (pool[1], y), (last[0], y))
    # A bracket over the convolutions: they repeat num_convs times.
    left, right = convs[0][0], dots + 0.2
    ax.plot([left, left, right, right], [y + h / 2 + 0.1, y + h / 2 + 0.2, y + h / 2 + 0.2, y + h / 2 + 0.1],
            color=MUTED, lw=1)
    ax.text((left + right) / 2, y + h / 2 + 0.3, "num_convs times (1 to 4 in VGG)", ha="center", va="bottom",
            fontsize=8.5, color=MUTED)
    legend(ax, ["data", "conv", "pool"], 0.3, 0.1)
    return save(fig, out, "vgg_block")


def blocks_of(config: list) -> list[list[int]]:
    """Split a configuration list at its 'M's: [64, 'M', 128, 128, 'M'] -> [[64], [128, 128]]."""
    blocks, current = [], []
    for item in config:
        if item == "M":
            blocks.append(current)
            current = []
        else:
            current.append(item)
    return blocks


def vgg_configs(out: Path) -> Path:
    """The configurations A, B, D and E as a table: one column per network, one row per block."""
    names = {"A": "A (VGG-11)", "B": "B (VGG-13)", "D": "D (VGG-16)", "E": "E (VGG-19)"}
    blocks = {name: blocks_of(config) for name, config in VGG_CONFIGS.items()}
    rows = [max(len(b[i]) for b in blocks.values()) for i in range(5)]
    cell_h, gap = 0.22, 0.05
    row_heights = [(n + 1) * (cell_h + gap) + 0.12 for n in rows] + [3 * (cell_h + gap) + 0.12]
    height = 1.3 + sum(row_heights) + 0.45
    fig, ax = canvas(height)
    label_x, col_x, col_w = 1.05, [3.0, 4.85, 6.7, 8.55], 1.7
    y = height - 0.4
    ax.text(label_x, y, "224x224 RGB input", ha="center", va="center", fontsize=8.5, color=MUTED)
    for x, name in zip(col_x, VGG_CONFIGS):
        title(ax, x, y, names[name], size=9.5)
    y -= 0.3
    side = 224
    for r, n_rows in enumerate(row_heights):
        top = y
        y -= n_rows
        ax.plot([0.25, WIDTH - 0.25], [top, top], color="#d1d5db", lw=0.8)
        centre = (top + y) / 2
        if r < 5:
            channels = blocks["A"][r][0]
            ax.text(label_x, centre, f"block {r + 1}\n{channels} channels\n{side} -> {side // 2}", ha="center",
                    va="center", fontsize=8.5, color=INK, linespacing=1.2)
            side //= 2
            for x, name in zip(col_x, VGG_CONFIGS):
                convs = blocks[name][r]
                cy = top - 0.06 - cell_h / 2
                for c in convs:
                    box(ax, x, cy, col_w, cell_h, f"3x3 conv, {c}", "conv", size=8)
                    cy -= cell_h + gap
                box(ax, x, cy, col_w, cell_h, "max-pool", "pool", size=8)
        else:
            ax.text(label_x, centre, "classifier\n512x7x7 in", ha="center", va="center", fontsize=8.5, color=INK,
                    linespacing=1.2)
            for x in col_x:
                cy = top - 0.06 - cell_h / 2
                for label in ("FC 4096, dropout", "FC 4096, dropout", "FC 1000"):
                    box(ax, x, cy, col_w, cell_h, label, "dense", size=8)
                    cy -= cell_h + gap
    ax.plot([0.25, WIDTH - 0.25], [y, y], color="#d1d5db", lw=0.8)
    y -= 0.3
    ax.text(label_x, y, "weight layers", ha="center", va="center", fontsize=8.5, color=INK)
    for x, name in zip(col_x, VGG_CONFIGS):
        convs = sum(len(b) for b in blocks[name])
        ax.text(x, y, f"{convs} conv + 3 FC = {convs + 3}", ha="center", va="center", fontsize=8.5, color=INK)
    legend(ax, ["conv", "pool", "dense"], 0.3, 0.1)
    return save(fig, out, "vgg_configs")


def inception(out: Path) -> Path:
    """Inception block 3a: four branches on one input, concatenated along the channels."""
    c_in, c1, c3r, c3, c5r, c5, pool_proj = INCEPTION_WIDTHS["3a"]
    side = 28
    fig, ax = canvas(4.95)
    w, h = 2.1, 0.5
    xs = [1.35, 3.8, 6.25, 8.7]
    y_in, y1, y2, y_cat, y_out = 4.4, 3.35, 2.3, 1.3, 0.7
    source = box(ax, 5.0, y_in, 2.6, 0.42, f"previous layer: {c_in}x{side}x{side}", "data", size=8.5)
    branches = [
        [(f"1x1 conv, {c1}", "conv")],
        [(f"1x1 conv, {c3r} (reduce)", "reduce"), (f"3x3 conv, {c3}, padding 1", "conv")],
        [(f"1x1 conv, {c5r} (reduce)", "reduce"), (f"5x5 conv, {c5}, padding 2", "conv")],
        [("3x3 max-pool\nstride 1, padding 1", "pool"), (f"1x1 conv, {pool_proj} (projection)", "reduce")],
    ]
    widths = [c1, c3, c5, pool_proj]
    concat = box(ax, 5.0, y_cat, 7.4, 0.42, f"concatenate along channels: {c1} + {c3} + {c5} + {pool_proj} "
                 f"= {sum(widths)} channels", "merge", size=8.5)
    reduced = {1: c3r, 2: c5r}
    for b, (x, layers) in enumerate(zip(xs, branches)):
        arrow(ax, (source[0] + 0.3 + b * 0.67, source[2]), (x, y1 + h / 2))
        first = box(ax, x, y1, w, h, layers[0][0], layers[0][1], size=8.5)
        if len(layers) == 2:
            second = box(ax, x, y2, w, h, layers[1][0], layers[1][1], size=8.5)
            label = f"{reduced[b]}x{side}x{side}" if b in reduced else f"{c_in}x{side}x{side}"
            arrow(ax, (x, first[2]), (x, second[3]), label, side="right", size=8)
            last = second
        else:
            last = first
        arrow(ax, (x, last[2]), (x, concat[3]), f"{widths[b]}x{side}x{side}", side="right", size=8)
    out_box = box(ax, 5.0, y_out, 2.4, 0.34, f"output: {sum(widths)}x{side}x{side}", "data", size=8.5)
    arrow(ax, (5.0, concat[2]), (5.0, out_box[3]))
    ax.text(0.3, y_out - 0.05, "Every convolution is followed by a ReLU.", fontsize=8, color=MUTED, va="center")
    legend(ax, ["conv", "reduce", "pool", "merge"], 0.3, 0.08)
    return save(fig, out, "inception")


GOOGLENET_STEM = [
    Layer("7x7 conv, 64, stride 2", "conv", 64, 7, 2, 3),
    Layer("3x3 max-pool, stride 2", "pool", kernel=3, stride=2, ceil_mode=True),
    Layer("1x1 conv, 64", "reduce", 64, 1),
    Layer("3x3 conv, 192", "conv", 192, 3, padding=1),
    Layer("3x3 max-pool, stride 2", "pool", kernel=3, stride=2, ceil_mode=True),
]
AUX_HEAD = [("average pool to 4x4", "pool"), ("1x1 conv, 128", "reduce"), ("FC 1024, dropout 0.7", "dense"),
            (f"FC {NUM_CLASSES}", "dense")]


def googlenet(out: Path) -> Path:
    """GoogLeNet at 224x224: the stem, nine Inception blocks, the head, and the two auxiliary heads."""
    fig, ax = canvas(5.0)
    y, h, w, step = 3.85, 0.62, 0.53, 0.655
    stem_shape = trace(GOOGLENET_STEM, INPUTS["googlenet"])[-1]
    items = [("stem", f"stem\n{shape_text(stem_shape)}", "conv", 1.15)]
    side = stem_shape[1]
    sides = {}
    for name, widths in INCEPTION_WIDTHS.items():
        channels = widths[1] + widths[3] + widths[5] + widths[6]
        sides[name] = side
        items.append((name, f"{name}\n{channels}", "merge", w))
        if name in ("3b", "4e"):
            side = output_size(side, 3, 2, ceil_mode=True)
            items.append(("pool", "max-\npool\n/2", "pool", 0.45))
    items.append(("head", f"global avg\npool,\ndropout 0.4,\nFC {NUM_CLASSES}", "dense", 1.0))
    x = 0.3
    boxes = {}
    previous = None
    for key, label, kind, width in items:
        this = box(ax, x + width / 2, y, width, h if key != "head" else 0.8, label, kind, size=8)
        if previous:
            arrow(ax, (previous[1], y), (this[0], y))
        boxes.setdefault(key, this)
        previous = this
        x += width + (step - w)
    title(ax, 0.3, 4.7, f"GoogLeNet on a {image_text(INPUTS['googlenet'])} image (block name, output channels)",
          size=9.5, ha="left")
    # Stage brackets with the side of their feature maps.
    for first, last in (("3a", "3b"), ("4a", "4e"), ("5a", "5b")):
        left, right, top = boxes[first][0], boxes[last][1], y + h / 2 + 0.08
        ax.plot([left, left, right, right], [top, top + 0.08, top + 0.08, top], color=MUTED, lw=1)
        ax.text((left + right) / 2, top + 0.12, f"{sides[first]}x{sides[first]}", ha="center", va="bottom",
                fontsize=8, color=MUTED)
    # The stem, spelled out below its box, and the two auxiliary heads below 4a and 4d.
    stack_top, pitch, sh = 3.0, 0.42, 0.3
    stacks = [("stem", [(layer.label, layer.kind) for layer in GOOGLENET_STEM], 1.85, False)]
    stacks += [(name, AUX_HEAD, 1.8, True) for name in ("4a", "4d")]
    for key, layers, width, is_aux in stacks:
        cx = (boxes[key][0] + boxes[key][1]) / 2
        cx = max(cx, 0.3 + width / 2)
        yy = stack_top
        if is_aux:
            arrow(ax, (cx, boxes[key][2]), (cx, yy + sh / 2))
            ax.text(cx + 0.06, (boxes[key][2] + yy + sh / 2) / 2, "auxiliary head", fontsize=8, color=MUTED,
                    ha="left", va="center", style="italic")
        else:
            ax.plot([cx, cx], [boxes[key][2], yy + sh / 2 + 0.02], color="#9ca3af", lw=1, ls=":")
        prev = None
        for label, kind in layers:
            this = box(ax, cx, yy, width, sh, label, kind, size=8, dashed=not is_aux)
            if prev:
                arrow(ax, (cx, prev[2]), (cx, this[3]))
            prev = this
            yy -= pitch
        if is_aux:
            ax.text(cx, prev[2] - 0.12, "loss x 0.3, training only", ha="center", va="top", fontsize=8,
                    color=MUTED)
    head = boxes["head"]
    ax.text((head[0] + head[1]) / 2, head[2] - 0.12, "main loss", ha="center", va="top", fontsize=8,
            color=MUTED)
    legend(ax, ["conv", "reduce", "pool", "dense", "merge"], 0.3, 0.1, columns=3)
    ax.text(9.7, 1.0, "Inception blocks: yellow.\nLRN in the stem not shown.", fontsize=8, color=MUTED,
            ha="right", va="center")
    return save(fig, out, "googlenet")


def residual_panel(ax, x: float, top: float, heading: str, layers: list[tuple], shortcut: list[tuple],
                   shapes: list[str], pitch: float = 0.5) -> None:
    """A residual block drawn top-down at x: main path, shortcut on the right, addition, ReLU."""
    title(ax, x, top + 0.15, heading, size=9.5)
    w, h = 2.2, 0.32
    source = box(ax, x, top - 0.35, 1.5, h, f"x: {shapes[0]}", "data", size=8)
    previous = source
    y = top - 0.35
    k = 1
    for label, kind in layers:
        y -= pitch
        this = box(ax, x, y, w, h, label, kind, size=8)
        label_text = shapes[k] if kind in ("conv", "reduce") else None
        arrow(ax, (x, previous[2]), (x, this[3]))
        if label_text:
            ax.text(x - w / 2 - 0.08, y, label_text, ha="right", va="center", fontsize=8, color=MUTED)
            k += 1
        previous = this
    y -= pitch
    r = 0.17
    circle = matplotlib.patches.Circle((x, y), r, fc=KINDS["merge"][0], ec=KINDS["merge"][1], lw=1.2, zorder=2)
    ax.add_patch(circle)
    ax.text(x, y, "+", ha="center", va="center", fontsize=12, color=INK, zorder=3)
    arrow(ax, (x, previous[2]), (x, y + r))
    # The shortcut: right of the main path, from the input down to the addition.
    sx = x + w / 2 + 0.95  # clear of the main path even with a box on the shortcut
    if shortcut:
        mid = (top - 0.35 + y) / 2
        ax.plot([source[1], sx, sx], [top - 0.35, top - 0.35, mid + 0.45], color=INK, lw=1.1, zorder=1)
        sy = mid + 0.22
        for label, kind in shortcut:
            this = box(ax, sx, sy, 1.5, 0.4, label, kind, size=8)
            sy -= 0.45
        bottom = sy + 0.45 - 0.17
        polyline_arrow(ax, [(sx, bottom), (sx, y), (x + r, y)])
        ax.text(sx + 0.06, mid + 0.6, "projection shortcut", fontsize=8, color=MUTED, ha="center",
                va="bottom", style="italic")
    else:
        polyline_arrow(ax, [(source[1], top - 0.35), (sx, top - 0.35), (sx, y), (x + r, y)])
        ax.text(sx + 0.08, (top - 0.35 + y) / 2, "identity\nshortcut", fontsize=8, color=MUTED, ha="left",
                va="center", style="italic")
    relu = box(ax, x, y - pitch, 1.0, h, "ReLU", "norm", size=8)
    arrow(ax, (x, y - r), (x, relu[3]))
    out = box(ax, x, y - 2 * pitch, 1.5, h, f"out: {shapes[-1]}", "data", size=8)
    arrow(ax, (x, relu[2]), (x, out[3]))


def residual_blocks(out: Path) -> Path:
    """The basic block of ResNet-18/34: identity shortcut, and the 1x1 projection when the shape changes."""
    fig, ax = canvas(5.25)
    top = 4.8
    basic = [("3x3 conv, {c}{s}", "conv"), ("batch norm, ReLU", "norm"), ("3x3 conv, {c}", "conv"),
             ("batch norm", "norm")]

    def fill(c: int, stride: int) -> list[tuple]:
        s = f", stride {stride}" if stride > 1 else ""
        return [(label.format(c=c, s=s), kind) for label, kind in basic]

    residual_panel(ax, 2.3, top, "Basic block, same shape", fill(64, 1), [],
                   ["64x56x56", "64x56x56", "64x56x56", "64x56x56"])
    residual_panel(ax, 6.55, top, "Basic block that halves the side", fill(128, 2),
                   [("1x1 conv, 128\nstride 2", "reduce"), ("batch norm", "norm")],
                   ["64x56x56", "128x28x28", "128x28x28", "128x28x28"])
    legend(ax, ["data", "conv", "reduce", "norm", "merge"], 0.3, 0.05, columns=3)
    return save(fig, out, "resnet_basic")


def bottleneck_blocks(out: Path) -> Path:
    """The bottleneck block of ResNet-50/101/152: identity shortcut, and with a 1x1 projection."""
    fig, ax = canvas(6.2)
    top = 5.75

    def layers(c: int, stride: int) -> list[tuple]:
        s = f", stride {stride}" if stride > 1 else ""
        return [(f"1x1 conv, {c} (reduce)", "reduce"), ("batch norm, ReLU", "norm"), (f"3x3 conv, {c}{s}", "conv"),
                ("batch norm, ReLU", "norm"), (f"1x1 conv, {4 * c} (expand)", "reduce"), ("batch norm", "norm")]

    residual_panel(ax, 2.3, top, "Bottleneck, 256 channels in and out", layers(64, 1), [],
                   ["256x56x56", "64x56x56", "64x56x56", "256x56x56", "256x56x56"])
    residual_panel(ax, 6.55, top, "Bottleneck that halves the side", layers(128, 2),
                   [("1x1 conv, 512\nstride 2", "reduce"), ("batch norm", "norm")],
                   ["256x56x56", "128x56x56", "128x28x28", "512x28x28", "512x28x28"])
    legend(ax, ["data", "conv", "reduce", "norm", "merge"], 0.3, 0.05, columns=3)
    return save(fig, out, "resnet_bottleneck")


TIMELINE = [
    ("1989", "LeNet", "convolutions with shared weights, trained end to end by backpropagation on zip codes"),
    ("1998", "LeNet-5", "convolution + subsampling encoder, then a dense block: 7 layers (chapter 1)"),
    ("2012", "AlexNet", "ReLU, dropout, data augmentation, training on GPUs: 8 layers, won ILSVRC 2012 "
     "(chapter 2)"),
    ("2014", "VGG", "one block of 3x3 convolutions repeated: 11 to 19 layers (chapter 3)"),
    ("2014", "GoogLeNet", "Inception blocks: parallel branches, 1x1 reductions, global average pooling, "
     "auxiliary heads: 22 layers, won ILSVRC 2014 (chapter 4)"),
    ("2015", "ResNet", "residual shortcuts and batch norm: 152 layers on ImageNet, won ILSVRC 2015 (chapter 5)"),
]


def timeline(out: Path) -> Path:
    """What each network added, in order; cards alternate above and below the time axis."""
    fig, ax = canvas(4.6)
    axis_y, card_w, card_h = 2.3, 2.6, 1.45
    xs = [1.55 + i * 1.38 for i in range(len(TIMELINE))]
    ax.plot([0.3, WIDTH - 0.3], [axis_y, axis_y], color=INK, lw=1.4, zorder=1)
    for i, (x, (year, name, added)) in enumerate(zip(xs, TIMELINE)):
        above = i % 2 == 0
        ax.add_patch(matplotlib.patches.Circle((x, axis_y), 0.07, fc=KINDS["conv"][1], ec="white", lw=1, zorder=3))
        ax.text(x, axis_y + (-0.2 if above else 0.2), year, ha="center", va="center", fontsize=8.5, color=INK,
                weight="bold")
        cy = axis_y + (1.15 if above else -1.15)
        cx = min(max(x, 0.2 + card_w / 2), WIDTH - 0.2 - card_w / 2)
        ax.plot([x, x], [axis_y, cy + (-card_h / 2 if above else card_h / 2)], color="#9ca3af", lw=1, zorder=1)
        face, edge = KINDS["data"]
        ax.add_patch(FancyBboxPatch((cx - card_w / 2, cy - card_h / 2), card_w, card_h,
                                    boxstyle="round,pad=0,rounding_size=0.06", fc=face, ec=edge, lw=1, zorder=2))
        ax.text(cx - card_w / 2 + 0.1, cy + card_h / 2 - 0.1, name, ha="left", va="top", fontsize=9, weight="bold",
                color=INK, zorder=3)
        ax.text(cx - card_w / 2 + 0.1, cy + card_h / 2 - 0.33, textwrap.fill(added, 31), ha="left", va="top",
                fontsize=8, color=INK, zorder=3, linespacing=1.2)
    return save(fig, out, "timeline")


def data_parallel(out: Path) -> Path:
    """The appendix on DDP: two processes, each with its shard and model replica; the all-reduce joins them."""
    fig, ax = canvas(5.3)
    xs, w, h = (2.6, 7.4), 3.6, 0.52
    launcher = box(ax, 5.0, 4.85, 9.3, 0.5, "torchrun --nproc-per-node=2: starts two processes, tells each its "
                   "RANK, LOCAL_RANK, WORLD_SIZE\nand where to meet (MASTER_ADDR, MASTER_PORT)", "data", size=8.5)
    order = box(ax, 5.0, 4.1, 7.2, 0.42, "this epoch's order of the training images: shuffled with seed + epoch, "
                "the same in both", "data", size=8.5)
    arrow(ax, (5.0, launcher[2]), (5.0, order[3]))
    y_shard, y_model, y_grad, y_reduce, y_step = 3.3, 2.55, 1.8, 1.1, 0.45
    for rank, x in enumerate(xs):
        shard = box(ax, x, y_shard, w, h, f"rank {rank}'s shard: positions {rank}, {rank + 2}, {rank + 4}, ...\n"
                    "a batch of b images per step", "data", size=8.5)
        arrow(ax, (x, order[2]), (x, shard[3]))
        model = box(ax, x, y_model, w, h, f"model replica {rank}\n(the same weights in both)", "conv", size=8.5)
        arrow(ax, (x, shard[2]), (x, model[3]))
        grad = box(ax, x, y_grad, w, h, f"forward, loss, backward:\nlocal gradient g{rank}", "norm", size=8.5)
        arrow(ax, (x, model[2]), (x, grad[3]))
        arrow(ax, (x, grad[2]), (x, y_reduce + 0.2))
        step = box(ax, x, y_step, w, h, "optimizer step with g:\nthe same new weights", "dense", size=8.5)
        arrow(ax, (x, y_reduce - 0.2), (x, step[3]))
    box(ax, 5.0, y_reduce, 9.3, 0.4, "all-reduce during backward, bucket by bucket: both get g = (g0 + g1) / 2",
        "merge", size=8.5)
    return save(fig, out, "data_parallel")


def cam(out: Path) -> Path:
    """Chapter 7: the last feature maps feed the class scores (pooling, linear) and the two class activation maps."""
    fig, ax = canvas(4.6)
    maps = box(ax, 1.25, 2.55, 1.9, 0.9, "last feature maps\nC x h x w", "data")
    rows = {"score": 3.85, "cam": 2.35, "grad": 0.85}
    pool = box(ax, 3.45, rows["score"], 1.7, 0.7, "global average\npooling", "pool")
    fc = box(ax, 6.05, rows["score"], 1.9, 0.7, "fully connected\nweights w[k, c]", "dense")
    score = box(ax, 8.55, rows["score"], 1.9, 0.7, "score of class k", "data")
    cam_box = box(ax, 5.2, rows["cam"], 4.4, 0.8, "CAM: sum over channels c of\nw[k, c] x map c", "merge")
    grad_box = box(ax, 5.2, rows["grad"], 4.4, 0.95,
                   "Grad-CAM: weight of map c = mean over positions\nof d(score k) / d(map c); weighted sum, ReLU",
                   "merge", size=8.5)
    cam_map = box(ax, 8.55, rows["cam"], 1.5, 0.8, "h x w map\n(CAM)", "data")
    grad_map = box(ax, 8.55, rows["grad"], 1.5, 0.8, "h x w map\n(Grad-CAM)", "data")
    polyline_arrow(ax, [(1.25, maps[3]), (1.25, rows["score"]), (pool[0], rows["score"])])
    arrow(ax, (pool[1], rows["score"]), (fc[0], rows["score"]), "C numbers", size=7)
    arrow(ax, (fc[1], rows["score"]), (score[0], rows["score"]))
    arrow(ax, (maps[1], rows["cam"]), (cam_box[0], rows["cam"]))
    polyline_arrow(ax, [(maps[1], maps[2] + 0.15), (maps[1] + 0.25, maps[2] + 0.15),
                        (maps[1] + 0.25, rows["grad"]), (grad_box[0], rows["grad"])])
    arrow(ax, (6.05, fc[2]), (6.05, cam_box[3]), "weights of class k", side="right", size=7)
    polyline_arrow(ax, [(9.3, score[2]), (9.55, score[2] - 0.2), (9.55, grad_box[3] + 0.15),
                        (grad_box[1], grad_box[3] - 0.15)])
    ax.text(9.6, 2.9, "gradient", ha="left", va="center", fontsize=7, color=MUTED, rotation=90)
    arrow(ax, (cam_box[1], rows["cam"]), (cam_map[0], rows["cam"]))
    arrow(ax, (grad_box[1], rows["grad"]), (grad_map[0], rows["grad"]))
    return save(fig, out, "cam")


DIAGRAMS = [lenet, alexnet_vs_lenet, vgg_block, vgg_configs, inception, googlenet, residual_blocks,
            bottleneck_blocks, timeline, cam, data_parallel]


def render_all(out: Path = FIGURES) -> list[Path]:
    """Draw every diagram into `out`; same inputs, same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    settings = {"svg.hashsalt": "classic-cnns", "svg.fonttype": "path", "font.family": "DejaVu Sans",
                "path.simplify": False}
    with matplotlib.rc_context(settings):
        return [draw(out) for draw in DIAGRAMS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the SVG files (default: book/figures)")
    for path in render_all(parser.parse_args().out):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
