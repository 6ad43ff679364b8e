"""The detector protocol and the geometry every detector shares."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from veil.types import Face, Image

__all__ = ["Detector", "faces_from_arrays", "non_max_suppression"]


class Detector(Protocol):
    """Finds faces in one RGB image.

    Attributes:
        name: The registry name (``veil.detect.DETECTORS``).
    """

    name: str

    def detect(self, image: Image) -> list[Face]:
        """Faces in ``image``, best first, in the image's own pixel coordinates."""
        ...


def faces_from_arrays(
    boxes: NDArray[np.floating], scores: NDArray[np.floating], landmarks: NDArray[np.floating]
) -> list[Face]:
    """Build ``Face`` values from (N, 4) boxes, (N,) scores and (N, 5, 2) landmarks, best first."""
    order = np.argsort(-scores, kind="stable")
    return [
        Face(
            box=(float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 2]), float(boxes[i, 3])),
            score=float(scores[i]),
            landmarks=tuple((float(x), float(y)) for x, y in landmarks[i]),  # type: ignore[arg-type]
        )
        for i in order
    ]


def non_max_suppression(
    boxes: NDArray[np.floating], scores: NDArray[np.floating], *, iou: float
) -> NDArray[np.intp]:
    """Indices of boxes to keep, best first: a box overlapping a better one by more than ``iou`` goes."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
        union = areas[best] + areas[rest] - overlap
        order = rest[overlap <= iou * np.maximum(union, 1e-9)]
    return np.asarray(keep, dtype=np.intp)
