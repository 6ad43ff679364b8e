"""Face embeddings: ``veil.embed(image, faces)`` and the recognizers behind it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from veil.embed._base import Recognizer
from veil.embed._registry import DEFAULT_RECOGNIZER, RECOGNIZERS, get_recognizer
from veil.types import Embeddings, Face, Image

__all__ = [
    "DEFAULT_RECOGNIZER",
    "RECOGNIZERS",
    "Recognizer",
    "embed",
    "embedding_dim",
    "fuse",
    "get_recognizer",
    "members",
]


def members(model: str) -> list[str]:
    """The recognizers behind a model name: ``"sface"`` is one, ``"sface+facenet"`` a fusion of two."""
    return model.split("+")


def embedding_dim(model: str) -> int:
    """Length of the embeddings ``model`` gives (the members' lengths added up for a fusion)."""
    return sum(get_recognizer(name).dim for name in members(model))


def fuse(parts: Sequence[Embeddings]) -> Embeddings:
    """Join the members' unit embeddings of the same faces into one unit embedding.

    Each part is scaled by ``1 / sqrt(len(parts))`` before joining, so the cosine
    of two fused embeddings is the mean of the members' cosines: score-level
    fusion that galleries and thresholds handle like any single model.
    """
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=1).astype(np.float32) / np.float32(np.sqrt(len(parts)))


def embed(image: Image, faces: Sequence[Face], *, model: str = DEFAULT_RECOGNIZER) -> Embeddings:
    """Embeddings of the given faces of one photo, one unit-length row per face.

    Each face is aligned the way its model was trained (``Recognizer.crop``), so
    pass faces straight from ``veil.detect``. Compare rows by dot product (cosine).

    Args:
        image: The RGB photo the faces were found in.
        faces: Faces to embed; an empty list gives a (0, D) array.
        model: ``"sface"`` (112 px ArcFace-aligned crops), ``"facenet"``
            (Inception-ResNet-v1, 160 px), ``"dlib"`` (ResNet on dlib face chips, the
            model behind face_recognition; not differentiable), or several joined by
            ``+`` (``"sface+facenet"``) for their fusion (see ``fuse``): slower, and
            more accurate than any one of them.

    Raises:
        UnknownModelError: No such model.
        ModelNotPulledError: Its weights are not pulled.
    """
    parts = []
    for name in members(model):
        recognizer = get_recognizer(name)
        parts.append(recognizer.embed([recognizer.crop(image, face) for face in faces]))
    return fuse(parts)
