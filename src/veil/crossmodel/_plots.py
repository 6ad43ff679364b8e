"""PNG plots of cross-model alignment: a heat map of alignability and learning curves.

As in ``veil.evaluate``'s plots, matplotlib is imported by the functions that draw,
and each figure gets its own Agg canvas rather than going through pyplot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from veil.errors import OutputError

if TYPE_CHECKING:
    from veil.crossmodel._evaluate import CrossModelReport

__all__ = ["plot_alignability", "plot_learning_curve"]

_DPI = 150


def plot_alignability(report: CrossModelReport, models: Sequence[str], path: str | Path) -> None:
    """Write a heat map of the best map's rank-1 over the target's own, source models in rows, as a PNG.

    The diagonal is 1 (a model aligned with itself); a cell near 1 means a gallery
    of the row's model can be searched, or migrated, in the column's model's space.

    Raises:
        OutputError: The file cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = np.eye(len(models))
    for pair in report.pairs:
        if pair.source in models and pair.target in models:
            grid[models.index(pair.source), models.index(pair.target)] = pair.retention
    figure = Figure(figsize=(4.5, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis")
    for (row, column), value in np.ndenumerate(grid):
        axes.text(
            column, row, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.6 else "black"
        )
    axes.set(
        xticks=range(len(models)),
        yticks=range(len(models)),
        xticklabels=models,
        yticklabels=models,
        xlabel="target model (gallery)",
        ylabel="source model (probes, mapped)",
        title="rank-1 kept by the best map",
    )
    figure.colorbar(image, ax=axes)
    _save(figure, path)


def plot_learning_curve(report: CrossModelReport, path: str | Path) -> None:
    """Write cross-model rank-1 against anchor count, one line per model pair and map method, as a PNG.

    Raises:
        OutputError: The file cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    lines: dict[str, list[tuple[int, float]]] = {}
    for point in report.curve:
        lines.setdefault(f"{point.source}->{point.target} {point.method}", []).append(
            (point.n_anchors, point.rank1)
        )
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, points in lines.items():
        x, y = zip(*sorted(points), strict=True)
        axes.plot(x, y, marker="o", markersize=3, label=label)
    counts = sorted({point.n_anchors for point in report.curve})
    axes.set(xscale="log", ylim=(0.0, 1.01), xlabel="anchor photos", ylabel="cross-model rank-1")
    # The anchor counts themselves as ticks, not powers of ten the curve never visits.
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticks(counts, [str(n) for n in counts])
    axes.set_title(f"learning curve (anchors from {'/'.join(Path(report.anchors_from).parts[-2:])})")
    axes.grid(True, which="both", alpha=0.3)
    if lines:
        axes.legend(fontsize=5, ncol=2, loc="lower right")
    _save(figure, path)


def _save(figure: Any, path: str | Path) -> None:
    target = Path(path)
    try:
        figure.savefig(target, format="png", dpi=_DPI)
    except OSError as error:
        raise OutputError(target, f"cannot write plot ({error})") from error
