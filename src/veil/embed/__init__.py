"""Face embeddings: ``veil.embed(image, faces)`` and the recognizers behind it."""

from __future__ import annotations

from collections.abc import Sequence

from veil.embed._base import Recognizer
from veil.embed._registry import DEFAULT_RECOGNIZER, RECOGNIZERS, get_recognizer
from veil.types import Embeddings, Face, Image

__all__ = ["DEFAULT_RECOGNIZER", "RECOGNIZERS", "Recognizer", "embed", "get_recognizer"]


def embed(image: Image, faces: Sequence[Face], *, model: str = DEFAULT_RECOGNIZER) -> Embeddings:
    """Embeddings of the given faces of one photo, one unit-length row per face.

    Each face is aligned the way its model was trained (``Recognizer.crop``), so
    pass faces straight from ``veil.detect``. Compare rows by dot product (cosine).

    Args:
        image: The RGB photo the faces were found in.
        faces: Faces to embed; an empty list gives a (0, D) array.
        model: ``"sface"`` (112 px ArcFace-aligned crops; the most accurate),
            ``"facenet"`` (Inception-ResNet-v1, 160 px) or ``"dlib"`` (ResNet on
            dlib face chips, the model behind face_recognition; not differentiable).

    Raises:
        UnknownModelError: No such model.
        ModelNotPulledError: Its weights are not pulled.
    """
    recognizer = get_recognizer(model)
    return recognizer.embed([recognizer.crop(image, face) for face in faces])
