"""ROC, DET and CMC plots are written as PNGs of the expected size, without warnings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.errors import OutputError
from veil.evaluate import identification_report, plot_cmc, plot_det, plot_roc, roc_points

PNG_SIZE = (750, 600)  # 5 x 4 inches at 150 dpi


@pytest.fixture(scope="module", autouse=True)
def matplotlib_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keeps matplotlib's font cache out of the user's home (it is built on first import)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))
        yield


@pytest.fixture
def roc_curves() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    is_same = np.r_[np.ones(300, bool), np.zeros(3000, bool)]
    noisy = np.r_[rng.normal(1.0, 1.0, 300), rng.normal(-1.0, 1.0, 3000)]
    separated = np.r_[np.full(300, 0.9), np.full(3000, 0.1)]  # every false accept rate is 0 or 1
    return {"noisy": roc_points(noisy, is_same), "perfect": roc_points(separated, is_same)}


def assert_png(path: Path) -> None:
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", PNG_SIZE)


def test_roc_and_det_plots_are_written(
    tmp_path: Path, roc_curves: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    plot_roc(roc_curves, tmp_path / "roc.png")
    plot_det(roc_curves, tmp_path / "det.png")
    assert_png(tmp_path / "roc.png")
    assert_png(tmp_path / "det.png")


def test_cmc_plot_is_written(tmp_path: Path) -> None:
    eye = np.eye(6)
    ids = [str(i) for i in range(6)]
    report = identification_report(eye, ids, eye + 0.4 * np.roll(eye, 1, axis=0), ids)
    plot_cmc({"model": report.cmc, "chance": [k / 6 for k in range(1, 7)]}, tmp_path / "cmc.png")
    assert_png(tmp_path / "cmc.png")


def test_nothing_to_plot_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no curves"):
        plot_cmc({}, tmp_path / "cmc.png")
    assert not (tmp_path / "cmc.png").exists()


def test_an_unwritable_path_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write plot"):
        plot_cmc({"model": [0.5, 1.0]}, tmp_path / "absent" / "cmc.png")
