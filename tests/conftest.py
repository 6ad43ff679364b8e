"""Shared fixtures: real photos, bad inputs, a private cache and a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
USER_CACHE = Path(os.environ.get("VEIL_HOME") or "~/.cache/veil").expanduser()
# Read before clean_environ runs, so VEIL_DATA set by the caller still counts.
DATA = Path(os.environ.get("VEIL_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test sees only the veil settings it sets itself.

    The weights cache stays the user's (pulled once by ``make test``): copying
    hundreds of megabytes per test would prove nothing more.
    """
    for name in list(os.environ):
        if name.startswith("VEIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VEIL_HOME", str(USER_CACHE))
    yield


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The astronaut photo that scikit-image ships (Eileen Collins, NASA, public domain)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development data folder; tests using it skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"development data not found at {DATA} (set VEIL_DATA)")
    return DATA
