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
from veil.match import MATCH_DETECTOR
from veil.types import Embeddings, Face, Image, ProgressUpdate

__all__ = ["PhotoEmbeddings", "embed_photos", "main_face"]

logger = logging.getLogger(__name__)


def main_face(faces: Sequence[Face], image: Image) -> Face:
    """The face a dataset photo is about: the largest one near the middle.

    Face datasets centre their subject (LFW crops around them; CelebA's identity is
    the main face), but a bystander at the edge can be larger. So the largest face
    whose centre lies in the middle half of the photo wins, and only when there is
    none, the largest face anywhere.
    """
    height, width = image.shape[:2]

    def is_central(face: Face) -> bool:
        x = (face.box[0] + face.box[2]) / 2
        y = (face.box[1] + face.box[3]) / 2
        return bool(width / 4 <= x <= 3 * width / 4 and height / 4 <= y <= 3 * height / 4)

    central = [face for face in faces if is_central(face)] or list(faces)
    return max(central, key=lambda f: f.width * f.height)


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


class FaceCrops:
    """The main face of each image added, cropped for several recognizers and embedded in one batch each.

    The building block of :func:`embed_photos`, for protocols that embed images
    made in memory (a cloaked photo after JPEG compression) rather than files.
    Each image is searched once however many recognizers crop it; a photo with no
    face gives a centred crop and is counted in ``is_fallback``.

    Raises:
        UnknownModelError: An unknown recognizer or detector.
        ModelNotPulledError: Its weights are not pulled.
    """

    def __init__(self, recognizers: Sequence[str], *, detector: str = MATCH_DETECTOR) -> None:
        self._finder = get_detector(detector)
        self._recognizers = [get_recognizer(name) for name in recognizers]
        self._crops: dict[str, list[Image]] = {r.name: [] for r in self._recognizers}
        self._is_fallback: list[bool] = []

    def add(self, image: Image) -> Face:
        """Crop the main face of ``image`` for every recognizer; returns the face (or its stand-in)."""
        faces = self._finder.detect(image)
        face = main_face(faces, image) if faces else centred_face(image)
        self._is_fallback.append(not faces)
        for recognizer in self._recognizers:
            self._crops[recognizer.name].append(recognizer.crop(image, face))
        return face

    @property
    def is_fallback(self) -> NDArray[np.bool_]:
        """(images added,) True where no face was found and a centred crop stands in."""
        return np.array(self._is_fallback, dtype=bool)

    def embed(self) -> dict[str, Embeddings]:
        """Recognizer name to the (images added, D) unit embeddings, in the order added."""
        return {r.name: r.embed(self._crops[r.name]) for r in self._recognizers}


def embed_photos(
    paths: Sequence[str | Path],
    *,
    models: Sequence[str],
    detector: str = MATCH_DETECTOR,
    progress: Callable[[ProgressUpdate], None] | None = None,
) -> PhotoEmbeddings:
    """Embed the main face of each photo (``main_face``) with each model; no face gives a centred crop.

    Each photo is read and searched once, however many models embed it; a fused
    model (``"sface+facenet"``) reuses its members' embeddings.

    Raises:
        InputError: A photo cannot be read (evaluation data must be complete).
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    crops = FaceCrops(
        list(dict.fromkeys(name for model in models for name in members(model))), detector=detector
    )
    for row, path in enumerate(unique):
        crops.add(read_image(path))
        if progress is not None:
            progress(ProgressUpdate(done=row + 1, total=len(unique), current=str(path)))
    is_fallback = crops.is_fallback
    logger.info(
        "embedding %d photos with %s (%d fallbacks)", len(unique), ", ".join(models), is_fallback.sum()
    )
    single = crops.embed()
    embeddings = {model: fuse([single[name] for name in members(model)]) for model in models}
    return PhotoEmbeddings(tuple(unique), embeddings, is_fallback)
