"""Global linkability D_sys: 0 for identical score distributions, 1 for separate ones."""

from __future__ import annotations

import numpy as np
import pytest

from veil.crossmodel import global_linkability
from veil.errors import InputError


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def test_identical_distributions_are_unlinkable(rng: np.random.Generator) -> None:
    result = global_linkability(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000))
    assert result.d_sys < 0.05
    assert (result.n_mated, result.n_non_mated) == (20_000, 20_000)


def test_separate_distributions_are_fully_linkable(rng: np.random.Generator) -> None:
    assert global_linkability(rng.uniform(2, 3, 1000), rng.uniform(0, 1, 1000)).d_sys == 1.0


def test_linkability_grows_with_the_gap_and_the_prior(rng: np.random.Generator) -> None:
    non_mated = rng.normal(0, 1, 20_000)
    gaps = [global_linkability(rng.normal(gap, 1, 20_000), non_mated).d_sys for gap in (0.5, 1.0, 2.0)]
    assert 0.05 < gaps[0] < gaps[1] < gaps[2] < 1.0
    mated = rng.normal(1, 1, 20_000)
    assert global_linkability(mated, non_mated, omega=4.0).d_sys > global_linkability(mated, non_mated).d_sys


def test_linkability_is_about_telling_apart_not_about_higher_scores(rng: np.random.Generator) -> None:
    # Mated scores all below the non-mated ones still link every pair: the likelihood ratio tells them apart.
    assert global_linkability(rng.uniform(0, 1, 1000), rng.uniform(2, 3, 1000)).d_sys == 1.0


def test_bad_samples_are_refused() -> None:
    with pytest.raises(InputError, match="10\\+ mated"):
        global_linkability(np.ones(5), np.ones(50))
    with pytest.raises(InputError, match="NaN"):
        global_linkability(np.full(20, np.nan), np.ones(50))
    with pytest.raises(ValueError, match="omega"):
        global_linkability(np.ones(20), np.ones(20), omega=0)
