"""Value types shared across veil: one image type, one face type, progress updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Box", "Embeddings", "Face", "Image", "Landmarks", "Point", "ProgressUpdate"]

Image = NDArray[np.uint8]
"""An RGB ``uint8`` array of shape (H, W, 3); the only image type inside veil."""

Embeddings = NDArray[np.float32]
"""A batch of face embeddings, (N, D) float32, each row of unit length."""

Point = tuple[float, float]
Box = tuple[float, float, float, float]
Landmarks = tuple[Point, Point, Point, Point, Point]

LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
"""Order of ``Face.landmarks``: the subject's right eye first (it appears on the left of the photo)."""


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face.

    Attributes:
        box: (x1, y1, x2, y2) in pixels of the original image.
        score: Detector confidence, higher is surer; each detector has its own scale
            (YuNet and CenterFace give probabilities, dlib gives SVM or MMOD margins).
        landmarks: Five (x, y) points in pixels, in the order of ``LANDMARK_NAMES``:
            the subject's right eye, left eye, nose tip, right and left mouth corners.
        track_id: Identity of the face across video frames, or None for photos.
    """

    box: Box
    score: float
    landmarks: Landmarks
    track_id: int | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI's ``--json`` lines, the service and reports."""
        data: dict[str, Any] = {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
        }
        if self.track_id is not None:
            data["track_id"] = self.track_id
        return data


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """Progress of a long job, passed to a ``progress`` callback after each item.

    Attributes:
        done: Items finished so far (including failures).
        total: Items in the job.
        current: The item just finished (usually a path).
        failed: How many of ``done`` failed.
    """

    done: int
    total: int
    current: str = ""
    failed: int = 0
