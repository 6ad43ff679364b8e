"""YuNet (OpenCV Zoo, 2023mar): a fast detector with five landmarks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from veil.detect._base import faces_from_arrays
from veil.detect._multiscale import Detections, detect_multiscale
from veil.types import Face, Image

__all__ = ["YuNet"]

logger = logging.getLogger(__name__)

# YuNet's own NMS runs inside each pass; veil merges passes afterwards.
_NMS_IOU = 0.3
_TOP_K = 5000


class YuNet:
    """YuNet through ``cv2.FaceDetectorYN`` (the only runtime that runs the int8 file too).

    Args:
        weights: The ONNX file (``yunet`` or ``yunet-int8`` card).
        name: Registry name reported on results.
        min_score: Detections below this probability are dropped.
        base_side: Long side of the whole-photo pass (see ``detect_multiscale``).
        min_side: Smaller photos are enlarged to this long side first.
    """

    def __init__(
        self, weights: Path, *, name: str, min_score: float, base_side: int = 640, min_side: int = 320
    ) -> None:
        self.name = name
        self.min_score = min_score
        self.base_side = base_side
        self.min_side = min_side
        self._net = cv2.FaceDetectorYN.create(
            str(weights), "", (base_side, base_side), min_score, _NMS_IOU, _TOP_K
        )
        # The OpenCV object keeps its input size as state, so one call at a time.
        self._lock = threading.Lock()
        logger.info("loaded YuNet from %s", weights)

    def _run(self, image: Image) -> Detections:
        height, width = image.shape[:2]
        with self._lock:
            self._net.setInputSize((width, height))
            _, rows = self._net.detect(np.ascontiguousarray(image[:, :, ::-1]))  # YuNet wants BGR
        found: NDArray[np.float32] = (
            np.zeros((0, 15), np.float32) if rows is None else rows.astype(np.float32)
        )
        corners = np.concatenate(
            [found[:, :2], found[:, :2] + found[:, 2:4]], axis=1
        )  # x, y, w, h -> x1, y1, x2, y2
        return corners, found[:, 14], found[:, 4:14].reshape(-1, 5, 2)

    def detect(self, image: Image) -> list[Face]:
        """Faces in ``image``, best first; see ``veil.detect``."""
        return faces_from_arrays(
            *detect_multiscale(image, self._run, base_side=self.base_side, min_side=self.min_side)
        )
