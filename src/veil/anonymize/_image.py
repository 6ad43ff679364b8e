"""Anonymize the faces of one image: an expanded, feathered ellipse over each face is obfuscated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veil.anonymize._filters import FILTERS
from veil.detect import detect
from veil.errors import UnknownModelError
from veil.types import Face, Image

__all__ = [
    "DEFAULT_DETECTOR",
    "DEFAULT_EXPAND",
    "DEFAULT_METHOD",
    "DEFAULT_STRENGTH",
    "Anonymized",
    "anonymize_faces",
    "blur",
    "check_obfuscation",
]

DEFAULT_DETECTOR = "yunet-voting"
"""YuNet with box voting: as fast as ``"auto"``, and finds all 43 dlib_faces faces to its 42.

Anonymization's own default, because a missed face is its failure (box voting is
described in ``veil.detect._yunet`` and measured by ``benchmarks/detect.py``). The
other tasks keep theirs (``"auto"`` for cloaking and attribute hiding,
``veil.match.MATCH_DETECTOR`` for matching), on which their README figures were
measured.
"""
DEFAULT_METHOD = "gaussian"
DEFAULT_STRENGTH = 0.25
"""Gaussian sigma (or pixel block) as a fraction of the face size; see ``benchmarks/anonymize.py``."""
DEFAULT_EXPAND = 0.3
"""Growth of the face box on every side, as a fraction of its size: covers hair line, ears and chin."""
FEATHER = 0.15
"""Width of the mask's soft edge as a fraction of the ellipse, so no hard seam shows."""


@dataclass(frozen=True, slots=True)
class Anonymized:
    """An anonymized image and the faces that were obfuscated in it.

    Attributes:
        image: The new image (the input is not modified).
        faces: The faces found (and obfuscated), in the image's pixels.
    """

    image: Image
    faces: tuple[Face, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"faces": [face.to_dict() for face in self.faces]}


def _ellipse_weight(
    rows: NDArray[np.float32], cols: NDArray[np.float32], face: Face, expand: float
) -> NDArray[np.float32]:
    """Blend weight at pixel centres: 1 inside the face's expanded ellipse, 0 outside, feathered between."""
    (x1, y1, x2, y2), grow = face.box, 1 + 2 * expand
    radius_y, radius_x = max(face.height * grow / 2, 1e-6), max(face.width * grow / 2, 1e-6)
    dy = (rows + 0.5 - (y1 + y2) / 2) / radius_y
    dx = (cols + 0.5 - (x1 + x2) / 2) / radius_x
    distance = np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)
    return np.clip((1 - distance) / FEATHER, 0.0, 1.0).astype(np.float32)


def check_obfuscation(method: str, strength: float, expand: float) -> None:
    """Refuse obfuscation options that would leave faces readable.

    A strength of 0 or below blurs nothing (and a negative sigma means nothing),
    and a negative expand leaves the edge of every face untouched.

    Raises:
        UnknownModelError: Unknown ``method``.
        ValueError: ``strength`` not above 0, or ``expand`` below 0.
    """
    if method not in FILTERS:
        raise UnknownModelError("method", method, FILTERS)
    if not strength > 0:
        raise ValueError(f"strength must be above 0 (it would blur nothing), got {strength}")
    if not expand >= 0:
        raise ValueError(f"expand must be 0 or more (below, face edges stay sharp), got {expand}")


def anonymize_faces(
    image: Image,
    faces: Sequence[Face],
    *,
    method: str = DEFAULT_METHOD,
    strength: float = DEFAULT_STRENGTH,
    expand: float = DEFAULT_EXPAND,
) -> Image:
    """A copy of ``image`` with each of ``faces`` obfuscated.

    Each face box grows by ``expand`` of its size on every side; the filter runs on
    that region and is blended in through a feathered ellipse, so the corners of
    the box (usually background) stay sharp. Pixels outside every region are
    bit-identical to the input.

    Args:
        image: The RGB image (not modified).
        faces: Faces to obfuscate, from ``veil.detect`` or a tracker.
        method: ``"gaussian"`` (blur), ``"pixelate"`` (blocks) or ``"solid"`` (a flat mask).
        strength: Gaussian sigma or block size as a fraction of the expanded face's size.
        expand: How much to grow each box on every side, as a fraction of its size.

    Raises:
        UnknownModelError: Unknown ``method``.
        ValueError: ``strength`` not above 0 (it would blur nothing), or ``expand`` below 0.
    """
    import cv2  # imported on first use, so that `import veil` stays light

    check_obfuscation(method, strength, expand)
    obfuscate = FILTERS[method]
    out = image.copy()
    height, width = image.shape[:2]
    for face in faces:
        grow_x, grow_y = expand * face.width, expand * face.height
        x1, y1 = max(0, int(face.box[0] - grow_x)), max(0, int(face.box[1] - grow_y))
        x2, y2 = (
            min(width, int(np.ceil(face.box[2] + grow_x))),
            min(height, int(np.ceil(face.box[3] + grow_y))),
        )
        if x2 <= x1 or y2 <= y1:
            continue
        region = out[y1:y2, x1:x2]
        rows, cols = np.arange(y1, y2, dtype=np.float32), np.arange(x1, x2, dtype=np.float32)
        alpha = _ellipse_weight(rows, cols, face, expand)
        # cv2's blend is several times faster than numpy's on video frames, and where the
        # weight is 0 it returns the original pixel exactly: the background stays bit-identical.
        out[y1:y2, x1:x2] = cv2.blendLinear(obfuscate(region, strength), region, alpha, 1 - alpha)
    return out


def blur(
    image: Image,
    *,
    method: str = DEFAULT_METHOD,
    strength: float = DEFAULT_STRENGTH,
    expand: float = DEFAULT_EXPAND,
    detector: str = DEFAULT_DETECTOR,
    threshold: float | None = None,
) -> Anonymized:
    """Find every face in ``image`` and obfuscate it.

    Defaults favour recall: a missed face is a privacy failure, a blurred patch of
    background is not. See ``anonymize_faces`` for ``method``, ``strength`` and
    ``expand``, and ``veil.detect`` for ``detector`` and ``threshold``.
    """
    faces = detect(image, detector=detector, threshold=threshold)
    return Anonymized(
        anonymize_faces(image, faces, method=method, strength=strength, expand=expand), tuple(faces)
    )
