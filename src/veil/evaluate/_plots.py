"""PNG plots of evaluation curves (ROC, DET, CMC), one line per recognizer or setting.

matplotlib is imported by the functions that draw, so importing veil does not load it,
and figures are drawn on their own Agg canvas rather than through pyplot, whose
global state is neither thread-safe nor wanted in a library.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from veil.errors import OutputError

__all__ = ["plot_cmc", "plot_det", "plot_roc"]

_DPI = 150
_SIZE_IN = (5.0, 4.0)
_HIGHEST_FLOOR = 1e-3
"""A log axis reaches down to at least this rate, the lowest one the reports quote."""

_Line = tuple[str, NDArray[np.float64], NDArray[np.float64]]


def plot_roc(curves: Mapping[str, tuple[ArrayLike, ArrayLike]], path: str | Path) -> None:
    """Write ROC curves, true accept rate against false accept rate on a log scale, as a PNG.

    The log scale shows the low false accept rates that matter for face recognition
    (1e-2, 1e-3), which a linear axis squeezes into its left edge.

    Args:
        curves: For each line's label, the (false accept rates, true accept rates) that
            :func:`roc_points` gives.
        path: The PNG to write.

    Raises:
        ValueError: No curves.
        OutputError: The file cannot be written.
    """
    lines = [(label, _rates(fpr), _rates(tpr)) for label, (fpr, tpr) in curves.items()]
    _plot(
        lines,
        path,
        title="ROC",
        xlabel="false accept rate",
        ylabel="true accept rate",
        log_x=True,
        log_y=False,
    )


def plot_det(curves: Mapping[str, tuple[ArrayLike, ArrayLike]], path: str | Path) -> None:
    """Write DET curves, false reject rate against false accept rate, both on log scales, as a PNG.

    Lower is better; the log-log axes spread out the low error rates at both ends.

    Args:
        curves: As for :func:`plot_roc`: (false accept rates, true accept rates) per label.
        path: The PNG to write.

    Raises:
        ValueError: No curves.
        OutputError: The file cannot be written.
    """
    lines = [(label, _rates(fpr), 1.0 - _rates(tpr)) for label, (fpr, tpr) in curves.items()]
    _plot(
        lines,
        path,
        title="DET",
        xlabel="false accept rate",
        ylabel="false reject rate",
        log_x=True,
        log_y=True,
    )


def plot_cmc(curves: Mapping[str, Sequence[float]], path: str | Path) -> None:
    """Write CMC curves, the fraction of probes found within each rank, as a PNG.

    Args:
        curves: For each line's label, the rates at ranks 1, 2, ... (``IdentificationReport.cmc``).
        path: The PNG to write.

    Raises:
        ValueError: No curves.
        OutputError: The file cannot be written.
    """
    lines = [(label, np.arange(1.0, len(cmc) + 1), _rates(cmc)) for label, cmc in curves.items()]
    _plot(lines, path, title="CMC", xlabel="rank", ylabel="identification rate", log_x=False, log_y=False)


def _rates(values: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64).ravel()


def _plot(
    lines: list[_Line], path: str | Path, *, title: str, xlabel: str, ylabel: str, log_x: bool, log_y: bool
) -> None:
    """One figure with a line per entry and a legend, saved as a PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not lines:
        raise ValueError("nothing to plot: no curves given")
    figure = Figure(figsize=_SIZE_IN, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, x, y in lines:
        axes.plot(x, y, label=label)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    # Rates of 0 have no place on a log axis: matplotlib leaves those points out, and
    # the axis starts at the decade below the smallest rate above zero.
    if log_x:
        axes.set_xscale("log")
        axes.set_xlim(_log_floor(x for _, x, _ in lines), 1.0)
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log_y:
        axes.set_yscale("log")
        axes.set_ylim(_log_floor(y for _, _, y in lines), 1.0)
    else:
        axes.set_ylim(0.0, 1.01)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="best")
    path = Path(path)
    try:
        figure.savefig(path, format="png", dpi=_DPI)
    except OSError as error:
        raise OutputError(path, f"cannot write plot ({error})") from error


def _log_floor(arrays: Iterable[NDArray[np.float64]]) -> float:
    """The power of ten at or below the smallest value above zero, so every such point shows."""
    positive = [float(array[array > 0].min()) for array in arrays if np.any(array > 0)]
    lowest = min(positive, default=_HIGHEST_FLOOR)
    return min(10.0 ** math.floor(math.log10(lowest)), _HIGHEST_FLOOR)
