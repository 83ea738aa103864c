"""Live feedback during training: a progress bar and a plot of the curves.

In Jupyter both redraw in place through IPython display handles, so a saved notebook (and the
HTML book made from it) holds one progress line and one figure, not one per update. Elsewhere
the bar goes to the terminal and the figure to training_curves.png.
"""
from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.std import tqdm as text_tqdm


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (Lab, Notebook, Colab, nbclient), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _DisplayLine:
    """A file-like target for tqdm that keeps only its latest line, updated in place."""

    def __init__(self) -> None:
        self.handle: Any = None

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if not line:
            return
        from IPython.display import display

        content = {"text/plain": line}
        if self.handle is None:
            self.handle = display(content, raw=True, display_id=True)
        else:
            self.handle.update(content, raw=True)

    def flush(self) -> None:
        pass


class ProgressBar:
    """Makes one tqdm bar per epoch: in Jupyter all of them share one output line."""

    def __init__(self) -> None:
        self.target = _DisplayLine() if in_jupyter() else None

    def __call__(self, iterable: Iterable, total: int, desc: str) -> text_tqdm:
        if self.target is None:
            return text_tqdm(iterable, total=total, desc=desc, file=sys.stderr, dynamic_ncols=True)
        # Plain-text tqdm, not the widget one: widgets are blank placeholders in saved notebooks.
        return text_tqdm(iterable, total=total, desc=desc, file=self.target, ncols=100, mininterval=0.5)


class LivePlot:
    """Curves of training loss, training accuracy and validation accuracy against epochs.

    `add` records points, `draw` records and redraws; with ``enabled=False`` nothing is drawn.
    """

    def __init__(self, num_epochs: int, enabled: bool = True) -> None:
        from matplotlib.figure import Figure

        self.num_epochs, self.enabled, self.jupyter = num_epochs, enabled, in_jupyter()
        self.curves: dict[str, tuple[list[float], list[float]]] = {}
        self.figure = Figure(figsize=(5.5, 3.5), layout="constrained")
        self.axes = self.figure.add_subplot()
        self.handle: Any = None

    def add(self, x: float, **values: float) -> None:
        """Record one point of each named curve at `x` epochs, e.g. add(1.5, train_loss=0.4)."""
        for name, value in values.items():
            xs, ys = self.curves.setdefault(name.replace("_", " "), ([], []))
            xs.append(x)
            ys.append(value)

    def add_epochs(self, history: Any, start: int = 0) -> LivePlot:
        """Record the epochs of a History from `start` on: a resumed run's, then each new one."""
        for i in range(start, history.epochs):
            self.add(i + 1, train_loss=history.train_loss[i], train_acc=history.train_acc[i],
                     val_acc=history.val_acc[i])
        return self

    def draw(self, x: float | None = None, **values: float) -> None:
        """Record the points given (if any), then redraw every curve."""
        if x is not None:
            self.add(x, **values)
        if not self.enabled:
            return
        ax = self.axes
        ax.clear()
        for (name, (xs, ys)), style in zip(self.curves.items(), ("-", "--", "-.", ":")):
            # Small markers, so that a curve with a single point (a one-epoch run) still shows.
            ax.plot(xs, ys, style, marker="o", markersize=3, label=name)
        ax.set_xlim(0, self.num_epochs * 1.03)  # room for the markers of the last epoch
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
        if not self.jupyter:
            self.figure.savefig("training_curves.png", dpi=100)
            return
        from IPython.display import Image, display

        # A PNG made here, not the Figure object: IPython renders a pyplot-free Figure as
        # plain text unless the inline backend happens to be loaded already.
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=100)
        image = Image(data=buffer.getvalue(), format="png")
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
