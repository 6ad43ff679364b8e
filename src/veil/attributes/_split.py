"""The fixed split of UTKFace that the attribute judges were trained and tested on."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["SPLIT_SEED", "TEST_FRACTION", "utkface_split"]

SPLIT_SEED = 20261129
TEST_FRACTION = 0.2


def utkface_split(count: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(training rows, held-back rows) of a labels file with ``count`` rows, each sorted.

    The rows are shuffled with ``numpy.random.default_rng(SPLIT_SEED)`` and the
    first ``TEST_FRACTION`` are held back: the split is by file, and the same on
    every machine (``scripts/train_attributes.py``, the tests and the benchmark use it).
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    held = round(TEST_FRACTION * count)
    return np.sort(order[held:]), np.sort(order[:held])
