"""dlib's HOG and CNN (MMOD) detectors, with landmarks from its 68-point shape predictor."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from veil.detect._base import faces_from_arrays
from veil.types import Face, Image

__all__ = ["DlibDetector"]

logger = logging.getLogger(__name__)

# iBUG 68-point indices: eyes are rings of six points; 30 is the nose tip; 48 and 54 the mouth corners.
_RIGHT_EYE = slice(36, 42)  # the subject's right eye, on the left of the photo
_LEFT_EYE = slice(42, 48)
_NOSE_TIP, _MOUTH_RIGHT, _MOUTH_LEFT = 30, 48, 54
# dlib's detectors miss faces under about 80 px; enlarging small photos once finds those down to ~40 px.
_UPSAMPLE_BELOW_PX = 1000


class DlibDetector:
    """dlib HOG (``cnn_weights=None``) or MMOD CNN detector.

    Args:
        landmark_weights: The ``dlib-68-landmarks`` file, which gives the five landmarks.
        name: Registry name reported on results.
        min_score: Detection margin below which faces are dropped (0 is dlib's own default).
        cnn_weights: The ``dlib-cnn`` file; None for the HOG detector built into dlib.
    """

    def __init__(
        self, landmark_weights: Path, *, name: str, min_score: float, cnn_weights: Path | None = None
    ) -> None:
        self.name = name
        self.min_score = min_score
        self._cnn: Any = dlib.cnn_face_detection_model_v1(str(cnn_weights)) if cnn_weights else None
        self._hog: Any = None if cnn_weights else dlib.get_frontal_face_detector()
        self._shapes = dlib.shape_predictor(str(landmark_weights))
        self._lock = threading.Lock()
        logger.info("loaded dlib %s detector", "CNN" if cnn_weights else "HOG")

    def _boxes(self, image: Image) -> tuple[list[Any], list[float]]:
        upsample = 1 if max(image.shape[:2]) < _UPSAMPLE_BELOW_PX else 0
        if self._cnn is not None:
            found = self._cnn(image, upsample)
            return [d.rect for d in found], [float(d.confidence) for d in found]
        rects, scores, _ = self._hog.run(image, upsample, self.min_score)
        return list(rects), [float(s) for s in scores]

    def detect(self, image: Image) -> list[Face]:
        """Faces in ``image``, best first; see ``veil.detect``."""
        image = np.ascontiguousarray(image)
        with self._lock:
            rects, scores = self._boxes(image)
            shapes = [self._shapes(image, rect) for rect in rects]
        kept = [i for i, score in enumerate(scores) if score >= self.min_score]
        boxes = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.float32)
        landmarks = np.array([_five_points(shape) for shape in shapes], np.float32)
        return faces_from_arrays(
            boxes[kept].reshape(-1, 4), np.array(scores, np.float32)[kept], landmarks[kept].reshape(-1, 5, 2)
        )


def _five_points(shape: Any) -> list[list[float]]:
    points = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
    return [
        points[_RIGHT_EYE].mean(axis=0).tolist(),
        points[_LEFT_EYE].mean(axis=0).tolist(),
        points[_NOSE_TIP].tolist(),
        points[_MOUTH_RIGHT].tolist(),
        points[_MOUTH_LEFT].tolist(),
    ]
