"""The detector protocol and the geometry every detector shares."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from veil.types import Face, Image

__all__ = ["Detector", "box_iou", "faces_from_arrays", "non_max_suppression"]


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


def box_iou(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """(len(a), len(b)) intersection over union of two sets of (x1, y1, x2, y2) boxes."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9))


def non_max_suppression(
    boxes: NDArray[np.floating], scores: NDArray[np.floating], *, iou: float
) -> NDArray[np.intp]:
    """Indices of boxes to keep, best first: a box overlapping a better one by more than ``iou`` goes."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        order = rest[box_iou(boxes[best], boxes[rest])[0] <= iou]
    return np.asarray(keep, dtype=np.intp)
