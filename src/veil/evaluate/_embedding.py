"""Embed the largest face of many photos with several models, as the protocols prescribe."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from veil.align import centred_face
from veil.detect import get_detector
from veil.embed import fuse, get_recognizer, members
from veil.io import read_image
from veil.types import Embeddings, ProgressUpdate

__all__ = ["PhotoEmbeddings", "embed_photos"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PhotoEmbeddings:
    """One embedding per photo and model.

    Attributes:
        paths: The photos, in the order of the rows.
        embeddings: Model name to (len(paths), D) unit rows.
        is_fallback: (len(paths),) True where no face was found and a centred
            crop was embedded instead (DESIGN.md: the protocols count these).
    """

    paths: tuple[Path, ...]
    embeddings: dict[str, Embeddings]
    is_fallback: NDArray[np.bool_]

    @property
    def fallbacks(self) -> int:
        return int(self.is_fallback.sum())

    def rows(self, paths: Sequence[Path]) -> NDArray[np.intp]:
        """Row index of each of ``paths``."""
        index = {path: row for row, path in enumerate(self.paths)}
        return np.array([index[Path(p)] for p in paths], dtype=np.intp)


def embed_photos(
    paths: Sequence[str | Path],
    *,
    models: Sequence[str],
    detector: str = "auto",
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> PhotoEmbeddings:
    """Embed the largest face of each photo with each model; a photo with no face gives a centred crop.

    Each photo is read and searched once, however many models embed it; a fused
    model (``"sface+facenet"``) reuses its members' embeddings.

    Raises:
        InputError: A photo cannot be read (evaluation data must be complete).
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    finder = get_detector(detector)
    needed = list(dict.fromkeys(name for model in models for name in members(model)))
    recognizers = [get_recognizer(name) for name in needed]
    crops: dict[str, list[NDArray[np.uint8]]] = {name: [] for name in needed}
    is_fallback = np.zeros(len(unique), bool)
    for row, path in enumerate(unique):
        image = read_image(path)
        faces = finder.detect(image)
        if faces:
            face = max(faces, key=lambda f: f.width * f.height)
        else:
            face, is_fallback[row] = centred_face(image), True
        for recognizer in recognizers:
            crops[recognizer.name].append(recognizer.crop(image, face))
        if progress is not None:
            progress(ProgressUpdate(done=row + 1, total=len(unique), current=str(path)))
    logger.info(
        "embedding %d photos with %s (%d fallbacks)", len(unique), ", ".join(models), is_fallback.sum()
    )
    single = {r.name: r.embed(crops[r.name]) for r in recognizers}
    embeddings = {model: fuse([single[name] for name in members(model)]) for model in models}
    return PhotoEmbeddings(tuple(unique), embeddings, is_fallback)
