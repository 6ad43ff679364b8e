"""A synthetic world of two face models: photos of identities, embedded by linear images of one latent space.

Each model sees a shared identity code through its own random linear map plus its
own noise, so an affine map aligns them (as Rubab, Tong and Ross found for real
models), while their raw embeddings are unrelated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from veil.crossmodel import CrossModelSplit, split_crossmodel
from veil.evaluate import PhotoEmbeddings

LATENT, WIDTH = 24, 32


@dataclass(frozen=True)
class World:
    root: Path
    photos: PhotoEmbeddings
    split: CrossModelSplit


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_world(root: Path, *, identities: int = 40, per_identity: int = 8, seed: int = 0) -> PhotoEmbeddings:
    """Empty photo files under ``root`` and their embeddings by models ``a`` and ``b``."""
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(identities):
        for j in range(per_identity):
            path = root / f"id{k:03d}" / f"{j:02d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
            paths.append(path)
    centres = unit(rng.standard_normal((identities, LATENT)))
    latent = np.repeat(centres, per_identity, axis=0) + 0.25 * rng.standard_normal(
        (len(paths), LATENT)
    ) / np.sqrt(LATENT)
    embeddings = {
        name: unit(
            latent @ rng.standard_normal((LATENT, WIDTH)) + 0.05 * rng.standard_normal((len(paths), WIDTH))
        ).astype(np.float32)
        for name in ("a", "b")
    }
    return PhotoEmbeddings(tuple(paths), embeddings, np.zeros(len(paths), dtype=bool))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("world")
    photos = make_world(root)
    return World(root, photos, split_crossmodel(root, test_fraction=0.5, max_anchors=400, seed=1))


@pytest.fixture(scope="session", name="make_world")
def make_world_fixture() -> Callable[..., PhotoEmbeddings]:
    """:func:`make_world`, for tests that need a second data set."""
    return make_world
